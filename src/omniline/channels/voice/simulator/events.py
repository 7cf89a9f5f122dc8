"""JSON shapes of ARI's models and events, as Asterisk's swagger (rest-api/api-docs) defines them.

Builders take plain values and return fresh dicts: a snapshot is taken when the event is
made, so a later change to the channel does not alter what was already sent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

# Q.850 causes with the text Asterisk's ast_cause2str() gives them.
CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    3: "No route to destination",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    20: "Subscriber absent",
    21: "Call Rejected",
    27: "Destination out of order",
    28: "Invalid number format",
    31: "Normal, unspecified",
    34: "Circuit/channel congestion",
    38: "Network out of order",
    41: "Temporary failure",
    42: "Switching equipment congestion",
    127: "Interworking, unspecified",
}
NORMAL, BUSY, NO_ANSWER, REJECTED, CONGESTION = 16, 17, 19, 21, 34

# DELETE /channels/{id}?reason=... as resource_channels.c converts it.
HANGUP_REASONS = {
    "normal": 16,
    "busy": 17,
    "congestion": 34,
    "no_answer": 19,
    "timeout": 18,
    "rejected": 21,
    "unallocated": 1,
    "normal_unspecified": 31,
    "number_incomplete": 28,
    "codec_mismatch": 58,
    "interworking": 127,
    "failure": 38,
    "answered_elsewhere": 26,
}

# ast_softhangup() publishes its AST_SOFTHANGUP_* flag as the request's "cause":
# an API hangup is AST_SOFTHANGUP_EXPLICIT.
SOFTHANGUP_EXPLICIT = 32


def timestamp(at: datetime | None = None) -> str:
    """Asterisk's event time: milliseconds and a +hhmm offset, "2026-12-04T08:19:03.123+0000"."""
    at = at or datetime.now(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}" + at.strftime("%z")


def cause_text(cause: int) -> str:
    return CAUSE_TEXT.get(cause, "Unknown")


def party(name: str = "", number: str = "") -> dict[str, str]:
    return {"name": name, "number": number}


def dialplan(context: str, exten: str, priority: int = 1, app: str = "", data: str = "") -> dict:
    return {
        "context": context,
        "exten": exten,
        "priority": priority,
        "app_name": app,
        "app_data": data,
    }


def event(kind: str, app: str, asterisk_id: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": kind}
    body.update(fields)
    body["timestamp"] = timestamp()
    body["application"] = app
    body["asterisk_id"] = asterisk_id
    return body


def playback(
    pid: str, media: str, target: str, language: str, state: str, next_media: str | None = None
) -> dict[str, Any]:
    body = {"id": pid, "media_uri": media, "target_uri": target, "language": language}
    if next_media:
        body["next_media_uri"] = next_media
    body["state"] = state
    return body


def live_recording(
    name: str, fmt: str, target: str, state: str, duration: int | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "format": fmt, "target_uri": target, "state": state}
    if duration is not None:
        body["duration"] = duration
        body["talking_duration"] = duration
        body["silence_duration"] = 0
    return body
