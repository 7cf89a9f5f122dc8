"""A small HTTP/1.1 client for ARI's REST calls: persistent connections, one request at a time
on each, nothing else.

Why not httpx: at a few hundred PBX commands a second, httpx's connection pool was most of
the controller's CPU (every request scans every connection, asking each socket through anyio
whether it expired), and the event loop it kept busy is the one that handles the calls. ARI's
REST interface needs only short requests with a JSON body or none, answered with a
``Content-Length`` (or chunked) body, so a plain client over asyncio streams does.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import time
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

import orjson

MAX_HEADER_LINES = 100
# A connection idle this long is not reused: servers close idle ones (uvicorn after 5 s,
# Asterisk's http.conf ``session_keep_alive`` 15 s), and one closed while our request is
# on its way fails it.
IDLE_S = 3.0


class HttpError(Exception):
    """No usable answer: connection refused or lost, a timeout, a garbled response."""


class _Closed(Exception):
    """The server closed the connection before any byte of an answer."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    reason: str
    content: bytes


class _Conn:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.idle_since = 0.0

    def close(self) -> None:
        self.writer.close()


class AriHttp:
    """Requests to one ARI server with basic authentication; idle connections are kept."""

    def __init__(self, base_url: str, user: str, password: str, *, timeout: float) -> None:
        parts = urlsplit(base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        host_header = parts.netloc.rsplit("@", 1)[-1]
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self._head = f"Host: {host_header}\r\nAuthorization: Basic {token}\r\n"
        self.timeout = timeout
        self._idle: list[_Conn] = []
        self._ssl = ssl.create_default_context() if self.https else None

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    async def request(
        self,
        method: str,
        path: str,
        params: dict[str, object] | None = None,
        json: object | None = None,
    ) -> Answer:
        """``path`` below the base URL's path; raises :class:`HttpError` without an answer."""
        target = self.prefix + path
        if params:
            target += "?" + urlencode({k: _text(v) for k, v in params.items()}, quote_via=quote)
        body = orjson.dumps(json) if json is not None else b""
        head = f"{method} {target} HTTP/1.1\r\n{self._head}Content-Length: {len(body)}\r\n"
        if json is not None:
            head += "Content-Type: application/json\r\n"
        message = (head + "\r\n").encode() + body
        try:
            return await asyncio.wait_for(self._exchange(message, method), self.timeout)
        except TimeoutError:
            raise HttpError("ReadTimeout") from None

    async def _exchange(self, message: bytes, method: str) -> Answer:
        # A kept connection the server closed meanwhile fails before any answer: once more
        # on a new one (every ARI request may be repeated: none is sent twice if answered).
        for attempt in range(2):
            conn = self._kept() if attempt == 0 else None
            reused = conn is not None
            if conn is None:
                conn = await self._connect()
            try:
                conn.writer.write(message)
                answer, keep = await self._read(conn.reader, method)
            except _Closed:
                conn.close()
                if reused and attempt == 0:
                    continue
                raise HttpError("RemoteProtocolError") from None
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                conn.close()
                raise HttpError(type(exc).__name__) from None
            except BaseException:
                conn.close()  # cancelled (a timeout) halfway: the connection is unusable
                raise
            if keep:
                conn.idle_since = time.monotonic()
                self._idle.append(conn)
            else:
                conn.close()
            return answer
        raise HttpError("no connection")  # pragma: no cover - the loop returns or raises

    def _kept(self) -> _Conn | None:
        """The most recently used idle connection that is still fit, dropping the rest."""
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if conn.reader.at_eof() or now - conn.idle_since > IDLE_S:
                conn.close()
                continue
            return conn
        return None

    async def _connect(self) -> _Conn:
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port, ssl=self._ssl)
        except OSError as exc:
            raise HttpError(type(exc).__name__) from None
        return _Conn(reader, writer)

    async def _read(self, reader: asyncio.StreamReader, method: str) -> tuple[Answer, bool]:
        try:
            line = await reader.readline()
        except ConnectionError:
            raise _Closed from None
        if not line:
            raise _Closed
        version, _, rest = line.decode("latin-1").rstrip("\r\n").partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/1."):
            raise ValueError("not an HTTP/1.x answer")
        status = int(code)
        length: int | None = None
        chunked = False
        keep = version == "HTTP/1.1"
        for _ in range(MAX_HEADER_LINES):
            line = await reader.readline()
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise asyncio.IncompleteReadError(b"", None)
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                chunked = "chunked" in value
            elif name == "connection":
                keep = "close" not in value if keep else "keep-alive" in value
        else:
            raise ValueError("too many header lines")
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            content = b""
        elif chunked:
            content = await _chunks(reader)
        elif length is not None:
            content = await reader.readexactly(length)
        else:
            content, keep = await reader.read(), False
        return Answer(status, reason, content), keep


async def _chunks(reader: asyncio.StreamReader) -> bytes:
    out = bytearray()
    while True:
        size = int((await reader.readline()).split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return bytes(out)
        out += await reader.readexactly(size)
        await reader.readexactly(2)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
