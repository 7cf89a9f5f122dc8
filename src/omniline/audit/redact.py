"""Before/after snapshots for the audit log: only what changed, secrets never."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"
# A key whose name contains one of these never has its value written to the log.
SECRET_WORDS = ("secret", "password", "token", "key", "credential", "hash", "totp", "signature")


def is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def clean(value: Any, name: str = "") -> Any:
    """A JSON-safe copy of ``value`` with secret-named fields replaced, at any depth."""
    if name and is_secret(name):
        return REDACTED if value not in (None, "", {}, []) else value
    if isinstance(value, Mapping):
        return {str(k): clean(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [clean(v) for v in items]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The named attributes of a model row, cleaned."""
    return {name: clean(getattr(obj, name, None), name) for name in fields}


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """``{"before": .., "after": ..}`` with only the keys whose value changed.

    A changed secret shows as redacted on both sides: the log says it changed, not to what.
    """
    b, a = clean(dict(before)), clean(dict(after))
    keys = [
        k
        for k in {**b, **a}
        if b.get(k) != a.get(k) or (is_secret(k) and before.get(k) != after.get(k))
    ]
    return {"before": {k: b.get(k) for k in keys}, "after": {k: a.get(k) for k in keys}}
