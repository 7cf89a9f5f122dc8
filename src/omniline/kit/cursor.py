"""Opaque keyset-pagination cursors."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from omniline.errors import Invalid

# Ids are BIGINT on PostgreSQL (INTEGER on SQLite): a larger one would crash the query.
MAX_ID = 2**63 - 1


def encode_cursor(at: datetime, row_id: int) -> str:
    raw = json.dumps([at.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at_s, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        at = datetime.fromisoformat(at_s)
        if type(row_id) is not int or not 0 < row_id <= MAX_ID or at.tzinfo is None:
            raise ValueError
        # Stored times are UTC; a time that cannot be expressed in UTC is not ours.
        return at.astimezone(UTC), row_id
    except (ValueError, TypeError, OverflowError, json.JSONDecodeError) as exc:
        raise Invalid("cursor", "is not a cursor this server issued") from exc
