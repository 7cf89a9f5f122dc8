"""A private dovecot IMAP server for the email tests and bench/bench_imap.py.

Nothing is installed here (``make system-deps`` installs dovecot-imapd). Everything lives
in a temporary folder: config, users (a passwd-file), mail (Maildir), logs; the server
listens on 127.0.0.1 only, without TLS, and is stopped with :meth:`Dovecot.stop`.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class DovecotError(RuntimeError):
    pass


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
    )


DOVECOT_CONF = """\
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
mail_fsync = never
mail_location = maildir:{base}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={base}/mail/%u
}}
# No slow-down after failed logins (the tests try wrong passwords on purpose).
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
"""


@dataclass
class Dovecot:
    host: str
    port: int
    base: Path
    # dovecot rereads its passwd-file only when the file's mtime changes (whole seconds):
    # users are written once, at start, and handed out one at a time.
    pool: int = 2000
    handed_out: int = 0

    def write_users(self) -> None:
        lines = [f"box{i}:{{PLAIN}}{self.password_of(i)}\n" for i in range(self.pool)]
        (self.base / "passwd").write_text("".join(lines))
        (self.base / "passwd").chmod(0o644)

    @property
    def certificate(self) -> Path:
        """The self-signed certificate of a server started with ``tls_port``."""
        return self.base / "cert.pem"

    def stop(self) -> None:
        pid_file = self.base / "run" / "master.pid"
        if pid_file.exists():
            subprocess.run(["kill", pid_file.read_text().strip()], check=False)
            for _ in range(100):
                if not pid_file.exists():
                    break
                time.sleep(0.05)
        shutil.rmtree(self.base, ignore_errors=True)

    @staticmethod
    def password_of(i: int) -> str:
        return f"pw-{i}-secret"

    def new_account(self) -> ImapAccount:
        if self.handed_out >= self.pool:
            raise DovecotError(f"all {self.pool} IMAP accounts are handed out")
        i = self.handed_out
        self.handed_out += 1
        return ImapAccount(self.host, self.port, f"box{i}", self.password_of(i))


@dataclass
class ImapAccount:
    """One mailbox user on the test dovecot, with plain imaplib helpers for arranging mail."""

    host: str
    port: int
    username: str
    password: str

    def connect(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4(self.host, self.port)
        conn.login(self.username, self.password)
        return conn

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        self.append_many([raw], folder)

    def append_many(self, letters: Sequence[bytes], folder: str = "INBOX") -> None:
        """APPEND in this order (the server numbers them so)."""
        conn = self.connect()
        try:
            self.ensure_folder(conn, folder)
            for raw in letters:
                typ, data = conn.append(folder, "", imaplib.Time2Internaldate(time.time()), raw)
                if typ != "OK":
                    raise DovecotError(f"APPEND refused: {data!r}")
        finally:
            conn.logout()

    def append_parallel(self, letters: Sequence[bytes], connections: int = 4) -> None:
        """APPEND many letters over several connections (their order is not kept)."""
        size = -(-len(letters) // connections)
        parts = [letters[i : i + size] for i in range(0, len(letters), size)]
        with ThreadPoolExecutor(connections) as pool:
            list(pool.map(self.append_many, parts))

    @staticmethod
    def ensure_folder(conn: imaplib.IMAP4, folder: str) -> None:
        if folder.upper() != "INBOX":
            conn.create(folder)  # "already exists" is answered NO and ignored

    def recreate(self, folder: str) -> None:
        """Delete and create a folder again: the server gives it a new UIDVALIDITY."""
        conn = self.connect()
        try:
            conn.delete(folder)
            conn.create(folder)
        finally:
            conn.logout()

    def settings(self, folder: str = "INBOX") -> dict[str, Any]:
        """The email inbox settings keys that point an inbox at this mailbox."""
        return {
            "imap_host": self.host,
            "imap_port": self.port,
            "imap_security": "none",
            "imap_username": self.username,
            "imap_password": self.password,
            "imap_folder": folder,
        }


def _users() -> dict[str, str]:
    if os.geteuid() != 0:  # dovecot run by an ordinary user does everything as that user
        name = pwd.getpwuid(os.geteuid()).pw_name
        return {"login_user": name, "internal_user": name, "internal_group": name} | {
            "mail_uid": str(os.geteuid()),
            "mail_gid": str(os.getegid()),
        }
    return {
        "login_user": "dovenull",
        "internal_user": "dovecot",
        "internal_group": "dovecot",
        "mail_uid": "nobody",
        "mail_gid": "nogroup",
    }


def _wait_for_port(port: int, log: Path) -> None:
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise DovecotError(f"dovecot did not start listening on port {port}: {detail}")


def _certificate(base: Path) -> str:
    """A self-signed certificate for 127.0.0.1; answers dovecot's ssl settings."""
    cert, key = base / "cert.pem", base / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}"


def start_dovecot(port: int, pool: int = 2000, tls_port: int | None = None) -> Dovecot:
    """Start dovecot on 127.0.0.1:``port`` with ``pool`` users; raises DovecotError.

    With ``tls_port`` it also speaks TLS: implicit on ``tls_port``, STARTTLS on ``port``,
    with a self-signed certificate for 127.0.0.1 at ``Dovecot.certificate``.
    """
    binary = dovecot_binary()
    if binary is None:
        raise DovecotError("dovecot is not installed: run `make system-deps` (dovecot-imapd)")
    # Under /tmp, not pytest's private tmp: dovecot's login and mail processes run as other
    # users and must reach these folders.
    base = Path(tempfile.mkdtemp(prefix="omniline-dovecot-"))
    base.chmod(0o755)
    (base / "mail").mkdir(mode=0o777)
    if os.geteuid() == 0:
        shutil.chown(base / "mail", user="nobody", group="nogroup")
    server = Dovecot("127.0.0.1", port, base, pool=pool)
    server.write_users()
    conf = base / "dovecot.conf"
    ssl = _certificate(base) if tls_port else "ssl = no"
    conf.write_text(
        DOVECOT_CONF.format(base=base, port=port, tls_port=tls_port or 0, ssl=ssl, **_users())
    )
    errors = base / "start.err"
    with errors.open("wb") as err:
        # dovecot forks into the background; the parent exits at once. No pipes: the
        # daemon would keep them open.
        code = subprocess.run(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=err, timeout=30
        ).returncode
    if code:
        detail = errors.read_text(errors="replace")
        shutil.rmtree(base, ignore_errors=True)
        raise DovecotError(f"dovecot refused to start: {detail}")
    try:
        _wait_for_port(port, base / "dovecot.log")
    except DovecotError:
        server.stop()
        raise
    return server
