"""WebSockets: memory per idle staff socket and the time to push one event to all of them.

    .venv/bin/python bench/bench_websockets.py                 # 5,000 sockets, the default server
    .venv/bin/python bench/bench_websockets.py --variants      # also the other uvicorn settings

One ``omniline serve`` process on a fresh SQLite database. This process opens
N staff sockets (``/api/v1/stream``, one agent's token, as N browser tabs
would; each offers per-message compression as Chromium does) and keeps them
idle. Memory: server VmRSS before and after, divided by N. Fan-out: an agent
replies to a conversation of a queue the agent sees (POST
``/api/v1/conversations/{id}/messages``); the time runs from writing that POST
to the last of the N sockets reading the ``message.created`` frame.
Both processes lift their open-files limit to the hard limit.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    AGENT,
    WsConn,
    free_port,
    fresh_database,
    http_connect,
    http_once,
    install_uvloop,
    json_headers,
    log,
    login,
    migrate_and_seed,
    omniline_cmd,
    omniline_env,
    print_machine,
    print_table,
    raise_nofile,
    rss_kb,
    start_server,
    temp_dir,
    verdict,
    ws_connect,
)

GOAL_KB = 50.0
GOAL_FANOUT_S = 1.0
# (label, environment of the server): the first is what `omniline serve` does by default.
VARIANTS: list[tuple[str, dict[str, str]]] = [
    ("omniline serve defaults", {}),
    ("websockets-sansio, deflate", {"OMNILINE_WS_PER_MESSAGE_DEFLATE": "true"}),
    ("websockets-sansio, no deflate", {"OMNILINE_WS_PER_MESSAGE_DEFLATE": "false"}),
    (
        "websockets (legacy), deflate",
        {"OMNILINE_WS_IMPL": "websockets", "OMNILINE_WS_PER_MESSAGE_DEFLATE": "true"},
    ),
    (
        "websockets (legacy), no deflate",
        {"OMNILINE_WS_IMPL": "websockets", "OMNILINE_WS_PER_MESSAGE_DEFLATE": "false"},
    ),
]


@dataclass
class Sockets:
    """N idle sockets; each notes when it first reads a frame containing ``marker``."""

    conns: list[WsConn] = field(default_factory=list)
    marker: bytes = b"\x00"
    seen: dict[int, float] = field(default_factory=dict)
    frames: int = 0

    def handler(self, index: int) -> Any:
        def on_text(payload: bytes, received_at: float) -> None:
            self.frames += 1
            if self.marker in payload and b'"message.created"' in payload:
                self.seen.setdefault(index, received_at)

        return on_text


async def open_sockets(port: int, token: str, count: int, sockets: Sockets) -> float:
    gate = asyncio.Semaphore(64)
    path = f"/api/v1/stream?token={token}"

    async def one(index: int) -> WsConn:
        async with gate:
            return await ws_connect(port, path, sockets.handler(index), offer_deflate=True)

    started = time.perf_counter()
    done = 0
    for start in range(0, count, 500):
        chunk = range(start, min(count, start + 500))
        sockets.conns += await asyncio.gather(*(one(i) for i in chunk))
        done += len(chunk)
        log(f"  {done:,} sockets open")
    return time.perf_counter() - started


async def a_conversation(port: int, agent_token: str) -> int:
    """A visitor writes once, so that there is a conversation in the agent's queue."""
    status, body = await http_once(
        port, "POST", "/api/v1/widget/sessions", {"inbox_key": "demo-widget"}
    )
    assert status == 201, body
    status, msg = await http_once(
        port, "POST", "/api/v1/widget/messages", {"text": "hello"}, body["session_token"]
    )
    assert status == 201, msg
    return int(msg["conversation_id"])


async def fan_out(port: int, token: str, conv_id: int, sockets: Sockets, n: int) -> float:
    """Seconds from writing the agent's reply to the last socket reading it."""
    marker = f"fan-out {n} {time.time_ns()}"
    sockets.marker, sockets.seen = marker.encode(), {}
    conn = await http_connect(port)
    body = f'{{"text": "{marker}"}}'.encode()
    sent = time.perf_counter()
    status, answer = await conn.request(
        "POST", f"/api/v1/conversations/{conv_id}/messages", body, json_headers(token)
    )
    conn.close()
    if status != 201:
        raise RuntimeError(f"reply answered {status}: {answer!r}")
    deadline = time.perf_counter() + 30
    while len(sockets.seen) < len(sockets.conns) and time.perf_counter() < deadline:
        await asyncio.sleep(0.005)
    if len(sockets.seen) < len(sockets.conns):
        log(f"  only {len(sockets.seen):,} of {len(sockets.conns):,} sockets got the reply")
        return float("nan")
    return max(sockets.seen.values()) - sent


async def measure(port: int, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    token = await login(port, *AGENT)
    conv_id = await a_conversation(port, token)
    # Warm the code paths once (a socket, a reply) so that before/after compares sockets only.
    warm = Sockets()
    await open_sockets(port, token, 1, warm)
    await fan_out(port, token, conv_id, warm, 0)
    warm.conns[0].close()
    await asyncio.sleep(1.0)
    before = rss_kb(pid)
    sockets = Sockets()
    log(f"opening {args.sockets:,} staff sockets")
    connect_s = await open_sockets(port, token, args.sockets, sockets)
    await asyncio.sleep(2.0)  # idle: hello frames read, nothing in flight
    after = rss_kb(pid)
    log(f"server RSS {before / 1024:.1f} MiB -> {after / 1024:.1f} MiB; fan-out x{args.rounds}")
    times = []
    for n in range(1, args.rounds + 1):
        times.append(await fan_out(port, token, conv_id, sockets, n))
        await asyncio.sleep(0.5)
    await asyncio.sleep(1.0)
    after_traffic = rss_kb(pid)
    deflate = sum(c.deflate for c in sockets.conns)
    for c in sockets.conns:
        c.close()
    gc.collect()
    return {
        "before": before,
        "after": after,
        "per_conn_kb": (after - before) / args.sockets,
        "after_traffic": after_traffic,
        "per_conn_kb_traffic": (after_traffic - before) / args.sockets,
        "connect_s": connect_s,
        "fanout": times,
        "deflate": deflate,
    }


def run_variant(label: str, extra: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    with temp_dir("omniline-bench-ws-") as tmp, fresh_database("sqlite", tmp, "ws") as database:
        env = omniline_env(database, tmp / "var", **extra)
        migrate_and_seed(env)
        port = free_port()
        server = start_server(omniline_cmd(port), env, port, Path(tmp) / "server.log")
        log(f"[{label}] omniline serve pid {server.pid} on port {port}")
        try:
            return asyncio.run(measure(port, server.pid, args))
        finally:
            server.stop()


def report(results: list[tuple[str, dict[str, Any]]], sockets: int) -> None:
    rows = []
    for label, r in results:
        fan = [t for t in r["fanout"] if t == t]
        median = statistics.median(fan) if fan else float("nan")
        worst = max(fan) if fan else float("nan")
        worst_kb = max(r["per_conn_kb"], r["per_conn_kb_traffic"])
        rows.append(
            [
                label,
                f"{r['deflate']:,}/{sockets:,}",
                f"{r['before'] / 1024:.0f} -> {r['after'] / 1024:.0f} -> "
                f"{r['after_traffic'] / 1024:.0f}",
                f"{r['per_conn_kb']:.1f} / {r['per_conn_kb_traffic']:.1f}",
                verdict(worst_kb <= GOAL_KB),
                f"{r['connect_s']:.1f}",
                f"{median * 1000:.0f} / {worst * 1000:.0f}",
                verdict(worst <= GOAL_FANOUT_S),
            ]
        )
    print_table(
        f"WebSockets: {sockets:,} idle staff sockets on one server process",
        [
            "server",
            "compressed",
            "RSS MiB: before -> idle -> after pushes",
            "KB/socket idle / after pushes",
            f"<= {GOAL_KB:.0f} KB",
            "connect s",
            "fan-out median / worst ms",
            f"<= {GOAL_FANOUT_S * 1000:.0f} ms",
        ],
        rows,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5, help="fan-out repetitions")
    parser.add_argument("--variants", action="store_true", help="also measure other settings")
    args = parser.parse_args()
    limit = raise_nofile()
    if limit < args.sockets + 200:
        log(f"open-files limit {limit} is below {args.sockets + 200}: fewer sockets")
        args.sockets = max(100, limit - 200)
    loop = install_uvloop()
    print_machine({"open files limit": str(limit), "load generator": f"this process ({loop})"})
    results = []
    for label, extra in VARIANTS if args.variants else VARIANTS[:1]:
        results.append((label, run_variant(label, extra, args)))
    report(results, args.sockets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
