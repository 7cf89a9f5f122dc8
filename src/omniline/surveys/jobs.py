"""The ``survey_send`` job: the question as a message in the customer's channel.

Runs after the commit that created the request (possibly after the inbox's delay) and
re-reads it: a request answered, expired or already sent is left alone. The message is an
ordinary outbound message, so its delivery (and retries) is the channel's own
``deliver_message`` job.

- web chat / mobile app: ``meta["survey"]`` makes the widget show stars (or 0-10) and a
  comment box;
- Telegram, WhatsApp, VK, Facebook: ``meta["buttons"]`` with payloads
  ``survey:<request id>:<score>`` become each channel's buttons (inline keyboard, reply
  buttons or list, keyboard, quick replies); a bare digit works as well (surveys/replies.py);
- email: one link per score to the rating page (surveys/pages.py) and the page itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.conversations.models import AuthorType, Conversation, Status
from omniline.conversations.system_messages import do_send_system_message
from omniline.inboxes.models import Inbox
from omniline.jobs.registry import job
from omniline.kit.clock import utcnow
from omniline.surveys import links, service, texts
from omniline.surveys.models import SurveyRequest, SurveySetting

MESSENGERS = frozenset({"telegram", "whatsapp", "vk", "messenger"})
DONE = frozenset({Status.resolved.value, Status.closed.value})


def payload(request_id: int, score: int) -> str:
    return f"survey:{request_id}:{score}"


def message_for(
    req: SurveyRequest, said: dict[str, str], ask_comment: bool
) -> tuple[str, dict[str, Any]]:
    """(text, meta) of the question in the request's channel."""
    low, high = service.SCALES[req.kind]
    survey = {
        "request_id": req.id,
        "kind": req.kind,
        "low": low,
        "high": high,
        "comment": said["comment"] if ask_comment else "",
        "thanks": said["thanks"],
    }
    meta: dict[str, Any] = {"survey": survey}
    text = said["question"]
    if req.channel in MESSENGERS:
        meta["buttons"] = [
            {"text": str(n), "payload": payload(req.id, n)} for n in range(low, high + 1)
        ]
    elif req.channel == "email":
        lines = [f"{n}: {links.page_url(req.id, n)}" for n in range(low, high + 1)]
        text = "\n\n".join([text, "\n".join(lines)])
    return text, meta


@job("survey_send")
async def survey_send(session: AsyncSession, data: dict[str, Any]) -> None:
    req = await session.get(SurveyRequest, int(data.get("request_id") or 0))
    if req is None or req.status != "pending":
        return
    if req.expires_at <= utcnow():
        req.status = "expired"
        return
    conv = await session.get(Conversation, req.conversation_id)
    inbox = await session.get(Inbox, req.inbox_id)
    if conv is None or inbox is None:
        req.status = "failed"
        return
    if req.trigger == "resolved" and conv.status not in DONE:
        return  # the customer came back meanwhile: asked when it is resolved again
    setting = await service.setting_of(session, req.workspace_id, req.inbox_id)
    said = texts.texts_for(req.kind, setting.texts or {}, req.language)
    text, meta = message_for(req, said, _asks_comment(setting))
    await do_send_system_message(
        session,
        conv,
        text,
        author_type=AuthorType.bot.value,
        author_name=inbox.name,
        kind="survey",
        meta=meta,
    )
    req.status = "sent"
    req.sent_at = utcnow()


def _asks_comment(setting: SurveySetting) -> bool:
    return bool(setting.ask_comment)
