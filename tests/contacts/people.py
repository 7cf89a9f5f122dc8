"""One customer who wrote from Telegram and from WhatsApp: two contacts with the same phone."""

from __future__ import annotations

from dataclasses import dataclass

from omniline import db
from omniline.conversations.inbound import InboundMessage
from omniline.conversations.service import receive_inbound
from omniline.inboxes import service as inboxes
from tests.conftest import Demo


@dataclass
class Twin:
    contact_id: int
    conversation_id: int
    inbox_id: int


async def make_inbox(demo: Demo, channel: str, queue: str = "First line") -> int:
    async with db.unit_of_work() as session:
        inbox = await inboxes.do_create_inbox(
            session,
            demo.workspace_id,
            channel=channel,
            name=f"Test {channel}",
            default_queue_id=demo.queues[queue],
        )
        return inbox.id


async def writes(
    demo: Demo,
    inbox_id: int,
    address: str,
    *,
    name: str = "",
    phone: str | None = None,
    email: str | None = None,
    text: str = "Hello",
) -> Twin:
    async with db.unit_of_work() as session:
        (res,) = await receive_inbound(
            session,
            [
                InboundMessage(
                    workspace_id=demo.workspace_id,
                    inbox_id=inbox_id,
                    text=text,
                    sender_address=address,
                    sender_name=name,
                    contact_phone=phone,
                    contact_email=email,
                    external_id=f"{address}:{text}",
                )
            ],
        )
        msg = res.message
    async with db.sessionmaker()() as session:
        from omniline.conversations.models import Conversation

        conv = await session.get(Conversation, msg.conversation_id)
        assert conv is not None
        return Twin(conv.contact_id, conv.id, inbox_id)


async def telegram_and_whatsapp(
    demo: Demo, *, whatsapp_queue: str = "First line"
) -> tuple[Twin, Twin]:
    """Ivan in Telegram (shared his phone) and the same phone in WhatsApp, as typed."""
    tg = await make_inbox(demo, "telegram")
    wa = await make_inbox(demo, "whatsapp", whatsapp_queue)
    ivan = await writes(demo, tg, "tg-100", name="Ivan Petrenko", phone="+380 67 123 45 67")
    same = await writes(demo, wa, "380671234567", phone="380671234567", text="Is my loan ok?")
    return ivan, same
