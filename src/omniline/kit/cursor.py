"""Keyset-pagination cursors: ``<microseconds since 1970>.<row id>``.

Clients treat a cursor as opaque and pass back the ``next_cursor`` they were given. Every
string of the pattern is a position a listing can start after (a made-up one just starts
somewhere), so the schema's pattern says all there is to say: a cursor it lets through is
never refused.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from omniline.errors import Invalid

# Up to 18 digits each: below 2**63 (BIGINT), and any time of the pattern is clamped to LATEST.
PATTERN = r"^[0-9]{1,18}\.[0-9]{1,18}$"
MAX_LENGTH = 37
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Beyond every stored time (conversations/repository.NO_DUE sorts last at this time).
LATEST = datetime(9999, 12, 31, tzinfo=UTC)
_LATEST_US = (LATEST - EPOCH) // timedelta(microseconds=1)


def encode_cursor(at: datetime, row_id: int) -> str:
    micros = (at.astimezone(UTC) - EPOCH) // timedelta(microseconds=1)
    return f"{max(0, micros)}.{row_id}"


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (time, id) after which the next page starts; ``cursor`` matches :data:`PATTERN`
    (the query parameter's schema checks it; this checks again for other callers)."""
    if not re.fullmatch(PATTERN, cursor):
        raise Invalid("cursor", "is not a cursor this server issued")
    micros, _, row_id = cursor.partition(".")
    at = EPOCH + timedelta(microseconds=min(int(micros), _LATEST_US))
    return at, int(row_id)
