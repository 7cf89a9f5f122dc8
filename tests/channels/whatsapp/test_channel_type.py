"""The admin side of a WhatsApp inbox: checks, "Test connection", templates, setup info."""

from __future__ import annotations

from typing import Any

import pytest

from omniline import db
from omniline.channels.whatsapp import channel_type
from omniline.errors import BadRequest, Invalid
from omniline.inboxes.channel_types import channel_type as registered
from omniline.inboxes.models import Inbox
from tests.channels.whatsapp.fake_graph import PHONE_ID, FakeGraph
from tests.channels.whatsapp.helpers import WaInbox, settings_for
from tests.conftest import Demo, free_port


def inbox_with(graph: FakeGraph, **overrides: Any) -> Inbox:
    settings = channel_type.validate(settings_for(graph, **overrides))
    return Inbox(channel="whatsapp", name="WA", key="wa-test", settings=settings, workspace_id=1)


def test_the_channel_is_registered_with_its_form(app: Any) -> None:
    ct = registered("whatsapp")
    assert ct is not None
    names = [f.name for f in ct.fields]
    assert names[:4] == ["phone_number_id", "waba_id", "access_token", "app_secret"]
    kinds = {f.name: f.kind for f in ct.fields}
    assert kinds["access_token"] == kinds["app_secret"] == "secret"


def test_validate_fills_defaults_and_makes_a_verify_token(graph: FakeGraph) -> None:
    out = channel_type.validate(settings_for(graph, api_base="", api_version=""))
    assert out["api_base"] == "https://graph.facebook.com"
    assert out["api_version"].startswith("v")
    assert len(out["verify_token"]) >= 24
    again = channel_type.validate(settings_for(graph, verify_token="my-phrase"))
    assert again["verify_token"] == "my-phrase"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"phone_number_id": ""}, "phone_number_id"),
        ({"phone_number_id": "+380 44 123 4567"}, "phone_number_id"),
        ({"waba_id": "abc"}, "waba_id"),
        ({"access_token": ""}, "access_token"),
        ({"app_secret": "two words"}, "app_secret"),
        ({"verify_token": "has space"}, "verify_token"),
        ({"api_base": "graph.facebook.com"}, "api_base"),
        ({"api_version": "21"}, "api_version"),
    ],
)
def test_validate_names_the_wrong_field(
    graph: FakeGraph, overrides: dict[str, str], field: str
) -> None:
    with pytest.raises(Invalid) as err:
        channel_type.validate(settings_for(graph, **overrides))
    assert err.value.fields[0]["field"] == field


async def test_connection_ok_names_the_number_and_counts_templates(
    graph: FakeGraph, demo: Demo
) -> None:
    inbox = inbox_with(graph)
    result = await channel_type.test(inbox)
    assert result.ok, result.message
    assert "+380 44 123 4567" in result.message and "MicroLend" in result.message
    assert "4 approved" in result.message
    assert len(inbox.settings["templates"]) == 5  # every page was read


async def test_connection_wrong_token(graph: FakeGraph, demo: Demo) -> None:
    result = await channel_type.test(inbox_with(graph, access_token="EAAGexpired"))
    assert not result.ok
    assert result.message == "The access token is invalid or expired."


async def test_connection_unknown_phone_number_id(graph: FakeGraph, demo: Demo) -> None:
    result = await channel_type.test(inbox_with(graph, phone_number_id="111111111111"))
    assert not result.ok
    assert "No phone number with ID 111111111111" in result.message


async def test_connection_unknown_business_account(graph: FakeGraph, demo: Demo) -> None:
    result = await channel_type.test(inbox_with(graph, waba_id="222222222222"))
    assert not result.ok
    assert "Connected to" in result.message
    assert "WhatsApp Business Account with ID 222222222222" in result.message


async def test_connection_unreachable(graph: FakeGraph, demo: Demo) -> None:
    result = await channel_type.test(inbox_with(graph, api_base=f"http://127.0.0.1:{free_port()}"))
    assert not result.ok
    assert "cannot be reached" in result.message


async def test_after_save_keeps_the_templates_and_refuses_a_bad_token(
    graph: FakeGraph, wa: WaInbox
) -> None:
    async with db.unit_of_work() as session:
        inbox = await session.get(Inbox, wa.id)
        assert inbox is not None
        graph.templates[0]["status"] = "REJECTED"
        await channel_type.after_save(session, inbox)
    async with db.sessionmaker()() as session:
        inbox = await session.get(Inbox, wa.id)
        assert inbox is not None
        stored = {t["name"]: t["status"] for t in inbox.settings["templates"]}
        assert stored["payment_reminder"] == "REJECTED"
        assert inbox.settings["templates_at"]

    graph.token = "rotated"
    async with db.unit_of_work() as session:
        inbox = await session.get(Inbox, wa.id)
        assert inbox is not None
        with pytest.raises(BadRequest) as err:
            await channel_type.after_save(session, inbox)
    assert "invalid or expired" in err.value.message


def test_setup_shows_the_callback_url_and_verify_token(graph: FakeGraph) -> None:
    inbox = inbox_with(graph, verify_token="open-sesame")
    info = dict(channel_type.setup(inbox, "https://omniline.example/"))
    assert info["Callback URL"] == "https://omniline.example/channels/whatsapp/wa-test/webhook"
    assert info["Verify token"] == "open-sesame"
    assert PHONE_ID not in info.values()
