from __future__ import annotations

from pydantic import ConfigDict, Field

from omniline.kit.fields import JsonIn
from omniline.kit.ids import Id


class MergeIn(JsonIn):
    model_config = ConfigDict(extra="forbid")

    # The contact that is merged into the one in the path and then deleted.
    other_id: Id = Field(ge=1, strict=True)
