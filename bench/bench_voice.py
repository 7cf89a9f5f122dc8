"""Live ACD through the ARI simulator: call events per second, and the time from a call being
offerable to the chosen agent's phone ringing, with 1,500 agents and 500 calls waiting.

    .venv/bin/python bench/bench_voice.py                 # PostgreSQL if it answers, else SQLite
    .venv/bin/python bench/bench_voice.py --db sqlite --agents 1500 --waiting 500 --seconds 60

The simulator (``omniline voice simulator``) runs in its own process, as Asterisk would; the
controller of one phone line runs in this process with its database, exactly the code
``omniline serve`` runs. 1,500 agents are online, each with a phone that answers after
0.2 s and hangs up after a talk time around ``--talk-s``; no after-call work, no rating.
First a burst of callers fills every phone and leaves ``--waiting`` callers in the queue;
then callers arrive as fast as agents free up, so about that many wait all through the
measured window.

Ring latency is read from the PBX's own clock (event timestamps, milliseconds): for each
agent leg, from the later of (the call's arrival, the end of that agent's previous leg) to
the creation of the leg, i.e. from the moment a decision was possible to the PBX receiving
the originate. Correct state: every call the PBX saw is recorded once, no agent ever had
two calls at once, every answered call has its agent, and no call is left open.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from _common import (
    PYTHON,
    Database,
    free_port,
    fresh_database,
    log,
    migrate_and_seed,
    omniline_env,
    percentile,
    pg_available,
    print_machine,
    print_table,
    raise_nofile,
    temp_dir,
    verdict,
)

GOAL_EVENTS = 200.0
GOAL_P99_MS = 50.0
PASSWORD = "bench-sim"


def parse_ts(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


async def setup(agents: int, sim_url: str, ring_s: float) -> int:
    """Agents with phones, online, members of the first line; the phone line. Inbox id."""
    from sqlalchemy import insert, select

    from omniline import db
    from omniline.auth.models import User
    from omniline.channels.voice.models import VoiceAgent, VoiceQueue
    from omniline.inboxes import service as inboxes
    from omniline.presence.models import AgentState
    from omniline.workspaces.models import Queue, QueueMember, Workspace

    async with db.unit_of_work() as session:
        ws = await session.scalar(select(Workspace).where(Workspace.slug == "demo"))
        assert ws is not None
        first = await session.scalar(
            select(Queue).where(Queue.workspace_id == ws.id, Queue.name == "First line")
        )
        assert first is not None
        ids = list(
            await session.scalars(
                insert(User).returning(User.id),
                [
                    {
                        "workspace_id": ws.id,
                        "email": f"phone{i}@bench.omniline",
                        "name": f"Phone agent {i}",
                        "password_hash": "!",
                        "role": "agent",
                    }
                    for i in range(agents)
                ],
            )
        )
        now = datetime.now(UTC)
        conn = await session.connection()
        await conn.execute(insert(QueueMember), [{"queue_id": first.id, "user_id": u} for u in ids])
        await conn.execute(
            insert(AgentState),
            [
                {
                    "user_id": u,
                    "workspace_id": ws.id,
                    "status": "online",
                    "since": now,
                    "idle_since": now,
                }
                for u in ids
            ],
        )
        await conn.execute(
            insert(VoiceAgent),
            [
                {"user_id": u, "workspace_id": ws.id, "endpoint": f"PJSIP/{3000 + n}", "skills": []}
                for n, u in enumerate(ids)
            ],
        )
        session.add(
            VoiceQueue(
                queue_id=first.id,
                workspace_id=ws.id,
                announce_every_s=None,
                ring_timeout_s=int(ring_s),
            )
        )
        inbox = await inboxes.do_create_inbox(
            session,
            ws.id,
            channel="voice",
            name="Hotline",
            key="bench-hotline",
            default_queue_id=first.id,
            settings={
                "provider": "ari",
                "ari_url": sim_url,
                "ari_user": "omniline",
                "ari_password": PASSWORD,
                "ari_app": "omniline",
                "tts_url": "http://tts.local/say?lang={lang}&text={text}",
                "region": "UA",
                "language": "en",
                "short_abandon_s": 5,
                "acw_s": 0,
                "csat": False,
                "callback_on_abandon": False,
            },
        )
        return inbox.id


async def register_phones(sim: httpx.AsyncClient, agents: int, talk_s: float) -> None:
    rng = random.Random(7)
    for n in range(agents):
        talk = round(rng.uniform(0.5 * talk_s, 1.5 * talk_s), 2)
        r = await sim.post(
            "/_sim/phones",
            json={"endpoint": f"PJSIP/{3000 + n}", "answer_after_s": 0.2, "talk_s": talk},
        )
        r.raise_for_status()


class Tap:
    """Reads the simulator's event log as it grows (it keeps the last 100,000), in a process
    of its own (``--tap``): reading and parsing a few thousand events every second took the
    controller's event loop for 50-150 ms, which the ring latency would count."""

    running: list[subprocess.Popen[bytes]] = []

    def __init__(self, sim_url: str, tmp: Path) -> None:
        self.path = tmp / "tap.jsonl"
        self.proc = subprocess.Popen(
            [PYTHON, __file__, "--tap", sim_url, str(self.path)], stdin=subprocess.DEVNULL
        )
        Tap.running.append(self.proc)

    def seen(self) -> int:
        with contextlib.suppress(OSError), self.path.open("rb") as f:
            return sum(1 for _ in f)
        return 0

    async def finish(self) -> list[dict[str, Any]]:
        """The whole log: the tap takes what is left, writes it and ends."""
        self.proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(self.proc.wait, 120)
        with self.path.open("rb") as f:
            return [orjson.loads(line) for line in f]


def tap_main(sim_url: str, out: str) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    since = 0
    with (
        httpx.Client(base_url=sim_url, auth=("omniline", PASSWORD), timeout=60) as sim,
        open(out, "wb") as f,
    ):
        while True:
            last = stop.is_set()
            while True:
                fresh = orjson.loads(sim.get("/_sim/log", params={"since": since}).content)
                fresh = fresh["events"]
                if not fresh:
                    break
                f.write(b"".join(orjson.dumps(e["event"]) + b"\n" for e in fresh))
                since = fresh[-1]["seq"]
            f.flush()
            if last:
                return 0
            stop.wait(1.0)


def analyse(events: list[dict[str, Any]], window: tuple[float, float]) -> dict[str, Any]:
    """Ring latencies of legs created in the window; agent overlaps over the whole run."""
    arrival: dict[str, float] = {}  # customer channel -> StasisStart time
    caller_of: dict[str, str] = {}  # caller number -> customer channel (numbers are unique)
    leg_end: dict[str, float] = {}  # endpoint -> end of its last leg
    busy: dict[str, str] = {}  # endpoint -> leg in progress
    overlaps = 0
    latencies: list[float] = []
    legs_seen: set[str] = set()
    for ev in events:
        kind, ch = ev["type"], ev.get("channel") or {}
        at = parse_ts(ev["timestamp"])
        name = str(ch.get("name", ""))
        if kind == "StasisStart" and (ev.get("args") or [""])[0] == "inbound":
            arrival[ch["id"]] = at
            caller_of[ch["caller"]["number"]] = ch["id"]
        elif kind == "Dial" and ev.get("dialstatus") == "" and ev.get("peer"):
            peer = ev["peer"]
            if peer["id"] in legs_seen:
                continue
            legs_seen.add(peer["id"])
            endpoint = peer["name"].rsplit("-", 1)[0]
            if endpoint in busy:
                overlaps += 1
            busy[endpoint] = peer["id"]
            created = parse_ts(peer["creationtime"])
            call = caller_of.get(peer["caller"]["number"])
            possible = max(arrival.get(call or "", created), leg_end.get(endpoint, 0.0))
            if window[0] <= created <= window[1]:
                latencies.append(max(0.0, created - possible) * 1000)
        elif kind == "ChannelDestroyed" and ch.get("id") in legs_seen:
            # An agent's leg (agents' phones are PJSIP/3000 and up, past 3999 too).
            endpoint = name.rsplit("-", 1)[0]
            if busy.get(endpoint) == ch["id"]:
                del busy[endpoint]
            leg_end[endpoint] = at
    return {"latencies": latencies, "overlaps": overlaps, "calls": len(arrival)}


async def check_records(expected_calls: int) -> dict[str, int]:
    from sqlalchemy import func, select

    from omniline import db
    from omniline.channels.voice.models import VoiceCall

    async with db.sessionmaker()() as session:
        total = await session.scalar(select(func.count()).select_from(VoiceCall))
        open_ = await session.scalar(
            select(func.count()).select_from(VoiceCall).where(VoiceCall.state != "ended")
        )
        answered_without_agent = await session.scalar(
            select(func.count())
            .select_from(VoiceCall)
            .where(VoiceCall.answered_at.is_not(None), VoiceCall.agent_id.is_(None))
        )
        answered = await session.scalar(
            select(func.count()).select_from(VoiceCall).where(VoiceCall.answered_at.is_not(None))
        )
    return {
        "recorded": int(total or 0),
        "seen by the PBX": expected_calls,
        "left open": int(open_ or 0),
        "answered": int(answered or 0),
        "answered without agent": int(answered_without_agent or 0),
    }


async def run(args: argparse.Namespace, database: Database, tmp: Path) -> dict[str, Any]:
    env = omniline_env(database, tmp / "var")
    migrate_and_seed(env)
    port = free_port()
    sim_log = (tmp / "sim.log").open("wb")  # closed with the temporary folder
    sim_proc = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "omniline",
            "voice",
            "simulator",
            "--port",
            str(port),
            "--password",
            PASSWORD,
            "--speed",
            "1",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=sim_log,
    )
    os.environ.update(env)
    from omniline import db
    from omniline.channels.voice import link
    from omniline.config import Settings, set_settings

    settings = Settings()
    set_settings(settings)
    db.init_engine(settings)
    sim_url = f"http://127.0.0.1:{port}"
    sim = httpx.AsyncClient(base_url=sim_url, auth=("omniline", PASSWORD), timeout=30)
    try:
        for _ in range(100):
            try:
                (await sim.get("/ari/asterisk/info")).raise_for_status()
                break
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
        log(f"setting up {args.agents:,} agents with phones")
        inbox_id = await setup(args.agents, sim_url, ring_s=10)
        await register_phones(sim, args.agents, args.talk_s)
        controller = await link.start(inbox_id)
        await asyncio.sleep(1.0)
        fill = args.agents + args.waiting
        burst_rate = 40.0
        log(f"filling: {fill:,} callers at {burst_rate:.0f}/s")
        await sim.post(
            "/_sim/traffic",
            json={
                "rate_per_s": burst_rate,
                "duration_s": fill / burst_rate,
                "caller_prefix": "+38050",
                "seed": 1,
            },
        )
        tap = Tap(sim_url, tmp)
        waited = 0.0
        while waited < fill / burst_rate + 60:
            await asyncio.sleep(2.0)
            waited += 2.0
            snapshot = controller.acd.snapshot()
            queued = sum(len(q["waiting"]) for q in snapshot["queues"].values())
            log(f"  {tap.seen():,} PBX events, {controller.handled:,} handled, {queued} waiting")
            if queued >= args.waiting * 0.95:
                break
        steady = args.agents / args.talk_s
        log(f"measuring {args.seconds} s: callers at {steady:.1f}/s (as fast as agents free up)")
        await sim.post(
            "/_sim/traffic",
            json={
                "rate_per_s": steady,
                "duration_s": args.seconds,
                "caller_prefix": "+38067",
                "seed": 2,
            },
        )
        pbx = controller.pbx
        start, cpu0 = time.time(), time.process_time()
        received0 = getattr(pbx, "received", 0)
        t0 = replace(controller.timing)
        rung0 = len(controller.timing.ring_ms)  # the deque itself is shared with t0
        backlog = 0
        queued_samples = []
        while time.time() - start < args.seconds:
            await asyncio.sleep(2.0)
            snapshot = controller.acd.snapshot()
            queued_samples.append(sum(len(q["waiting"]) for q in snapshot["queues"].values()))
            backlog = max(backlog, controller.queued())
        elapsed = time.time() - start
        received = getattr(pbx, "received", 0) - received0
        cpu = time.process_time() - cpu0
        t1 = controller.timing
        batches = max(1, t1.batches - t0.batches)
        rings = list(t1.ring_ms)[rung0:] if len(t1.ring_ms) < 100_000 else list(t1.ring_ms)
        timing = {
            "batches": t1.batches - t0.batches,
            "items per batch": (t1.items - t0.items) / batches,
            "handle ms per batch": (t1.handle_s - t0.handle_s) * 1000 / batches,
            "commit ms per batch": (t1.commit_s - t0.commit_s) * 1000 / batches,
            "send ms per batch": (t1.send_s - t0.send_s) * 1000 / batches,
        }
        window = (start, start + elapsed)
        log("draining: no more callers; every call ends on its own")
        await sim.delete("/_sim/traffic")
        await sim.post("/_sim/outage", json={"down": False})
        deadline = time.time() + args.talk_s * 2 + 120
        while time.time() < deadline:
            await asyncio.sleep(3.0)
            snapshot = controller.acd.snapshot()
            queued = sum(len(q["waiting"]) for q in snapshot["queues"].values())
            if not controller.calls and not queued:
                break
            log(f"  {len(controller.calls)} calls in flight, {queued} waiting")
        await asyncio.sleep(1.0)
        found = analyse(await tap.finish(), window)
        records = await check_records(found["calls"])
        await link.stop_all()
        return {
            "db": database.kind,
            "events_per_s": received / elapsed,
            "backlog": backlog,
            "timing": timing,
            "inside": rings,
            "cpu_share": cpu / elapsed,
            "latencies": found["latencies"],
            "overlaps": found["overlaps"],
            "waiting_min": min(queued_samples or [0]),
            "waiting_mean": sum(queued_samples) / max(1, len(queued_samples)),
            "records": records,
        }
    finally:
        for running in Tap.running:
            if running.poll() is None:
                running.kill()
        await sim.aclose()
        sim_proc.terminate()
        sim_proc.wait(timeout=10)
        await db.dispose_engine()


def main() -> int:
    if sys.argv[1:2] == ["--tap"]:
        return tap_main(sys.argv[2], sys.argv[3])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default=None)
    parser.add_argument("--agents", type=int, default=1500)
    parser.add_argument("--waiting", type=int, default=500)
    parser.add_argument("--talk-s", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    kind = args.db or ("postgres" if pg_available() else "sqlite")
    raise_nofile()
    print_machine({"database": kind})
    with temp_dir("omniline-bench-voice-") as tmp, fresh_database(kind, tmp, "voice") as database:
        result = asyncio.run(run(args, database, tmp))
    lat = result["latencies"]
    p50, p99 = percentile(lat, 50), percentile(lat, 99)
    rec = result["records"]
    correct = (
        result["overlaps"] == 0
        and rec["recorded"] == rec["seen by the PBX"]
        and rec["left open"] == 0
        and rec["answered without agent"] == 0
    )
    print_table(
        f"Live ACD through the ARI simulator ({result['db']}, {args.agents:,} agents)",
        ["figure", "value", "goal", "verdict"],
        [
            ["most PBX events waiting to be handled", str(result["backlog"]), "", ""],
            *[[k, f"{v:.1f}", "", ""] for k, v in result["timing"].items()],
            [
                "PBX events received and handled per second",
                f"{result['events_per_s']:.0f}",
                f">= {GOAL_EVENTS:.0f}",
                verdict(result["events_per_s"] >= GOAL_EVENTS),
            ],
            [
                "calls waiting during the window (min / mean)",
                f"{result['waiting_min']} / {result['waiting_mean']:.0f}",
                f"~{args.waiting}",
                "",
            ],
            ["agent legs rung in the window", str(len(lat)), "", ""],
            ["offerable -> ring p50 (ms)", f"{p50:.1f}", "", ""],
            [
                "offerable -> ring p99 (ms)",
                f"{p99:.1f}",
                f"<= {GOAL_P99_MS:.0f}",
                verdict(p99 <= GOAL_P99_MS),
            ],
            [
                "inside Omniline: event received -> ring sent p50 / p99 (ms)",
                f"{percentile(result['inside'], 50):.1f} / {percentile(result['inside'], 99):.1f}",
                "",
                "",
            ],
            ["controller process CPU share", f"{result['cpu_share']:.0%}", "", ""],
            [
                "agents with two calls at once",
                str(result["overlaps"]),
                "0",
                verdict(result["overlaps"] == 0),
            ],
            *[[k, str(v), "", ""] for k, v in rec.items()],
            ["state correct", "yes" if correct else "NO", "yes", verdict(correct)],
        ],
    )
    return 0 if correct else 1


if __name__ == "__main__":
    sys.exit(main())
