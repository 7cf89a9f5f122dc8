"""Which conversation a letter continues: remembered Message-IDs first, then the subject token."""

from __future__ import annotations

import pytest

from omniline import db
from omniline.channels.email import threading
from omniline.conversations.inbound import InboundMessage
from omniline.conversations.service import receive_inbound
from omniline.inboxes import service as inboxes
from omniline.workspaces import service as workspaces
from tests.conftest import Demo


async def new_conversation(workspace_id: int, inbox_id: int, sender: str) -> int:
    async with db.unit_of_work() as session:
        (res,) = await receive_inbound(
            session,
            [
                InboundMessage(
                    workspace_id=workspace_id,
                    inbox_id=inbox_id,
                    text="Hello",
                    sender_address=sender,
                    new_conversation=True,
                )
            ],
        )
        return res.message.conversation_id


async def mail_inbox(workspace_id: int, name: str = "Mail") -> int:
    async with db.unit_of_work() as session:
        inbox = await inboxes.do_create_inbox(session, workspace_id, channel="email", name=name)
        return inbox.id


async def find(workspace_id: int, **keys: str | None) -> int | None:
    async with db.sessionmaker()() as session:
        return await threading.find_conversation(
            session,
            workspace_id,
            keys.get("in_reply_to"),
            keys.get("references"),
            keys.get("subject"),
            sender=keys.get("sender"),
        )


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("<Abc.123@Mail.Example.COM>", "Abc.123@mail.example.com"),
        ("  <x@y>  ", "x@y"),
        ("bare-id@Host.Example", "bare-id@host.example"),
        ("", ""),
    ],
)
def test_message_ids_are_normalised(raw: str, normal: str) -> None:
    assert threading.normalize_id(raw) == normal


def test_the_subject_token_round_trips() -> None:
    token = threading.subject_token(123)
    assert token == "[#123]"
    assert threading.token_in(f"Re: Fwd: Your loan {token}") == 123
    assert threading.token_in("Re: [# 12] nothing") is None
    assert threading.token_in(None) is None


async def test_remembered_ids_thread_replies(demo: Demo) -> None:
    inbox_id = await mail_inbox(demo.workspace_id)
    first = await new_conversation(demo.workspace_id, inbox_id, "anna@customer.example")
    second = await new_conversation(demo.workspace_id, inbox_id, "boris@customer.example")
    async with db.unit_of_work() as session:
        await threading.remember(session, demo.workspace_id, "<A1@Customer.Example>", first, None)
        await threading.remember(
            session, demo.workspace_id, "<sent@microlend.example>", first, None
        )
        await threading.remember(session, demo.workspace_id, "<B1@customer.example>", second, None)
        # A repeat (the same id once normalised), even naming another conversation, keeps
        # the first answer.
        await threading.remember(session, demo.workspace_id, "<A1@customer.example>", second, None)
    ws = demo.workspace_id

    assert await find(ws, in_reply_to="<A1@CUSTOMER.example>") == first
    # In-Reply-To wins over References; among References the newest (last) wins.
    assert (
        await find(ws, in_reply_to="<B1@customer.example>", references="<A1@customer.example>")
        == second
    )
    assert await find(ws, references="<B1@customer.example> <sent@microlend.example>") == first
    assert await find(ws, references="<unknown@x.example> <B1@customer.example>") == second
    assert await find(ws, in_reply_to="<unknown@x.example>") is None


async def test_the_subject_token_counts_only_for_its_customer_and_workspace(
    demo: Demo,
) -> None:
    inbox_id = await mail_inbox(demo.workspace_id)
    conv = await new_conversation(demo.workspace_id, inbox_id, "anna@customer.example")
    async with db.unit_of_work() as session:
        other_ws = await workspaces.do_create_workspace(session, name="Other", slug="other")
    other_inbox = await mail_inbox(other_ws.id)
    foreign = await new_conversation(other_ws.id, other_inbox, "anna@customer.example")
    token = threading.subject_token(conv)
    ws = demo.workspace_id

    assert await find(ws, subject=f"Re: Payment {token}") == conv
    assert await find(ws, subject=f"Re: Payment {token}", sender="ANNA@customer.example") == conv
    assert await find(ws, subject=f"Re: {token}", sender="mallory@evil.example") is None
    assert await find(ws, subject=f"Re: {threading.subject_token(foreign)}") is None
    assert await find(ws, subject="Re: [#999999]") is None
