"""The web-chat / mobile inbox form: push webhook and email fallback settings."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from omniline import db
from omniline.inboxes import service as inboxes
from omniline.inboxes.models import Inbox
from tests.conftest import Demo
from tests.workspaces.test_admin_pages import login_admin, post_form


async def _email_inbox(demo: Demo) -> tuple[int, int]:
    async with db.unit_of_work() as session:
        mail = await inboxes.do_create_inbox(
            session, demo.workspace_id, channel="email", name="Support mailbox"
        )
        bot = await inboxes.do_create_inbox(
            session, demo.workspace_id, channel="telegram", name="Bot"
        )
        return mail.id, bot.id


async def _inbox(name: str) -> Inbox:
    async with db.sessionmaker()() as session:
        inbox = await session.scalar(select(Inbox).where(Inbox.name == name))
        assert inbox is not None
        return inbox


def _form(**extra: str) -> dict[str, object]:
    return {"name": "MicroLend app", "channel": "mobile", "color": "#1f6feb", **extra}


async def test_a_mobile_inbox_with_push_and_fallback(client: httpx.AsyncClient, demo: Demo) -> None:
    mail_id, _bot_id = await _email_inbox(demo)
    csrf = await login_admin(client)
    new = await client.get("/admin/inboxes/new")
    assert "Support mailbox" in new.text and 'name="push_url"' in new.text
    r = await post_form(
        client,
        "/admin/inboxes",
        csrf,
        _form(
            push_url="https://push.example.com/omniline",
            push_secret="s3cret",
            fallback_email_inbox_id=str(mail_id),
            fallback_after_minutes="15",
        ),
    )
    assert r.status_code == 303, r.text
    inbox = await _inbox("MicroLend app")
    assert inbox.channel == "mobile"
    assert inbox.settings["push_url"] == "https://push.example.com/omniline"
    assert inbox.settings["push_secret"] == "s3cret"
    assert inbox.settings["fallback_email_inbox_id"] == mail_id
    assert inbox.settings["fallback_after_minutes"] == 15

    page = await client.get(f"/admin/inboxes/{inbox.id}")
    assert "https://push.example.com/omniline" in page.text
    assert "s3cret" not in page.text  # the secret is never shown back
    # Saving with an empty secret field keeps the secret.
    r = await post_form(
        client,
        f"/admin/inboxes/{inbox.id}",
        csrf,
        _form(push_url="http://10.0.0.5/push", fallback_after_minutes="", enabled="1"),
    )
    assert r.status_code == 303, r.text
    inbox = await _inbox("MicroLend app")
    assert inbox.settings["push_secret"] == "s3cret"
    assert inbox.settings["push_url"] == "http://10.0.0.5/push"
    assert inbox.settings["fallback_after_minutes"] == 5
    assert inbox.settings["fallback_email_inbox_id"] is None
    assert inbox.settings["color"] == "#1f6feb"


async def test_push_and_fallback_fields_are_checked(client: httpx.AsyncClient, demo: Demo) -> None:
    _mail_id, bot_id = await _email_inbox(demo)
    csrf = await login_admin(client)
    cases = [
        ({"push_url": "ftp://push.example.com", "push_secret": "x"}, "push_url"),
        ({"push_url": "javascript:alert(1)", "push_secret": "x"}, "push_url"),
        ({"push_url": "https://push.example.com"}, "push_secret"),
        ({"fallback_after_minutes": "0"}, "fallback_after_minutes"),
        ({"fallback_after_minutes": "1441"}, "fallback_after_minutes"),
        ({"fallback_after_minutes": "five"}, "fallback_after_minutes"),
        ({"fallback_email_inbox_id": str(bot_id)}, "fallback_email_inbox_id"),
        ({"channel": "telegram"}, "channel"),
    ]
    for extra, field in cases:
        r = await post_form(client, "/admin/inboxes", csrf, _form(**extra))
        assert r.status_code == 422, (extra, r.status_code)
        assert f'id="{field}-error"' in r.text, (extra, field)
    async with db.sessionmaker()() as session:
        assert await session.scalar(select(Inbox).where(Inbox.name == "MicroLend app")) is None
