"""Signed links of the email survey: ``/rate/<token>`` opens the rating page without a login.

The token names the request only; it is signed with the server's secret (so nobody can
rate someone else's conversation by changing a number) and the request's own expiry and
status decide whether it may still be answered.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

from omniline.config import get_settings

SALT = "omniline.survey-link"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(get_settings().secret_key, salt=SALT)


def token_for(request_id: int) -> str:
    return _serializer().dumps(request_id)


def request_id_of(token: str) -> int | None:
    try:
        value = _serializer().loads(token[:200])
    except BadSignature:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def page_url(request_id: int, score: int | None = None) -> str:
    base = f"{get_settings().public_base_url}/rate/{token_for(request_id)}"
    return base if score is None else f"{base}?score={score}"
