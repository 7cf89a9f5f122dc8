"""Shared pieces of the outbound email tests: mail servers with TLS and a login, an email
inbox of the demo workspace, a customer's letter, running due jobs.

(No tests here; the outbound, fallback and admin test modules import these.)
"""

from __future__ import annotations

import ssl
import subprocess
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from omniline import db
from omniline.channels.email import threading
from omniline.conversations.inbound import InboundMessage
from omniline.conversations.models import Message
from omniline.conversations.service import receive_inbound
from omniline.inboxes.service import do_create_inbox
from omniline.jobs.models import Job, JobState
from omniline.jobs.runner import Runner
from omniline.kit.clock import utcnow
from tests.channels.email.conftest import SmtpSink, _authenticator, _SinkHandler
from tests.conftest import Demo, free_port

MAILBOX = "support@microlend.test"
CUSTOMER = "taras@example.com"


@dataclass
class Certificate:
    cert: Path
    key: Path


@pytest.fixture(scope="session")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for localhost/127.0.0.1 (no CA trusts it by default)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Certificate(cert, key)


@pytest.fixture
def trust(self_signed: Certificate, monkeypatch: pytest.MonkeyPatch) -> Certificate:
    """Make this test's TLS clients trust the self-signed certificate (as an admin would by
    adding their bank's CA to the system store)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(self_signed.cert))
    return self_signed


def _server_context(cert: Certificate) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert.cert, cert.key)
    return ctx


StartServer = Callable[[str], SmtpSink]


@pytest.fixture
def tls_smtp(self_signed: Certificate) -> Iterator[StartServer]:
    """Start SMTP servers that insist on a login over TLS: ``"starttls"`` (plain connection
    upgraded with STARTTLS, required) or ``"ssl"`` (TLS from the first byte)."""
    controllers: list[Controller] = []

    def start(mode: str) -> SmtpSink:
        sink = SmtpSink(host="127.0.0.1", port=free_port())
        ctx = _server_context(self_signed)
        options: dict[str, Any] = {
            "auth_required": True,
            "auth_require_tls": True,
            "authenticator": _authenticator(sink),
        }
        if mode == "ssl":
            # aiosmtpd only counts STARTTLS as TLS for AUTH; this connection is TLS already.
            options.update(ssl_context=ctx, auth_require_tls=False)
        else:
            options.update(tls_context=ctx, require_starttls=True)
        controller = Controller(_SinkHandler(sink), hostname=sink.host, port=sink.port, **options)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            controller.start()
        controllers.append(controller)
        return sink

    yield start
    for controller in controllers:
        controller.stop()


def smtp_settings(sink: SmtpSink, **extra: Any) -> dict[str, Any]:
    return {
        "address": MAILBOX,
        "from_name": "MicroLend Support",
        "smtp_host": sink.host,
        "smtp_port": sink.port,
        "smtp_security": "none",
        "smtp_username": "",
        "smtp_password": "",
        **extra,
    }


async def email_inbox(demo: Demo, settings: dict[str, Any], name: str = "Support mail") -> int:
    async with db.unit_of_work() as session:
        inbox = await do_create_inbox(
            session,
            demo.workspace_id,
            channel="email",
            name=name,
            default_queue_id=demo.queues["First line"],
            settings=settings,
        )
        return inbox.id


async def set_inbox_settings(inbox_id: int, **changes: Any) -> None:
    from omniline.inboxes.models import Inbox

    async with db.unit_of_work() as session:
        inbox = await session.get(Inbox, inbox_id)
        assert inbox is not None
        inbox.settings = {**inbox.settings, **changes}


async def customer_writes(
    demo: Demo,
    inbox_id: int,
    *,
    subject: str,
    text: str,
    message_id: str,
    sender: str = CUSTOMER,
) -> int:
    """A customer's letter as the inbound side stores it: the message with its subject, and
    its Message-ID remembered for the conversation. Answers the conversation id."""
    async with db.unit_of_work() as session:
        (received,) = await receive_inbound(
            session,
            [
                InboundMessage(
                    workspace_id=demo.workspace_id,
                    inbox_id=inbox_id,
                    text=text,
                    external_id=message_id,
                    sender_address=sender,
                    sender_name="Taras Shevchuk",
                    contact_email=sender,
                    meta={"subject": subject},
                    received_at=utcnow(),
                )
            ],
        )
        msg = received.message
        await threading.remember(
            session, demo.workspace_id, message_id, msg.conversation_id, msg.id
        )
        return msg.conversation_id


async def run_jobs() -> None:
    """Run whatever is due, until nothing is left that is due now."""
    runner = Runner()
    for _ in range(20):
        if await runner.run_due() == 0:
            return


async def message(message_id: int) -> Message:
    async with db.sessionmaker()() as session:
        found = await session.get(Message, message_id)
        assert found is not None
        return found


async def pending_jobs(kind: str) -> list[Job]:
    async with db.sessionmaker()() as session:
        return list(
            await session.scalars(
                select(Job).where(Job.kind == kind, Job.state == JobState.pending.value)
            )
        )
