"""The voice campaigns API (supervisors and administrators): create a campaign, fill its
list from JSON or CSV, start and pause it, follow its progress and export its results."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Request, Response
from pydantic import ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict
from sqlalchemy import select

from omniline.auth.deps import CurrentPrincipal, SessionDep
from omniline.channels.voice import campaign_lists, campaigns
from omniline.channels.voice.campaigns import CampaignSpec, ListRow
from omniline.channels.voice.models import (
    CampaignContactStatus,
    VoiceCampaign,
    VoiceCampaignContact,
)
from omniline.errors import Invalid
from omniline.kit.fields import NOT_BLANK, JsonIn
from omniline.kit.ids import MAX_ID, WHOLE, Id
from omniline.kit.routing import router as make_router

ID_SCHEMA: JsonDict = {"type": "integer", "minimum": 1, "maximum": MAX_ID}

router = make_router(prefix="/api/v1/voice/campaigns", tags=["voice"])

# Two times of day, HH:MM-HH:MM; an end before the start spans midnight. The schema's pattern
# also refuses an empty window (the same time twice), which a backreference states; the model
# checks the shape and campaigns.parse_hours the rest (pydantic's regex engine has no
# backreferences).
_TIME = "([01][0-9]|2[0-3]):[0-5][0-9]"
Hours = Annotated[
    str,
    StringConstraints(pattern=rf"^{_TIME}-{_TIME}$"),
    Field(json_schema_extra={"pattern": rf"^(?!([0-9:]{{5}})-\1$){_TIME}-{_TIME}$"}),
]
VarValue = (
    Annotated[str, StringConstraints(max_length=500)]
    | Annotated[int, Field(ge=-(2**53) + 1, le=2**53 - 1)]
    | float
)


class CampaignIn(JsonIn):
    """A bot campaign (the default mode) plays a flow: ``flow_id`` is required unless ``mode``
    is ``agent`` (the schema's ``anyOf``). An agent campaign without ``queue_id`` uses the
    inbox's default queue; an inbox without one answers 409."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["mode"], "properties": {"mode": {"const": "agent"}}},
                {
                    "required": ["flow_id"],
                    "properties": {"flow_id": ID_SCHEMA},
                },
            ]
        }
    )

    inbox_id: Id
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        json_schema_extra={"pattern": NOT_BLANK}
    )
    mode: Literal["bot", "agent"] = "bot"
    flow_id: Id | None = None
    queue_id: Id | None = None
    hours: Hours = "09:00-20:00"
    max_attempts: Annotated[int, Field(ge=1, le=10), WHOLE] = 3
    retry_after_s: Annotated[int, Field(ge=1, le=7 * 86400), WHOLE] = 3600
    max_concurrent: Annotated[int, Field(ge=1, le=200), WHOLE] = 5


class ContactIn(JsonIn):
    number: Annotated[str, StringConstraints(max_length=100)]
    name: Annotated[str, StringConstraints(max_length=200)] = ""
    contact_id: Id | None = None
    variables: dict[Annotated[str, StringConstraints(min_length=1, max_length=64)], VarValue] = (
        Field(default_factory=dict, max_length=50)
    )


class ContactsIn(JsonIn):
    contacts: list[ContactIn] = Field(min_length=1, max_length=campaign_lists.MAX_ROWS)


@router.post("", status_code=201)
async def create_campaign(
    body: CampaignIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    campaign = await campaigns.do_create(session, p, CampaignSpec(**body.model_dump()))
    return campaigns.view(campaign, (await campaigns.progress(session, [campaign.id]))[campaign.id])


@router.put("/{campaign_id:int}")
async def update_campaign(
    campaign_id: Id, body: CampaignIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """A draft's settings, replaced whole (the body is as for creation); 409 once started."""
    campaign = await campaigns.get(session, p, campaign_id)
    campaign = await campaigns.do_update(session, p, campaign, CampaignSpec(**body.model_dump()))
    return campaigns.view(campaign, (await campaigns.progress(session, [campaign.id]))[campaign.id])


@router.get("")
async def list_campaigns(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    campaigns.check_may_run_campaigns(p)
    rows = list(
        await session.scalars(
            select(VoiceCampaign)
            .where(VoiceCampaign.workspace_id == p.workspace_id)
            .order_by(VoiceCampaign.id.desc())
            .limit(500)
        )
    )
    counts = await campaigns.progress(session, [c.id for c in rows])
    return {"items": [campaigns.view(c, counts[c.id]) for c in rows]}


@router.get("/{campaign_id:int}")
async def get_campaign(campaign_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    campaign = await campaigns.get(session, p, campaign_id)
    return campaigns.view(campaign, (await campaigns.progress(session, [campaign.id]))[campaign.id])


@router.post("/{campaign_id:int}/contacts")
async def add_contacts(
    campaign_id: Id, body: ContactsIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """Rows that are not phone numbers (or repeat one) come back in ``rejected``."""
    campaign = await campaigns.get(session, p, campaign_id)
    rows = [
        (n, ListRow(c.number, c.name, c.contact_id, dict(c.variables)))
        for n, c in enumerate(body.contacts, start=1)
    ]
    return await campaign_lists.do_add_contacts(session, campaign, rows)


@router.post(
    "/{campaign_id:int}/contacts.csv",
    openapi_extra={
        "requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}
    },
)
async def upload_contacts(
    campaign_id: Id, request: Request, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """Body: CSV, ``number[,name]`` per line, or a header ``number,name,<variable>...``."""
    campaign = await campaigns.get(session, p, campaign_id)
    data = await request.body()
    return await campaign_lists.do_add_contacts(session, campaign, campaign_lists.parse_csv(data))


@router.post("/{campaign_id:int}/start")
async def start_campaign(
    campaign_id: Id, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    campaign = await campaigns.do_start(session, await campaigns.get(session, p, campaign_id))
    return campaigns.view(campaign, (await campaigns.progress(session, [campaign.id]))[campaign.id])


@router.post("/{campaign_id:int}/pause")
async def pause_campaign(
    campaign_id: Id, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    campaign = await campaigns.do_pause(session, await campaigns.get(session, p, campaign_id))
    return campaigns.view(campaign, (await campaigns.progress(session, [campaign.id]))[campaign.id])


async def _rows(
    session: SessionDep, campaign: VoiceCampaign, status: str | None
) -> list[VoiceCampaignContact]:
    stmt = select(VoiceCampaignContact).where(VoiceCampaignContact.campaign_id == campaign.id)
    if status is not None:
        if status not in {s.value for s in CampaignContactStatus}:
            raise Invalid("status", "pending, dialing, done, failed or skipped")
        stmt = stmt.where(VoiceCampaignContact.status == status)
    return list(await session.scalars(stmt.order_by(VoiceCampaignContact.id)))


@router.get("/{campaign_id:int}/contacts")
async def campaign_results(
    campaign_id: Id, p: CurrentPrincipal, session: SessionDep, status: str | None = None
) -> dict[str, Any]:
    """Every customer of the campaign: status, attempts, result and what the flow collected."""
    campaign = await campaigns.get(session, p, campaign_id)
    rows = await _rows(session, campaign, status)
    return {"items": [campaigns.contact_view(r) for r in rows]}


@router.get(
    "/{campaign_id:int}/results.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "One row per customer"}},
)
async def export_results(campaign_id: Id, p: CurrentPrincipal, session: SessionDep) -> Response:
    campaign = await campaigns.get(session, p, campaign_id)
    rows = await _rows(session, campaign, None)
    return Response(
        campaign_lists.results_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="campaign-{campaign.id}.csv"'},
    )
