"""Request fields and bodies whose OpenAPI schema says what the service accepts.

- ``JsonIn``: a JSON body whose values must have the JSON type the schema gives; pydantic's lax
  mode would take ``0`` for false, ``true`` for 1 and ``2.0`` for an id.
- ``NotBlank``: a text the service refuses when empty or only spaces, in its own words
  ("must not be empty", also for the admin forms that share the service); the schema says
  the same with a pattern, so a client that follows the schema is not refused.
- ``DateTime``: a moment given as RFC 3339 text with its offset, never a number.
- ``STRIP``: drops white space around a text as Python's ``str.strip()`` does, which
  ``NOT_BLANK`` describes (pydantic's ``strip_whitespace`` keeps ``\x1c``-``\x1f``).
- ``ZONES``: the time zones this system knows (zoneinfo), as the enum of a zone field.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.json_schema import JsonDict

# White space as Python's str.strip() sees it: JSON Schema's (ECMA) \s leaves out \x1c-\x1f
# and \x85.
SPACE = r"\s\x1c-\x1f\x85"
# At least one character that is not white space (JSON Schema patterns search, unanchored).
NOT_BLANK = rf"[^{SPACE}]"
# RFC 3339 date-time with its offset: what ``format: date-time`` means.
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)

# What ZoneInfo() accepts: a zone field's schema lists them, so an unknown zone is schema-invalid.
ZONES: JsonDict = {"enum": [*sorted(available_timezones())]}


class JsonIn(BaseModel):
    """A JSON request body, read strictly (every field has the JSON type its schema says)."""

    model_config = ConfigDict(strict=True)


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


# Before the length limits: Annotated[str, STRIP, StringConstraints(min_length=1, ...)].
STRIP = BeforeValidator(_strip)


def _date_time(value: object) -> object:
    # Lax pydantic reads "0.5" as a Unix time; the schema promises RFC 3339 text only.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        raise ValueError("give a time with its time zone, e.g. 2026-01-31T00:00:00Z")
    return value


NotBlank = Annotated[str, Field(json_schema_extra={"pattern": NOT_BLANK})]
DateTime = Annotated[
    datetime,
    BeforeValidator(_date_time),
    Field(json_schema_extra={"pattern": _DATE_TIME.pattern}),
]
