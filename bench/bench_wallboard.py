"""Wallboard: time from an event to the wallboard's update on a supervisor's socket.

    .venv/bin/python bench/bench_wallboard.py                  # 1,500 agents, SQLite
    .venv/bin/python bench/bench_wallboard.py --postgres       # the same on PostgreSQL

One ``omniline serve`` process on a fresh database with the demo workspace and 1,500
more agents, all online, spread over the four queues, 300 of them with an open chat.
An administrator's socket subscribes to the wallboard. Two measures:

- single events: a customer writes in the widget (a conversation is queued); the time
  runs from sending that POST to the socket reading a ``wallboard`` frame that counts it
  (waiting, or open with the agent routing gave it to). Repeated ``--rounds`` times, p50/p99.
- a burst: 40 agents change presence at once (as at a shift change); the time runs from
  the last answer to the frame showing every change, and the number of frames the burst
  cost the socket (coalescing: a few, not 40).
Goal: p99 <= 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import time
from pathlib import Path
from typing import Any

import orjson

from _common import (
    ADMIN,
    PYTHON,
    free_port,
    fresh_database,
    http_once,
    log,
    login,
    migrate_and_seed,
    omniline_cmd,
    omniline_env,
    percentile,
    print_machine,
    print_table,
    start_server,
    temp_dir,
    verdict,
    ws_connect,
)

GOAL_S = 1.0
PASSWORD = "bench-agent-password"

POPULATE = """
import asyncio, sys
from sqlalchemy import select
from omniline import db
from omniline.auth.models import User
from omniline.auth.passwords import hash_password
from omniline.contacts.models import Contact
from omniline.conversations.models import Conversation
from omniline.kit.clock import utcnow
from omniline.presence.models import AgentState
from omniline.workspaces.models import Queue, QueueMember, Workspace
from omniline.inboxes.models import Inbox

N, BUSY, PASSWORD = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

async def main():
    db.init_engine()
    try:
        async with db.unit_of_work() as session:
            ws = await session.scalar(select(Workspace).where(Workspace.slug == "demo"))
            inbox = await session.scalar(select(Inbox).where(Inbox.key == "demo-widget"))
            queues = list(await session.scalars(select(Queue).where(Queue.workspace_id == ws.id)))
            secret = hash_password(PASSWORD)
            users = [
                User(workspace_id=ws.id, email=f"bench{i}@demo.omniline", name=f"Agent {i:04d}",
                     password_hash=secret, role="agent")
                for i in range(N)
            ]
            session.add_all(users)
            await session.flush()
            now = utcnow()
            for i, u in enumerate(users):
                session.add(QueueMember(queue_id=queues[i % len(queues)].id, user_id=u.id))
                session.add(AgentState(user_id=u.id, workspace_id=ws.id, status="online",
                                       since=now, idle_since=now))
            await session.flush()
            for i in range(BUSY):
                c = Contact(workspace_id=ws.id, name=f"customer {i}", attributes={})
                session.add(c)
                await session.flush()
                q = queues[i % len(queues)].id
                session.add(Conversation(workspace_id=ws.id, inbox_id=inbox.id, channel="webchat",
                    contact_id=c.id, queue_id=q, assignee_id=users[i].id, status="assigned",
                    first_queued_at=now, first_assigned_at=now, tags=[]))
    finally:
        await db.dispose_engine()

asyncio.run(main())
"""


class Board:
    """The supervisor's socket: every ``wallboard`` frame with when it was read."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, dict[str, Any]]] = []

    def on_text(self, payload: bytes, received_at: float) -> None:
        if b'"type":"wallboard"' in payload:
            self.frames.append((received_at, orjson.loads(payload)["data"]))

    async def until(self, check: Any, since: int, timeout: float = 10.0) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            for at, data in self.frames[since:]:
                if check(data):
                    return at
            await asyncio.sleep(0.002)
        return float("nan")


def conversations(data: dict[str, Any]) -> int:
    """Waiting plus open with an agent: a new chat raises it whether it waits or is assigned."""
    queued = sum(q["waiting"]["chats"] + q["waiting"]["calls"] for q in data["queues"])
    return queued + sum(a["open_chats"] + a["open_calls"] for a in data["agents"])


def away(data: dict[str, Any]) -> int:
    return sum(q["agents"]["away"] for q in data["queues"])


async def measure(port: int, args: argparse.Namespace) -> dict[str, Any]:
    token = await login(port, *ADMIN)
    board = Board()
    conn = await ws_connect(port, f"/api/v1/stream?token={token}", board.on_text)
    conn.send_text('{"type":"subscribe","topic":"wallboard"}')
    await asyncio.sleep(0.5)
    status, first = await http_once(port, "GET", "/api/v1/wallboard", None, token)
    assert status == 200, first
    log(f"initial state: {len(first['agents']):,} agents, {len(first['queues'])} queues")
    started = time.perf_counter()
    await http_once(port, "GET", "/api/v1/wallboard", None, token)
    snapshot_s = time.perf_counter() - started
    single = []
    for n in range(1, args.rounds + 1):
        expected = conversations(first) + n
        mark = len(board.frames)
        status, body = await http_once(
            port, "POST", "/api/v1/widget/sessions", {"inbox_key": "demo-widget"}
        )
        assert status == 201, body
        sent = time.perf_counter()
        status, msg = await http_once(
            port, "POST", "/api/v1/widget/messages", {"text": f"hello {n}"}, body["session_token"]
        )
        assert status == 201, msg
        got = await board.until(lambda d, e=expected: conversations(d) >= e, mark)
        single.append(got - sent)
        await asyncio.sleep(0.3)
    log(f"single events: p50 {percentile(single, 50):.3f} s")
    tokens = [await login(port, f"bench{i}@demo.omniline", PASSWORD) for i in range(args.burst)]
    mark = len(board.frames)
    before = away(board.frames[-1][1]) if board.frames else 0

    async def go_away(t: str) -> None:
        status, body = await http_once(port, "PUT", "/api/v1/me/presence", {"status": "away"}, t)
        assert status == 200, body

    await asyncio.gather(*(go_away(t) for t in tokens))
    last_answer = time.perf_counter()
    got = await board.until(lambda d: away(d) >= before + args.burst, mark)
    await asyncio.sleep(1.0)
    conn.close()
    return {
        "single": single,
        "burst_s": got - last_answer,
        "burst_frames": len(board.frames) - mark,
        "snapshot_s": snapshot_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--burst", type=int, default=40)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    kind = "postgres" if args.postgres else "sqlite"
    print_machine({"database": kind})
    with temp_dir("omniline-bench-wb-") as tmp, fresh_database(kind, tmp, "wb") as database:
        env = omniline_env(database, tmp / "var")
        log(f"migrating and seeding {args.agents:,} online agents ({kind})")
        migrate_and_seed(env)
        cmd = [PYTHON, "-c", POPULATE, str(args.agents), "300", PASSWORD]
        subprocess.run(cmd, env=env, check=True)
        port = free_port()
        server = start_server(omniline_cmd(port), env, port, Path(tmp) / "server.log")
        log(f"omniline serve pid {server.pid} on port {port}")
        try:
            r = asyncio.run(measure(port, args))
        finally:
            server.stop()
    single = [s for s in r["single"] if s == s]
    p50, p99 = percentile(single, 50), percentile(single, 99)
    print_table(
        f"Wallboard, {args.agents:,} agents online ({kind})",
        ["measure", "value", "goal"],
        [
            ["one snapshot (GET /api/v1/wallboard)", f"{r['snapshot_s'] * 1000:.0f} ms", ""],
            [f"chat queued -> frame, p50 ({len(single)} rounds)", f"{p50:.3f} s", ""],
            [f"chat queued -> frame, p99 ({len(single)} rounds)", f"{p99:.3f} s",
             f"<= {GOAL_S} s {verdict(p99 <= GOAL_S)}"],
            [f"{args.burst} presence changes -> frame", f"{r['burst_s']:.3f} s",
             f"<= {GOAL_S} s {verdict(r['burst_s'] <= GOAL_S)}"],
            [f"frames for those {args.burst} changes", str(r["burst_frames"]), ""],
        ],
    )  # fmt: skip


if __name__ == "__main__":
    main()
