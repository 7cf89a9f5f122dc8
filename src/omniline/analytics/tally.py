"""Additive sums of fact rows, and the figures (docs/metrics.md) computed from them.

Every figure is a ratio or a mean of sums, so the sums of a day are the sums of its hours
(or quarter hours) and a total is never an average of averages.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, case, func
from sqlalchemy.sql.elements import ColumnElement

from omniline.analytics.models import Fact

# Sums assigned to the period of arrival (queue entry for calls).
ARRIVAL: dict[str, ColumnElement[Any]] = {
    "conversations": func.count(),
    "offered": func.sum(Fact.offered),
    "answered": func.sum(Fact.answered),
    "abandoned": func.sum(Fact.abandoned),
    "short_abandoned": func.sum(Fact.short_abandoned),
    "answered_in_sl": func.sum(Fact.answered_in_sl),
    "wait_sum": func.sum(Fact.wait_s),
    "handle_sum": func.sum(Fact.handle_s),
    "handle_n": func.count(Fact.handle_s),
    "frt_sum": func.sum(Fact.frt_s),
    "frt_n": func.count(Fact.frt_s),
    "frtb_sum": func.sum(Fact.frt_business_s),
    "frtb_n": func.count(Fact.frt_business_s),
    "art_sum": func.sum(Fact.art_sum_s),
    "art_n": func.sum(Fact.art_n),
    "resolved_of_arrived": func.sum(Fact.resolved),
    "unresolved": func.sum(Fact.unresolved),
    "unfinished": func.sum(Fact.unfinished),
    "messages": func.sum(Fact.messages),
    "duration_sum": func.sum(Fact.duration_s),
    "new_contacts": func.sum(Fact.new_contact),
    "bot_handled": func.sum(Fact.bot_handled),
    "bot_contained": func.sum(Fact.bot_contained),
    "transfers": func.sum(Fact.transfers),
    "transferred": func.sum(Fact.transferred),
    "sla_n": func.sum(Fact.sla_n),
    "sla_met": func.sum(Fact.sla_met),
}
# Assigned to the period of resolution.
RESOLUTION: dict[str, ColumnElement[Any]] = {
    "resolved": func.count(),
    "resolution_sum": func.sum(Fact.resolution_s),
    "resolution_n": func.count(Fact.resolution_s),
}
# Assigned to the period of the survey answer.
CSAT: dict[str, ColumnElement[Any]] = {
    "csat_n": func.count(),
    "csat_good": func.sum(case((Fact.csat >= 4, 1), else_=0).cast(Integer)),
    "csat_sum": func.sum(Fact.csat),
}
NPS: dict[str, ColumnElement[Any]] = {
    "nps_n": func.count(),
    "promoters": func.sum(case((Fact.nps >= 9, 1), else_=0).cast(Integer)),
    "detractors": func.sum(case((Fact.nps <= 6, 1), else_=0).cast(Integer)),
}

Sums = dict[str, float]


def add(into: Sums, row: Any, names: list[str]) -> None:
    for name in names:
        value = getattr(row, name)
        if value:
            # PostgreSQL sums integers as numeric (Decimal): figures are floats.
            into[name] = into.get(name, 0) + float(value)


def merge(into: Sums, other: Sums) -> None:
    for name, value in other.items():
        into[name] = into.get(name, 0) + value


def _ratio(part: float, whole: float) -> float | None:
    return None if whole <= 0 else round(part / whole, 4)


def _mean(total: float, count: float) -> float | None:
    return None if count <= 0 else round(total / count, 1)


def _int(value: float) -> int:
    return round(value)


def figures(s: Sums) -> dict[str, Any]:
    """The METRICS of docs/metrics.md from one period's sums (empty sums: zeros and nulls)."""
    g = s.get
    offered, answered = g("offered", 0), g("answered", 0)
    abandoned, short = g("abandoned", 0), g("short_abandoned", 0)
    conversations = g("conversations", 0)
    csat_n, nps_n = g("csat_n", 0), g("nps_n", 0)
    nps = None
    if nps_n > 0:
        nps = round(100 * (g("promoters", 0) - g("detractors", 0)) / nps_n, 1)
    return {
        "offered": _int(offered),
        "answered": _int(answered),
        "abandoned": _int(abandoned),
        "short_abandoned": _int(short),
        "service_level": _ratio(g("answered_in_sl", 0), answered + abandoned - short),
        "asa_s": _mean(g("wait_sum", 0), answered),
        "aht_s": _mean(g("handle_sum", 0), g("handle_n", 0)),
        "abandon_rate": _ratio(abandoned - short, offered - short),
        "answer_rate": _ratio(answered, offered),
        "frt_s": _mean(g("frt_sum", 0), g("frt_n", 0)),
        "frt_business_s": _mean(g("frtb_sum", 0), g("frtb_n", 0)),
        "art_s": _mean(g("art_sum", 0), g("art_n", 0)),
        "resolution_s": _mean(g("resolution_sum", 0), g("resolution_n", 0)),
        "resolved": _int(g("resolved", 0)),
        "resolution_rate": _ratio(g("resolved_of_arrived", 0), conversations),
        "unresolved": _int(g("unresolved", 0)),
        "unfinished": _int(g("unfinished", 0)),
        "messages_avg": _mean(g("messages", 0), conversations),
        "duration_avg_s": _mean(g("duration_sum", 0), conversations),
        "new_contacts": _int(g("new_contacts", 0)),
        "bot_contained": _int(g("bot_contained", 0)),
        "bot_containment": _ratio(g("bot_contained", 0), g("bot_handled", 0)),
        "transfers": _int(g("transfers", 0)),
        "transfer_rate": _ratio(g("transferred", 0), answered),
        "csat": _ratio(g("csat_good", 0), csat_n),
        "csi": None if csat_n <= 0 else round(g("csat_sum", 0) / csat_n, 2),
        "nps": nps,
        "csat_n": _int(csat_n),
        "nps_n": _int(nps_n),
        # From the agents' state history (analytics/occupancy.py), not from the facts.
        "occupancy": _ratio(g("busy_s", 0), g("staffed_s", 0)),
        "sla_attainment": _ratio(g("sla_met", 0), g("sla_n", 0)),
        "conversations": _int(conversations),
    }
