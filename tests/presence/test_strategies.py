"""Strategy ranking, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from omniline.presence.models import ChannelKind, Strategy, kind_of
from omniline.presence.strategies import Candidate, rank

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def cand(user_id: int, idle_min: int, load: int, level: int = 5, cap: int = 5) -> Candidate:
    return Candidate(user_id, T0 + timedelta(minutes=idle_min), level, load, cap)


AGENTS = [cand(1, 10, 0), cand(2, 5, 3), cand(3, 0, 1), cand(4, 1, 5)]


def order(
    strategy: Strategy, last: int | None = None, agents: list[Candidate] = AGENTS
) -> list[int]:
    return [c.user_id for c in rank(strategy, agents, last)]


def test_longest_idle_prefers_the_oldest_idle_clock_and_skips_the_full() -> None:
    assert order(Strategy.longest_idle) == [3, 2, 1]  # 4 is full (5 of 5)


def test_least_loaded_prefers_the_fewest_open_conversations() -> None:
    assert order(Strategy.least_loaded) == [1, 3, 2]


def test_round_robin_continues_after_the_last_agent_and_wraps() -> None:
    assert order(Strategy.round_robin, last=2) == [3, 1, 2]
    assert order(Strategy.round_robin, last=None) == [1, 2, 3]
    assert order(Strategy.round_robin, last=9) == [1, 2, 3]


def test_skill_level_breaks_ties() -> None:
    tied = [cand(1, 0, 1, level=3), cand(2, 0, 1, level=9), cand(3, 0, 1, level=5)]
    assert order(Strategy.longest_idle, agents=tied) == [2, 3, 1]
    assert order(Strategy.least_loaded, agents=tied) == [2, 3, 1]


def test_zero_capacity_never_gets_that_kind() -> None:
    assert order(Strategy.longest_idle, agents=[cand(1, 0, 0, cap=0)]) == []


def test_channel_kinds() -> None:
    assert kind_of("webchat") == kind_of("telegram") == kind_of("whatsapp") == ChannelKind.chat
    assert kind_of("email") == ChannelKind.email
    assert kind_of("voice") == ChannelKind.voice
