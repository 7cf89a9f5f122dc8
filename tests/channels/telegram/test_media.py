"""Files a customer sends: downloaded after the message is stored, refused when too big."""

from __future__ import annotations

import httpx

from omniline import db
from omniline.config import Settings
from omniline.conversations.models import Message
from tests.channels.telegram.fake_telegram import FakeTelegram
from tests.channels.telegram.helpers import (
    CHAT,
    attachments_of,
    make_bot,
    message,
    messages_of,
    post,
    run_jobs,
)
from tests.conftest import Demo

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"x" * 100


def photo_sizes() -> list[dict[str, object]]:
    return [
        {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 60, "file_size": 10},
        {"file_id": "large", "file_unique_id": "l", "width": 1280, "height": 853},
        {"file_id": "medium", "file_unique_id": "m", "width": 320, "height": 213},
    ]


async def test_a_photo_is_stored_in_its_largest_size_with_the_caption(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    bot = await make_bot(demo, fake_telegram)
    fake_telegram.add_file("large", PNG, "photos/file_7.jpg")
    update = message(photo=photo_sizes(), caption="My receipt")
    r = await post(client, bot, update)
    assert r.status_code == 200
    (stored,) = await messages_of(bot.inbox_id)
    assert stored.text == "My receipt"
    assert stored.meta["media_pending"] == 1
    assert fake_telegram.downloads == []  # nothing fetched before the answer

    await run_jobs()
    assert [c.params["file_id"] for c in fake_telegram.called("getFile")] == ["large"]
    assert fake_telegram.downloads == ["photos/file_7.jpg"]
    (att,) = await attachments_of(stored.id)
    mid = update["message"]["message_id"]
    assert att.filename == f"photo_{mid}.jpg" and att.size == len(PNG)
    async with db.sessionmaker()() as session:
        after = await session.get(Message, stored.id)
    assert after is not None and "media_pending" not in after.meta


async def test_a_document_keeps_its_name_and_type(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    bot = await make_bot(demo, fake_telegram)
    fake_telegram.add_file("doc1", PDF, "documents/file_3.pdf")
    document = {
        "file_id": "doc1",
        "file_unique_id": "d",
        "file_name": "contract.pdf",
        "mime_type": "application/pdf",
        "file_size": len(PDF),
    }
    await post(client, bot, message(document=document))
    await run_jobs()
    (stored,) = await messages_of(bot.inbox_id)
    assert stored.text == ""
    (att,) = await attachments_of(stored.id)
    assert (att.filename, att.content_type, att.size) == (
        "contract.pdf",
        "application/pdf",
        len(PDF),
    )


async def test_a_file_over_the_limit_is_not_downloaded_and_the_customer_is_told(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram
) -> None:
    bot = await make_bot(demo, fake_telegram)
    fake_telegram.add_file("big", PDF, "documents/big.pdf")
    document = {
        "file_id": "big",
        "file_unique_id": "b",
        "file_name": "scan.pdf",
        "mime_type": "application/pdf",
        "file_size": 5 * 1024 * 1024,  # the test limit is 1 MB
    }
    await post(client, bot, message(document=document, caption="All pages"))
    await run_jobs()
    assert fake_telegram.downloads == []
    assert fake_telegram.called("getFile") == []
    (stored, refusal) = await messages_of(bot.inbox_id)
    assert stored.meta["media_failed"][0]["filename"] == "scan.pdf"
    assert await attachments_of(stored.id) == []
    (sent,) = fake_telegram.called("sendMessage")
    assert sent.params["chat_id"] == str(CHAT)
    assert "scan.pdf" in sent.params["text"] and "1024 KB" in sent.params["text"]
    assert refusal.delivery_status == "sent"


async def test_a_file_bigger_than_announced_is_refused_by_telegrams_getfile_answer(
    demo: Demo, client: httpx.AsyncClient, fake_telegram: FakeTelegram, settings: Settings
) -> None:
    settings.upload_max_bytes = 30 * 1024 * 1024  # ours allows more than Telegram's 20 MB
    bot = await make_bot(demo, fake_telegram)
    fake_telegram.add_file("huge", PDF, "videos/huge.mp4", size=25 * 1024 * 1024)
    video = {"file_id": "huge", "file_unique_id": "h", "width": 1, "height": 1, "duration": 3}
    await post(client, bot, message(video=video))
    await run_jobs()
    assert fake_telegram.downloads == []
    (stored, _refusal) = await messages_of(bot.inbox_id)
    assert stored.meta["media_failed"][0]["filename"] == "video.mp4"
    assert "video.mp4" in fake_telegram.called("sendMessage")[0].params["text"]
