"""A voice inbox's settings, read once into typed values (``Inbox.settings`` holds them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Any


def _num(raw: Any, default: float, low: float, high: float) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return default
    return min(max(value, low), high)


def _hours(raw: Any) -> tuple[time, time]:
    """``"09:00-20:00"`` -> (09:00, 20:00); anything else: 09:00-20:00."""
    try:
        start, end = str(raw).split("-", 1)
        a, b = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        return time(9), time(20)
    return (a, b) if a < b else (time(9), time(20))


@dataclass(frozen=True, slots=True)
class VoiceSettings:
    provider: str = "ari"
    region: str | None = None
    language: str = "en"
    caller_id: str = ""
    short_abandon_s: float = 5.0
    acw_s: float = 30.0
    csat: bool = True
    operator_digit: str = "0"
    callback_digit: str = "2"
    callback_on_abandon: bool = True
    callback_hours: tuple[time, time] = (time(9), time(20))
    callback_timezone: str = "UTC"
    callback_max_attempts: int = 3
    callback_spacing_s: float = 600.0
    digit_timeout_s: float = 6.0
    record: bool = False
    away_after_missed: bool = True

    @classmethod
    def of(cls, settings: dict[str, Any] | None) -> VoiceSettings:
        s = settings or {}
        return cls(
            provider=str(s.get("provider") or "ari"),
            region=str(s.get("region") or "") or None,
            language=str(s.get("language") or "en"),
            caller_id=str(s.get("caller_id") or ""),
            short_abandon_s=_num(s.get("short_abandon_s"), 5.0, 0.0, 120.0),
            acw_s=_num(s.get("acw_s"), 30.0, 0.0, 3600.0),
            csat=bool(s.get("csat", True)),
            operator_digit=str(s.get("operator_digit", "0"))[:1],
            callback_digit=str(s.get("callback_digit", "2"))[:1],
            callback_on_abandon=bool(s.get("callback_on_abandon", True)),
            callback_hours=_hours(s.get("callback_hours", "09:00-20:00")),
            callback_timezone=str(s.get("timezone") or "UTC"),
            callback_max_attempts=int(_num(s.get("callback_max_attempts"), 3, 1, 10)),
            callback_spacing_s=_num(s.get("callback_spacing_s"), 600.0, 1.0, 86400.0),
            digit_timeout_s=_num(s.get("digit_timeout_s"), 6.0, 0.2, 60.0),
            record=bool(s.get("record", False)),
            away_after_missed=bool(s.get("away_after_missed", True)),
        )
