"""The machinery of bench/faults.py: a throwaway PostgreSQL and Redis, supervised Omniline
processes, and the two places replies go to (an SMTP sink and a fake Telegram Bot API).

- ``PgCluster``: a PostgreSQL 15 instance of its own (initdb into a temporary folder, run as
  the ``postgres`` account on a free port), so that it can be stopped, crashed and started
  without touching the machine's shared cluster.
- ``RedisServer``: ``redis-server --save ''`` on a free port, stopped and started at will.
- ``Supervisor``: restarts an exited process after ``RestartSec`` seconds, as systemd does
  with ``Restart=always`` (docs/deployment.md's units).
- ``SmtpSink``: an aiosmtpd server in the bench's event loop that keeps every letter.
- ``FakeTelegram``: ``sendMessage``/``getMe`` of the Bot API with its documented
  ``{"ok": true, "result": Message}`` answers, served by uvicorn in the bench's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from _common import HOST, ROOT, free_port, log

PG_BIN = Path(os.environ.get("BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"  # initdb and postgres refuse to run as root


# ---------------------------------------------------------------- PostgreSQL of its own


def _as_pg(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", PG_USER, "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


@dataclass
class PgCluster:
    root: Path
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@{HOST}:{self.port}/omniline"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/omniline"

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, PG_USER)
        self.root.chmod(0o755)
        out = _as_pg(
            [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E",
             "UTF8", "--no-instructions"]
        )  # fmt: skip
        if out.returncode:
            raise RuntimeError(f"initdb failed: {out.stderr}")
        self.start()
        created = _as_pg(
            [str(PG_BIN / "psql"), "-h", HOST, "-p", str(self.port), "-U", "postgres", "-d",
             "postgres", "-c", "CREATE DATABASE omniline"]
        )  # fmt: skip
        if created.returncode:
            raise RuntimeError(f"CREATE DATABASE failed: {created.stderr}")

    def start(self) -> None:
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses={HOST} -c max_connections=200 "
            "-c shared_buffers=64MB"
        )
        out = _as_pg(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "pg.log"), "-w",
             "-o", opts, "start"]
        )  # fmt: skip
        if out.returncode:
            raise RuntimeError(f"pg_ctl start failed: {out.stdout}{out.stderr}")

    def stop(self, mode: str = "fast") -> None:
        _as_pg([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def crash(self) -> None:
        """kill -9 of the postmaster, then of its children (what a lost host leaves)."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(
            ["pgrep", "-P", str(pid)], capture_output=True, text=True
        ).stdout.split()
        os.kill(pid, signal.SIGKILL)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(child), signal.SIGKILL)
        time.sleep(0.5)

    def version(self) -> str:
        out = _as_pg([str(PG_BIN / "postgres"), "--version"])
        return out.stdout.strip()


# ---------------------------------------------------------------- Redis of its own


@dataclass
class RedisServer:
    root: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        out = (self.root / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", HOST, "--save", "",
             "--appendonly", "no", "--dir", str(self.root)],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                import socket

                with socket.create_connection((HOST, self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        """SIGTERM: with --save '' Redis exits at once and keeps nothing."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def version(self) -> str:
        return (
            subprocess.run(["redis-server", "--version"], capture_output=True, text=True)
            .stdout.split(" v=")[1]
            .split()[0]
        )


# ---------------------------------------------------------------- supervised processes


@dataclass
class Proc:
    name: str
    cmd: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    exits: list[int] = field(default_factory=list)
    last_start: float = 0.0

    def start(self) -> None:
        out = self.log_path.open("ab")
        out.write(f"\n=== start {self.starts + 1} at {time.strftime('%H:%M:%S')}\n".encode())
        out.flush()
        self.proc = subprocess.Popen(
            self.cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
        )
        self.starts += 1
        self.last_start = time.perf_counter()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def log_size(self) -> int:
        with contextlib.suppress(OSError):
            return self.log_path.stat().st_size
        return 0

    def log_since(self, offset: int) -> str:
        with contextlib.suppress(OSError), self.log_path.open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")
        return ""


class Supervisor:
    """Restart=always, RestartSec=``delay``: an exited process is started again."""

    def __init__(self, procs: list[Proc], delay: float = 2.0) -> None:
        self.procs = procs
        self.delay = delay
        self.running = True
        self.restarts: list[tuple[str, float, int]] = []  # name, when, exit code
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        for p in self.procs:
            p.start()
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        while self.running:
            for p in self.procs:
                if p.proc is not None and p.proc.poll() is not None and self.running:
                    code = p.proc.returncode
                    p.exits.append(code)
                    p.proc = None
                    asyncio.get_running_loop().create_task(self._restart(p, code))
            await asyncio.sleep(0.1)

    async def _restart(self, p: Proc, code: int) -> None:
        log(f"supervisor: {p.name} exited ({code}); restarting in {self.delay:g} s")
        await asyncio.sleep(self.delay)
        if self.running:
            p.start()
            self.restarts.append((p.name, time.perf_counter(), code))

    async def stop(self) -> None:
        self.running = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for p in self.procs:
            await asyncio.to_thread(p.stop)


# ---------------------------------------------------------------- where replies go


@dataclass
class Arrival:
    key: str  # the letter's Message-ID, or the Telegram chat
    text: str
    at: float


class SmtpSink:
    """Takes every letter (no relay, no checks) and keeps its Message-ID and plain text;
    ``delay`` seconds pass between reading a letter and answering 250, as on a real server."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.port = free_port()
        self.letters: list[Arrival] = []
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        from aiosmtpd.smtp import SMTP

        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                raw = envelope.original_content or b""
                msg = email.message_from_bytes(raw, policy=email.policy.default)
                body = msg.get_body(preferencelist=("plain",))
                text = body.get_content().strip() if body is not None else ""  # type: ignore[attr-defined]
                msgid = str(msg.get("Message-ID") or "")
                sink.letters.append(Arrival(msgid, text, time.perf_counter()))
                await asyncio.sleep(sink.delay)
                return "250 OK"

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(Handler(), hostname="sink.local"), HOST, self.port
        )

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()


class FakeTelegram:
    """The Bot API methods Omniline calls to send text, answering as Telegram documents."""

    def __init__(self, token: str, delay: float = 0.0) -> None:
        self.token = token
        self.delay = delay  # seconds between taking a message and answering
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.sent: list[Arrival] = []
        self._next_id = 1000
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        import uvicorn
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        def answer(body: dict[str, Any], status: int = 200) -> Response:
            return Response(orjson.dumps(body), status, media_type="application/json")

        async def method(request: Request) -> Response:
            if request.path_params["token"] != self.token:
                return answer({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
            name = request.path_params["method"]
            raw = await request.body()
            params = orjson.loads(raw) if raw else {}
            if name == "getMe":
                return answer({"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "B"}})
            if name != "sendMessage" or not str(params.get("text") or "").strip():
                bad = {"ok": False, "error_code": 400, "description": "Bad Request"}
                return answer(bad, 400)
            chat = int(params["chat_id"])
            self._next_id += 1
            self.sent.append(Arrival(str(chat), str(params["text"]), time.perf_counter()))
            await asyncio.sleep(self.delay)
            result = {
                "message_id": self._next_id,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private"},
                "text": params["text"],
            }
            return answer({"ok": True, "result": result})

        app = Starlette(routes=[Route("/bot{token}/{method}", method, methods=["GET", "POST"])])
        config = uvicorn.Config(app, host=HOST, port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.get_running_loop().create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 5)
