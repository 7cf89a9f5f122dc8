"""Channel secrets encrypted at rest (Fernet from `cryptography`, several keys for rotation).

Which values: every ``Inbox.settings`` entry whose name marks it as a secret (``*_token``,
``*_secret``, ``*_password``, ``secret_key``) and ``Inbox.identity_secret``. They are encrypted
when written and decrypted when read, by the column types below, so the code that uses them sees
plain values and the database, its backups and dumps never do.

Keys: ``OMNILINE_ENCRYPTION_KEYS``, Fernet keys separated by commas; the first encrypts, all
decrypt (rotation: put the new key first, run ``omniline secrets rotate``, then drop the old
one). Without it, one key is derived from ``OMNILINE_SECRET_KEY``.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import JSON, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

PREFIX = "enc:v1:"
SECRET_SUFFIXES = ("_token", "_secret", "_password")
SECRET_NAMES = frozenset({"secret_key", "password", "secret", "token"})


class SecretsUnreadable(RuntimeError):
    """A stored secret does not decrypt with any configured key."""


def is_secret_name(name: str) -> bool:
    return name in SECRET_NAMES or name.endswith(SECRET_SUFFIXES)


def derived_key(secret_key: str) -> str:
    digest = hashlib.sha256(b"omniline-secrets-at-rest:" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


@lru_cache(maxsize=8)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def cipher() -> MultiFernet:
    from omniline.config import get_settings

    settings = get_settings()
    keys = tuple(k.strip() for k in settings.encryption_keys.split(",") if k.strip())
    return _cipher(keys or (derived_key(settings.secret_key),))


def encrypt(value: str) -> str:
    if value.startswith(PREFIX):
        return value
    return PREFIX + cipher().encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    """Plain text written before encryption existed is returned as it is."""
    if not value.startswith(PREFIX):
        return value
    try:
        return cipher().decrypt(value[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise SecretsUnreadable(
            "a stored channel secret does not decrypt with OMNILINE_ENCRYPTION_KEYS; "
            "list the old key after the new one (docs/security.md, 'Secrets at rest')"
        ) from exc


def rotate(value: str) -> str:
    """Re-encrypted with the first key (plain text gets encrypted)."""
    if not value.startswith(PREFIX):
        return encrypt(value)
    token = cipher().rotate(value[len(PREFIX) :].encode())
    return PREFIX + token.decode()


class EncryptedString(TypeDecorator[str]):
    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else decrypt(value)


class SettingsWithSecrets(TypeDecorator[dict[str, Any]]):
    """A JSON object whose secret-named string values are stored encrypted."""

    impl = JSON
    cache_ok = True

    def process_bind_param(
        self, value: dict[str, Any] | None, dialect: Dialect
    ) -> dict[str, Any] | None:
        if value is None:
            return None
        return {
            k: encrypt(v) if isinstance(v, str) and v and is_secret_name(k) else v
            for k, v in value.items()
        }

    def process_result_value(
        self, value: dict[str, Any] | None, dialect: Dialect
    ) -> dict[str, Any] | None:
        if value is None:
            return None
        return {k: decrypt(v) if isinstance(v, str) else v for k, v in value.items()}
