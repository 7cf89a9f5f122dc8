"""Files a channel announces in a webhook and downloads afterwards (Telegram file_id,
WhatsApp media id): the message is committed first, the ``fetch_media`` job brings the
file with retries, and a file over the limit is refused with a word to the customer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.config import get_settings
from omniline.conversations import notify, repository
from omniline.conversations.attachments import StoredFile
from omniline.conversations.inbound import MediaRef
from omniline.conversations.models import Attachment, AuthorType, Conversation, Message
from omniline.errors import TooLarge, UnsupportedType
from omniline.inboxes.models import Inbox
from omniline.jobs.registry import RetryLater, job

# fetch(session, inbox, media) -> the stored file. Raise TooLarge/UnsupportedType to refuse
# it (the customer is told), RetryLater for a passing fault; other errors are retried too.
MediaFetcher = Callable[[AsyncSession, Inbox, MediaRef], Awaitable[StoredFile]]

_fetchers: dict[str, MediaFetcher] = {}


def register_media_fetcher(channel: str, fetcher: MediaFetcher) -> None:
    _fetchers[channel] = fetcher


def N_(message: str) -> str:
    return message


REFUSED = N_(
    "Sorry, we could not accept the file %(name)s: files up to %(limit)s KB of common "
    "types (pictures, PDF, documents) are accepted."
)


def refusal_text(locale: str | None, filename: str, limit_kb: int) -> str:
    """In the customer's language; the reason stays plain (size or type)."""
    from omniline.web.i18n import gettext

    text = gettext(locale or get_settings().default_locale, REFUSED)
    return text % {"name": filename, "limit": limit_kb}


@job("fetch_media")
async def fetch_media(session: AsyncSession, payload: dict[str, Any]) -> None:
    msg = await session.get(Message, int(payload["message_id"]))
    if msg is None:
        return
    inbox = await session.get(Inbox, msg.inbox_id)
    conv = await session.get(Conversation, msg.conversation_id)
    if inbox is None or conv is None:
        return
    fetcher = _fetchers.get(inbox.channel)
    if fetcher is None:
        raise RetryLater(f"no media fetcher for channel {inbox.channel}", 60)
    stored_before = await repository.attachments_for(session, [msg.id])
    have = {a.filename for a in stored_before.get(msg.id, [])}
    refused: list[dict[str, str]] = []
    for raw in payload.get("media", []):
        ref = MediaRef(**raw)
        name = ref.filename or "file"
        try:
            stored = await fetcher(session, inbox, ref)
        except (TooLarge, UnsupportedType) as exc:
            refused.append({"filename": name, "reason": str(exc)})
            continue
        if stored.filename in have:
            continue  # stored by an earlier attempt of this job
        session.add(
            Attachment(
                workspace_id=msg.workspace_id,
                message_id=msg.id,
                filename=stored.filename,
                content_type=stored.content_type,
                size=stored.size,
                sha256=stored.sha256,
                storage_key=stored.storage_key,
            )
        )
        have.add(stored.filename)
    msg.meta = {k: v for k, v in (msg.meta or {}).items() if k != "media_pending"}
    if refused:
        msg.meta = {**msg.meta, "media_failed": refused}
    await session.flush()
    atts = (await repository.attachments_for(session, [msg.id])).get(msg.id, [])
    notify.message_status(session, conv, msg, atts)
    from omniline.conversations.system_messages import do_send_system_message

    for item in refused:
        await do_send_system_message(
            session,
            conv,
            refusal_text(conv.language, item["filename"], media_limit_bytes() // 1024),
            author_type=AuthorType.system.value,
            kind="media_refused",
        )


def media_limit_bytes() -> int:
    return get_settings().upload_max_bytes
