"""Before/after snapshots for the audit log: only what changed, secrets never."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"
# A key whose name contains one of these never has its value written to the log.
SECRET_WORDS = ("secret", "password", "token", "key", "credential", "hash", "totp", "signature")


class _Secret(str):
    """A secret inside a snapshot: a digest, so a change is seen; written out as REDACTED."""


def is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def _fingerprint(value: Any) -> _Secret:
    return _Secret(hashlib.sha256(repr(value).encode()).hexdigest())


def clean(value: Any, name: str = "", *, keep_digest: bool = False) -> Any:
    """A JSON-safe copy of ``value`` with secret-named fields replaced, at any depth.

    ``keep_digest`` (snapshots only) leaves a digest in place of a secret so that
    :func:`diff` can tell a changed secret from an unchanged one.
    """
    if isinstance(value, _Secret):
        return value if keep_digest else REDACTED
    if name and is_secret(name):
        if value in (None, "", {}, []):
            return value
        return _fingerprint(value) if keep_digest else REDACTED
    if isinstance(value, Mapping):
        return {str(k): clean(v, str(k), keep_digest=keep_digest) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [clean(v, keep_digest=keep_digest) for v in items]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The named attributes of a model row, secrets as digests (see :func:`clean`)."""
    return {name: clean(getattr(obj, name, None), name, keep_digest=True) for name in fields}


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """``{"before": .., "after": ..}`` with only the keys whose value changed.

    A changed secret shows as redacted on both sides: the log says it changed, not to what.
    """
    b = clean(dict(before), keep_digest=True)
    a = clean(dict(after), keep_digest=True)
    keys = [k for k in {**b, **a} if b.get(k) != a.get(k)]
    return {
        "before": {k: clean(b.get(k), k) for k in keys},
        "after": {k: clean(a.get(k), k) for k in keys},
    }
