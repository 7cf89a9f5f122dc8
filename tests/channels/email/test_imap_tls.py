"""IMAP over TLS: implicit TLS (port 993 style) and STARTTLS, with the certificate checked."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from omniline.channels.email import imap
from omniline.channels.email.imap_client import ImapError
from tests.channels.email.dovecot_server import (
    Dovecot,
    DovecotError,
    ImapAccount,
    dovecot_binary,
    start_dovecot,
)
from tests.channels.email.support import SUPPORT, email_inbox, letter, messages_of
from tests.conftest import Demo, free_port

# One worker runs the module (pytest-xdist): its fixtures are module-scoped.
pytestmark = pytest.mark.xdist_group("imap-tls")


@pytest.fixture(scope="module")
def tls_dovecot() -> Iterator[tuple[Dovecot, int]]:
    if dovecot_binary() is None or shutil.which("openssl") is None:
        pytest.skip("dovecot or openssl is not installed: run `make system-deps`")
    tls_port = free_port()
    try:
        server = start_dovecot(free_port(), pool=10, tls_port=tls_port)
    except DovecotError as exc:
        pytest.fail(str(exc))
    yield server, tls_port
    server.stop()


@pytest.mark.parametrize("security", ["ssl", "starttls"])
async def test_letters_arrive_over_tls(
    demo: Demo,
    tls_dovecot: tuple[Dovecot, int],
    security: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, tls_port = tls_dovecot
    monkeypatch.setenv("SSL_CERT_FILE", str(server.certificate))  # trust the test certificate
    account = server.new_account()
    port = tls_port if security == "ssl" else account.port
    settings = dict(account.settings(), imap_security=security, imap_port=port)
    inbox_id = await email_inbox(demo, SUPPORT, **settings)
    account.append(letter("Sent over TLS"))

    assert await imap.poll_once(inbox_id) == 1
    assert [m.text for m in await messages_of(inbox_id)] == ["Sent over TLS"]


async def test_an_untrusted_certificate_is_refused(
    demo: Demo, tls_dovecot: tuple[Dovecot, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, tls_port = tls_dovecot
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    account = server.new_account()
    settings = dict(account.settings(), imap_security="ssl", imap_port=tls_port)
    inbox_id = await email_inbox(demo, SUPPORT, **settings)
    with pytest.raises(ImapError, match=r"TLS failed.*CERTIFICATE_VERIFY_FAILED"):
        await imap.poll_once(inbox_id)


async def test_starttls_is_required_when_asked_for(demo: Demo, imap_account: ImapAccount) -> None:
    # The session's plain dovecot offers no STARTTLS: the password is never sent in clear.
    settings = dict(imap_account.settings(), imap_security="starttls")
    inbox_id = await email_inbox(demo, SUPPORT, **settings)
    with pytest.raises(ImapError, match="does not offer STARTTLS"):
        await imap.poll_once(inbox_id)
