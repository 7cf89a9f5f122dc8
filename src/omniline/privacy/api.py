"""Privacy API (administrators): retention setting, a contact's export and erasure."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field, field_validator

from omniline.auth import access
from omniline.auth.deps import CurrentPrincipal, SessionDep
from omniline.kit.fields import JsonIn
from omniline.kit.ids import MAX_ID, WHOLE
from omniline.kit.routing import router as make_router
from omniline.privacy import service

router = make_router(prefix="/api/v1", tags=["privacy"])
ContactId = Annotated[int, Path(ge=1, le=MAX_ID)]
Days = Annotated[int, Field(ge=service.RETENTION_MIN, le=service.RETENTION_MAX), WHOLE]


class RetentionIn(JsonIn):
    model_config = ConfigDict(extra="forbid")
    retention_days: Days | None


class EraseIn(JsonIn):
    model_config = ConfigDict(extra="forbid")
    # Only true is accepted: the schema says so, and the refusal explains why.
    confirm: Literal[True]

    @field_validator("confirm", mode="before")
    @classmethod
    def _confirmed(cls, value: object) -> object:
        if value is not True:
            raise ValueError("erasure cannot be undone: send confirm: true")
        return value


@router.get("/privacy/retention")
async def get_retention(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    access.check_admin(p)
    return {"retention_days": await service.retention_of(session, p.workspace_id)}


@router.put("/privacy/retention")
async def set_retention(
    body: RetentionIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    ws = await service.do_set_retention(session, p, body.retention_days)
    return {"retention_days": ws.retention_days}


@router.get("/contacts/{contact_id}/export")
async def export_contact(
    contact_id: ContactId, p: CurrentPrincipal, session: SessionDep
) -> JSONResponse:
    data = await service.export_contact(session, p, contact_id)
    return JSONResponse(
        data,
        headers={
            "Content-Disposition": f'attachment; filename="contact-{contact_id}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/contacts/{contact_id}/erase")
async def erase_contact(
    contact_id: ContactId, body: EraseIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    done = await service.do_erase_contact(session, p, contact_id)
    return {"erased": True, "conversations": done}
