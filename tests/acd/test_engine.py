"""The ACD engine: who rings for which call, and what happens when nobody answers."""

from __future__ import annotations

import pytest

from omniline.acd.engine import (
    Acd,
    Expire,
    Offer,
    Overflow,
    QueueSpec,
    Release,
    Strategy,
    Waiting,
)


def centre(strategy: Strategy = "longest_idle", agents: int = 3, **spec: object) -> Acd:
    """Queue 1 with ``agents`` members 1..N, none available yet."""
    acd = Acd()
    acd.set_queue(QueueSpec(1, strategy, **spec))  # type: ignore[arg-type]
    for agent in range(1, agents + 1):
        acd.set_agent(agent, queue_ids=[1])
    return acd


def call(cid: str, at: float = 0.0, queue: int = 1, **kw: object) -> Waiting:
    return Waiting(cid, queue, at, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("strategy", "ready", "expected"),
    [
        # (agent, available since, load): who rings for a new call
        ("longest_idle", [(1, 10, 0), (2, 5, 0), (3, 7, 0)], (2,)),
        ("least_loaded", [(1, 1, 2), (2, 3, 0), (3, 2, 0)], (3,)),
        ("least_loaded", [(1, 1, 1), (2, 3, 1), (3, 2, 2)], (1,)),
        ("round_robin", [(3, 1, 0), (2, 2, 0), (1, 3, 0)], (1,)),
        ("ring_all", [(1, 10, 0), (2, 5, 0), (3, 7, 0)], (2, 3, 1)),
    ],
)
def test_each_strategy_picks_its_agent(
    strategy: Strategy, ready: list[tuple[int, float, int]], expected: tuple[int, ...]
) -> None:
    acd = centre(strategy)
    for agent, since, load in ready:
        assert acd.agent_available(agent, since, load=load) == []
    assert acd.enqueue(call("c1", 20), 20) == [Offer("c1", expected)]


def test_round_robin_goes_on_after_the_last_agent_chosen() -> None:
    acd = centre("round_robin")
    for agent in (1, 2, 3):
        acd.agent_available(agent, 0)
    chosen = []
    for n in range(4):
        [offer] = acd.enqueue(call(f"c{n}", n), n)
        assert isinstance(offer, Offer)
        chosen.append(offer.agent_ids[0])
        acd.answered(offer.call_id, offer.agent_ids[0], n)
        acd.agent_available(offer.agent_ids[0], n + 0.5)
    assert chosen == [1, 2, 3, 1]


def test_ring_all_answer_releases_the_others_who_then_take_the_next_call() -> None:
    acd = centre("ring_all")
    for agent in (1, 2, 3):
        acd.agent_available(agent, agent)
    assert acd.enqueue(call("c1"), 10) == [Offer("c1", (1, 2, 3))]
    assert acd.enqueue(call("c2"), 11) == []  # everyone is reserved by c1
    assert acd.answered("c1", 2, 12) == [Release("c1", (1, 3)), Offer("c2", (1, 3))]
    assert acd.position("c1") is None


def test_skills_pass_over_agents_who_lack_them() -> None:
    acd = centre(agents=0)
    acd.set_agent(1, queue_ids=[1], skills={"uk"})
    acd.set_agent(2, queue_ids=[1], skills={"uk", "en"})
    acd.agent_available(1, 0)  # idle longest, but cannot take English calls
    acd.agent_available(2, 5)
    assert acd.enqueue(call("en", skills=frozenset({"en"})), 10) == [Offer("en", (2,))]
    # Nobody speaks German: the call waits until someone who does is ready.
    assert acd.enqueue(call("de", skills=frozenset({"de"})), 11) == []
    acd.set_agent(3, queue_ids=[1], skills={"de"})
    assert acd.agent_available(3, 12) == [Offer("de", (3,))]


def test_priority_first_then_longest_wait() -> None:
    acd = centre(agents=1)
    acd.enqueue(call("regular-early", 0), 0)
    acd.enqueue(call("vip", 5, priority=1), 5)
    acd.enqueue(call("regular-late", 1), 6)
    assert [acd.position(c) for c in ("vip", "regular-early", "regular-late")] == [1, 2, 3]
    served = []
    for t in (10, 20, 30):
        [offer] = acd.agent_available(1, t)
        assert isinstance(offer, Offer)
        served.append(offer.call_id)
        acd.answered(offer.call_id, 1, t)
    assert served == ["vip", "regular-early", "regular-late"]


@pytest.mark.parametrize(
    ("q1_call", "q2_call", "expected"),
    [
        (call("a", 10, 1), call("b", 5, 2), "b"),  # same priority: the longer wait
        (call("a", 10, 1, priority=1), call("b", 5, 2), "a"),  # priority beats waiting
    ],
)
def test_an_agent_of_two_queues_takes_the_best_call_of_both(
    q1_call: Waiting, q2_call: Waiting, expected: str
) -> None:
    acd = Acd()
    acd.set_queue(QueueSpec(1))
    acd.set_queue(QueueSpec(2))
    acd.set_agent(7, queue_ids=[1, 2])
    acd.enqueue(q1_call, 20)
    acd.enqueue(q2_call, 20)
    assert acd.agent_available(7, 30) == [Offer(expected, (7,))]


def test_declined_goes_to_the_next_agent_and_the_decliner_is_skipped_for_a_while() -> None:
    acd = centre(agents=2, skip_declined_s=30)
    acd.agent_available(1, 0)
    acd.agent_available(2, 1)
    assert acd.enqueue(call("c"), 10) == [Offer("c", (1,))]
    assert acd.declined("c", 1, 12) == [Offer("c", (2,))]
    assert acd.declined("c", 2, 14) == []  # both skipped now: the call waits, first in line
    assert acd.position("c") == 1
    assert acd.next_deadline() == 42  # agent 1's skip ends
    assert acd.tick(41) == []
    assert acd.tick(42) == [Offer("c", (1,))]


def test_ring_timeout_via_tick_releases_and_offers_the_next_agent() -> None:
    acd = centre(agents=2, ring_timeout_s=15)
    acd.agent_available(1, 0)
    acd.agent_available(2, 1)
    acd.enqueue(call("c"), 10)
    assert acd.next_deadline() == 25
    assert acd.tick(24.9) == []
    assert acd.tick(25) == [Release("c", (1,)), Offer("c", (2,))]


def test_overflow_to_another_queue_keeps_the_place_in_line() -> None:
    acd = Acd()
    acd.set_queue(QueueSpec(1, overflow_after_s=30, overflow_to_queue=2))
    acd.set_queue(QueueSpec(2))
    acd.set_agent(5, queue_ids=[2])
    acd.set_agent(6, queue_ids=[2])
    acd.enqueue(call("there", 0, queue=2), 0)
    acd.enqueue(call("moved", 3), 3)  # nobody serves queue 1
    assert acd.next_deadline() == 33
    assert acd.tick(33) == [Overflow("moved", 2, None)]
    # Entered at 3, it keeps its place after the call that entered queue 2 at 0.
    assert [w.id for w in acd.waiting(2)] == ["there", "moved"]
    assert acd.waiting(1) == []
    assert acd.agent_available(5, 40) == [Offer("there", (5,))]
    assert acd.agent_available(6, 41) == [Offer("moved", (6,))]


def test_overflow_to_a_number_and_max_wait_take_the_call_out() -> None:
    acd = Acd()
    acd.set_queue(QueueSpec(1, overflow_after_s=60, overflow_to_number="+380441234567"))
    acd.set_queue(QueueSpec(2, max_wait_s=120))
    acd.enqueue(call("out"), 0)
    acd.enqueue(call("long", queue=2), 0)
    assert acd.tick(60) == [Overflow("out", None, "+380441234567")]
    assert acd.position("out") is None
    assert acd.next_deadline() == 120
    assert acd.tick(200) == [Expire("long")]
    assert acd.next_deadline() is None


def test_remove_releases_the_ringing_agent_who_takes_the_next_call() -> None:
    acd = centre(agents=1)
    acd.agent_available(1, 0)
    acd.enqueue(call("gone"), 5)
    acd.enqueue(call("next"), 6)
    removed = acd.remove("gone", 7)
    assert removed is not None and removed.id == "gone"
    assert acd.next_deadline() == 7  # the Release waits for tick
    assert acd.tick(7) == [Release("gone", (1,)), Offer("next", (1,))]
    assert acd.remove("gone", 8) is None


def test_unavailable_or_logged_out_agent_hands_its_call_to_the_next() -> None:
    acd = centre(agents=3)
    for agent in (1, 2, 3):
        acd.agent_available(agent, agent)
    acd.enqueue(call("c"), 10)
    assert acd.agent_unavailable(1, 11) == [Release("c", (1,)), Offer("c", (2,))]
    assert acd.remove_agent(2, 12) == [Release("c", (2,)), Offer("c", (3,))]
    assert 2 not in acd.snapshot()["queues"][1]["members"]


def test_estimated_wait_is_position_times_handle_time_over_members() -> None:
    acd = centre(agents=2)
    for n in range(3):
        acd.enqueue(call(f"c{n}", n), n)
    assert acd.estimated_wait("c2", 5) is None  # no handle time known yet
    acd.handled(1, 100)
    acd.handled(1, 140)
    assert acd.estimated_wait("c0", 5) == 120 / 2
    assert acd.estimated_wait("c2", 5) == 3 * 120 / 2
    acd.agent_available(1, 6)
    assert acd.estimated_wait("c0", 6) == 0  # ringing
    assert acd.estimated_wait("nope", 6) is None
