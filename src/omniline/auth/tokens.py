"""Opaque staff tokens, CSRF tokens and signed widget-session tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from omniline.auth.principal import Visitor
from omniline.errors import Unauthorized

STAFF_PREFIX = "oml_"


def new_secret() -> str:
    return STAFF_PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_for(secret_key: str, session_token: str) -> str:
    """CSRF token bound to the browser session: forging it needs the server's secret."""
    return hmac.new(secret_key.encode(), b"csrf:" + session_token.encode(), "sha256").hexdigest()


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected, given or "")


def _widget_serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="omniline.widget-session")


def issue_visitor_token(secret_key: str, visitor: Visitor) -> str:
    payload = [visitor.workspace_id, visitor.inbox_id, visitor.contact_id, int(visitor.verified)]
    return _widget_serializer(secret_key).dumps(payload)


def read_visitor_token(secret_key: str, token: str, max_age_seconds: int) -> Visitor:
    """Stateless check (no database read): the hot path of every widget request."""
    try:
        ws, inbox, contact, verified = _widget_serializer(secret_key).loads(
            token, max_age=max_age_seconds
        )
    except SignatureExpired as exc:
        raise Unauthorized("the session token has expired; start a new session") from exc
    except (BadSignature, ValueError, TypeError) as exc:
        raise Unauthorized("the session token is not valid") from exc
    return Visitor(workspace_id=ws, inbox_id=inbox, contact_id=contact, verified=bool(verified))


IDENTITY_VERSION = "omniline-identity-v2"
# The fields a lender's site may assert about a logged-in customer, in the order they are signed.
IDENTITY_FIELDS = ("external_id", "name", "email", "phone")


def identity_string(fields: Mapping[str, str | None], expires: int) -> str:
    """The exact text the lender's server signs (docs/widget.md, "Logged-in customers").

    One line per field, in a fixed order, every field present (empty when not given), then the
    expiry in Unix seconds. Values never contain a line break (the API refuses them), so the
    text splits back into the same fields in exactly one way.
    """
    lines = [IDENTITY_VERSION]
    lines += [f"{key}={fields.get(key) or ''}" for key in IDENTITY_FIELDS]
    lines.append(f"expires={expires}")
    return "\n".join(lines)


def identity_signature(identity_secret: str, fields: Mapping[str, str | None], expires: int) -> str:
    """What the lender's server computes to vouch for a logged-in customer and what they say."""
    message = identity_string(fields, expires).encode()
    return hmac.new(identity_secret.encode(), message, "sha256").hexdigest()
