"""Real mail servers for the email channel's tests.

- ``smtp_server``: an aiosmtpd server on a free port (in its own thread) that keeps every
  letter it accepts; it can require a login and refuse chosen recipients.
- ``dovecot``: one private dovecot IMAP server for the test session (nothing is installed
  here: ``make system-deps`` installs dovecot-imapd); tests that need it are skipped with a
  reason when it is missing. ``imap_account`` gives each test its own fresh mailbox user
  (``ImapAccount.append`` puts letters in it, ``.settings()`` points an inbox at it).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.channels.email.dovecot_server import (
    Dovecot,
    DovecotError,
    ImapAccount,
    dovecot_binary,
    start_dovecot,
)
from tests.conftest import free_port

__all__ = ["Dovecot", "ImapAccount", "SentLetter", "SmtpSink"]

# ---------------------------------------------------------------------------------------------
# SMTP: a server that accepts letters (outbound tests)


@dataclass
class SentLetter:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> Message:
        return message_from_bytes(self.raw)


@dataclass
class SmtpSink:
    """What the fake SMTP server received, and how it should answer.

    ``refuse`` maps a recipient address to an SMTP answer (e.g. ``"550 5.1.1 no such user"``
    or ``"451 4.3.0 try again later"``); ``require_login`` makes it insist on AUTH with
    ``username``/``password`` (over plain TCP: tests only).
    """

    host: str
    port: int
    username: str = "mailer"
    password: str = "mailer-secret"
    letters: list[SentLetter] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    logins: list[str] = field(default_factory=list)


class _SinkHandler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        answer = self.sink.refuse.get(address.lower())
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        assert isinstance(raw, bytes)
        self.sink.letters.append(SentLetter(str(envelope.mail_from), list(envelope.rcpt_tos), raw))
        return "250 Message accepted"


def _authenticator(sink: SmtpSink) -> Any:
    def check(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any):
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == sink.username
            and data.password.decode() == sink.password
        )
        if ok:
            sink.logins.append(sink.username)
        return AuthResult(success=ok, handled=False)

    return check


def _start_sink(require_login: bool) -> tuple[Controller, SmtpSink]:
    sink = SmtpSink(host="127.0.0.1", port=free_port())
    controller = Controller(
        _SinkHandler(sink),
        hostname=sink.host,
        port=sink.port,
        auth_required=require_login,
        auth_require_tls=False,
        authenticator=_authenticator(sink),
    )
    with warnings.catch_warnings():  # AUTH without TLS: on purpose, a local test server
        warnings.simplefilter("ignore", UserWarning)
        controller.start()
    return controller, sink


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    """An SMTP server that accepts any letter without a login (AUTH is offered and checked)."""
    controller, sink = _start_sink(require_login=False)
    yield sink
    controller.stop()


@pytest.fixture
def smtp_server_login() -> Iterator[SmtpSink]:
    """An SMTP server that refuses to take letters before AUTH with the sink's credentials."""
    controller, sink = _start_sink(require_login=True)
    yield sink
    controller.stop()


# ---------------------------------------------------------------------------------------------
# IMAP: a private dovecot (tests/channels/email/dovecot_server.py)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    if dovecot_binary() is None:
        pytest.skip("dovecot is not installed: run `make system-deps` (apt dovecot-imapd)")
    try:
        server = start_dovecot(free_port())
    except DovecotError as exc:
        pytest.fail(str(exc))
    yield server
    server.stop()


@pytest.fixture
def imap_account(dovecot: Dovecot) -> ImapAccount:
    """A new, empty mailbox on the session's dovecot (each test its own user)."""
    return dovecot.new_account()
