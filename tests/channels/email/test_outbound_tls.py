"""Replies through mail servers that require encryption and a login."""

from __future__ import annotations

import httpx
import pytest

from tests.channels.email.test_outbound import CUSTOMER_ID, reply
from tests.channels.email.test_outbound_support import (
    Certificate,
    StartServer,
    customer_writes,
    email_inbox,
    message,
    pending_jobs,
    run_jobs,
    self_signed,
    smtp_settings,
    tls_smtp,
    trust,
)
from tests.conftest import Demo

__all__ = ["self_signed", "tls_smtp", "trust"]


@pytest.mark.parametrize("security", ["starttls", "ssl"])
async def test_reply_over_tls_with_login(
    client: httpx.AsyncClient,
    demo: Demo,
    tls_smtp: StartServer,
    trust: Certificate,
    security: str,
) -> None:
    sink = tls_smtp(security)
    settings = smtp_settings(
        sink,
        smtp_host="localhost",
        smtp_security=security,
        smtp_username=sink.username,
        smtp_password=sink.password,
    )
    inbox_id = await email_inbox(demo, settings)
    conv_id = await customer_writes(
        demo, inbox_id, subject="Card", text="Lost my card", message_id=CUSTOMER_ID
    )
    msg_id = await reply(client, conv_id, "We blocked it.")
    await run_jobs()

    stored = await message(msg_id)
    assert stored.delivery_error is None
    assert sink.logins == [sink.username]
    (sent,) = sink.letters
    assert sent.message["Subject"] == f"Re: Card [#{conv_id}]"
    assert (await message(msg_id)).delivery_status == "sent"


async def test_an_untrusted_certificate_is_named_and_tried_again(
    client: httpx.AsyncClient, demo: Demo, tls_smtp: StartServer
) -> None:
    sink = tls_smtp("starttls")
    settings = smtp_settings(
        sink,
        smtp_security="starttls",
        smtp_username=sink.username,
        smtp_password=sink.password,
    )
    inbox_id = await email_inbox(demo, settings)
    conv_id = await customer_writes(
        demo, inbox_id, subject="Card", text="Lost my card", message_id=CUSTOMER_ID
    )
    msg_id = await reply(client, conv_id, "We blocked it.")
    await run_jobs()

    stored = await message(msg_id)
    assert stored.delivery_status == "retrying"
    assert "certificate" in (stored.delivery_error or "")
    assert sink.letters == [] and sink.logins == []
    assert len(await pending_jobs("deliver_message")) == 1
