"""Flows: drafts checked on every save, versions published only without errors, rollback,
import and export as JSON, the inbox a flow greets, and the secrets HTTP nodes may use."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.bots.graph import SCHEMA, Graph
from omniline.bots.models import BotFlow, BotFlowVersion, BotSecret
from omniline.bots.validator import Problem, validate
from omniline.errors import Conflict, DomainError, Invalid, NotFound, Taken
from omniline.inboxes.models import Inbox
from omniline.workspaces.models import Queue

KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class FlowInvalid(DomainError):
    """The stored flow has problems: nothing was published. 409: the request is right, the
    draft it would publish (or a version a rollback names) is not ready."""

    status = 409
    code = "flow_invalid"

    def __init__(self, message: str, problems: list[Problem]) -> None:
        super().__init__(message)
        self.problems = problems

    def body(self) -> dict[str, Any]:
        out = super().body()
        out["error"]["problems"] = [p.as_dict() for p in self.problems]
        return out


def parse(document: Any) -> Graph:
    """The graph of a saved or imported document; shape errors answer 422 with their place."""
    if isinstance(document, Graph):  # read by the API's schema already
        return document
    if not isinstance(document, dict):
        raise Invalid("graph", "must be a JSON object")
    try:
        return Graph.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "graph"
        raise Invalid(f"graph.{where}", str(first["msg"])) from None


async def flow_of(session: AsyncSession, workspace_id: int, flow_id: int) -> BotFlow:
    flow = await session.get(BotFlow, flow_id)
    if flow is None or flow.workspace_id != workspace_id:
        raise NotFound("no such flow")
    return flow


async def flow_by_key(session: AsyncSession, workspace_id: int, key: str) -> BotFlow | None:
    found: BotFlow | None = await session.scalar(
        select(BotFlow).where(BotFlow.workspace_id == workspace_id, BotFlow.key == key)
    )
    return found


async def flows(session: AsyncSession, workspace_id: int) -> list[BotFlow]:
    return list(
        await session.scalars(
            select(BotFlow).where(BotFlow.workspace_id == workspace_id).order_by(BotFlow.name)
        )
    )


async def versions(session: AsyncSession, flow: BotFlow) -> list[BotFlowVersion]:
    return list(
        await session.scalars(
            select(BotFlowVersion)
            .where(BotFlowVersion.flow_id == flow.id)
            .order_by(BotFlowVersion.number.desc())
        )
    )


async def check(session: AsyncSession, workspace_id: int, graph: Graph, key: str) -> list[Problem]:
    """The validator with what the workspace has: flows to jump to, queues, secrets."""
    keys = set(
        await session.scalars(select(BotFlow.key).where(BotFlow.workspace_id == workspace_id))
    )
    queues = set(
        await session.scalars(select(Queue.name).where(Queue.workspace_id == workspace_id))
    )
    secrets = set(
        await session.scalars(select(BotSecret.name).where(BotSecret.workspace_id == workspace_id))
    )
    return validate(graph, flow_key=key, flows=keys | {key}, queues=queues, secrets=secrets)


def _check_key(key: str) -> str:
    key = key.strip()
    if not KEY.match(key):
        raise Invalid("key", "lower-case letters, digits, - and _ (at most 64), e.g. greeting")
    return key


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise Invalid("name", "must be 1-200 characters")
    return name


async def do_create_flow(
    session: AsyncSession, workspace_id: int, key: str, name: str, document: Any = None
) -> BotFlow:
    key, name = _check_key(key), _check_name(name)
    if await flow_by_key(session, workspace_id, key) is not None:
        raise Taken("key", f"a flow called {key!r} exists")
    graph = parse(document) if document is not None else Graph()
    flow = BotFlow(workspace_id=workspace_id, key=key, name=name, draft=graph.dump())
    session.add(flow)
    flow.problems = [p.as_dict() for p in await check(session, workspace_id, graph, key)]
    await session.flush()
    return flow


async def do_save_draft(
    session: AsyncSession,
    workspace_id: int,
    flow_id: int,
    document: Any,
    *,
    revision: int | None = None,
    name: str | None = None,
) -> BotFlow:
    """Store the draft whatever its problems (work in progress is never lost) and list them.

    ``revision``: the draft revision the editor started from; a newer one is refused (409)
    so that two people editing one flow do not silently overwrite each other.
    """
    flow = await flow_of(session, workspace_id, flow_id)
    if revision is not None and revision != flow.draft_revision:
        raise Conflict("the flow was saved by someone else meanwhile: reload it")
    graph = parse(document)
    flow.draft = graph.dump()
    if name is not None:
        flow.name = _check_name(name)
    flow.problems = [p.as_dict() for p in await check(session, workspace_id, graph, flow.key)]
    flow.draft_revision += 1
    await session.flush()
    return flow


async def _new_version(
    session: AsyncSession,
    flow: BotFlow,
    graph: Graph,
    user_id: int | None,
    user_name: str,
    note: str,
) -> BotFlowVersion:
    number = (
        await session.scalar(
            select(func.max(BotFlowVersion.number)).where(BotFlowVersion.flow_id == flow.id)
        )
        or 0
    ) + 1
    version = BotFlowVersion(
        workspace_id=flow.workspace_id,
        flow_id=flow.id,
        number=number,
        graph=graph.dump(),
        published_by_id=user_id,
        published_by_name=user_name[:200],
        note=note[:500],
    )
    session.add(version)
    await session.flush()
    flow.published_version_id = version.id
    return version


async def do_publish(
    session: AsyncSession,
    workspace_id: int,
    flow_id: int,
    *,
    user_id: int | None = None,
    user_name: str = "",
    note: str = "",
) -> BotFlowVersion:
    """Publish the draft as the next version; refused with every problem when it has any.

    Conversations already in the flow finish on the version they started with.
    """
    flow = await flow_of(session, workspace_id, flow_id)
    graph = parse(flow.draft)
    problems = await check(session, workspace_id, graph, flow.key)
    flow.problems = [p.as_dict() for p in problems]
    if problems:
        raise FlowInvalid(
            f"the flow has {len(problems)} problem(s); nothing was published", problems
        )
    version = await _new_version(session, flow, graph, user_id, user_name, note)
    from omniline.bots import faq

    await faq.schedule_training(session, version)
    return version


async def do_rollback(
    session: AsyncSession,
    workspace_id: int,
    flow_id: int,
    number: int,
    *,
    user_id: int | None = None,
    user_name: str = "",
) -> BotFlowVersion:
    """Publish an earlier version again, as a new version (history stays linear)."""
    flow = await flow_of(session, workspace_id, flow_id)
    old = await session.scalar(
        select(BotFlowVersion).where(
            BotFlowVersion.flow_id == flow.id, BotFlowVersion.number == number
        )
    )
    if old is None:
        raise NotFound(f"the flow has no version {number}")
    graph = parse(old.graph)
    problems = await check(session, workspace_id, graph, flow.key)
    if problems:  # e.g. a queue or secret it names is gone since
        raise FlowInvalid(f"version {number} no longer passes the checks", problems)
    version = await _new_version(
        session, flow, graph, user_id, user_name, f"rollback to version {number}"
    )
    from omniline.bots import faq

    await faq.schedule_training(session, version)
    return version


def export(flow: BotFlow, graph: dict[str, Any] | None = None) -> dict[str, Any]:
    """The documented JSON of a flow (its draft, or a version's graph)."""
    body = dict(graph if graph is not None else flow.draft)
    body["schema"] = SCHEMA
    return {"key": flow.key, "name": flow.name, **body}


async def do_import(
    session: AsyncSession,
    workspace_id: int,
    document: Any,
    *,
    publish: bool = False,
    user_id: int | None = None,
    user_name: str = "",
) -> tuple[BotFlow, BotFlowVersion | None]:
    """Create or replace the draft of the flow named by ``key``, with its problems listed as
    on a save (work is never lost; the published version is untouched). With ``publish`` a
    flow with problems is refused whole, with the validator's messages."""
    if not isinstance(document, dict):
        raise Invalid("document", "must be a JSON object")
    body = dict(document)
    key = _check_key(str(body.pop("key", "") or ""))
    name = _check_name(str(body.pop("name", "") or key))
    graph = parse(body)
    problems = await check(session, workspace_id, graph, key)
    if problems and publish:
        raise FlowInvalid(
            f"the flow has {len(problems)} problem(s); nothing was imported", problems
        )
    flow = await flow_by_key(session, workspace_id, key)
    if flow is None:
        flow = BotFlow(workspace_id=workspace_id, key=key, name=name, draft=graph.dump())
        session.add(flow)
    else:
        flow.name, flow.draft = name, graph.dump()
        flow.draft_revision += 1
    flow.problems = [p.as_dict() for p in problems]
    await session.flush()
    version = None
    if publish:
        version = await do_publish(
            session, workspace_id, flow.id, user_id=user_id, user_name=user_name, note="imported"
        )
    return flow, version


async def do_delete_flow(session: AsyncSession, workspace_id: int, flow_id: int) -> None:
    flow = await flow_of(session, workspace_id, flow_id)
    used = await session.scalar(
        select(func.count()).select_from(Inbox).where(Inbox.bot_flow_id == flow.id)
    )
    if used:
        raise Conflict("an inbox greets with this flow: choose another flow for it first")
    await session.delete(flow)
    await session.flush()


async def do_set_inbox_flow(
    session: AsyncSession, workspace_id: int, inbox_id: int, flow_id: int | None
) -> Inbox:
    inbox = await session.get(Inbox, inbox_id)
    if inbox is None or inbox.workspace_id != workspace_id:
        raise NotFound("no such inbox")
    if flow_id is not None:
        flow = await flow_of(session, workspace_id, flow_id)
        if flow.published_version_id is None:
            raise Conflict(
                "flow_id: publish the flow before an inbox greets with it",
                fields=[{"field": "flow_id", "message": "publish the flow first"}],
            )
    inbox.bot_flow_id = flow_id
    await session.flush()
    return inbox


async def do_set_secret(session: AsyncSession, workspace_id: int, name: str, value: str) -> None:
    name = name.strip()
    if not SECRET_NAME.match(name):
        raise Invalid("name", "letters, digits and _ (at most 64), not starting with a digit")
    if not value or len(value) > 2000:
        raise Invalid("value", "must be 1-2000 characters")
    found = await session.scalar(
        select(BotSecret).where(BotSecret.workspace_id == workspace_id, BotSecret.name == name)
    )
    if found is None:
        session.add(BotSecret(workspace_id=workspace_id, name=name, value=value))
    else:
        found.value = value
    await session.flush()


async def do_delete_secret(session: AsyncSession, workspace_id: int, name: str) -> None:
    found = await session.scalar(
        select(BotSecret).where(BotSecret.workspace_id == workspace_id, BotSecret.name == name)
    )
    if found is None:
        raise NotFound("no such secret")
    await session.delete(found)
    await session.flush()


async def secret_names(session: AsyncSession, workspace_id: int) -> list[str]:
    return list(
        await session.scalars(
            select(BotSecret.name)
            .where(BotSecret.workspace_id == workspace_id)
            .order_by(BotSecret.name)
        )
    )


async def secret_values(session: AsyncSession, workspace_id: int) -> dict[str, str]:
    rows = await session.execute(
        select(BotSecret.name, BotSecret.value).where(BotSecret.workspace_id == workspace_id)
    )
    return {name: value for name, value in rows.all()}
