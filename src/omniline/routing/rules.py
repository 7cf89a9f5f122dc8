"""Editing routing rules (``check_*`` / ``do_*``): validated whole, nothing half-saved.

Every change bumps the workspace's rule version so that each process's compiled
rules are rebuilt on its next routing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.audit import service as audit
from omniline.audit.redact import snapshot
from omniline.errors import Conflict, Invalid, NoSuch, NotFound, Taken
from omniline.inboxes.models import Inbox
from omniline.kit.clock import utcnow
from omniline.routing import repository
from omniline.routing.conditions import describe
from omniline.routing.models import RoutingRule
from omniline.routing.schemas import (
    Actions,
    BusinessHoursCondition,
    InboxCondition,
    RuleIn,
    conditions_adapter,
    parse_rule,
)
from omniline.workspaces.models import Queue


async def _check_calendar(
    session: AsyncSession, workspace_id: int, field: str, calendar_id: int
) -> None:
    # omniline.sla (calendars) is a sibling domain, imported lazily like in the service.
    try:
        from omniline.sla import calendars
    except ImportError:
        raise Invalid(field, "business-hours calendars are not available") from None
    try:
        await calendars.get_calendar(session, calendar_id, workspace_id)
    except NotFound:
        raise NoSuch(field, "no such business-hours calendar in this workspace") from None


async def check_rule(
    session: AsyncSession, workspace_id: int, data: Any, *, rule_id: int | None = None
) -> RuleIn:
    """Parse and check a rule against the workspace (queue, inboxes, name, calendars)."""
    rule = parse_rule(data)
    other = await repository.id_by_name(session, workspace_id, rule.name)
    if other is not None and other != rule_id:
        raise Taken("name", "another rule already has this name")
    if rule.actions.queue_id is not None:
        queue = await session.scalar(
            select(Queue.id).where(
                Queue.id == rule.actions.queue_id, Queue.workspace_id == workspace_id
            )
        )
        if queue is None:
            raise NoSuch("actions.queue_id", "no such queue in this workspace")
    for i, c in enumerate(rule.conditions):
        if isinstance(c, InboxCondition):
            known = set(
                await session.scalars(
                    select(Inbox.id).where(
                        Inbox.workspace_id == workspace_id, Inbox.id.in_(c.inbox_ids)
                    )
                )
            )
            missing = [x for x in c.inbox_ids if x not in known]
            if missing:
                raise NoSuch(
                    f"conditions[{i}].inbox_ids",
                    "no such inbox in this workspace: " + ", ".join(map(str, missing)),
                )
        elif isinstance(c, BusinessHoursCondition):
            await _check_calendar(
                session, workspace_id, f"conditions[{i}].calendar_id", c.calendar_id
            )
    return rule


def _store(row: RoutingRule, rule: RuleIn) -> None:
    row.name = rule.name
    row.priority = rule.priority
    row.enabled = rule.enabled
    row.conditions = [c.model_dump(mode="json") for c in rule.conditions]
    row.actions = rule.actions.model_dump(mode="json")
    row.updated_at = utcnow()


RULE_FIELDS = ("name", "priority", "enabled", "conditions", "actions", "position")


async def _audit(
    session: AsyncSession, action: str, row: RoutingRule, before: dict[str, Any] | None
) -> None:
    await audit.record_change(
        session, action, row, RULE_FIELDS, before, target_type="routing_rule", label=row.name
    )


async def do_create_rule(session: AsyncSession, workspace_id: int, data: Any) -> RoutingRule:
    rule = await check_rule(session, workspace_id, data)
    row = RoutingRule(
        workspace_id=workspace_id, position=await repository.next_position(session, workspace_id)
    )
    _store(row, rule)
    session.add(row)
    await repository.bump_version(session, workspace_id)
    await session.flush()
    await _audit(session, "routing_rule.created", row, None)
    return row


async def get_rule(session: AsyncSession, workspace_id: int, rule_id: int) -> RoutingRule:
    row = await repository.get(session, workspace_id, rule_id)
    if row is None:
        raise NotFound("no such routing rule")
    return row


async def do_update_rule(
    session: AsyncSession, workspace_id: int, rule_id: int, data: Any
) -> RoutingRule:
    row = await get_rule(session, workspace_id, rule_id)
    rule = await check_rule(session, workspace_id, data, rule_id=rule_id)
    before = snapshot(row, RULE_FIELDS)
    _store(row, rule)
    await repository.bump_version(session, workspace_id)
    await session.flush()
    await _audit(session, "routing_rule.updated", row, before)
    return row


async def do_set_enabled(
    session: AsyncSession, workspace_id: int, rule_id: int, enabled: bool
) -> RoutingRule:
    row = await get_rule(session, workspace_id, rule_id)
    before = snapshot(row, RULE_FIELDS)
    row.enabled = enabled
    row.updated_at = utcnow()
    await repository.bump_version(session, workspace_id)
    await session.flush()
    await _audit(session, "routing_rule.updated", row, before)
    return row


async def do_delete_rule(session: AsyncSession, workspace_id: int, rule_id: int) -> None:
    row = await get_rule(session, workspace_id, rule_id)
    before = snapshot(row, RULE_FIELDS)
    await session.delete(row)
    await repository.bump_version(session, workspace_id)
    await session.flush()
    await audit.record(
        session,
        "routing_rule.deleted",
        workspace_id=workspace_id,
        target_type="routing_rule",
        target_id=rule_id,
        target_label=str(before["name"]),
        before=before,
        after={},
    )


async def do_reorder(session: AsyncSession, workspace_id: int, ids: list[int]) -> list[RoutingRule]:
    """Set positions from a complete list of the workspace's rule ids (first = position 0).

    Priority still comes first: the order decides among rules of equal priority.
    """
    rows = await repository.rules(session, workspace_id)
    by_id = {r.id: r for r in rows}
    if len(ids) != len(set(ids)):  # the schema says so too (uniqueItems)
        raise Invalid("ids", "list every rule of the workspace exactly once")
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise NoSuch("ids", "no such rule in this workspace: " + ", ".join(map(str, unknown)))
    left_out = [r.id for r in rows if r.id not in set(ids)]
    if left_out:
        # Most likely a rule was added since the caller read the list: read it again.
        raise Conflict(
            "ids: list every rule of the workspace exactly once",
            fields=[
                {
                    "field": "ids",
                    "message": "list every rule of the workspace exactly once; left out: "
                    + ", ".join(map(str, left_out)),
                }
            ],
        )
    before = [r.id for r in rows]
    for pos, rid in enumerate(ids):
        by_id[rid].position = pos
    await repository.bump_version(session, workspace_id)
    await session.flush()
    await audit.record(
        session,
        "routing_rule.reordered",
        workspace_id=workspace_id,
        target_type="routing_rule",
        before={"order": before},
        after={"order": list(ids)},
    )
    return await repository.rules(session, workspace_id)


async def do_move(session: AsyncSession, workspace_id: int, rule_id: int, direction: str) -> None:
    """Swap a rule with its neighbour of equal priority (the admin list's up/down buttons)."""
    if direction not in ("up", "down"):
        raise Invalid("direction", "use up or down")
    rows = await repository.rules(session, workspace_id)
    i = next((k for k, r in enumerate(rows) if r.id == rule_id), None)
    if i is None:
        raise NotFound("no such routing rule")
    j = i - 1 if direction == "up" else i + 1
    if not 0 <= j < len(rows) or rows[j].priority != rows[i].priority:
        raise Invalid("direction", "a rule moves only among rules of the same priority")
    ids = [r.id for r in rows]
    ids[i], ids[j] = ids[j], ids[i]
    await do_reorder(session, workspace_id, ids)


def rule_view(row: RoutingRule, queue_names: dict[int, str] | None = None) -> dict[str, Any]:
    conditions = conditions_adapter.validate_python(row.conditions)
    actions = Actions.model_validate(row.actions)
    names = queue_names or {}
    return {
        "id": row.id,
        "name": row.name,
        "priority": row.priority,
        "position": row.position,
        "enabled": row.enabled,
        "conditions": row.conditions,
        "condition_texts": [describe(c) for c in conditions],
        "actions": row.actions,
        "queue_name": names.get(actions.queue_id) if actions.queue_id is not None else None,
        "updated_at": row.updated_at.isoformat(),
    }


async def queue_names(session: AsyncSession, workspace_id: int) -> dict[int, str]:
    rows = await session.execute(
        select(Queue.id, Queue.name).where(Queue.workspace_id == workspace_id)
    )
    return {qid: name for qid, name in rows.all()}
