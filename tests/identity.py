"""Signing a logged-in customer's identity as a lender's server does (docs/widget.md)."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

FIELDS = ("external_id", "name", "email", "phone")


def identity_string(fields: dict[str, Any], expires: int) -> str:
    """Written from the documentation on purpose, not imported from the app."""
    lines = ["omniline-identity-v2"]
    lines += [f"{key}={fields.get(key) or ''}" for key in FIELDS]
    lines.append(f"expires={expires}")
    return "\n".join(lines)


def signed_identity(
    secret: str, external_id: str, *, expires_in: int = 3600, **fields: str
) -> dict[str, Any]:
    """The identity object a lender's server hands to the widget: fields, expiry, signature."""
    out: dict[str, Any] = {"external_id": external_id, **fields}
    out["expires"] = int(time.time()) + expires_in
    message = identity_string(out, out["expires"])
    out["signature"] = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return out
