"""The email inbox's admin form: what the checks refuse, and what "Test connection" says
against real local mail servers (aiosmtpd for SMTP, dovecot for IMAP)."""

from __future__ import annotations

from typing import Any

import pytest

from omniline.channels.email.admin import CHANNEL_TYPE
from omniline.config import Settings, set_settings
from omniline.errors import Invalid
from omniline.inboxes.channel_types import clean_settings
from omniline.inboxes.models import Inbox
from tests.channels.email.conftest import ImapAccount, SmtpSink
from tests.channels.email.test_outbound_support import (
    Certificate,
    StartServer,
    self_signed,
    tls_smtp,
    trust,
)
from tests.conftest import free_port

__all__ = ["self_signed", "tls_smtp", "trust"]

GOOD: dict[str, Any] = {
    "address": " Support@MicroLend.test ",
    "from_name": "MicroLend Support",
    "smtp_host": "smtp.microlend.test",
    "smtp_port": None,
    "smtp_security": "ssl",
    "smtp_username": "support@microlend.test",
    "smtp_password": "app-password",
    "imap_host": "imap.microlend.test",
    "imap_port": None,
    "imap_security": "ssl",
    "imap_username": "",
    "imap_password": "app-password",
    "imap_folder": "",
    "poll_seconds": None,
    "aliases": "help@microlend.test\nHelp@MicroLend.test, loans@microlend.test",
}


def refused_field(changes: dict[str, Any]) -> str:
    with pytest.raises(Invalid) as caught:
        CHANNEL_TYPE.validate({**GOOD, **changes})
    return caught.value.fields[0]["field"]


def test_valid_settings_are_cleaned_with_sensible_defaults() -> None:
    cleaned = CHANNEL_TYPE.validate(GOOD)
    assert cleaned["address"] == "support@microlend.test"
    assert cleaned["aliases"] == ["help@microlend.test", "loans@microlend.test"]
    assert cleaned["smtp_port"] == 465
    assert cleaned["imap_port"] == 993
    assert cleaned["imap_username"] == "support@microlend.test"
    assert cleaned["imap_folder"] == "INBOX"
    assert cleaned["poll_seconds"] == 60
    starttls = CHANNEL_TYPE.validate({**GOOD, "smtp_security": "starttls"})
    assert starttls["smtp_port"] == 587


def test_imap_is_optional_smtp_is_not() -> None:
    cleaned = CHANNEL_TYPE.validate({**GOOD, "imap_host": "", "imap_password": ""})
    assert cleaned["imap_host"] == ""
    assert refused_field({"smtp_host": ""}) == "smtp_host"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"address": "support"}, "address"),
        ({"address": "a b@microlend.test"}, "address"),
        ({"address": ""}, "address"),
        ({"aliases": "help@microlend.test\nnot-an-address"}, "aliases"),
        ({"smtp_port": 0}, "smtp_port"),
        ({"smtp_port": 65536}, "smtp_port"),
        ({"imap_port": 99999}, "imap_port"),
        ({"smtp_port": 587.5}, "smtp_port"),
        ({"smtp_security": "tls"}, "smtp_security"),
        ({"imap_security": "plain"}, "imap_security"),
        ({"smtp_host": "smtp host with spaces"}, "smtp_host"),
        ({"smtp_password": ""}, "smtp_password"),
        ({"imap_password": ""}, "imap_password"),
        ({"from_name": "Support\r\nBcc: everyone@example.com"}, "from_name"),
        ({"poll_seconds": 1}, "poll_seconds"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(changes: dict[str, Any], field: str) -> None:
    assert refused_field(changes) == field


def test_the_form_keeps_a_stored_password_when_left_empty() -> None:
    stored = CHANNEL_TYPE.validate(GOOD)
    typed = {**GOOD, "smtp_password": "", "imap_password": ""}
    saved = clean_settings(CHANNEL_TYPE, typed, stored)
    assert saved["smtp_password"] == "app-password"
    assert saved["imap_password"] == "app-password"
    assert any(f.name == "imap_folder" and f.advanced for f in CHANNEL_TYPE.fields)


def inbox(settings: dict[str, Any]) -> Inbox:
    return Inbox(workspace_id=1, channel="email", name="Support", key="k", settings=settings)


def smtp_of(sink: SmtpSink, **extra: Any) -> dict[str, Any]:
    return {
        "address": "support@microlend.test",
        "smtp_host": sink.host,
        "smtp_port": sink.port,
        "smtp_security": "none",
        "smtp_username": sink.username,
        "smtp_password": sink.password,
        **extra,
    }


async def run_test(settings: dict[str, Any]) -> tuple[bool, str]:
    assert CHANNEL_TYPE.test is not None
    result = await CHANNEL_TYPE.test(inbox(settings))
    return result.ok, result.message


async def test_smtp_and_imap_that_work(
    smtp_server_login: SmtpSink, imap_account: ImapAccount
) -> None:
    imap_account.append(b"Subject: hello\r\n\r\nhi\r\n")
    ok, message = await run_test({**smtp_of(smtp_server_login), **imap_account.settings()})
    assert ok, message
    assert f"logged in as {smtp_server_login.username}" in message
    assert "folder INBOX holds 1 letters" in message
    assert smtp_server_login.logins == [smtp_server_login.username]


async def test_smtp_wrong_password(smtp_server_login: SmtpSink) -> None:
    ok, message = await run_test(smtp_of(smtp_server_login, smtp_password="nope"))
    assert not ok
    assert "SMTP" in message and "wrong user name or password" in message


async def test_imap_wrong_password(smtp_server: SmtpSink, imap_account: ImapAccount) -> None:
    settings = {**smtp_of(smtp_server), **imap_account.settings(), "imap_password": "nope"}
    ok, message = await run_test(settings)
    assert not ok
    assert "IMAP" in message and "wrong user name or password" in message
    assert message.startswith("SMTP: connected")  # the part that works says so


async def test_imap_folder_missing(smtp_server: SmtpSink, imap_account: ImapAccount) -> None:
    settings = {**smtp_of(smtp_server), **imap_account.settings("Support/Loans")}
    ok, message = await run_test(settings)
    assert not ok
    assert "folder Support/Loans does not exist" in message


async def test_servers_that_cannot_be_reached() -> None:
    settings = {
        "address": "support@microlend.test",
        "smtp_host": "127.0.0.1",
        "smtp_port": free_port(),
        "smtp_security": "none",
        "imap_host": "127.0.0.1",
        "imap_port": free_port(),
        "imap_security": "none",
        "imap_password": "x",
    }
    ok, message = await run_test(settings)
    assert not ok
    assert "SMTP: the mail server cannot be reached" in message
    assert "IMAP: the mail server cannot be reached" in message


async def test_a_self_signed_certificate_is_named(tls_smtp: StartServer) -> None:
    sink = tls_smtp("ssl")
    ok, message = await run_test(smtp_of(sink, smtp_security="ssl"))
    assert not ok
    assert "certificate" in message and "self-signed" in message


async def test_a_trusted_certificate_passes(tls_smtp: StartServer, trust: Certificate) -> None:
    sink = tls_smtp("starttls")
    ok, message = await run_test(smtp_of(sink, smtp_host="localhost", smtp_security="starttls"))
    assert ok, message
    assert "with STARTTLS" in message


def setup_rows(settings: dict[str, Any]) -> dict[str, str]:
    assert CHANNEL_TYPE.setup is not None
    return dict(CHANNEL_TYPE.setup(inbox(settings), "https://omniline.microlend.test"))


def test_setup_shows_the_addresses_customers_write_to(settings: Settings) -> None:
    rows = setup_rows(CHANNEL_TYPE.validate(GOOD))
    assert rows["Customers write to"] == (
        "support@microlend.test, help@microlend.test, loans@microlend.test"
    )
    assert len(rows) == 1  # the mailbox is fetched by IMAP; nothing else to set up
    without_imap = setup_rows(CHANNEL_TYPE.validate({**GOOD, "imap_host": ""}))
    assert "nothing fetches this mailbox" in without_imap["Receiving"]


def test_setup_names_the_built_in_receiver_when_it_runs(settings: Settings) -> None:
    set_settings(Settings(**{**settings.model_dump(), "smtp_receiver_port": 2525}))
    rows = setup_rows(CHANNEL_TYPE.validate({**GOOD, "imap_host": ""}))
    assert rows["Forward these addresses to the built-in SMTP receiver"] == (
        "omniline.microlend.test:2525"
    )
