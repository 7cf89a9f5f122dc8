"""Bounded integers for everything a request carries: ids, counts, positions.

The database keeps ids in 64-bit columns; a larger number from a client would overflow in the
driver (a 500). These types refuse it at the schema level with a 422, and the OpenAPI schema
tells clients the range.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_ID = 2**63 - 1
SMALL_MAX = 2**31 - 1
# Ids of rows: positive 64-bit.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# "After this id": 0 asks for everything.
Cursor = Annotated[int, Field(ge=0, le=MAX_ID)]
# Counts, positions, durations that a client sends; the service checks its own narrower range
# (and says so in its own words), the schema only keeps the number within what storage holds.
Number = Annotated[int, Field(ge=-SMALL_MAX, le=SMALL_MAX)]
