"""Signing a webhook body the way a receiver checks it.

Signature: ``sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>`` where ``timestamp``
is the Unix time in seconds sent in ``X-Omniline-Timestamp``. Covering the timestamp lets a
receiver refuse replays older than a few minutes; the delivery id in ``X-Omniline-Delivery``
(and ``id`` in the body) stays the same across retries so it can de-duplicate.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """What a receiver does (used by the tests and shown in docs/webhooks.md)."""
    return hmac.compare_digest(signature(secret, timestamp, body), header)
