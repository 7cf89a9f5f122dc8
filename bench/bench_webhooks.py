"""Webhook ingest: messenger webhooks in, committed, and pushed to an agent's WebSocket.

    .venv/bin/python bench/bench_webhooks.py --channel all --db both   # the defaults
    .venv/bin/python bench/bench_webhooks.py --channel telegram --db sqlite

The same bench as the widget's (bench_ingest.py), through each messenger adapter: one
``omniline serve`` process (jobs on) on a fresh database per channel with the demo
workspace and one inbox of the channel, connected with the settings an admin would type
(validated by the channel's own form checks; its "api_base" points to a local port
nothing listens on, and the workspace has no auto-replies, so nothing is sent out).
This process is the load generator (uvloop, bare asyncio HTTP/1.1): it posts the
provider's documented webhook bodies, signed as the provider signs them
(bench/webhook_payloads.py), each message with its own provider id and from one of
``--senders`` customers; one agent socket (``/api/v1/stream``) receives
``message.created``; latency is from writing the POST to the agent socket reading it.

Phases: rated (open loop at 250/500/750/1,000 msg/s), saturation (closed loop over
``--connections`` keep-alive connections) and ``wrk -t1 -c32`` (when wrk is installed)
with pre-signed unique bodies. Goal: at least 1,000 msg/s on one process.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

import orjson

from _common import (
    AGENT,
    HttpConn,
    cpu_seconds,
    free_port,
    fresh_database,
    http_connect,
    install_uvloop,
    log,
    login,
    migrate_and_seed,
    omniline_env,
    own_cpu_seconds,
    paced,
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
from bench_ingest import GOAL_P99_MS, GOAL_RATE, Phase, summarise
from webhook_payloads import CHANNELS, Channel, sender_of
from webhook_setup import connect_inbox, run_wrk, server_cmd

OPEN_LOOP_IN_FLIGHT = 1024  # open loop: at most this many POSTs in flight at once

# ---------------------------------------------------------------- load generation


class Load:
    """Posts webhooks and notes when each was sent, answered and seen on the agent socket."""

    def __init__(self, port: int, channel: Channel, inbox: dict[str, Any], senders: int) -> None:
        self.port = port
        self.channel = channel
        self.path = channel.path.format(key=inbox["key"])
        self.settings = inbox["settings"]
        self.senders = senders
        self.delivered: dict[str, float] = {}
        self.idle: list[HttpConn] = []
        self.n = 0  # provider message ids are unique over the whole run
        self.refused: dict[int, int] = {}  # answers other than the provider expects
        # bench_ingest.summarise reports these; this agent does not catch up after a resync,
        # so what a resync dropped counts as never seen.
        self.resyncs = 0
        self.recovered: dict[str, float] = {}

    def on_agent_frame(self, payload: bytes, received_at: float) -> None:
        if b'"type":"resync"' in payload.replace(b" ", b""):
            self.resyncs += 1
            return
        if b'"message.created"' not in payload:
            return
        event = orjson.loads(payload)
        self.delivered.setdefault(event["data"]["message"]["text"], received_at)

    async def post(self, phase: Phase, text: str, sender: int | None = None) -> None:
        self.n += 1
        n = self.n
        sender = sender_of(n, self.senders) if sender is None else sender
        req = self.channel.build(self.settings, n, sender, text)
        conn = await self._connection()
        sent = time.perf_counter()
        phase.sent[text] = sent
        try:
            status, _ = await conn.request("POST", self.path, req.body, req.headers)
        except (ConnectionError, RuntimeError):
            phase.errors += 1
            conn.close()
            return
        answered = time.perf_counter()
        self.idle.append(conn)
        if status == self.channel.ok_status:
            phase.ok += 1
            phase.http_ms.append((answered - sent) * 1000)
            phase.last_answer = answered
        else:
            phase.errors += 1
            self.refused[status] = self.refused.get(status, 0) + 1

    async def _connection(self) -> HttpConn:
        while self.idle:
            conn = self.idle.pop()
            if not conn.transport.is_closing():  # the server drops idle keep-alives after 5 s
                return conn
        return await http_connect(self.port)

    async def closed_loop(self, phase: Phase, seconds: float, connections: int) -> None:
        deadline = time.perf_counter() + seconds

        async def one(worker: int) -> None:
            n = 0
            while time.perf_counter() < deadline:
                n += 1
                await self.post(phase, f"{phase.name}-{worker}-{n}")

        await asyncio.gather(*(one(w) for w in range(connections)))

    async def first_messages(self, phase: Phase, connections: int) -> None:
        """Closed loop: one message from every sender, each opening a new conversation."""
        todo = list(range(self.senders))

        async def one() -> None:
            while todo:
                sender = todo.pop()
                await self.post(phase, f"{phase.name}-{sender}", sender)

        await asyncio.gather(*(one() for _ in range(connections)))

    async def open_loop(self, phase: Phase, rate: float, seconds: float) -> None:
        total = int(rate * seconds)
        gate = asyncio.Semaphore(OPEN_LOOP_IN_FLIGHT)

        async def one(text: str) -> None:
            async with gate:
                await self.post(phase, text)

        await paced(rate, total, lambda n: one(f"{phase.name}-{n}"))

    async def wait_delivered(self, phase: Phase, patience: float = 5.0) -> None:
        await wait_all_delivered(self.delivered, phase.sent, patience)


async def run_phase(
    load: Load, server_pid: int, name: str, seconds: float, rate: float = 0.0, conns: int = 0
) -> Phase:
    phase = Phase(name)
    cpu0, own0 = cpu_seconds(server_pid), own_cpu_seconds()
    phase.started = time.perf_counter()
    if rate:
        await load.open_loop(phase, rate, seconds)
    elif seconds:
        await load.closed_loop(phase, seconds, conns)
    else:
        await load.first_messages(phase, conns)
    wall = max(phase.last_answer - phase.started, 1e-9)
    phase.server_cpu_s = cpu_seconds(server_pid) - cpu0
    phase.server_cpu = phase.server_cpu_s / wall * 100
    phase.client_cpu = (own_cpu_seconds() - own0) / wall * 100
    await load.wait_delivered(phase)
    return phase


async def drive(
    port: int, pid: int, channel: Channel, inbox: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    token = await login(port, *AGENT)
    load = Load(port, channel, inbox, args.senders)
    agent = await ws_connect(port, f"/api/v1/stream?token={token}", load.on_agent_frame)
    log(f"[{channel.name}] agent socket open; first messages of {args.senders:,} senders")
    phase = await run_phase(load, pid, "new", 0.0, conns=args.connections)
    opened = summarise(load, phase)
    await run_phase(load, pid, "warm", 2.0, conns=args.connections)
    rated = {}
    for rate in args.rates:
        log(f"[{channel.name}] rated phase: {rate:,.0f} msg/s for {args.seconds:.0f} s")
        phase = await run_phase(load, pid, f"r{rate:.0f}", args.seconds, rate=rate)
        rated[rate] = summarise(load, phase)
    log(f"[{channel.name}] saturation: {args.connections} connections, closed loop")
    phase = await run_phase(load, pid, "sat", args.seconds, conns=args.connections)
    saturated = summarise(load, phase)
    agent.close()
    for conn in load.idle:
        conn.close()
    return {
        "opened": opened,
        "rated": rated,
        "saturation": saturated,
        "next_id": load.n + 1,
        "refused": load.refused,
    }


# ---------------------------------------------------------------- one channel on one database


def bench_channel(kind: str, name: str, tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    channel = CHANNELS[name]
    with fresh_database(kind, tmp, f"wh_{name}") as database:
        env = omniline_env(database, tmp / f"var_{name}")
        log(f"[{kind}/{name}] migrating, seeding the demo workspace, connecting the inbox")
        migrate_and_seed(env)
        inbox = connect_inbox(env, channel, f"http://127.0.0.1:{free_port()}")
        port = free_port()
        log_path = tmp / f"omniline_{kind}_{name}.log"
        server = start_server(server_cmd(port), env, port, log_path)
        try:
            log(f"[{kind}/{name}] omniline serve pid {server.pid} on port {port}")
            result = asyncio.run(drive(port, server.pid, channel, inbox, args))
            log(f"[{kind}/{name}] wrk -t1 -c32 -d{args.wrk_seconds}s with unique signed bodies")
            spec = {
                "channel": channel,
                "settings": inbox["settings"],
                "path": channel.path.format(key=inbox["key"]),
                "first_id": result["next_id"],
            }
            result["wrk"] = run_wrk(port, spec, tmp, args.wrk_seconds, args.senders)
        finally:
            server.stop()
        errors = [ln for ln in server.tail(400).splitlines() if "Traceback" in ln or "ERROR" in ln]
        if errors:
            log(f"[{kind}/{name}] the server logged errors:\n{server.tail(40)}")
    result["auto_replies_removed"] = inbox["auto_replies_removed"]
    return result


# ---------------------------------------------------------------- report


def _row(label: str, r: dict[str, float], goal: str) -> list[str]:
    return [
        label,
        f"{r['committed']:,.0f}",
        f"{r['delivered']:,.0f}",
        f"{r['p50']:.1f}",
        f"{r['p99']:.1f}",
        f"{r['http_p99']:.1f}",
        f"{r['ok'] - r['delivered_n']} / {r['errors']:.0f}",
        f"{r['cpu_ms']:.2f}",
        goal,
    ]


def report(kind: str, name: str, res: dict[str, Any], args: argparse.Namespace) -> bool:
    s, wrk = res["saturation"], res.get("wrk", {})
    rows = [_row(f"first message of {args.senders:,} senders", res["opened"], "")]
    for rate, r in res["rated"].items():
        kept_up = r["committed"] >= 0.98 * rate and r["delivered_n"] == r["ok"]
        rows.append(_row(f"{rate:,.0f}", r, verdict(kept_up) if rate >= GOAL_RATE else ""))
    sat_ok = s["committed"] >= GOAL_RATE and s["delivered"] >= GOAL_RATE
    rows.append(_row(f"saturation ({args.connections} conns)", s, verdict(sat_ok)))
    if wrk:
        wrk_ok = verdict(wrk["rps"] >= GOAL_RATE and wrk["non2xx"] == 0)
        rps, p99, bad = f"{wrk['rps']:,.0f}", f"{wrk['p99']:.1f}", f"non-2xx {wrk['non2xx']:.0f}"
        rows.append(["wrk -t1 -c32", rps, "-", "-", p99, "-", bad, "-", wrk_ok])
    print_table(
        f"Webhook ingest, {name} on {kind}: POST -> committed -> agent socket "
        f"({args.seconds:.0f} s per phase, {args.senders:,} senders)",
        [
            "offered msg/s",
            "committed/s",
            "delivered/s",
            "p50 ms",
            "p99 ms",
            "HTTP p99 ms",
            "lost / errors",
            "CPU ms/msg",
            f">= {GOAL_RATE:,.0f}/s",
        ],
        rows,
    )
    if res["refused"]:
        log(f"answers other than {CHANNELS[name].ok_status}: {res['refused']}")
    top = res["rated"].get(GOAL_RATE) or res["rated"][max(res["rated"])]
    if top["p99"] > GOAL_P99_MS:
        log(f"note: p99 at the top rate is {top['p99']:.0f} ms (widget goal {GOAL_P99_MS:.0f})")
    return bool(sat_ok and top["committed"] >= 0.98 * GOAL_RATE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channel", choices=[*CHANNELS, "all"], default="all")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--senders", type=int, default=2000, help="distinct customers")
    parser.add_argument("--connections", type=int, default=200, help="saturation phase")
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
    names = list(CHANNELS) if args.channel == "all" else [args.channel]
    extra = {"load generator": f"this process ({loop_name}), separate from the server"}
    if "postgres" in kinds:
        extra["PostgreSQL"] = f"{pg_version()} (same machine)"
    print_machine(extra)
    met: list[list[str]] = []
    for kind in kinds:
        for name in names:
            with temp_dir(f"omniline-bench-webhooks-{kind}-{name}-") as tmp:
                result = bench_channel(kind, name, tmp, args)
            ok = report(kind, name, result, args)
            sat = result["saturation"]["committed"]
            met.append([kind, name, f"{sat:,.0f}", verdict(ok)])
    print_table(
        f"Webhook ingest goal: >= {GOAL_RATE:,.0f} msg/s on one process",
        ["database", "channel", "saturation msg/s", "goal"],
        met,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
