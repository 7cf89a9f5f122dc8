"""Which conversation a letter belongs to: Message-ID references first, then a subject token.

Message-IDs are stored normalised (:func:`normalize_id`): without the angle brackets and
surrounding blanks, with the part after the last ``@`` in lower case (domains are
case-insensitive; the left part is kept as written), at most 500 characters. Every letter
received or sent is remembered with its conversation, so a reply naming any earlier letter
of the thread in In-Reply-To or References lands in that conversation.

The subject token (``[#123]``, the conversation id) is the fallback for mail programs that
drop those headers. Conversation ids are easy to guess, so the token only counts for a
conversation of the same workspace, and, when the sender is given, only when the sender is
that conversation's address or its contact's email.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.channels.email.models import EmailRef
from omniline.contacts.models import Contact
from omniline.conversations.models import Conversation

ID_MAX = 500
_ANGLE_ID = re.compile(r"<([^<>\s]+)>")
_TOKEN = re.compile(r"\[#(\d{1,18})\]")


def normalize_id(raw: str | None) -> str:
    """``" <Abc.1@Mail.Example> "`` -> ``"Abc.1@mail.example"``; ``""`` when nothing is left."""
    value = (raw or "").strip()
    found = _ANGLE_ID.search(value)
    if found:
        value = found.group(1)
    value = value.strip("<> \t\r\n")
    left, at, domain = value.rpartition("@")
    if at:
        value = f"{left}@{domain.lower()}"
    return value[:ID_MAX]


def ids_in(header: str | None) -> list[str]:
    """Every Message-ID named in an In-Reply-To or References header, in header order."""
    if not header:
        return []
    found = [normalize_id(m) for m in _ANGLE_ID.findall(header)]
    if not found and header.strip():
        found = [normalize_id(header)]  # a bare id some mail programs write without <>
    return [f for f in found if f]


def subject_token(conversation_id: int) -> str:
    """The mark put in the subject of letters of a conversation, e.g. ``[#123]``."""
    return f"[#{conversation_id}]"


def token_in(subject: str | None) -> int | None:
    """The conversation id of the first ``[#123]`` token in a subject, if any."""
    found = _TOKEN.search(subject or "")
    return int(found.group(1)) if found else None


@dataclass(slots=True)
class ThreadKeys:
    """What a letter says about its thread (raw header values)."""

    in_reply_to: str | None = None
    references: str | None = None
    subject: str | None = None
    sender: str | None = None

    def candidates(self) -> list[str]:
        """Referenced ids, the most telling first: In-Reply-To, then References newest first."""
        ordered = ids_in(self.in_reply_to) + list(reversed(ids_in(self.references)))
        return list(dict.fromkeys(ordered))


async def remember(
    session: AsyncSession,
    workspace_id: int,
    message_id_header: str,
    conversation_id: int,
    message_id: int | None,
) -> None:
    """Note that a letter (received or sent) belongs to a conversation; a repeat is ignored."""
    await remember_many(session, workspace_id, [(message_id_header, conversation_id, message_id)])


async def remember_many(
    session: AsyncSession,
    workspace_id: int,
    rows: Sequence[tuple[str, int, int | None]],
) -> None:
    """:func:`remember` for many letters in one statement; ids already known keep their
    first conversation (also when two writers race: the database's unique rule decides)."""
    values = {}
    for header, conv_id, msg_id in rows:
        key = normalize_id(header)
        if key and key not in values:
            values[key] = {
                "workspace_id": workspace_id,
                "message_id_header": key,
                "conversation_id": conv_id,
                "message_id": msg_id,
            }
    if not values:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(EmailRef).on_conflict_do_nothing(
        index_elements=["workspace_id", "message_id_header"]
    )
    await session.execute(stmt, list(values.values()))


async def find_conversation(
    session: AsyncSession,
    workspace_id: int,
    in_reply_to: str | None,
    references: str | None,
    subject: str | None,
    *,
    sender: str | None = None,
) -> int | None:
    """The conversation a letter continues, or None for a new thread."""
    keys = ThreadKeys(in_reply_to, references, subject, sender)
    return (await find_conversations(session, workspace_id, [keys]))[0]


async def find_conversations(
    session: AsyncSession, workspace_id: int, letters: Sequence[ThreadKeys]
) -> list[int | None]:
    """:func:`find_conversation` for a batch of letters: two queries in all."""
    by_ref = await _by_reference(session, workspace_id, letters)
    answers: list[int | None] = []
    pending: dict[int, int] = {}
    for i, keys in enumerate(letters):
        found = next((by_ref[c] for c in keys.candidates() if c in by_ref), None)
        answers.append(found)
        token = token_in(keys.subject)
        if found is None and token is not None:
            pending[i] = token
    if pending:
        owners = await _token_owners(session, workspace_id, set(pending.values()))
        for i, conv_id in pending.items():
            if conv_id in owners and _sender_matches(letters[i].sender, owners[conv_id]):
                answers[i] = conv_id
    return answers


async def _by_reference(
    session: AsyncSession, workspace_id: int, letters: Sequence[ThreadKeys]
) -> dict[str, int]:
    wanted = sorted({c for keys in letters for c in keys.candidates()})
    if not wanted:
        return {}
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 500):  # stay under the databases' parameter limits
        rows = await session.execute(
            select(EmailRef.message_id_header, EmailRef.conversation_id).where(
                EmailRef.workspace_id == workspace_id,
                EmailRef.message_id_header.in_(wanted[start : start + 500]),
            )
        )
        found.update({header: conv for header, conv in rows.all()})
    return found


async def _token_owners(
    session: AsyncSession, workspace_id: int, conv_ids: set[int]
) -> dict[int, set[str]]:
    """Conversations of the workspace among ``conv_ids``, with the addresses that may use
    their token: the conversation's address and its contact's email, in lower case."""
    rows = await session.execute(
        select(Conversation.id, Conversation.contact_address, func.lower(Contact.email))
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(Conversation.workspace_id == workspace_id, Conversation.id.in_(sorted(conv_ids)))
    )
    return {cid: {a.lower() for a in (address, email) if a} for cid, address, email in rows.all()}


def _sender_matches(sender: str | None, allowed: set[str]) -> bool:
    return sender is None or sender.strip().lower() in allowed
