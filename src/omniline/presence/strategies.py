"""Queue strategies: which eligible agent gets the next conversation.

- longest_idle (default): the agent whose last assignment (or coming online) is oldest;
- least_loaded: the agent with the fewest open conversations of that channel kind;
- round_robin: agents in turn by id, continuing after the one who got the last.
A higher skill level in the queue breaks ties; the user id makes the order total.
The same order is expressed in SQL (:func:`sql_order`) so the engine can read
candidates a page at a time instead of every member of a big queue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case

from omniline.presence.models import AgentState, Strategy


@dataclass(frozen=True, slots=True)
class Candidate:
    user_id: int
    idle_since: datetime
    level: int
    load: int  # open conversations of the conversation's channel kind
    capacity: int

    @property
    def free(self) -> bool:
        return self.load < self.capacity


def _key(strategy: Strategy, last_user_id: int | None) -> Any:
    if strategy == Strategy.least_loaded:
        return lambda c: (c.load, -c.level, c.idle_since, c.user_id)
    if strategy == Strategy.round_robin:
        last = last_user_id or 0
        return lambda c: (c.user_id <= last, c.user_id)
    return lambda c: (c.idle_since, -c.level, c.user_id)


def rank(
    strategy: Strategy, candidates: Iterable[Candidate], last_user_id: int | None = None
) -> list[Candidate]:
    """Agents with free capacity, best first."""
    return sorted((c for c in candidates if c.free), key=_key(strategy, last_user_id))


def sql_order(strategy: Strategy, last_user_id: Any) -> list[Any]:
    """ORDER BY of the candidate query (least_loaded: see ``repository._least_loaded_stmt``).

    ``last_user_id`` is the round-robin pointer: a bind parameter (0 for "nobody yet"),
    so one prepared statement serves every run.
    """
    if strategy == Strategy.round_robin:
        return [case((AgentState.user_id > last_user_id, 0), else_=1), AgentState.user_id]
    # Index order (ix_agent_states_ws_status); equal idle clocks are ranked by level in Python.
    return [AgentState.idle_since, AgentState.user_id]


def sort_key(strategy: Strategy, last_user_id: int | None, candidate: Candidate) -> Any:
    """The rank of one candidate (smaller is better), as :func:`rank` orders them."""
    return _key(strategy, last_user_id)(candidate)
