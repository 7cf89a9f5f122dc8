"""The engine's own records of queues, agents and calls (internal to ``omniline.acd``)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from omniline.acd.line import CallKey, Line
from omniline.acd.queue_strategy import Pool
from omniline.acd.types import QueueSpec, Waiting

HANDLE_TIMES_KEPT = 100  # the estimator's memory: the last N handle times of each queue


@dataclass(slots=True)
class QueueState:
    spec: QueueSpec
    pool: Pool
    line: Line = field(default_factory=Line)
    members: set[int] = field(default_factory=set)
    handle_times: deque[float] = field(default_factory=lambda: deque(maxlen=HANDLE_TIMES_KEPT))


@dataclass(slots=True)
class AgentState:
    id: int
    queue_ids: tuple[int, ...] = ()
    skills: frozenset[str] = frozenset()
    available: bool = False
    idle_since: float = 0.0
    load: int = 0
    ringing: str | None = None  # the call this agent is reserved for


@dataclass(slots=True)
class CallState:
    w: Waiting
    key: CallKey
    stint: int = 0  # changes on each (re)queueing: older overflow/expire deadlines lapse
    offer_gen: int = 0  # changes on each offer: older ring timeouts lapse
    ringing: set[int] = field(default_factory=set)
    skipped: dict[int, float] = field(default_factory=dict)  # agent id -> skipped until


def snapshot(
    queues: dict[int, QueueState], agents: dict[int, AgentState], calls: dict[str, CallState]
) -> dict[str, Any]:
    return {
        "queues": {
            qid: {
                "strategy": q.spec.strategy,
                "waiting": [k[3] for k in q.line.all],
                "ringing": {
                    k[3]: sorted(calls[k[3]].ringing) for k in q.line.all if calls[k[3]].ringing
                },
                "available": q.pool.agent_ids(),
                "members": sorted(q.members),
            }
            for qid, q in queues.items()
        },
        "agents": {
            a.id: {"queues": list(a.queue_ids), "available": a.available, "ringing": a.ringing}
            for a in agents.values()
        },
    }
