"""Admin form fields <-> the API's shapes, and errors mapped back to the form fields."""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import FormData

from omniline.errors import DomainError, Invalid
from omniline.sla.business_time import WEEKDAYS
from omniline.sla.models import BusinessCalendar, SlaPolicy
from omniline.sla.schemas import CalendarIn, PolicyIn

SPAN = re.compile(r"^(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})$")
SPAN_IN_LINE = re.compile(r"\b(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\b")
TARGETS = ("first_response", "next_response", "resolution")


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _pad(hhmm: str) -> str:
    return hhmm if len(hhmm) == 5 else "0" + hhmm


def spans_of_text(raw: str, field: str) -> list[dict[str, str]]:
    """``"09:00-13:00, 14:00-18:00"`` -> intervals (blank: a day off)."""
    out = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        match = SPAN.match(part)
        if match is None:
            raise Invalid(field, f"{part!r}: use HH:MM-HH:MM, e.g. 09:00-13:00, 14:00-18:00")
        out.append({"start": _pad(match[1]), "end": _pad(match[2])})
    return out


def spans_text(spans: list[dict[str, str]]) -> str:
    return ", ".join(f"{s['start']}-{s['end']}" for s in spans)


def holidays_of_text(raw: str) -> list[dict[str, Any]]:
    """One per line: ``2026-01-01 New Year`` or ``2026-12-31 09:00-13:00 Short day``."""
    out = []
    for number, line in enumerate(raw.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        day, _, rest = line.partition(" ")
        hours = [{"start": _pad(a), "end": _pad(b)} for a, b in SPAN_IN_LINE.findall(rest)]
        name = SPAN_IN_LINE.sub("", rest).strip(" ,")
        out.append({"date": day, "name": name, "hours": hours, "_line": number})
    return out


def holidays_text(holidays: list[dict[str, Any]]) -> str:
    lines = []
    for h in holidays:
        parts = [h["date"], spans_text(h.get("hours") or []), h.get("name") or ""]
        lines.append(" ".join(p for p in parts if p))
    return "\n".join(lines)


def calendar_form(cal: BusinessCalendar | None) -> dict[str, str]:
    if cal is None:
        form = {"name": "", "timezone": "Europe/Kyiv", "holidays": ""}
        form.update({f"hours_{d}": "09:00-18:00" if d in WEEKDAYS[:5] else "" for d in WEEKDAYS})
        return form
    form = {"name": cal.name, "timezone": cal.timezone, "holidays": holidays_text(cal.holidays)}
    form.update({f"hours_{d}": spans_text(cal.hours.get(d, [])) for d in WEEKDAYS})
    return form


def calendar_submitted(form: FormData) -> dict[str, str]:
    keys = ["name", "timezone", "holidays"] + [f"hours_{d}" for d in WEEKDAYS]
    return {k: _text(form, k) if k != "holidays" else str(form.get(k) or "") for k in keys}


def calendar_body(submitted: dict[str, str]) -> tuple[CalendarIn, list[int]]:
    """The API body, and the form line number of each holiday (for error messages)."""
    hours = {d: spans_of_text(submitted[f"hours_{d}"], f"hours_{d}") for d in WEEKDAYS}
    holidays = holidays_of_text(submitted["holidays"])
    if len(holidays) > 1000:
        raise Invalid("holidays", "at most 1000 holidays")
    lines = [h.pop("_line") for h in holidays]
    # Blank values reach the service, which words the refusal per field.
    name, zone = submitted["name"][:200] or " ", submitted["timezone"][:64] or " "
    return CalendarIn(name=name, timezone=zone, hours=hours, holidays=holidays), lines


def calendar_errors(exc: DomainError, lines: list[int]) -> dict[str, str]:
    """``hours.mon[1].start`` -> ``hours_mon``; ``holidays[2].date`` -> ``holidays`` (line N)."""
    out: dict[str, str] = {}
    for f in exc.fields or [{"field": "name", "message": exc.message}]:
        field, message = f["field"], f["message"]
        if field.startswith("hours."):
            out[f"hours_{field[6:9]}"] = message
        elif field == "hours":
            out["hours"] = message
        elif field.startswith("holidays["):
            index = int(field[len("holidays[") : field.index("]")])
            line = lines[index] if index < len(lines) else index + 1
            out["holidays"] = f"line {line}: {message}"
        else:
            out[field] = message
    return out


def policy_form(policy: SlaPolicy | None) -> dict[str, Any]:
    if policy is None:
        return {
            "name": "",
            "queue_id": "",
            "calendar_id": "",
            "active": True,
            "first_response": "10",
            "next_response": "",
            "resolution": "",
            "warning_percent": "80",
            "warning_actions": {"notify"},
            "breach_actions": {"notify", "tag", "webhook"},
            "warning_tag": "",
            "breach_tag": "sla-breached",
        }
    return {
        "name": policy.name,
        "queue_id": str(policy.queue_id),
        "calendar_id": str(policy.calendar_id or ""),
        "active": policy.active,
        **{t: _minutes(getattr(policy, f"{t}_seconds")) for t in TARGETS},
        "warning_percent": f"{policy.warning_share * 100:g}",
        "warning_actions": set(policy.warning_actions),
        "breach_actions": set(policy.breach_actions),
        "warning_tag": policy.warning_tag or "",
        "breach_tag": policy.breach_tag or "",
    }


def _minutes(seconds: int | None) -> str:
    return "" if seconds is None else f"{seconds / 60:g}"


def policy_submitted(form: FormData) -> dict[str, Any]:
    out: dict[str, Any] = {
        k: _text(form, k)
        for k in ("name", "queue_id", "calendar_id", "warning_percent", "warning_tag", "breach_tag")
    }
    out.update({t: _text(form, t) for t in TARGETS})
    out["active"] = _text(form, "active") in ("1", "on", "true")
    for field in ("warning_actions", "breach_actions"):
        out[field] = {v for v in form.getlist(field) if isinstance(v, str)}
    return out


def _seconds(raw: str, field: str) -> int | None:
    if not raw:
        return None
    try:
        minutes = float(raw.replace(",", "."))
    except ValueError:
        raise Invalid(field, "must be a number of minutes, e.g. 10 or 0.5") from None
    if minutes != minutes or abs(minutes) > 10**7:  # NaN or absurd
        raise Invalid(field, "must be a number of minutes, e.g. 10 or 0.5")
    return round(minutes * 60)


def policy_body(s: dict[str, Any]) -> PolicyIn:
    if not s["queue_id"].isdigit():
        raise Invalid("queue_id", "choose a queue")
    if s["calendar_id"] and not s["calendar_id"].isdigit():
        raise Invalid("calendar_id", "choose one of the options")
    try:
        share = float(s["warning_percent"].replace(",", ".") or "80") / 100
    except ValueError:
        raise Invalid("warning_percent", "must be a percentage, e.g. 80") from None
    return PolicyIn(
        name=s["name"][:200] or " ",
        queue_id=int(s["queue_id"]),
        calendar_id=int(s["calendar_id"]) if s["calendar_id"] else None,
        active=s["active"],
        first_response_seconds=_seconds(s["first_response"], "first_response"),
        next_response_seconds=_seconds(s["next_response"], "next_response"),
        resolution_seconds=_seconds(s["resolution"], "resolution"),
        warning_share=share,
        warning_actions=sorted(s["warning_actions"])[:3],
        breach_actions=sorted(s["breach_actions"])[:3],
        warning_tag=s["warning_tag"][:64] or None,
        breach_tag=s["breach_tag"][:64] or None,
    )


def policy_errors(exc: DomainError) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in exc.fields or [{"field": "name", "message": exc.message}]:
        field = f["field"].removesuffix("_seconds")
        out["warning_percent" if field == "warning_share" else field] = f["message"]
    return out
