"""Bot flows API: drafts, publishing, rollback, JSON import and export, translations as CSV,
a test chat that runs the draft, the funnel, secrets, and the bot's view of a conversation."""

from __future__ import annotations

import copy
from typing import Annotated, Any

from fastapi import Path, Request, Response
from sqlalchemy import select

from omniline.auth import access
from omniline.auth.deps import CurrentPrincipal, SessionDep
from omniline.bots import funnel, service, translations
from omniline.bots.engine import Context, Engine, Input, State
from omniline.bots.models import BotFlow, BotSession
from omniline.bots.schemas import (
    FlowDocument,
    FlowIn,
    FlowSaveIn,
    InboxFlowIn,
    PublishIn,
    RollbackIn,
    SecretIn,
    TestTurnIn,
    flow_view,
    session_view,
    version_view,
)
from omniline.bots.test_chat import DraftEffects
from omniline.conversations import service as conversations
from omniline.errors import NotFound
from omniline.kit.ids import Id, Number
from omniline.kit.routing import router as make_router

router = make_router(prefix="/api/v1/bots", tags=["bots"])
SecretName = Annotated[str, Path(min_length=1, max_length=64, pattern=service.SECRET_NAME.pattern)]


@router.get("/flows")
async def list_flows(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    access.check_admin(p)
    return {"items": [flow_view(f) for f in await service.flows(session, p.workspace_id)]}


@router.post("/flows", status_code=201)
async def create_flow(body: FlowIn, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    access.check_admin(p)
    flow = await service.do_create_flow(session, p.workspace_id, body.key, body.name, body.graph)
    return flow_view(flow, draft=True)


@router.post("/flows/import", status_code=201)
async def import_flow(
    body: FlowDocument,
    p: CurrentPrincipal,
    session: SessionDep,
    publish: bool = False,
) -> dict[str, Any]:
    """Body: a flow as exported (``key``, ``name`` and the graph). Its draft is stored with its
    problems listed, as a saved one; with ``publish`` it is also published, and a flow with
    problems is refused whole (409, nothing stored)."""
    access.check_admin(p)
    flow, version = await service.do_import(
        session, p.workspace_id, body.dump(), publish=publish, user_id=p.user_id, user_name=p.name
    )
    out = flow_view(flow, draft=True)
    out["published"] = version_view(version) if version else None
    return out


@router.get("/flows/{flow_id:int}")
async def get_flow(flow_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    access.check_admin(p)
    flow = await service.flow_of(session, p.workspace_id, flow_id)
    out = flow_view(flow, draft=True)
    out["versions"] = [version_view(v) for v in await service.versions(session, flow)]
    return out


@router.put("/flows/{flow_id:int}")
async def save_flow(
    flow_id: Id, body: FlowSaveIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """Saves the draft even with problems (they are listed); publishing needs none."""
    access.check_admin(p)
    flow = await service.do_save_draft(
        session, p.workspace_id, flow_id, body.graph, revision=body.revision, name=body.name
    )
    return flow_view(flow, draft=True)


@router.delete("/flows/{flow_id:int}", status_code=204)
async def delete_flow(flow_id: Id, p: CurrentPrincipal, session: SessionDep) -> Response:
    access.check_admin(p)
    await service.do_delete_flow(session, p.workspace_id, flow_id)
    return Response(status_code=204)


@router.post("/flows/{flow_id:int}/publish", status_code=201)
async def publish_flow(
    flow_id: Id, body: PublishIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    access.check_admin(p)
    version = await service.do_publish(
        session, p.workspace_id, flow_id, user_id=p.user_id, user_name=p.name, note=body.note
    )
    return version_view(version)


@router.post("/flows/{flow_id:int}/rollback", status_code=201)
async def rollback_flow(
    flow_id: Id, body: RollbackIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    access.check_admin(p)
    version = await service.do_rollback(
        session, p.workspace_id, flow_id, body.version, user_id=p.user_id, user_name=p.name
    )
    return version_view(version)


@router.get(
    "/flows/{flow_id:int}/export",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}, "description": "The flow document"}},
)
async def export_flow(
    flow_id: Id, p: CurrentPrincipal, session: SessionDep, version: Number | None = None
) -> Response:
    """The draft, or version ``version``, as the documented JSON (a file to download)."""
    access.check_admin(p)
    flow = await service.flow_of(session, p.workspace_id, flow_id)
    graph = None
    if version is not None:
        found = [v for v in await service.versions(session, flow) if v.number == version]
        if not found:
            raise NotFound(f"the flow has no version {version}")
        graph = found[0].graph
    import orjson

    body = orjson.dumps(service.export(flow, graph), option=orjson.OPT_INDENT_2)
    name = f"{flow.key}{'-v' + str(version) if version else ''}.json"
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/flows/{flow_id:int}/translations",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The texts, one row each"}},
)
async def export_translations(flow_id: Id, p: CurrentPrincipal, session: SessionDep) -> Response:
    access.check_admin(p)
    flow = await service.flow_of(session, p.workspace_id, flow_id)
    return Response(
        translations.export_csv(copy.deepcopy(flow.draft)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{flow.key}-texts.csv"'},
    )


@router.put("/flows/{flow_id:int}/translations", openapi_extra=translations.CSV_BODY)
async def import_translations(
    flow_id: Id, request: Request, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """Body: the CSV (text/csv). Fills the draft's texts; the draft is checked as on save."""
    access.check_admin(p)
    flow = await service.flow_of(session, p.workspace_id, flow_id)
    data = await request.body()
    draft, changed, unknown = translations.import_csv(copy.deepcopy(flow.draft), data)
    flow = await service.do_save_draft(session, p.workspace_id, flow_id, draft)
    out = flow_view(flow, draft=True)
    out.update(changed=changed, unknown_rows=unknown)
    return out


@router.post("/flows/{flow_id:int}/test")
async def test_turn(
    flow_id: Id, body: TestTurnIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """One turn of the draft in the builder's test chat; the client keeps ``state``."""
    access.check_admin(p)
    flow = await service.flow_of(session, p.workspace_id, flow_id)
    graph = service.parse(flow.draft)
    state = State(**body.state.model_dump()) if body.state else State(language=body.language)
    secrets = await service.secret_values(session, p.workspace_id)
    ctx = Context(channel=body.channel, conversation_id=0, contact={"name": p.name})
    effects = DraftEffects(flow.id, flow.draft_revision, graph, secrets)
    engine = Engine(graph, ctx, effects)
    given = (
        None if body.text is None and body.payload is None else Input(body.text or "", body.payload)
    )
    result = await engine.run(state, given)
    return {
        "says": [{"text": s.text, "buttons": s.buttons, "media": s.media} for s in result.says],
        "outcome": {
            "kind": result.outcome.kind,
            "reason": result.outcome.reason,
            "topic": result.outcome.topic,
            "queue": result.outcome.queue,
            "flow": result.outcome.flow,
        },
        "state": {
            "node": state.node,
            "variables": state.variables,
            "language": state.language,
            "misses": state.misses,
            "retries": state.retries,
            "path": state.path,
        },
    }


@router.get("/flows/{flow_id:int}/funnel")
async def flow_funnel(flow_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    access.check_admin(p)
    flow = await service.flow_of(session, p.workspace_id, flow_id)
    return await funnel.funnel(session, p.workspace_id, flow.id)


@router.put("/inboxes/{inbox_id:int}")
async def set_inbox_flow(
    inbox_id: Id, body: InboxFlowIn, p: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    """The flow that greets the inbox's new conversations (``flow_id`` null: none)."""
    access.check_admin(p)
    inbox = await service.do_set_inbox_flow(session, p.workspace_id, inbox_id, body.flow_id)
    return {"inbox_id": inbox.id, "flow_id": inbox.bot_flow_id}


@router.get("/secrets")
async def list_secrets(p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    """Names only: a value is never shown again once stored."""
    access.check_admin(p)
    return {"items": [{"name": n} for n in await service.secret_names(session, p.workspace_id)]}


@router.put("/secrets/{name}", status_code=204)
async def set_secret(
    name: SecretName,
    body: SecretIn,
    p: CurrentPrincipal,
    session: SessionDep,
) -> Response:
    access.check_admin(p)
    await service.do_set_secret(session, p.workspace_id, name, body.value)
    return Response(status_code=204)


@router.delete("/secrets/{name}", status_code=204)
async def delete_secret(name: SecretName, p: CurrentPrincipal, session: SessionDep) -> Response:
    access.check_admin(p)
    await service.do_delete_secret(session, p.workspace_id, name)
    return Response(status_code=204)


@router.get("/conversations/{conv_id:int}")
async def conversation_bot(conv_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    """What the bot collected in a conversation (the agent's sidebar): variables, path, outcome."""
    conv = await conversations.get_visible(session, p, conv_id)
    bs = await session.scalar(select(BotSession).where(BotSession.conversation_id == conv.id))
    if bs is None:
        return {"session": None}
    flow = await session.get(BotFlow, bs.flow_id)
    return {"session": session_view(bs, flow)}
