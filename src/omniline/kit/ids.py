"""Bounded integers for everything a request carries: ids, counts, positions.

The database keeps ids in 64-bit columns; a larger number from a client would overflow in the
driver (a 500). These types refuse it at the schema level with a 422, and the OpenAPI schema
tells clients the range. Ids stop at 2**53 - 1: the schema's bounds are JSON numbers, which
most clients (JavaScript, JSON Schema validators) read as doubles, and 2**63 - 1 is not one
(it reads as 2**63, so a client would take 2**63 + 100 for a valid id).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

MAX_ID = 2**53 - 1
SMALL_MAX = 2**31 - 1


def _whole(value: object) -> object:
    # 2.0 is a whole number to JSON Schema's "integer" (and to JavaScript): JSON bodies are
    # read strictly (kit/fields.py JsonIn), which would refuse it.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# After the Field of a bounded whole number: Annotated[int, Field(ge=.., le=..), WHOLE]
# (before it, the bounds would not reach the schema as minimum and maximum).
WHOLE = BeforeValidator(_whole)

# A whole number in a JSON body: 2 or 2.0, never true or "2".
Int = Annotated[int, WHOLE]
# Ids of rows: positive, at most 2**53 - 1 (see above).
Id = Annotated[int, Field(ge=1, le=MAX_ID), WHOLE]
# "After this id": 0 asks for everything.
Cursor = Annotated[int, Field(ge=0, le=MAX_ID), WHOLE]
# Counts, positions, durations that a client sends; the service checks its own narrower range
# (and says so in its own words), the schema only keeps the number within what storage holds.
Number = Annotated[int, Field(ge=-SMALL_MAX, le=SMALL_MAX), WHOLE]
