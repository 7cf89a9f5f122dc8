"""Access rules, in one place.

- agent: conversations of the queues they are a member of, and those assigned to them;
- supervisor: also every queue owned by a team they belong to;
- qa and admin: every conversation of their workspace.
Everything else of the workspace is visible only as a locked row; nothing of
another workspace is visible at all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth.models import Role, User
from omniline.auth.principal import Principal
from omniline.errors import Conflict, Forbidden
from omniline.workspaces.models import Queue, QueueMember, TeamMember

SEES_ALL = frozenset({Role.admin.value, Role.qa.value})
MAY_REPLY = frozenset({Role.agent.value, Role.supervisor.value, Role.admin.value})


async def visible_queue_ids(session: AsyncSession, user: User) -> frozenset[int] | None:
    if user.role in SEES_ALL:
        return None
    member_of = select(QueueMember.queue_id).where(QueueMember.user_id == user.id)
    if user.role == Role.supervisor.value:
        teams = select(TeamMember.team_id).where(TeamMember.user_id == user.id)
        owned = select(Queue.id).where(Queue.team_id.in_(teams))
        rows = await session.scalars(member_of.union(owned))
    else:
        rows = await session.scalars(member_of)
    return frozenset(rows)


def can_see(p: Principal, queue_id: int | None, assignee_id: int | None) -> bool:
    if p.queue_ids is None:
        return True
    if assignee_id is not None and assignee_id == p.user_id:
        return True
    return queue_id is not None and queue_id in p.queue_ids


def visibility_clause(p: Principal, queue_col: Any, assignee_col: Any) -> ColumnElement[bool]:
    """SQL form of :func:`can_see` (workspace filtering is the repository's job)."""
    if p.queue_ids is None:
        return true()
    clauses: list[ColumnElement[bool]] = [assignee_col == p.user_id]
    if p.queue_ids:
        clauses.append(queue_col.in_(sorted(p.queue_ids)))
    return or_(*clauses) if clauses else false()


def check_may_reply(p: Principal) -> None:
    if p.role not in MAY_REPLY:
        raise Forbidden("your role may read conversations but not write to customers")


def check_may_merge_contacts(p: Principal) -> None:
    """Merging two customers changes their history: the roles that write to customers may."""
    if p.role not in MAY_REPLY:
        raise Forbidden("your role may read contacts but not merge them")


def can_see_contact(p: Principal, conversations: list[tuple[int | None, int | None]]) -> bool:
    """A contact is reached through a conversation: ``(queue_id, assignee_id)`` of each.

    A contact without conversations (created by the CRM) is visible to the whole workspace.
    """
    if p.queue_ids is None or not conversations:
        return True
    return any(can_see(p, queue_id, assignee_id) for queue_id, assignee_id in conversations)


def check_admin(p: Principal) -> None:
    if p.role != Role.admin.value:
        raise Forbidden("only an administrator may do this")


LEADS = frozenset({Role.admin.value, Role.supervisor.value})


def may_change_owner(
    p: Principal, queue_id: int | None, current: int | None, new: int | None
) -> bool:
    """The one ownership rule (assign, unassign, pick, transfer, and the buttons that call them).

    An agent takes what is unassigned or already theirs and releases their own; taking, giving
    or releasing someone else's needs a supervisor of that queue (one who sees it) or an admin.
    """
    if p.role not in MAY_REPLY:
        return False
    if p.role == Role.admin.value:
        return True
    if p.role == Role.supervisor.value and can_see(p, queue_id, None):
        return True
    return current in (None, p.user_id) and new in (None, p.user_id)


def check_may_change_owner(
    p: Principal,
    queue_id: int | None,
    current: int | None,
    new: int | None,
    current_name: str | None = None,
) -> None:
    """Raises what the person should read: QA only reads (403); someone else has the
    conversation (409, naming them); only leads give conversations to others (403)."""
    if may_change_owner(p, queue_id, current, new):
        return
    if p.role not in MAY_REPLY:
        raise Forbidden("your role may read conversations but not take or assign them")
    if current not in (None, p.user_id):
        raise Conflict(
            f"{current_name or 'another agent'} already has this conversation; "
            "a supervisor can reassign it"
        )
    raise Forbidden("only supervisors and administrators may assign to someone else")


def event_payload_for(p: Principal, audience: Any) -> str:
    """Which variant of a realtime event a staff member receives: full, locked or none."""
    if audience.workspace_id != p.workspace_id or not audience.staff:
        return "none"
    roles = getattr(audience, "roles", None)
    if roles is not None and p.role not in roles:
        return "none"
    if getattr(audience, "user_id", None) is not None:
        return "full" if audience.user_id == p.user_id else "none"
    if can_see(p, audience.queue_id, audience.assignee_id):
        return "full"
    return "locked" if audience.locked_data is not None else "none"


AUDIT_READERS = frozenset({Role.admin.value, Role.qa.value})


def check_may_read_audit(p: Principal) -> None:
    """Administrators and quality reviewers read the audit log; nobody edits it."""
    if p.role not in AUDIT_READERS:
        raise Forbidden("only an administrator or a quality reviewer may read the audit log")


# Passport and tax numbers in messages are shown in full to these roles only
# (conversations/document_numbers.py); the others see them masked.
SEES_DOCUMENTS = frozenset({Role.admin.value, Role.supervisor.value})


def may_see_documents(p: Principal) -> bool:
    return p.role in SEES_DOCUMENTS


def check_may_control_call(p: Principal, agent_id: int | None, queue_id: int | None) -> None:
    """The agent on the call, or a supervisor or admin who sees its queue."""
    if agent_id is not None and agent_id == p.user_id:
        return
    if p.role in LEADS and can_see(p, queue_id, agent_id):
        return
    raise Forbidden("only the agent on the call or a supervisor may do this")


def check_may_manage_callbacks(p: Principal) -> None:
    if p.role not in LEADS:
        raise Forbidden("only supervisors and administrators manage the callback list")


def check_may_read_surveys(p: Principal) -> None:
    """Survey answers: supervisors and administrators (within the queues they see)."""
    if p.role not in LEADS:
        raise Forbidden("only supervisors and administrators read survey answers")


REPORTS_ALL = frozenset({Role.admin.value, Role.supervisor.value, Role.qa.value})


def report_agent_scope(p: Principal, agent_id: int | None) -> int | None:
    """The agent whose figures a report may show: supervisors, QA and admins see the whole
    workspace (``agent_id`` as asked); an agent sees only their own figures, so the report is
    narrowed to them, and asking for another agent's is refused."""
    if p.role in REPORTS_ALL:
        return agent_id
    if p.role == Role.agent.value and agent_id in (None, p.user_id):
        return p.user_id
    raise Forbidden("agents may see only their own figures")


BI_READERS = frozenset({Role.admin.value})


def check_may_read_bi(p: Principal) -> None:
    """The BI endpoints read the whole workspace: administrators, and the reporting tokens
    an administrator created (which reach nothing else, auth/deps.py)."""
    if p.role not in BI_READERS or p.setup_only:
        raise Forbidden("only an administrator's token or a reporting token may read BI data")


def may_see_wallboard(p: Principal) -> bool:
    """Supervisors (the queues of their teams: ``p.queue_ids``) and administrators."""
    return p.role in LEADS


def check_may_see_wallboard(p: Principal) -> None:
    if not may_see_wallboard(p):
        raise Forbidden("only supervisors and administrators see the wallboard")


def check_may_open_reports_page(p: Principal) -> None:
    """The reports page is for leads; agents read their own figures through the API."""
    if p.role not in LEADS:
        raise Forbidden("only supervisors and administrators open the reports page")


def check_may_set_report_targets(p: Principal) -> None:
    if p.role not in LEADS:
        raise Forbidden("only supervisors and administrators set the report targets")


def check_may_save_reports(p: Principal, *, shared: bool = False) -> None:
    """Whoever reads the workspace's reports keeps definitions; sharing one with the whole
    workspace is for leads."""
    if p.role not in REPORTS_ALL:
        raise Forbidden("only supervisors, QA and administrators save reports")
    if shared and p.role not in LEADS:
        raise Forbidden("only supervisors and administrators share reports with the workspace")


def check_may_edit_saved_report(p: Principal, owner_id: int, *, shared: bool) -> None:
    """The owner changes their own; an administrator any shared one."""
    check_may_save_reports(p, shared=shared)
    if owner_id != p.user_id and p.role != Role.admin.value:
        raise Forbidden("only its owner or an administrator may change this report")
