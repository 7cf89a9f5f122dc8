"""Admin API of auto-reply rules (docs/api.md)."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from omniline.auth import access
from omniline.auth.deps import CurrentPrincipal, SessionDep
from omniline.autoreplies import repository, service
from omniline.autoreplies.schemas import PreviewIn, RuleIn, rule_view
from omniline.kit.ids import Id
from omniline.kit.openapi import refusals
from omniline.kit.routing import router as make_router

router = make_router(prefix="/api/v1/autoreplies", tags=["autoreplies"])
# Ids only (``:int``): "/preview" must not reach the rule routes, so PUT /preview answers 405
# with Allow: POST rather than 422 for a rule id that is a word.
# The schema lists the variables of every kind (an anyOf per kind stalls schemathesis); which
# kind offers which, and rules of two fields together, are checked by the service.
TEXT_REFUSAL = "A text uses a variable its kind does not offer (`{agent_name}` in a greeting)"
RULE_REFUSALS = refusals(
    {
        404: "`inbox_id`, `queue_id` or `calendar_id` names nothing in this workspace",
        422: TEXT_REFUSAL + "; two texts in one language; no text in `fallback_language`; "
        "an out-of-hours rule without `calendar_id`; a high-load rule without a threshold",
    }
)


@router.get("")
async def list_rules(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    access.check_admin(p)
    rules = await repository.rules(session, p.workspace_id)
    texts = await repository.texts(session, [r.id for r in rules])
    return {"items": [rule_view(r, texts[r.id]) for r in rules]}


@router.post("", status_code=201, responses=RULE_REFUSALS)
async def create_rule(body: RuleIn, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    access.check_admin(p)
    rule = await service.do_create_rule(session, p.workspace_id, body.data())
    return rule_view(rule, (await repository.texts(session, [rule.id]))[rule.id])


@router.get("/{rule_id:int}")
async def get_rule(rule_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    access.check_admin(p)
    rule = await service.get_rule(session, p.workspace_id, rule_id)
    return rule_view(rule, (await repository.texts(session, [rule.id]))[rule.id])


@router.put("/{rule_id:int}", responses=RULE_REFUSALS)
async def update_rule(
    rule_id: Id, body: RuleIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    access.check_admin(p)
    rule = await service.do_update_rule(session, p.workspace_id, rule_id, body.data())
    return rule_view(rule, (await repository.texts(session, [rule.id]))[rule.id])


@router.delete("/{rule_id:int}", status_code=204)
async def delete_rule(rule_id: Id, p: CurrentPrincipal, session: SessionDep) -> Response:
    access.check_admin(p)
    await service.do_delete_rule(session, p.workspace_id, rule_id)
    return Response(status_code=204)


@router.post("/preview", responses=refusals({422: TEXT_REFUSAL}))
async def preview(body: PreviewIn, p: CurrentPrincipal) -> dict[str, Any]:
    """The text rendered with sample values, validated as saving would."""
    access.check_admin(p)
    return {"text": service.preview(body.kind, body.text)}
