"""The replay: tiny scenarios worked out by hand, and the October 1999 file."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from omniline.acd.records import QueuedCall
from omniline.acd.replay import simulate, staffing, teams_of_servers
from omniline.cli import main

DAY = date(1999, 10, 1)
# ../shared/data next to the project; OMNILINE_SHARED_DATA names it from elsewhere (a worktree).
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
OCTOBER = Path(os.environ.get("OMNILINE_SHARED_DATA", SHARED)) / "anonymous-bank" / "october.txt"


def queued(
    cid: str,
    at: float,
    *,
    wait: float,
    service: float = 0,
    server: str | None = "X",
    priority: int = 0,
    kind: str = "PS",
) -> QueuedCall:
    answered = server is not None
    return QueuedCall(
        cid, DAY, at, priority, kind, answered, wait, service if answered else 0.0, server
    )


def test_one_agent_three_callers_priority_first_and_an_impatient_one() -> None:
    calls = [
        queued("a", 0, wait=0, service=100),
        queued("b", 10, wait=100, service=50),
        queued("c", 20, wait=30, server=None),  # hung up after 30 s in the records
        queued("d", 30, wait=70, service=10, priority=2),
    ]
    outcomes = simulate(calls)
    # The one agent answers a at once and is busy until 100; c gives up at 50; at 100 the
    # priority caller d goes first (waited 70), then b at 110 (waited 100).
    assert [(o.answered, o.wait) for o in outcomes if o] == [
        (True, 0),
        (True, 100),
        (False, 30),
        (True, 70),
    ]


def test_agents_leave_at_the_interval_end_only_after_their_call() -> None:
    calls = [
        queued("a", 0, wait=0, service=100, server="X"),  # X busy 0-100: intervals 0 and 1
        queued("b", 0, wait=0, service=10, server="Y"),  # Y busy 0-10: interval 0
        queued("c", 30, wait=0, service=20, server="Y"),
        queued("d", 70, wait=30, service=10, server="X"),  # X busy 100-110: interval 1
    ]
    assert staffing(calls, teams_of_servers(calls), 60) == {"general": {0: 2, 1: 1}}
    outcomes = simulate(calls, interval_s=60)
    # At 60 the team drops to one agent: the idle one logs out, the one talking to "a"
    # stays until 100 (a is not cut short) and then answers d, which waited 30 s.
    assert [o.wait for o in outcomes if o] == [0, 0, 0, 30]


def test_internet_calls_wait_for_the_internet_team() -> None:
    calls = [
        queued("web", 0, wait=0, service=100, server="Z2", kind="IN"),
        queued("web2", 10, wait=90, service=10, server="Z2", kind="IN"),
        queued("phone", 20, wait=0, service=10, server="G"),
    ]
    assert teams_of_servers(calls) == {"Z2": "internet", "G": "general"}
    outcomes = simulate(calls)
    # The general agent is idle at 10, but only the internet agent takes web2 (at 100).
    assert [o.wait for o in outcomes if o] == [0, 90, 0]
    assert [o.wait for o in simulate(calls, one_queue=True) if o] == [0, 0, 0]


def _straightforward(path: Path) -> dict[str, float | int | None]:
    """The whole-file recorded figures, computed from the definitions line by line."""
    offered = answered = abandoned = short = in_time = 0
    wait_sum = 0
    for n, line in enumerate(path.read_text(encoding="latin-1").splitlines()):
        f = line.split("\t")
        if n == 0 or len(f) != 17:
            continue
        outcome, queued_at, q_time = f[12], f[9], int(f[11])
        if outcome == "PHANTOM" or (outcome == "HANG" and queued_at == "0:00:00"):
            continue
        offered += 1
        if outcome == "AGENT":
            wait = q_time if queued_at != "0:00:00" else 0
            answered += 1
            wait_sum += wait
            in_time += wait <= 20
        else:
            abandoned += 1
            short += q_time < 5
    return {
        "offered": offered,
        "answered": answered,
        "abandoned": abandoned,
        "short_abandoned": short,
        "service_level": round(in_time / (answered + abandoned - short), 4),
        "asa_s": round(wait_sum / answered, 1),
        "abandon_rate": round((abandoned - short) / (offered - short), 4),
    }


@pytest.mark.skipif(not OCTOBER.is_file(), reason=f"the bank's call records are not at {OCTOBER}")
def test_october_recorded_figures_match_a_straightforward_count(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["voice", "replay", str(OCTOBER), "--json"])
    report = json.loads(capsys.readouterr().out)
    recorded, simulated = report["recorded"], report["simulated"]
    days = recorded.pop("days")
    assert recorded == _straightforward(OCTOBER)
    assert report["malformed"] == 2
    assert len(days) == 31 and set(days) == set(simulated["days"])
    assert sum(d["offered"] for d in days.values()) == recorded["offered"]
    # Every offered call ends answered or abandoned in the simulation too.
    by_key: dict[str, int] = defaultdict(int)
    for d in simulated["days"].values():
        by_key["offered"] += d["offered"]
    assert simulated["offered"] == recorded["offered"] == by_key["offered"]
    assert simulated["answered"] + simulated["abandoned"] == simulated["offered"]
