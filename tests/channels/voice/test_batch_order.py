"""A batch of PBX events is handled with new calls last, each call's own events in order."""

from __future__ import annotations

from datetime import UTC, datetime

from omniline.channels.voice.contract import CallOffered, Digits, HungUp, LegAnswered
from omniline.channels.voice.controller import ahead_of_new_calls

AT = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def offered(ref: str) -> CallOffered:
    return CallOffered(ref=ref, caller="+380501112233", dialled="100", at=AT)


def test_events_that_free_agents_go_before_new_calls() -> None:
    batch = [
        (1.0, offered("new-1")),
        (2.0, HungUp(ref="agent-leg-7", at=AT, side="agent")),
        (3.0, offered("new-2")),
        (4.0, LegAnswered(leg="agent-leg-9", at=AT)),
    ]
    order = [item for _, item in ahead_of_new_calls(batch)]
    assert order == [batch[1][1], batch[3][1], batch[0][1], batch[2][1]]


def test_a_new_calls_own_events_stay_after_its_opening() -> None:
    batch = [
        (1.0, offered("new-1")),
        (2.0, Digits(ref="new-1", digits="1", at=AT)),
        (3.0, HungUp(ref="old-call", at=AT)),
        (4.0, HungUp(ref="new-1", at=AT)),
    ]
    order = [item for _, item in ahead_of_new_calls(batch)]
    assert order == [batch[2][1], batch[0][1], batch[1][1], batch[3][1]]


def test_batches_without_new_calls_keep_their_order() -> None:
    batch = [(1.0, HungUp(ref="a", at=AT)), (2.0, Digits(ref="b", digits="2", at=AT))]
    assert ahead_of_new_calls(batch) == batch
    only_new = [(1.0, offered("x")), (2.0, Digits(ref="x", digits="1", at=AT))]
    assert ahead_of_new_calls(only_new) == only_new
