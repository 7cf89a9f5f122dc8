"""``{{name}}`` placeholders in texts written by staff: bot flows and notification templates."""

from __future__ import annotations

import re
from collections.abc import Callable

# "{{ name }}" or "{{ contact.name }}".
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]{0,127})\s*\}\}")


def fill(template: str, value_of: Callable[[str], object]) -> str:
    """The template with each placeholder replaced by ``value_of(name)`` ("" for None)."""

    def one(m: re.Match[str]) -> str:
        value = value_of(m.group(1))
        return "" if value is None else str(value)

    return PLACEHOLDER.sub(one, template)
