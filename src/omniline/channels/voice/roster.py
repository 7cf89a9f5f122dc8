"""The agents a voice inbox can ring: their phones, queues, skills and whether they are free.

Presence decides who works (online, away, offline); the phone adds on_call and wrap_up.
An agent is offered a call when online, with a phone, a voice capacity above zero, no
call in progress, not ringing, and past their after-call work. Chats do not block calls
(they wait); a call blocks new chats, because the chat engine gives chats only to agents
who are online, and a talking agent is on_call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth.models import User
from omniline.channels.voice.models import VoiceAgent
from omniline.conversations.models import Conversation, Status
from omniline.presence import repository as presence_repo
from omniline.presence.models import AgentState, ChannelKind, Presence
from omniline.workspaces.models import QueueMember


@dataclass(slots=True)
class Agent:
    id: int
    name: str
    endpoint: str
    queue_ids: list[int] = field(default_factory=list)
    skills: list[str] = field(default_factory=list)
    status: str = Presence.offline.value
    voice_capacity: int = 1
    chats: int = 0
    active: bool = True
    # What the controller knows: the call being talked (ref), the leg ringing, ACW end.
    call_ref: str | None = None
    ringing_leg: str | None = None
    acw_until: float | None = None
    # Legs of this agent's phone we hung up whose end the PBX has not reported yet: the
    # phone may still hold one, so no new call rings it meanwhile (one call at a time).
    ending_legs: set[str] = field(default_factory=set)

    def free(self, now: float) -> bool:
        return (
            self.active
            and self.status == Presence.online.value
            and self.voice_capacity > 0
            and bool(self.endpoint)
            and self.call_ref is None
            and self.ringing_leg is None
            and not self.ending_legs
            and (self.acw_until is None or self.acw_until <= now)
        )


async def load(
    session: AsyncSession, workspace_id: int, user_ids: list[int] | None = None
) -> list[Agent]:
    """Agents with a phone in the workspace (or just ``user_ids``), as they stand now."""
    stmt = (
        select(VoiceAgent, User.name, User.active, AgentState)
        .join(User, User.id == VoiceAgent.user_id)
        .outerjoin(AgentState, AgentState.user_id == VoiceAgent.user_id)
        .where(VoiceAgent.workspace_id == workspace_id)
    )
    if user_ids is not None:
        stmt = stmt.where(VoiceAgent.user_id.in_(user_ids))
    rows = (await session.execute(stmt)).all()
    if not rows:
        return []
    ids = [va.user_id for va, *_ in rows]
    queues: dict[int, list[int]] = {i: [] for i in ids}
    for queue_id, user_id in (
        await session.execute(
            select(QueueMember.queue_id, QueueMember.user_id).where(QueueMember.user_id.in_(ids))
        )
    ).all():
        queues[user_id].append(queue_id)
    chats = dict(
        (
            await session.execute(
                select(Conversation.assignee_id, func.count())
                .where(
                    Conversation.assignee_id.in_(ids),
                    Conversation.status.in_([Status.assigned.value, Status.waiting_customer.value]),
                    Conversation.channel.not_in(["voice", "email"]),
                )
                .group_by(Conversation.assignee_id)
            )
        ).all()
    )
    defaults = await presence_repo.settings_of(session, workspace_id)
    out = []
    for va, name, active, state in rows:
        out.append(
            Agent(
                id=va.user_id,
                name=name,
                endpoint=va.endpoint,
                queue_ids=sorted(queues[va.user_id]),
                skills=[str(s).lower() for s in va.skills or []],
                status=state.status if state is not None else Presence.offline.value,
                voice_capacity=presence_repo.capacity(state, defaults, ChannelKind.voice),
                chats=int(chats.get(va.user_id, 0)),
                active=bool(active),
            )
        )
    return out
