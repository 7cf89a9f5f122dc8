"""Shared parts of the benchmarks.

Machine facts, fresh databases, server processes, and an HTTP/1.1 and a
WebSocket client written on bare asyncio protocols: on a 2-core box the load
generator shares the cores with the server, so it must cost as little CPU per
request as possible (a few percent of a core at 600 requests/s).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import platform
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Awaitable, Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = sys.executable
PG_ADMIN_DSN = os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
# Set: every bench uses (and empties) this one existing database instead of creating its own.
PG_DATABASE = os.environ.get("BENCH_PG_DATABASE", "")
SECRET = "bench-secret-key-" + base64.urlsafe_b64encode(os.urandom(24)).decode()
AGENT = ("agent@demo.omniline", "demo-agent")
ADMIN = ("admin@demo.omniline", "demo-admin")
HOST = "127.0.0.1"


# ---------------------------------------------------------------- output


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    print(f"\n{title}\n{line}", flush=False)
    for n, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            print(line)
    print(line, flush=True)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile; ``nan`` for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# ---------------------------------------------------------------- the machine


def machine() -> dict[str, str]:
    cpu = _first_match(Path("/proc/cpuinfo"), r"model name\s*:\s*(.+)") or platform.processor()
    mem_kb = _first_match(Path("/proc/meminfo"), r"MemTotal:\s*(\d+)")
    os_name = _first_match(Path("/etc/os-release"), r'PRETTY_NAME="?([^"\n]+)') or platform.system()
    return {
        "CPU": cpu or "unknown",
        "cores": str(os.cpu_count()),
        "RAM": f"{int(mem_kb) / 1024 / 1024:.1f} GiB" if mem_kb else "unknown",
        "Python": platform.python_version(),
        "OS": f"{os_name} (kernel {platform.release()})",
        # Other processes on these cores change every figure: say how busy the box was.
        "load average at start": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def print_machine(extra: dict[str, str] | None = None) -> None:
    facts = machine() | (extra or {})
    print_table("Machine", ["fact", "value"], list(facts.items()))


def _first_match(path: Path, pattern: str) -> str | None:
    try:
        found = re.search(pattern, path.read_text())
    except OSError:
        return None
    return found.group(1).strip() if found else None


def raise_nofile() -> int:
    """Lift this process's open-files limit to the hard limit (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def rss_kb(pid: int) -> int:
    found = _first_match(Path(f"/proc/{pid}/status"), r"VmRSS:\s*(\d+)")
    return int(found or 0)


def cpu_seconds(pid: int) -> float:
    """User+system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------- databases


def pg_available() -> bool:
    try:
        _psql("SELECT 1")
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


def pg_version() -> str:
    return _psql("SHOW server_version").strip()


def _psql(sql: str, dsn: str = PG_ADMIN_DSN) -> str:
    return subprocess.run(
        ["psql", dsn, "-tAX", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout


@dataclass
class Database:
    kind: str  # sqlite | postgres
    url: str
    name: str = ""

    def drop(self) -> None:
        if self.kind == "postgres" and self.name:
            _psql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@contextlib.contextmanager
def fresh_database(kind: str, tmp: Path, label: str) -> Iterator[Database]:
    """An empty database: a file under ``tmp`` or a new PostgreSQL database, dropped after."""
    if kind == "sqlite":
        yield Database(kind, f"sqlite+aiosqlite:///{tmp / (label + '.db')}")
        return
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    if PG_DATABASE:
        # A shared box where each engineer owns one database: empty it instead, keep it.
        dsn = PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + PG_DATABASE
        _psql("DROP SCHEMA public CASCADE; CREATE SCHEMA public", dsn)
        yield Database(kind, f"{base}/{PG_DATABASE}")
        return
    name = f"omniline_bench_{label}_{os.getpid()}"
    _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _psql(f'CREATE DATABASE "{name}"')
    database = Database(kind, f"{base}/{name}", name)
    try:
        yield database
    finally:
        database.drop()


def omniline_env(database: Database, var_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNILINE_")}
    env.update(
        OMNILINE_DATABASE_URL=database.url,
        OMNILINE_VAR_DIR=str(var_dir),
        OMNILINE_SECRET_KEY=SECRET,
        # Access logs off: one log line per request would be measured too (the floor's too).
        OMNILINE_LOG_LEVEL="warning",
    )
    env.update(extra)
    return env


SEED = """
import asyncio
from omniline import db
from omniline.demo.seed import seed

async def main():
    db.init_engine()
    try:
        async with db.unit_of_work() as session:
            await seed(session)
    finally:
        await db.dispose_engine()

asyncio.run(main())
"""


def migrate_and_seed(env: dict[str, str]) -> None:
    """Schema by the project's own migrations, then the demo workspace (agents, inbox)."""
    subprocess.run([PYTHON, "-m", "omniline", "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([PYTHON, "-c", SEED], env=env, check=True)


# ---------------------------------------------------------------- server processes


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def start_server(cmd: list[str], env: dict[str, str], port: int, log_path: Path) -> Server:
    """Start a server process and wait until ``/healthz`` answers (or raise with its log)."""
    out = log_path.open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    server = Server(proc, port, log_path)
    try:
        _wait_healthy(server)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"server exited ({server.proc.returncode}):\n{server.tail()}")
        with contextlib.suppress(OSError):
            status, _ = asyncio.run(http_once(server.port, "GET", "/healthz"))
            if status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"server did not answer /healthz in 60 s:\n{server.tail()}")


def omniline_cmd(port: int, *extra: str) -> list[str]:
    return [PYTHON, "-m", "omniline", "serve", "--host", HOST, "--port", str(port), *extra]


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        yield Path(name)


# ---------------------------------------------------------------- HTTP/1.1 client


class HttpConn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time, Content-Length answers."""

    def __init__(self) -> None:
        self.transport: Any = None
        self._buf = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._host = b""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._buf += data
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self._buf[:end]).lower()
        found = re.search(rb"\r\ncontent-length:\s*(\d+)", head)
        length = int(found.group(1)) if found else 0
        if len(self._buf) < end + 4 + length:
            return
        body = bytes(self._buf[end + 4 : end + 4 + length])
        del self._buf[: end + 4 + length]
        waiter.set_result((int(head[9:12]), body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("the server closed the connection"))

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: bytes = b""
    ) -> tuple[int, bytes]:
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(
            b"%s %s HTTP/1.1\r\nHost: %s\r\n%sContent-Length: %d\r\n\r\n%s"
            % (method.encode(), path.encode(), self._host, headers, len(body), body)
        )
        return await self._waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def http_connect(port: int) -> HttpConn:
    _, conn = await asyncio.get_running_loop().create_connection(HttpConn, HOST, port)
    conn._host = f"{HOST}:{port}".encode()
    return conn


def json_headers(token: str | None = None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n".encode() if token else b""
    return b"Content-Type: application/json\r\n" + auth


async def http_once(
    port: int, method: str, path: str, payload: Any = None, token: str | None = None
) -> tuple[int, Any]:
    """One request on a new connection, JSON in and out (set-up calls, not measured)."""
    conn = await http_connect(port)
    try:
        body = orjson.dumps(payload) if payload is not None else b""
        status, raw = await conn.request(method, path, body, json_headers(token))
    finally:
        conn.close()
    try:
        return status, orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return status, raw


async def login(port: int, email: str, password: str) -> str:
    status, body = await http_once(
        port, "POST", "/api/v1/auth/login", {"email": email, "password": password}
    )
    if status != 200:
        raise RuntimeError(f"login {email} answered {status}: {body}")
    return str(body["access_token"])


# ---------------------------------------------------------------- WebSocket client

# What Chromium offers: the server may accept per-message compression.
DEFLATE_OFFER = b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"


@dataclass(eq=False)
class WsConn(asyncio.Protocol):
    """A minimal RFC 6455 client: handshake, text frames in, masked frames out.

    ``on_text(payload, received_at)`` runs for each text message as it is read.
    """

    on_text: Callable[[bytes, float], None] | None = None
    offer_deflate: bool = False
    transport: Any = None
    opened: asyncio.Future[bool] | None = None
    closed: bool = False
    deflate: bool = False
    _buf: bytearray = field(default_factory=bytearray)
    _inflate: Any = None
    _upgraded: bool = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def handshake(self, host: str, path: str) -> None:
        assert self.transport is not None
        key = base64.b64encode(os.urandom(16))
        self.transport.write(
            b"GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n"
            % (path.encode(), host.encode(), key, DEFLATE_OFFER if self.offer_deflate else b"")
        )

    def data_received(self, data: bytes) -> None:
        self._buf += data
        if not self._upgraded and not self._read_handshake():
            return
        self._read_frames()

    def _read_handshake(self) -> bool:
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self._buf[:end]).lower()
        del self._buf[: end + 4]
        ok = head.startswith(b"http/1.1 101")
        self._upgraded = ok
        self.deflate = ok and b"permessage-deflate" in head
        if self.deflate:
            self._inflate = zlib.decompressobj(-15)
        if self.opened is not None and not self.opened.done():
            self.opened.set_result(ok)
        return ok

    def _read_frames(self) -> None:
        buf = self._buf
        while len(buf) >= 2:
            size, offset = buf[1] & 0x7F, 2
            if size == 126:
                if len(buf) < 4:
                    return
                size, offset = int.from_bytes(buf[2:4], "big"), 4
            elif size == 127:
                if len(buf) < 10:
                    return
                size, offset = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < offset + size:
                return
            head, payload = buf[0], bytes(buf[offset : offset + size])
            del buf[: offset + size]
            self._on_frame(head, payload)

    def _on_frame(self, head: int, payload: bytes) -> None:
        opcode = head & 0x0F
        if head & 0x40 and self._inflate is not None:
            payload = self._inflate.decompress(payload + b"\x00\x00\xff\xff")
        if opcode == 1 and self.on_text is not None:
            self.on_text(payload, time.perf_counter())
        elif opcode == 9:
            self._send(0xA, payload)
        elif opcode == 8:
            self.close()

    def _send(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        size = len(payload)
        if size < 126:
            head = bytes([0x80 | opcode, 0x80 | size])
        else:
            head = bytes([0x80 | opcode, 0x80 | 126]) + size.to_bytes(2, "big")
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(head + mask + masked)

    def send_text(self, text: str) -> None:
        self._send(0x1, text.encode())

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._send(0x8, b"\x03\xe8")
            if self.transport is not None:
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.opened is not None and not self.opened.done():
            self.opened.set_result(False)


async def ws_connect(
    port: int,
    path: str,
    on_text: Callable[[bytes, float], None] | None = None,
    *,
    offer_deflate: bool = False,
) -> WsConn:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(
        lambda: WsConn(on_text=on_text, offer_deflate=offer_deflate), HOST, port
    )
    conn.opened = loop.create_future()
    conn.handshake(f"{HOST}:{port}", path)
    if not await asyncio.wait_for(conn.opened, 30):
        raise ConnectionError(f"WebSocket {path.split('?')[0]} refused")
    return conn


def install_uvloop() -> str:
    """The load generator runs on uvloop when it is there: less CPU per request."""
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


async def paced(rate: float, total: int, start_one: Callable[[int], Awaitable[None]]) -> None:
    """Open loop: starts ``start_one(n)`` for n = 0 .. total-1 at ``rate`` per second, whatever
    the answers take, then waits for all of them."""
    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter()
    n = 0
    while n < total:
        due = min(total, int((time.perf_counter() - start) * rate) + 1)
        while n < due:
            task = asyncio.create_task(start_one(n))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            n += 1
        await asyncio.sleep(0.001)
    await asyncio.gather(*tasks)


async def wait_delivered(
    delivered: Container[str], sent: Iterable[str], patience: float = 5.0
) -> None:
    """Until the agent socket has seen every sent text, or ``patience`` seconds passed."""
    wanted = list(sent)
    deadline = time.perf_counter() + patience
    while time.perf_counter() < deadline:
        if all(t in delivered for t in wanted):
            return
        await asyncio.sleep(0.05)
