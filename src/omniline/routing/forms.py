"""The rule editor's plain HTML form <-> the rule JSON the service validates.

Each condition is one row of generic fields (type, key, operator, values, days,
open); which fields count depends on the row's type. A row whose type is empty is
ignored, which is how a condition is removed without JavaScript.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from omniline.errors import Invalid

BLANK_ROWS = 2
MAX_ROWS = 50
LIST_FIELD = {
    "channel": "channels",
    "mailbox": "addresses",
    "language": "languages",
    "country": "countries",
    "topic": "topics",
    "keywords": "keywords",
}
ROW_KEYS = ("type", "key", "operator", "values", "days", "open")


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def split(values: str) -> list[str]:
    return [v.strip() for v in values.split(",")] if values.strip() else []


def scalar(raw: str) -> str | int | float | bool:
    """A typed attribute value: ``true``/``false``, a number, or the text itself."""
    low = raw.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(low)
    except ValueError:
        pass
    try:
        return float(low)
    except ValueError:
        return raw.strip()


def rows_from_form(form: FormData) -> list[dict[str, str]]:
    """Submitted condition rows (typed ones only), in their order."""
    try:
        count = min(int(_text(form, "rows") or "0"), MAX_ROWS)
    except ValueError:
        count = 0
    rows = []
    for i in range(count):
        row = {k: _text(form, f"c{i}_{k}") for k in ROW_KEYS}
        if row["type"]:
            rows.append(row)
    return rows


def _condition(i: int, row: dict[str, str], inboxes: dict[str, int]) -> dict[str, Any]:
    kind = row["type"]
    if kind == "attribute":
        op = row["operator"] or "eq"
        value: Any = None
        if op == "in":
            value = [scalar(v) for v in split(row["values"])]
        elif op != "exists":
            value = scalar(row["values"]) if row["values"] else None
        return {"type": kind, "key": row["key"], "operator": op, "value": value}
    if kind == "event":
        days: Any = None
        if row["days"]:
            try:
                days = int(row["days"])
            except ValueError:
                raise Invalid(f"conditions[{i}].within_days", "must be a whole number") from None
        return {"type": kind, "name": row["key"], "within_days": days}
    if kind == "inbox":
        ids = []
        for v in split(row["values"]):
            found = int(v) if v.isdigit() else inboxes.get(v.casefold())
            if found is None:
                raise Invalid(f"conditions[{i}].inbox_ids", f"no inbox named {v}")
            ids.append(found)
        return {"type": kind, "inbox_ids": ids}
    if kind == "business_hours":
        raw = row["values"]
        if not raw.isdigit():
            raise Invalid(f"conditions[{i}].calendar_id", "give the calendar's id")
        return {"type": kind, "calendar_id": int(raw), "open": row["open"] != "closed"}
    if kind in LIST_FIELD:
        return {"type": kind, LIST_FIELD[kind]: split(row["values"])}
    return {"type": kind}  # refused by the schema with "unknown condition type"


def rule_from_form(form: FormData, inboxes: dict[str, int]) -> dict[str, Any]:
    """The rule JSON of a submitted form; ``inboxes`` maps lower-cased names to ids."""
    priority: Any = _text(form, "priority") or "0"
    queue: Any = _text(form, "queue_id") or None
    action_priority: Any = _text(form, "action_priority") or None
    for name, raw in (("priority", priority), ("actions.priority", action_priority)):
        if raw is not None and not raw.lstrip("-").isdigit():
            raise Invalid(name, "must be a whole number")
    if queue is not None and not queue.isdigit():
        raise Invalid("actions.queue_id", "choose one of the options")
    return {
        "name": _text(form, "name"),
        "priority": int(priority),
        "enabled": _text(form, "enabled") in ("1", "on", "true"),
        "conditions": [_condition(i, r, inboxes) for i, r in enumerate(rows_from_form(form))],
        "actions": {
            "queue_id": int(queue) if queue else None,
            "priority": int(action_priority) if action_priority is not None else None,
            "tags": split(_text(form, "tags")),
            "language": _text(form, "language") or None,
            "skip_bot": _text(form, "skip_bot") in ("1", "on", "true"),
        },
    }


def _show(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def row_of(c: dict[str, Any]) -> dict[str, str]:
    """A stored condition as a form row."""
    row = dict.fromkeys(ROW_KEYS, "")
    row["type"] = str(c.get("type", ""))
    kind = row["type"]
    if kind == "attribute":
        row["key"] = str(c.get("key", ""))
        row["operator"] = str(c.get("operator", "eq"))
        v = c.get("value")
        row["values"] = ", ".join(map(_show, v)) if isinstance(v, list) else _show(v or "")
        if isinstance(v, bool):
            row["values"] = _show(v)
    elif kind == "event":
        row["key"] = str(c.get("name", ""))
        row["days"] = str(c.get("within_days") or "")
    elif kind == "inbox":
        row["values"] = ", ".join(map(str, c.get("inbox_ids", [])))
    elif kind == "business_hours":
        row["values"] = str(c.get("calendar_id", ""))
        row["open"] = "open" if c.get("open", True) else "closed"
    elif kind in LIST_FIELD:
        row["values"] = ", ".join(c.get(LIST_FIELD[kind], []))
    return row


def form_of(rule: dict[str, Any]) -> dict[str, str]:
    """A stored rule (its view) as the editor's top-level form values."""
    a = rule.get("actions", {})
    return {
        "name": str(rule.get("name", "")),
        "priority": str(rule.get("priority", 0)),
        "enabled": "on" if rule.get("enabled", True) else "",
        "queue_id": str(a.get("queue_id") or ""),
        "action_priority": "" if a.get("priority") is None else str(a["priority"]),
        "tags": ", ".join(a.get("tags", [])),
        "language": str(a.get("language") or ""),
        "skip_bot": "on" if a.get("skip_bot") else "",
    }


def with_blanks(rows: list[dict[str, str]], extra: int = BLANK_ROWS) -> list[dict[str, str]]:
    return rows + [dict.fromkeys(ROW_KEYS, "") for _ in range(extra)]
