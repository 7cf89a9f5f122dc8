"""The event log the analytics tests count by hand.

Europe/Berlin: +01:00 until 2026-03-29 01:00 UTC, then +02:00 (the clocks skip 02:00-03:00
local, so 2026-03-29 has 23 hours). All times below are UTC unless they say "local".

Sat 2026-03-28 (voice, queue "First line", target 20 s):
  C1 queued 08:00:00 (09:00 local), answered after 10 s, talk 300 s, wrap-up 60 s -> agent
     csat 5, nps 10, tag vip; contact A (DE, de)
  C2 queued 08:10:00, answered after 30 s, talk 120 s, no wrap-up -> agent2; one transfer;
     csat 3, nps 5; contact A
  C3 queued 09:00:00 (10:00 local), hung up after 3 s (short abandon); contact B (UA, uk)
  C4 queued 09:05:00, hung up after 40 s; contact B
Sun 2026-03-29 (web chat):
  C5 created 00:30:00 (01:30 local, +01:00), queued at once, assigned 15 s later to agent,
     messages in 00:30:00, out 00:31:00, in 00:32:00, in 00:33:00, out 00:35:00;
     open (the tests resolve it on 2026-04-01); csat 4 and nps 9 answered 2026-04-01 09:00;
     tag vip; SLA timer satisfied; contact A
  C6 created 01:30:00 (03:30 local, +02:00), queued, never assigned, closed 01:40:00;
     SLA timer breached; contact B
Mon 2026-03-30 (web chat, bot):
  C7 created 10:00:00, bot answers, resolved 10:05:00 without a person; contact C (no country)
  C8 created 11:00:00, bot answers, queued 11:02:00, assigned 11:02:00 (to agent2),
     resolved 11:12:00; contact C
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.channels.voice.models import VoiceCall
from omniline.contacts.models import Contact
from omniline.conversations.models import Conversation, ConversationEvent, ConversationTag, Message
from omniline.inboxes.models import Inbox
from omniline.sla.models import SlaPolicy, SlaTimer
from omniline.surveys.models import SurveyAnswer
from omniline.workspaces.models import Workspace
from tests.conftest import Demo


def t(day: int, h: int, m: int = 0, s: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, h, m, s, tzinfo=UTC)


@dataclass
class Log:
    workspace_id: int
    conv: dict[str, int]
    agent: int
    agent2: int
    queue: int
    voice_inbox: int
    chat_inbox: int
    team: int


async def write_log(session: AsyncSession, demo: Demo) -> Log:
    ws = demo.workspace_id
    await session.execute(
        update(Workspace).where(Workspace.id == ws).values(timezone="Europe/Berlin")
    )
    queue = demo.queues["First line"]
    agent, agent2 = demo.users["agent"], demo.users["agent2"]
    voice = Inbox(
        workspace_id=ws, channel="voice", name="Hotline", key="hotline", identity_secret="x"
    )
    session.add(voice)
    a = Contact(workspace_id=ws, name="A", country="DE", language="de")
    b = Contact(workspace_id=ws, name="B", country="UA", language="uk")
    c = Contact(workspace_id=ws, name="C")
    session.add_all([a, b, c])
    await session.flush()
    convs: dict[str, Conversation] = {}

    def conv(name: str, contact: Contact, inbox: int, channel: str, **kw: Any) -> Conversation:
        kw.setdefault("last_activity_at", kw["created_at"])
        cv = Conversation(
            workspace_id=ws,
            inbox_id=inbox,
            channel=channel,
            contact_id=contact.id,
            queue_id=queue,
            tags=kw.pop("tags", []),
            **kw,
        )
        convs[name] = cv
        session.add(cv)
        return cv

    # Voice: a call's conversation is created when it rings in the menu, a minute earlier.
    for name, contact, queued in (
        ("C1", a, t(28, 8)),
        ("C2", a, t(28, 8, 10)),
        ("C3", b, t(28, 9)),
        ("C4", b, t(28, 9, 5)),
    ):
        conv(name, contact, voice.id, "voice", created_at=queued - timedelta(minutes=1))
    conv("C5", a, demo.inbox_id, "webchat", created_at=t(29, 0, 30), status="assigned")
    conv("C6", b, demo.inbox_id, "webchat", created_at=t(29, 1, 30), status="resolved")
    conv("C7", c, demo.inbox_id, "webchat", created_at=t(30, 10), status="resolved")
    conv("C8", c, demo.inbox_id, "webchat", created_at=t(30, 11), status="resolved")
    await session.flush()
    c1, c2, c3, c4, c5, c6, c7, c8 = (convs[f"C{i}"] for i in range(1, 9))
    for cv, agent_id, queued, wait, talk, acw, reason in (
        (c1, agent, t(28, 8), 10, 300, 60, "answered"),
        (c2, agent2, t(28, 8, 10), 30, 120, 0, "answered"),
        (c3, None, t(28, 9), 3, None, 0, "abandoned"),
        (c4, None, t(28, 9, 5), 40, None, 0, "abandoned"),
    ):
        answered = queued + timedelta(seconds=wait) if talk is not None else None
        ended = (
            (answered + timedelta(seconds=talk))
            if answered and talk
            else queued + timedelta(seconds=wait)
        )
        session.add(
            VoiceCall(
                workspace_id=ws,
                inbox_id=voice.id,
                conversation_id=cv.id,
                contact_id=cv.contact_id,
                ref=f"ref-{cv.id}",
                state="ended",
                queue_id=queue,
                agent_id=agent_id,
                arrived_at=cv.created_at,
                queued_at=queued,
                answered_at=answered,
                ended_at=ended,
                acw_until=ended + timedelta(seconds=acw) if acw else None,
                end_reason=reason,
            )
        )
        cv.status = "resolved"
        cv.resolved_at = ended
        cv.assignee_id = agent_id
        cv.last_activity_at = ended
    session.add(
        ConversationEvent(
            workspace_id=ws, conversation_id=c2.id, type="transferred", created_at=t(28, 8, 11)
        )
    )
    c5.first_queued_at = c5.created_at
    c5.first_assigned_at = c5.created_at + timedelta(seconds=15)
    c5.first_agent_reply_at = t(29, 0, 31)
    c5.assignee_id = agent
    c5.last_activity_at = t(29, 0, 35)
    for at, direction, author in (
        (t(29, 0, 30), "in", "contact"),
        (t(29, 0, 31), "out", "agent"),
        (t(29, 0, 32), "in", "contact"),
        (t(29, 0, 33), "in", "contact"),
        (t(29, 0, 35), "out", "agent"),
    ):
        msg(session, c5, at, direction, author)
    c6.first_queued_at = c6.created_at
    c6.resolved_at = c6.last_activity_at = t(29, 1, 40)
    msg(session, c6, t(29, 1, 30), "in", "contact")
    msg(session, c7, t(30, 10), "in", "contact")
    msg(session, c7, t(30, 10, 0, 5), "out", "bot")
    c7.resolved_at = c7.last_activity_at = t(30, 10, 5)
    msg(session, c8, t(30, 11), "in", "contact")
    msg(session, c8, t(30, 11, 0, 5), "out", "bot")
    c8.first_queued_at = c8.first_assigned_at = t(30, 11, 2)
    c8.assignee_id = agent2
    c8.resolved_at = c8.last_activity_at = t(30, 11, 12)
    for cv, kind, score, at in (
        (c1, "csat", 5, t(28, 8, 7)),
        (c1, "nps", 10, t(28, 8, 7)),
        (c2, "csat", 3, t(28, 8, 13)),
        (c2, "nps", 5, t(28, 8, 13)),
        (c5, "csat", 4, t(1, 9, month=4)),
        (c5, "nps", 9, t(1, 9, month=4)),
    ):
        session.add(
            SurveyAnswer(
                workspace_id=ws,
                conversation_id=cv.id,
                channel=cv.channel,
                kind=kind,
                score=score,
                created_at=at,
            )
        )
    for cv in (c1, c5):
        cv.tags = ["vip"]
        session.add(ConversationTag(conversation_id=cv.id, tag="vip", workspace_id=ws))
    policy = SlaPolicy(workspace_id=ws, name="Chat", queue_id=queue, first_response_seconds=600)
    session.add(policy)
    await session.flush()
    session.add_all(
        [
            SlaTimer(
                workspace_id=ws,
                conversation_id=c5.id,
                policy_id=policy.id,
                target="first_response",
                started_at=c5.created_at,
                due_at=c5.created_at + timedelta(minutes=10),
                satisfied_at=t(29, 0, 31),
            ),
            SlaTimer(
                workspace_id=ws,
                conversation_id=c6.id,
                policy_id=policy.id,
                target="first_response",
                started_at=c6.created_at,
                due_at=c6.created_at + timedelta(minutes=10),
                breached_at=c6.created_at + timedelta(minutes=10),
            ),
        ]
    )
    await session.flush()
    team = await _team_of(session, queue)
    return Log(
        workspace_id=ws,
        conv={k: v.id for k, v in convs.items()},
        agent=agent,
        agent2=agent2,
        queue=queue,
        voice_inbox=voice.id,
        chat_inbox=demo.inbox_id,
        team=team,
    )


def msg(session: AsyncSession, cv: Conversation, at: datetime, direction: str, author: str) -> None:
    session.add(
        Message(
            workspace_id=cv.workspace_id,
            conversation_id=cv.id,
            inbox_id=cv.inbox_id,
            direction=direction,
            author_type=author,
            text="hello",
            created_at=at,
        )
    )


async def _team_of(session: AsyncSession, queue_id: int) -> int:
    from sqlalchemy import select

    from omniline.workspaces.models import Queue

    team = await session.scalar(select(Queue.team_id).where(Queue.id == queue_id))
    assert team is not None
    return team
