"""Ingest: widget messages in, committed, and pushed to an agent's WebSocket.

    .venv/bin/python bench/bench_ingest.py --db sqlite      # or postgres, or both (default)

One ``omniline serve`` process (jobs on) on a fresh database. This process is
the load generator (a separate process from the server, on uvloop and bare
asyncio protocols so that it costs less CPU than the server): N widget
sessions, each on its own keep-alive connection, post messages; one agent
socket (``/api/v1/stream``) receives ``message.created``; latency is from
writing the POST to the agent socket reading the event (matched by text).

Phases:
  rated      open loop: messages at a fixed total rate spread over the sessions
             (250, 500, 750 and 1,000 msg/s by default); latency at each rate.
  saturation closed loop: every session posts its next message as soon as the
             last one is answered; shows the most msg/s one process commits.
  wrk        ``wrk -t1 -c32`` on the same endpoint, one widget session.
The FLOOR (bench/floor_app.py, one INSERT+COMMIT per request) is driven by the
same saturation phase and by the same wrk command; the ratio compares them.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from _common import (
    AGENT,
    PYTHON,
    HttpConn,
    cpu_seconds,
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
    own_cpu_seconds,
    paced,
    percentile,
    pg_available,
    pg_version,
    print_machine,
    print_table,
    raise_nofile,
    start_server,
    temp_dir,
    verdict,
    ws_connect,
)
from _common import (
    wait_delivered as wait_all_delivered,
)

WIDGET_PATH = "/api/v1/widget/messages"
FLOOR_PATH = "/messages"
MAX_CONNS_PER_SESSION = 8  # open loop: a session may have this many POSTs in flight
GOAL_RATE = 1000.0
GOAL_P99_MS = 100.0
GOAL_RATIO = 0.5


# ---------------------------------------------------------------- load generation


@dataclass
class Session:
    """One widget visitor: its token and its keep-alive connections."""

    sid: int
    headers: bytes
    idle: list[HttpConn] = field(default_factory=list)
    slots: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(MAX_CONNS_PER_SESSION)
    )


@dataclass
class Phase:
    name: str
    sent: dict[str, float] = field(default_factory=dict)
    http_ms: list[float] = field(default_factory=list)
    ok: int = 0
    errors: int = 0
    started: float = 0.0
    last_answer: float = 0.0
    server_cpu: float = 0.0
    server_cpu_s: float = 0.0
    client_cpu: float = 0.0
    resyncs_before: int = 0


class Load:
    """Posts messages and notes when each was sent, answered and seen on the agent socket."""

    def __init__(
        self, port: int, path: str, sessions: list[Session], agent_token: str = ""
    ) -> None:
        self.port = port
        self.path = path
        self.sessions = sessions
        self.delivered: dict[str, float] = {}
        # As the workspace does: a `resync` frame means events were lost on the way; the
        # client reads what it missed from the HTTP API.
        self.agent_token = agent_token
        self.resyncs = 0
        self.recovered: dict[str, float] = {}
        self._catching_up: asyncio.Task[None] | None = None

    def on_agent_frame(self, payload: bytes, received_at: float) -> None:
        if b'"resync"' in payload and b'"type":"resync"' in payload.replace(b" ", b""):
            self.resyncs += 1
            if self.agent_token and (self._catching_up is None or self._catching_up.done()):
                self._catching_up = asyncio.get_running_loop().create_task(self.catch_up())
            return
        if b'"message.created"' not in payload:
            return
        event = orjson.loads(payload)
        self.delivered.setdefault(event["data"]["message"]["text"], received_at)

    async def catch_up(self) -> None:
        """Every message of every conversation, from the staff API (after a resync)."""
        conn = await http_connect(self.port)
        headers = f"Authorization: Bearer {self.agent_token}\r\n".encode()
        try:
            ids: list[int] = []
            cursor = ""
            while True:
                path = "/api/v1/conversations?limit=100" + (f"&cursor={cursor}" if cursor else "")
                status, body = await conn.request("GET", path, b"", headers)
                if status != 200:
                    return
                page = orjson.loads(body)
                ids += [c["id"] for c in page["items"]]
                cursor = page.get("next_cursor") or ""
                if not cursor:
                    break
            now = time.perf_counter()
            for conv_id in ids:
                after = 0
                while True:
                    path = f"/api/v1/conversations/{conv_id}/messages?after_id={after}"
                    status, body = await conn.request("GET", path, b"", headers)
                    items = orjson.loads(body)["items"] if status == 200 else []
                    for m in items:
                        self.recovered.setdefault(m["text"], now)
                    if len(items) < 1000:
                        break
                    after = items[-1]["id"]
        finally:
            conn.close()

    async def post(self, session: Session, phase: Phase, text: str) -> None:
        async with session.slots:
            conn = await self._connection(session)
            body = orjson.dumps({"text": text, "client_id": text})
            sent = time.perf_counter()
            phase.sent[text] = sent
            try:
                status, _ = await conn.request("POST", self.path, body, session.headers)
            except (ConnectionError, RuntimeError):
                phase.errors += 1
                conn.close()
                return
            answered = time.perf_counter()
            session.idle.append(conn)
        if status == 201:
            phase.ok += 1
            phase.http_ms.append((answered - sent) * 1000)
            phase.last_answer = answered
        else:
            phase.errors += 1

    async def _connection(self, session: Session) -> HttpConn:
        while session.idle:
            conn = session.idle.pop()
            if not conn.transport.is_closing():  # the server drops idle keep-alives after 5 s
                return conn
        return await http_connect(self.port)

    async def closed_loop(self, phase: Phase, seconds: float) -> None:
        deadline = time.perf_counter() + seconds

        async def one(session: Session) -> None:
            n = 0
            while time.perf_counter() < deadline:
                n += 1
                await self.post(session, phase, f"{phase.name}-{session.sid}-{n}")

        await asyncio.gather(*(one(s) for s in self.sessions))

    async def open_loop(self, phase: Phase, rate: float, seconds: float) -> None:
        def one(n: int) -> Awaitable[None]:
            session = self.sessions[n % len(self.sessions)]
            return self.post(session, phase, f"{phase.name}-{n}")

        await paced(rate, int(rate * seconds), one)

    async def wait_delivered(self, phase: Phase, patience: float = 5.0) -> None:
        await wait_all_delivered(self.delivered, phase.sent, patience)
        if self._catching_up is not None:
            await self._catching_up
        if (
            self.resyncs
            and self.agent_token
            and any(t not in self.delivered and t not in self.recovered for t in phase.sent)
        ):
            await self.catch_up()  # a resync came while the last catch-up was running


async def run_phase(
    load: Load, server_pid: int, name: str, mode: str, seconds: float, rate: float = 0.0
) -> Phase:
    phase = Phase(name)
    phase.resyncs_before = load.resyncs
    cpu0, own0 = cpu_seconds(server_pid), own_cpu_seconds()
    phase.started = time.perf_counter()
    if mode == "open":
        await load.open_loop(phase, rate, seconds)
    else:
        await load.closed_loop(phase, seconds)
    wall = max(phase.last_answer - phase.started, 1e-9)
    phase.server_cpu_s = cpu_seconds(server_pid) - cpu0
    phase.server_cpu = phase.server_cpu_s / wall * 100
    phase.client_cpu = (own_cpu_seconds() - own0) / wall * 100
    await load.wait_delivered(phase)
    return phase


def summarise(load: Load | None, phase: Phase) -> dict[str, float]:
    wall = max(phase.last_answer - phase.started, 1e-9)
    out = {
        "committed": phase.ok / wall,
        "ok": phase.ok,
        "errors": phase.errors,
        "http_p50": percentile(phase.http_ms, 50),
        "http_p99": percentile(phase.http_ms, 99),
        "server_cpu": phase.server_cpu,
        # CPU per message holds still when other processes share the cores; msg/s does not.
        "cpu_ms": phase.server_cpu_s * 1000 / max(phase.ok, 1),
        "client_cpu": phase.client_cpu,
    }
    if load is not None:
        live = sum(1 for t in phase.sent if t in load.delivered)
        after_resync = sum(1 for t in phase.sent if t not in load.delivered and t in load.recovered)
        out.update(
            seen_live=live,
            seen_after_resync=after_resync,
            never_seen=len(phase.sent) - live - after_resync - phase.errors,
            resyncs=load.resyncs - phase.resyncs_before,
        )
        seen = [load.delivered[t] for t in phase.sent if t in load.delivered]
        lat = [(load.delivered[t] - s) * 1000 for t, s in phase.sent.items() if t in load.delivered]
        out.update(
            delivered=len(seen) / max(max(seen, default=0) - phase.started, 1e-9),
            delivered_n=len(seen),
            p50=percentile(lat, 50),
            p99=percentile(lat, 99),
            max=max(lat, default=float("nan")),
        )
    return out


# ---------------------------------------------------------------- wrk


WRK_LUA = """wrk.method = "POST"
wrk.body = '{"text": "hello from wrk"}'
wrk.headers["Content-Type"] = "application/json"
%s
"""


def run_wrk(port: int, path: str, tmp: Path, seconds: int, token: str | None) -> dict[str, float]:
    if shutil.which("wrk") is None:
        return {}
    script = tmp / f"wrk_{port}.lua"
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    script.write_text(WRK_LUA % auth)
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            "-c32",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    return {
        "rps": float(rps.group(1)) if rps else float("nan"),
        "p99": _ms(p99.group(1), p99.group(2)) if p99 else float("nan"),
        "non2xx": float(bad.group(1)) if bad else 0.0,
    }


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


# ---------------------------------------------------------------- Omniline


async def open_widget_sessions(port: int, count: int) -> list[Session]:
    gate = asyncio.Semaphore(16)

    async def one(sid: int) -> Session:
        async with gate:
            status, body = await http_once(
                port, "POST", "/api/v1/widget/sessions", {"inbox_key": "demo-widget"}
            )
        if status != 201:
            raise RuntimeError(f"widget session answered {status}: {body}")
        session = Session(sid, json_headers(body["session_token"]))
        session.idle.append(await http_connect(port))
        return session

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def drive_omniline(port: int, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    token = await login(port, *AGENT)
    sessions = await open_widget_sessions(port, args.sessions)
    load = Load(port, WIDGET_PATH, sessions, agent_token=token)
    agent = await ws_connect(port, f"/api/v1/stream?token={token}", load.on_agent_frame)
    log(f"{len(sessions)} widget sessions, agent socket open; warming up")
    await run_phase(load, pid, "warm", "closed", 2.0)
    rated = {}
    for rate in args.rates:
        log(f"rated phase: {rate:,.0f} msg/s for {args.seconds:.0f} s")
        phase = await run_phase(load, pid, f"r{rate:.0f}", "open", args.seconds, rate)
        rated[rate] = summarise(load, phase)
    log(f"saturation phase: {args.sessions} sessions, closed loop, {args.seconds:.0f} s")
    saturated = summarise(load, await run_phase(load, pid, "sat", "closed", args.seconds))
    agent.close()
    for s in sessions:
        for conn in s.idle:
            conn.close()
    return {"rated": rated, "saturation": saturated, "visitor_token": _first_token(sessions)}


def _first_token(sessions: list[Session]) -> str:
    return sessions[0].headers.split(b"Bearer ", 1)[1].split(b"\r\n", 1)[0].decode()


def bench_omniline(kind: str, tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    from _common import free_port

    with fresh_database(kind, tmp, "ingest") as database:
        env = omniline_env(database, tmp / "var")
        log(f"[{kind}] migrating and seeding the demo workspace")
        migrate_and_seed(env)
        port = free_port()
        server = start_server(omniline_cmd(port), env, port, tmp / f"omniline_{kind}.log")
        try:
            log(f"[{kind}] omniline serve pid {server.pid} on port {port}")
            result = asyncio.run(drive_omniline(port, server.pid, args))
            log(f"[{kind}] wrk -t1 -c32 -d{args.wrk_seconds}s on the widget endpoint")
            result["wrk"] = run_wrk(
                port, WIDGET_PATH, tmp, args.wrk_seconds, result["visitor_token"]
            )
        finally:
            server.stop()
    return result


# ---------------------------------------------------------------- the floor


async def drive_floor(port: int, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    sessions = [Session(i, json_headers()) for i in range(args.sessions)]
    for s in sessions:
        s.idle.append(await http_connect(port))
    load = Load(port, FLOOR_PATH, sessions)
    await run_phase(load, pid, "warm", "closed", 2.0)
    saturated = summarise(None, await run_phase(load, pid, "sat", "closed", args.seconds))
    for s in sessions:
        for conn in s.idle:
            conn.close()
    return {"saturation": saturated}


def bench_floor(kind: str, tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    from _common import free_port

    with fresh_database(kind, tmp, "floor") as database:
        port = free_port()
        env = omniline_env(database, tmp / "var", FLOOR_DATABASE_URL=database.url)
        cmd = [
            PYTHON,
            "-m",
            "uvicorn",
            "floor_app:app",
            "--app-dir",
            "bench",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        server = start_server(cmd, env, port, tmp / f"floor_{kind}.log")
        try:
            log(f"[{kind}] FLOOR app pid {server.pid}: saturation phase")
            result = asyncio.run(drive_floor(port, server.pid, args))
            log(f"[{kind}] FLOOR: wrk -t1 -c32 -d{args.wrk_seconds}s")
            result["wrk"] = run_wrk(port, FLOOR_PATH, tmp, args.wrk_seconds, None)
        finally:
            server.stop()
    return result


# ---------------------------------------------------------------- report


def report(
    kind: str, ours: dict[str, Any], floor: dict[str, Any], args: argparse.Namespace
) -> bool:
    s, f = ours["saturation"], floor["saturation"]
    wrk_o, wrk_f = ours.get("wrk", {}), floor.get("wrk", {})
    ratio = s["committed"] / f["committed"]
    wrk_ratio = wrk_o.get("rps", float("nan")) / wrk_f.get("rps", float("nan"))
    rate_ok = s["committed"] >= GOAL_RATE and s["delivered"] >= GOAL_RATE
    print_table(
        f"Ingest on {kind}: most messages one process commits "
        f"({args.sessions} widget sessions, closed loop, {args.seconds:.0f} s)",
        ["measure", "omniline", "FLOOR", "ratio", "goal", "verdict"],
        [
            [
                "committed msg/s (201 answers)",
                s["committed"],
                f["committed"],
                f"{ratio:.2f}",
                f">= {GOAL_RATE:,.0f}; ratio >= {GOAL_RATIO}",
                verdict(s["committed"] >= GOAL_RATE and ratio >= GOAL_RATIO),
            ],
            [
                "delivered to the agent socket msg/s",
                s["delivered"],
                "-",
                "-",
                f">= {GOAL_RATE:,.0f}",
                verdict(s["delivered"] >= GOAL_RATE),
            ],
            [
                "HTTP p50 / p99 ms (queueing)",
                f"{s['http_p50']:.0f} / {s['http_p99']:.0f}",
                f"{f['http_p50']:.0f} / {f['http_p99']:.0f}",
                "-",
                "",
                "",
            ],
            ["server CPU ms per message", f"{s['cpu_ms']:.2f}", f"{f['cpu_ms']:.2f}", "-", "", ""],
            [
                "server / load generator CPU %",
                f"{s['server_cpu']:.0f} / {s['client_cpu']:.0f}",
                f"{f['server_cpu']:.0f} / {f['client_cpu']:.0f}",
                "-",
                "",
                "",
            ],
            [
                "wrk -t1 -c32 req/s (one session)",
                wrk_o.get("rps", "n/a"),
                wrk_f.get("rps", "n/a"),
                f"{wrk_ratio:.2f}",
                f"ratio >= {GOAL_RATIO}",
                verdict(wrk_ratio >= GOAL_RATIO),
            ],
            [
                "wrk -t1 -c32 p99 ms / non-2xx",
                f"{wrk_o.get('p99', float('nan')):.0f} / {wrk_o.get('non2xx', 0):.0f}",
                f"{wrk_f.get('p99', float('nan')):.0f} / {wrk_f.get('non2xx', 0):.0f}",
                "-",
                "",
                "",
            ],
        ],
    )
    rows = []
    for rate, r in ours["rated"].items():
        kept_up = r["committed"] >= 0.98 * rate and r["delivered_n"] == r["ok"]
        rows.append(
            [
                f"{rate:,.0f}",
                f"{r['committed']:,.0f}",
                f"{r['delivered']:,.0f}",
                f"{r['p50']:.1f}",
                f"{r['p99']:.1f}",
                f"{r['max']:.1f}",
                f"{r['http_p99']:.1f}",
                f"{r['ok'] - r['delivered_n']} / {r['errors']:.0f}",
                f"{r['server_cpu']:.0f}",
                verdict(kept_up and r["p99"] <= GOAL_P99_MS) if rate >= GOAL_RATE else "",
            ]
        )
    print_table(
        f"Ingest on {kind}: latency from writing the POST to the agent socket reading it "
        f"(open loop, {args.seconds:.0f} s per rate)",
        [
            "offered msg/s",
            "committed/s",
            "delivered/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "HTTP p99 ms",
            "lost / errors",
            "server CPU %",
            f"p99 <= {GOAL_P99_MS:.0f} ms at {GOAL_RATE:,.0f}/s",
        ],
        rows,
    )
    print_table(
        f"Ingest on {kind}: did the agent see every message? (the client follows the realtime "
        "protocol: on `resync` it reads what it missed from the HTTP API)",
        ["offered msg/s", "stored", "seen live", "seen after resync", "never seen", "resyncs"],
        [
            [
                f"{rate:,.0f}" if rate else "saturation",
                f"{r['ok']:.0f}",
                f"{r['seen_live']:.0f}",
                f"{r['seen_after_resync']:.0f}",
                f"{r['never_seen']:.0f}",
                f"{r['resyncs']:.0f}",
            ]
            for rate, r in [*ours["rated"].items(), (0, s)]
            if "seen_live" in r
        ],
    )
    top = ours["rated"].get(GOAL_RATE) or ours["rated"][max(ours["rated"])]
    p99_ok = top["p99"] <= GOAL_P99_MS and top["committed"] >= 0.98 * GOAL_RATE
    return rate_ok and p99_ok and ratio >= GOAL_RATIO


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--rates", default="250,500,750,1000", help="open-loop rates, msg/s")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each phase")
    parser.add_argument("--wrk-seconds", type=int, default=10)
    args = parser.parse_args()
    args.rates = [float(r) for r in args.rates.split(",") if r.strip()]
    raise_nofile()
    loop_name = install_uvloop()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in kinds and not pg_available():
        log("PostgreSQL does not answer on 127.0.0.1:5432: skipping it")
        kinds.remove("postgres")
    extra = {"load generator": f"this process ({loop_name}), separate from the server"}
    if "postgres" in kinds:
        extra["PostgreSQL"] = f"{pg_version()} (same machine)"
    print_machine(extra)
    met: dict[str, bool] = {}
    for kind in kinds:
        with temp_dir(f"omniline-bench-ingest-{kind}-") as tmp:
            ours = bench_omniline(kind, tmp, args)
            floor = bench_floor(kind, tmp, args)
            met[kind] = report(kind, ours, floor, args)
    print_table(
        "Ingest goals", ["database", "all goals"], [[k, verdict(v)] for k, v in met.items()]
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
