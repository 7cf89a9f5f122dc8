"""A lender's webhook receiver on a real local port, checking signatures as a bank would."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from omniline.webhooks.signing import verify
from tests.auth.conftest import fast_password_hashing

__all__ = ["Receiver", "fast_password_hashing", "receiver"]


@dataclass
class Received:
    headers: dict[str, str]
    raw: bytes
    signature_ok: bool

    @property
    def body(self) -> Any:
        return json.loads(self.raw)


@dataclass
class Receiver:
    url: str
    secret: str = ""
    # Status codes to answer in turn; 200 once they run out.
    script: list[int] = field(default_factory=list)
    got: list[Received] = field(default_factory=list)
    seen_ids: set[str] = field(default_factory=set)
    processed: list[str] = field(default_factory=list)
    delay: float = 0.0

    def answer(self, headers: dict[str, str], raw: bytes) -> int:
        stamp = headers.get("x-omniline-timestamp", "")
        sig = headers.get("x-omniline-signature", "")
        ok = bool(self.secret) and verify(self.secret, stamp, raw, sig)
        fresh = stamp.isdigit() and abs(time.time() - int(stamp)) < 300
        self.got.append(Received(headers, raw, ok and fresh))
        if not (ok and fresh):
            return 401
        if self.delay:
            time.sleep(self.delay)
        status = self.script.pop(0) if self.script else 200
        delivery = headers.get("x-omniline-delivery", "")
        if 200 <= status < 300 and delivery not in self.seen_ids:
            # What a lender does: act once per delivery id, however often it arrives.
            self.seen_ids.add(delivery)
            self.processed.append(delivery)
        return status

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.got if r.headers.get("x-omniline-event") == event_type]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = state["r"].answer(headers, raw)
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if status < 300 else b"nope")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    state["r"] = Receiver(url=f"http://127.0.0.1:{port}/hooks/omniline")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["r"]
    server.shutdown()
    server.server_close()
