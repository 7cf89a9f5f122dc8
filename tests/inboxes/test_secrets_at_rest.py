"""Channel secrets are encrypted in the database, read back as they were, never shown or
logged, and the keys rotate."""

from __future__ import annotations

import logging

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from omniline import db
from omniline.config import Settings, set_settings
from omniline.inboxes.models import Inbox
from omniline.inboxes.secrets import check_readable, do_reencrypt_all
from omniline.kit import log_redaction
from omniline.kit.encryption import SecretsUnreadable, derived_key
from tests.conftest import Demo, bearer, staff_token

TOKEN = "123456789:AAE-very-secret-bot-token_xyz"


async def _telegram_inbox(demo: Demo) -> int:
    async with db.unit_of_work() as session:
        inbox = Inbox(
            workspace_id=demo.workspace_id,
            channel="telegram",
            name="Bot",
            key="tg-secret-test",
            identity_secret="identity-secret-value-0123456789",
            settings={
                "bot_token": TOKEN,
                "webhook_secret": "hook-secret-1",
                "api_base": "http://x",
            },
        )
        session.add(inbox)
        await session.flush()
        return inbox.id


async def _raw(inbox_id: int) -> str:
    async with db.sessionmaker()() as session:
        row = (
            await session.execute(
                text("SELECT settings, identity_secret FROM inboxes WHERE id = :id"),
                {"id": inbox_id},
            )
        ).one()
        return f"{row[0]} {row[1]}"


async def _read(inbox_id: int) -> Inbox:
    async with db.sessionmaker()() as session:
        inbox = await session.get(Inbox, inbox_id)
        assert inbox is not None
        return inbox


async def test_the_database_holds_no_plain_secret(demo: Demo) -> None:
    inbox_id = await _telegram_inbox(demo)
    raw = await _raw(inbox_id)
    for secret in (TOKEN, "hook-secret-1", "identity-secret-value-0123456789"):
        assert secret not in raw
    assert "enc:v1:" in raw
    assert "http://x" in raw  # what is not secret stays readable
    inbox = await _read(inbox_id)
    assert inbox.settings["bot_token"] == TOKEN
    assert inbox.identity_secret == "identity-secret-value-0123456789"


async def test_the_demo_widget_secret_is_encrypted_too(demo: Demo) -> None:
    assert demo.identity_secret not in await _raw(demo.inbox_id)


async def test_the_api_and_admin_pages_never_show_it(client: httpx.AsyncClient, demo: Demo) -> None:
    inbox_id = await _telegram_inbox(demo)
    admin = await staff_token(client, "admin@demo.omniline", "demo-admin")
    for url in ("/api/v1/inboxes", f"/admin/channels/{inbox_id}", "/admin/inboxes"):
        r = await client.get(url, headers=bearer(admin))
        assert TOKEN not in r.text, url
        assert "hook-secret-1" not in r.text, url


async def test_keys_rotate(settings: Settings, demo: Demo) -> None:
    # Until now the key came from the secret key (no OMNILINE_ENCRYPTION_KEYS).
    old, new = derived_key(settings.secret_key), Fernet.generate_key().decode()
    inbox_id = await _telegram_inbox(demo)
    before = await _raw(inbox_id)

    # The new key first, the old one still listed: everything reads; rotation rewrites.
    set_settings(settings.model_copy(update={"encryption_keys": f"{new},{old}"}))
    assert (await _read(inbox_id)).settings["bot_token"] == TOKEN
    async with db.unit_of_work() as session:
        assert await do_reencrypt_all(session) >= 1
    assert await _raw(inbox_id) != before

    # The old key can go now.
    set_settings(settings.model_copy(update={"encryption_keys": new}))
    assert (await _read(inbox_id)).settings["bot_token"] == TOKEN
    # With only the old key, the server says so instead of guessing.
    set_settings(settings.model_copy(update={"encryption_keys": old}))
    with pytest.raises(SecretsUnreadable, match="OMNILINE_ENCRYPTION_KEYS"):
        async with db.sessionmaker()() as session:
            await check_readable(session)
    set_settings(settings)


async def test_plain_secrets_from_before_are_read_then_encrypted(demo: Demo) -> None:
    inbox_id = await _telegram_inbox(demo)
    async with db.unit_of_work() as session:
        await session.execute(
            text("UPDATE inboxes SET settings = :s WHERE id = :id"),
            {"s": '{"bot_token": "plain-old-token-1", "api_base": "http://x"}', "id": inbox_id},
        )
    assert (await _read(inbox_id)).settings["bot_token"] == "plain-old-token-1"
    async with db.unit_of_work() as session:
        await do_reencrypt_all(session)
    assert "plain-old-token-1" not in await _raw(inbox_id)
    assert (await _read(inbox_id)).settings["bot_token"] == "plain-old-token-1"


def test_tokens_never_reach_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    log_redaction.install()
    logger = logging.getLogger("httpx")
    with caplog.at_level(logging.INFO, logger="httpx"):
        logger.info(
            'HTTP Request: POST %s "HTTP/1.1 200 OK"',
            f"https://api.telegram.org/bot{TOKEN}/sendMessage",
        )
        logger.info("GET https://graph.example/v19.0/me?access_token=EAAB-secret-token&x=1")
    text_logged = caplog.text
    assert TOKEN not in text_logged and "AAE-very-secret" not in text_logged
    assert "EAAB-secret-token" not in text_logged
    assert "/bot<redacted>/sendMessage" in text_logged
