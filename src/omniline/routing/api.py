"""JSON API of routing rules (administrators only)."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Body, Response
from pydantic import ValidationError

from omniline.auth import access
from omniline.auth.deps import CurrentPrincipal, SessionDep
from omniline.errors import NoSuch
from omniline.kit.ids import Id
from omniline.kit.openapi import refusals, typed_body
from omniline.kit.routing import router as make_router
from omniline.routing import repository, rules, service
from omniline.routing.schemas import DryRunIn, ReorderIn, RuleIn, invalid_from

router = make_router(prefix="/api/v1/routing", tags=["routing"])
# Bodies are read as JSON objects and parsed here, so that errors name the condition
# (``conditions[0].keywords``); the schema still documents their real shape.
JsonBody = Annotated[dict[str, Any], Body()]
RULE, REORDER, DRY_RUN = (typed_body(m, "Routing") for m in (RuleIn, ReorderIn, DryRunIn))
# Rule ids only (``:int``): "/rules/reorder" must not reach the rule routes, so PUT /reorder
# answers 405 with Allow: POST rather than 422 for a rule id that is a word.
M = TypeVar("M", ReorderIn, DryRunIn)


@router.get("/rules")
async def list_rules(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    access.check_admin(p)
    names = await rules.queue_names(session, p.workspace_id)
    return {
        "items": [
            rules.rule_view(r, names) for r in await repository.rules(session, p.workspace_id)
        ]
    }


@router.post("/rules", status_code=201, openapi_extra=RULE)
async def create_rule(body: JsonBody, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    access.check_admin(p)
    row = await rules.do_create_rule(session, p.workspace_id, body)
    return rules.rule_view(row, await rules.queue_names(session, p.workspace_id))


@router.put("/rules/{rule_id:int}", openapi_extra=RULE)
async def update_rule(
    rule_id: Id, body: JsonBody, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    access.check_admin(p)
    row = await rules.do_update_rule(session, p.workspace_id, rule_id, body)
    return rules.rule_view(row, await rules.queue_names(session, p.workspace_id))


@router.delete("/rules/{rule_id:int}", status_code=204)
async def delete_rule(rule_id: Id, p: CurrentPrincipal, session: SessionDep) -> Response:
    access.check_admin(p)
    await rules.do_delete_rule(session, p.workspace_id, rule_id)
    return Response(status_code=204)


@router.post(
    "/rules/reorder",
    openapi_extra=REORDER,
    responses=refusals(
        {
            404: "`ids` names a rule that is not in this workspace",
            409: "`ids` leaves out a rule of the workspace (added since the list was read)",
        }
    ),
)
async def reorder_rules(body: JsonBody, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    access.check_admin(p)
    data = _parse(ReorderIn, body)
    rows = await rules.do_reorder(session, p.workspace_id, data.ids)
    names = await rules.queue_names(session, p.workspace_id)
    return {"items": [rules.rule_view(r, names) for r in rows]}


@router.post("/dry-run", openapi_extra=DRY_RUN)
async def dry_run(body: JsonBody, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    access.check_admin(p)
    data = _parse(DryRunIn, body)
    contact = await repository.find_contact(session, p.workspace_id, str(data.contact))
    if contact is None:
        raise NoSuch("contact", "no contact with this id, external id or email")
    return await service.dry_run(
        session,
        p.workspace_id,
        contact.id,
        data.first_text,
        data.inbox_id,
        to_address=data.to_address,
        topic=data.topic,
    )


def _parse(model: type[M], body: dict[str, Any]) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise invalid_from(exc) from None
