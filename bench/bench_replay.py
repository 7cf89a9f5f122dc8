"""The ACD engine: a month of a bank's calls replayed, and the cost of one decision.

    .venv/bin/python bench/bench_replay.py [october.txt]

1. Replay: ``../shared/data/anonymous-bank/october.txt`` (34,600 calls; the path may be
   given) read, classified and simulated through ``Acd`` as ``omniline voice replay``
   does; the time of each step, and the recorded vs simulated whole-month figures.
2. Decision: one ``Acd`` with 1,500 agents in 10 queues (each agent in two queues of its
   half, 20 % of calls needing a skill half the agents have) and 500 calls waiting:
   - agent_available -> Offer: queues 0-4 hold the 500 waiting calls and all their 750
     agents are busy; an agent frees up and is offered the best call of its two queues
     (then answers it, and a new call joins, untimed, so 500 keep waiting);
   - enqueue -> Offer: queues 5-9 have free agents; a new call is offered to one
     (then answered and the agent freed again, untimed).
Goal (issue 11): a decision well under 1 ms.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from _common import log, percentile, print_machine, print_table, verdict

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from omniline.acd.engine import Acd, Offer, QueueSpec, Waiting
from omniline.acd.metrics import Outcome, voice_figures
from omniline.acd.records import queued_calls, read_records
from omniline.acd.replay import simulate

OCTOBER = Path(__file__).resolve().parent.parent.parent / "shared/data/anonymous-bank/october.txt"
AGENTS = 1_500
QUEUES = 10
WAITING = 500
SAMPLES = 20_000
GOAL_US = 1_000.0
FIGURES = ("offered", "answered", "abandoned", "short_abandoned", "service_level", "asa_s")


def bench_replay(path: Path) -> None:
    log(f"replaying {path}")
    t0 = time.perf_counter()
    parsed = read_records(path, lambda rows: log(f"  read {rows:,} rows"))
    t1 = time.perf_counter()
    calls = queued_calls(parsed.records)
    t2 = time.perf_counter()
    outcomes = simulate(calls)
    t3 = time.perf_counter()
    recorded = voice_figures(Outcome(c.day, c.answered, c.wait) for c in calls)
    simulated = voice_figures(o for o in outcomes if o is not None)
    t4 = time.perf_counter()
    print_table(
        f"Replay of {parsed.rows:,} rows ({len(parsed.malformed)} malformed), "
        f"{len(calls):,} offered calls",
        ["step", "seconds"],
        [
            ["read and parse", t1 - t0],
            ["classify (offered calls)", t2 - t1],
            ["simulate through Acd", t3 - t2],
            ["figures (recorded + simulated)", t4 - t3],
            ["total (goal <= 60 s)", t4 - t0],
        ],
    )
    rows = [[k, _show(recorded[k]), _show(simulated[k])] for k in (*FIGURES, "abandon_rate")]
    print_table("Whole month: recorded vs simulated", ["figure", "recorded", "simulated"], rows)


def _show(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) and value < 1 else f"{value:,}"


def decision_centre() -> tuple[Acd, int]:
    """Queues 0-4 saturated with WAITING calls, queues 5-9 with free agents."""
    acd = Acd()
    for q in range(QUEUES):
        acd.set_queue(QueueSpec(q))
    half = AGENTS // 2
    for a in range(AGENTS):
        base = 0 if a < half else 5
        queues = [base + a % 5, base + (a + 1) % 5]
        acd.set_agent(a, queue_ids=queues, skills={"en"} if a % 2 else ())
        if a >= half:
            acd.agent_available(a, float(a))
    for n in range(WAITING):
        acd.enqueue(new_call(f"w{n}", n % 5, n), 0.0)
    return acd, WAITING


def new_call(call_id: str, queue: int, n: int) -> Waiting:
    skills = frozenset({"en"}) if n % 5 == 0 else frozenset()
    return Waiting(call_id, queue, float(n), priority=1 if n % 10 == 0 else 0, skills=skills)


def bench_decision() -> None:
    acd, n = decision_centre()
    log(f"decision bench: {AGENTS:,} agents, {QUEUES} queues, {n} calls waiting")
    free_us, enqueue_us = [], []
    now = 1_000.0
    for i in range(SAMPLES):
        now += 1.0
        agent = i % (AGENTS // 2)  # a busy agent of queues 0-4 frees up
        t = time.perf_counter_ns()
        actions = acd.agent_available(agent, now)
        free_us.append((time.perf_counter_ns() - t) / 1_000)
        offer = actions[0]
        assert isinstance(offer, Offer), actions
        acd.answered(offer.call_id, offer.agent_ids[0], now)
        if offer.agent_ids[0] != agent:
            acd.agent_unavailable(agent, now)
        n += 1
        acd.enqueue(new_call(f"w{n}", n % 5, n), now)

        call = new_call(f"e{i}", 5 + i % 5, n)
        t = time.perf_counter_ns()
        actions = acd.enqueue(call, now)
        enqueue_us.append((time.perf_counter_ns() - t) / 1_000)
        offer = actions[0]
        assert isinstance(offer, Offer), actions
        acd.answered(call.id, offer.agent_ids[0], now)
        acd.agent_available(offer.agent_ids[0], now)
    assert len(acd.waiting(0)) + sum(len(acd.waiting(q)) for q in range(1, 5)) == WAITING
    rows = [
        [name, percentile(v, 50), percentile(v, 99), max(v), verdict(percentile(v, 99) < GOAL_US)]
        for name, v in (("agent_available -> Offer", free_us), ("enqueue -> Offer", enqueue_us))
    ]
    print_table(
        f"One decision, {SAMPLES:,} samples each (µs)",
        ["operation", "p50", "p99", "max", "p99 < 1 ms"],
        rows,
    )


def main() -> None:
    print_machine()
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else OCTOBER
    if path.is_file():
        bench_replay(path)
    else:
        log(f"{path} is absent: replay skipped")
    bench_decision()


if __name__ == "__main__":
    main()
