"""Opaque keyset-pagination cursors."""

from __future__ import annotations

import base64
import json
from datetime import datetime

from omniline.errors import Invalid


def encode_cursor(at: datetime, row_id: int) -> str:
    raw = json.dumps([at.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at_s, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        at = datetime.fromisoformat(at_s)
        if not isinstance(row_id, int) or at.tzinfo is None:
            raise ValueError
        return at, row_id
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise Invalid("cursor", "is not a cursor this server issued") from exc
