"""Reports: the month's figures over millions of conversations (docs/benchmarks.md, "Reports").

    .venv/bin/python bench/bench_reports.py --db postgres --conversations 2000000
    .venv/bin/python bench/bench_reports.py --db both --conversations 200000

A fresh database gets the project's migrations and the demo workspace, then 1,500 agents,
12 queues, one inbox per channel and a month (November 2026, 30 days) of conversations:
``--conversations`` spread evenly (2,000,000 is 66,667 a day), mixed channels (voice 40 %,
web chat 30 %, email 15 %, Telegram 10 %, WhatsApp 5 %), about ten event-log rows each
(messages, conversation events, a call row per phone call), 20 % tagged, survey answers for
a third. Everything is written with bulk inserts (COPY on PostgreSQL, executemany in one
transaction on SQLite), with the fact row of each conversation computed by the same
generator from the same values; PostgreSQL gets VACUUM ANALYZE after the load.

Then, through ``omniline.analytics.service`` in this process (no HTTP): the month's summary
by day, the breakdown by queue, and the agent leaderboard (breakdown by agent) — cold (the
first query of a fresh engine, after the load) and warm (median of 5). Last, how fast facts
are recomputed from the event log: ``refresh_conversations`` on 5,000 conversations.
Goals: each report ≤ 1 s on PostgreSQL, ≤ 3 s on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from _common import (
    Database,
    fresh_database,
    log,
    migrate_and_seed,
    omniline_env,
    pg_available,
    pg_version,
    print_machine,
    print_table,
    temp_dir,
    verdict,
)

GOALS_S = {"postgres": 1.0, "sqlite": 3.0}
DAYS = 30
MONTH = datetime(2026, 11, 1, tzinfo=UTC)
AGENTS = 1500
QUEUES = 12
CHANNELS = [
    ("voice", 0.40),
    ("webchat", 0.30),
    ("email", 0.15),
    ("telegram", 0.10),
    ("whatsapp", 0.05),
]
CHUNK = 50_000
BUCKET_S = 900


def _tables() -> dict[str, Any]:
    import omniline.models  # noqa: F401  (every table)
    from omniline.kit.models import Base

    return dict(Base.metadata.tables)


class Writer:
    """Rows of one table completed with the models' Python defaults, in bulk."""

    def __init__(self, kind: str, conn: Any) -> None:
        self.kind, self.conn = kind, conn
        self.tables = _tables()
        self.rows = 0

    def _complete(
        self, table: str, rows: list[dict[str, Any]]
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        t = self.tables[table]
        given = set().union(*(r.keys() for r in rows))
        cols = [c.name for c in t.columns if c.name in given or not c.nullable]
        fill: dict[str, Any] = {}
        for c in t.columns:
            if c.name in given or c.nullable:
                continue
            d = c.default
            if d is None:
                raise SystemExit(f"{table}.{c.name}: no value and no default")
            fill[c.name] = d.arg(None) if d.is_callable else d.arg
        # Converted columns only (JSON; datetimes for SQLite): most values go as they are.
        convert = {n: self._converter(t.columns[n], rows, fill.get(n)) for n in cols}
        convert = {n: f for n, f in convert.items() if f is not None}
        out = []
        for r in rows:
            values = [r[n] if n in r else fill.get(n) for n in cols]
            for i, n in enumerate(cols):
                f = convert.get(n)
                if f is not None and values[i] is not None:
                    values[i] = f(values[i])
            out.append(tuple(values))
        return cols, out

    def _converter(self, column: Any, rows: list[dict[str, Any]], default: Any) -> Any:
        sample = next((r[column.name] for r in rows if r.get(column.name) is not None), default)
        if isinstance(sample, dict | list):
            return json.dumps
        if self.kind == "sqlite" and isinstance(sample, datetime):
            return lambda v: v.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        return None

    async def write(self, table: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        cols, values = self._complete(table, rows)
        self.rows += len(values)
        if self.kind == "postgres":
            await self.conn.copy_records_to_table(table, records=values, columns=cols)
        else:
            marks = ", ".join("?" for _ in cols)
            self.conn.executemany(
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", values
            )


def _pick(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    x, acc = rng.random(), 0.0
    for name, share in weighted:
        acc += share
        if x < acc:
            return name
    return weighted[-1][0]


def _q(at: datetime) -> int:
    return int(at.timestamp()) // BUCKET_S


class Month:
    """The generator: conversations and their event log, with their fact rows."""

    def __init__(
        self,
        n: int,
        ws: int,
        agents: list[int],
        queues: list[int],
        inboxes: dict[str, int],
        teams: dict[int, int],
    ) -> None:
        self.n, self.ws = n, ws
        self.agents, self.queues, self.inboxes, self.teams = agents, queues, inboxes, teams
        self.rng = random.Random(12)
        self.msg_id = self.event_id = self.call_id = self.answer_id = 0

    def chunk(self, first: int, count: int) -> dict[str, list[dict[str, Any]]]:
        rng, ws = self.rng, self.ws
        out: dict[str, list[dict[str, Any]]] = {k: [] for k in (
            "contacts", "conversations", "messages", "conversation_events", "voice_calls",
            "survey_answers", "conversation_tags", "analytics_facts")}  # fmt: skip
        span = DAYS * 86400
        for cid in range(first, first + count):
            created = MONTH + timedelta(seconds=(cid - 1) * span / self.n + rng.random())
            channel = _pick(rng, CHANNELS)
            contact = 10_000_000 + cid  # one contact per conversation: each its contact's first
            queue = rng.choice(self.queues)
            agent = rng.choice(self.agents)
            out["contacts"].append({"id": contact, "workspace_id": ws, "name": f"c{cid}",
                                    "country": rng.choice(["UA", "DE", "KZ", "PL"]),
                                    "language": rng.choice(["uk", "ru", "en"])})  # fmt: skip
            wait = rng.expovariate(1 / 25)
            answered = rng.random() < 0.9
            abandoned_after = rng.expovariate(1 / 40)
            handle = rng.uniform(60, 600)
            queued = created + timedelta(seconds=30 if channel == "voice" else 0)
            open_ = rng.random() < 0.08
            tags = ["vip"] if rng.random() < 0.2 else []
            fact: dict[str, Any] = {
                "conversation_id": cid, "workspace_id": ws, "channel": channel,
                "inbox_id": self.inboxes[channel], "queue_id": queue, "team_id": self.teams[queue],
                "agent_id": agent if answered else None, "country": out["contacts"][-1]["country"],
                "language": out["contacts"][-1]["language"], "arrived_q": _q(created),
                "offered": 1, "answered": int(answered), "abandoned": int(not answered),
                "short_abandoned": int(not answered and abandoned_after < 5),
                "answered_in_sl": int(answered and wait <= 20),
                "wait_s": wait if answered else None, "new_contact": 1, "messages": 0,
                "transfers": 0, "transferred": 0, "sla_n": 0, "sla_met": 0, "art_sum_s": 0.0,
                "art_n": 0, "bot_handled": 0, "bot_contained": 0, "resolved": 0,
            }  # fmt: skip
            end = queued + timedelta(seconds=(wait + handle) if answered else abandoned_after)
            resolved_at = None if open_ else end
            conv: dict[str, Any] = {
                "id": cid, "workspace_id": ws, "inbox_id": self.inboxes[channel],
                "channel": channel, "contact_id": contact, "queue_id": queue,
                "assignee_id": fact["agent_id"],
                "status": "assigned" if open_ else "resolved", "tags": tags,
                "created_at": created, "last_activity_at": end, "first_queued_at": queued,
                "first_assigned_at": queued + timedelta(seconds=wait) if answered else None,
                "resolved_at": resolved_at,
            }  # fmt: skip
            events = [("created", created), ("queued", queued)]
            if channel == "voice":
                self.call_id += 1
                out["voice_calls"].append({
                    "id": self.call_id, "workspace_id": ws, "inbox_id": self.inboxes["voice"],
                    "conversation_id": cid, "contact_id": contact, "ref": f"r{cid}",
                    "state": "ended", "queue_id": queue, "agent_id": fact["agent_id"],
                    "arrived_at": created, "queued_at": queued,
                    "answered_at": conv["first_assigned_at"], "ended_at": end,
                    "end_reason": "answered" if answered else "abandoned", "created_at": created,
                })  # fmt: skip
                fact["arrived_q"] = _q(queued)
                fact["handle_s"] = handle if answered else None
                events += [
                    ("call_offered", queued),
                    ("assigned" if answered else "call_abandoned", end),
                    ("call_answered" if answered else "callback_requested", end),
                ]
            else:
                texts = 4 + rng.randrange(9)
                at = created
                reply = None
                for k in range(texts):
                    at += timedelta(seconds=rng.uniform(10, 120))
                    inbound = k % 2 == 0 or not answered
                    if not inbound and reply is None:
                        reply = at
                    self.msg_id += 1
                    out["messages"].append({
                        "id": self.msg_id, "workspace_id": ws, "conversation_id": cid,
                        "inbox_id": self.inboxes[channel], "direction": "in" if inbound else "out",
                        "author_type": "contact" if inbound else "agent", "text": "x",
                        "created_at": at,
                    })  # fmt: skip
                fact["messages"] = texts
                conv["first_agent_reply_at"] = reply
                if reply is not None:
                    fact["frt_s"] = fact["frt_business_s"] = (reply - created).total_seconds()
                    fact["art_sum_s"], fact["art_n"] = fact["frt_s"], 1
                if answered and resolved_at is not None:
                    fact["handle_s"] = (resolved_at - conv["first_assigned_at"]).total_seconds()
            if resolved_at is not None:
                events.append(("resolved", resolved_at))
                fact["resolved"], fact["resolved_q"] = 1, _q(resolved_at)
                fact["resolution_s"] = (resolved_at - created).total_seconds()
            fact["unresolved"] = int(open_)
            fact["unfinished"] = 0
            fact["duration_s"] = (end - created).total_seconds()
            for kind, at in events:
                self.event_id += 1
                out["conversation_events"].append({"id": self.event_id, "workspace_id": ws,
                    "conversation_id": cid, "type": kind, "created_at": at})  # fmt: skip
            if answered and rng.random() < 0.33:
                score = rng.choice([1, 2, 3, 4, 4, 5, 5, 5])
                self.answer_id += 1
                at = end + timedelta(minutes=1)
                out["survey_answers"].append({"id": self.answer_id, "workspace_id": ws,
                    "conversation_id": cid, "channel": channel, "kind": "csat", "score": score,
                    "agent_id": agent, "created_at": at})  # fmt: skip
                fact["csat"], fact["csat_q"] = score, _q(at)
            for tag in tags:
                out["conversation_tags"].append({"conversation_id": cid, "tag": tag,
                    "workspace_id": ws, "status": conv["status"]})  # fmt: skip
            out["conversations"].append(conv)
            out["analytics_facts"].append(fact)
        return out


async def _connect(database: Database) -> tuple[str, Any]:
    if database.kind == "postgres":
        import asyncpg

        return "postgres", await asyncpg.connect(database.url.replace("+asyncpg", ""))
    path = database.url.split("///", 1)[1]
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    return "sqlite", conn


async def _fetch(kind: str, conn: Any, sql: str) -> list[tuple[Any, ...]]:
    if kind == "postgres":
        return [tuple(r) for r in await conn.fetch(sql)]
    return list(conn.execute(sql).fetchall())


async def build(database: Database, n: int) -> dict[str, float]:
    """Staff, queues, inboxes, the month; returns timings and row counts."""
    kind, conn = await _connect(database)
    w = Writer(kind, conn)
    started = time.perf_counter()
    ws = (await _fetch(kind, conn, "SELECT id FROM workspaces WHERE slug = 'demo'"))[0][0]
    if kind == "postgres":
        await conn.execute("UPDATE workspaces SET timezone = 'Europe/Berlin' WHERE id = $1", ws)
    else:
        conn.execute("UPDATE workspaces SET timezone = 'Europe/Berlin' WHERE id = ?", (ws,))
    base = 1_000_000
    teams = [
        {"id": base + i, "workspace_id": ws, "name": f"Team {i + 1}", "created_at": MONTH}
        for i in range(QUEUES // 2)
    ]
    await w.write("teams", teams)
    queues = [
        {
            "id": base + i,
            "workspace_id": ws,
            "name": f"Queue {i + 1}",
            "team_id": base + i // 2,
            "created_at": MONTH,
        }
        for i in range(QUEUES)
    ]
    await w.write("queues", queues)
    agents = [
        {
            "id": base + i,
            "workspace_id": ws,
            "email": f"a{i}@bench",
            "name": f"Agent {i + 1:04d}",
            "password_hash": "x",
            "created_at": MONTH,
        }
        for i in range(AGENTS)
    ]
    await w.write("users", agents)
    inboxes = {ch: base + i for i, (ch, _) in enumerate(CHANNELS)}
    inbox_rows = [
        {"id": i, "workspace_id": ws, "channel": ch, "name": ch.title(), "key": f"bench-{ch}"}
        for ch, i in inboxes.items()
    ]
    for row in inbox_rows:
        row.update(identity_secret="x", created_at=MONTH)
    await w.write("inboxes", inbox_rows)
    month = Month(
        n,
        ws,
        [a["id"] for a in agents],
        [q["id"] for q in queues],
        inboxes,
        {q["id"]: q["team_id"] for q in queues},
    )
    order = ["contacts", "conversations", "messages", "conversation_events", "voice_calls",
             "survey_answers", "conversation_tags", "analytics_facts"]  # fmt: skip
    for first in range(1, n + 1, CHUNK):
        rows = month.chunk(first, min(CHUNK, n + 1 - first))
        if kind == "postgres":
            async with conn.transaction():
                for table in order:
                    await w.write(table, rows[table])
        else:
            for table in order:
                await w.write(table, rows[table])
            conn.commit()
        done = first - 1 + len(rows["conversations"])
        rate = done / (time.perf_counter() - started)
        log(f"{done:,} / {n:,} conversations, {w.rows:,} rows ({rate:,.0f} conversations/s)")
    now = datetime.now(UTC)
    await w.write("analytics_sync", [{"workspace_id": ws, "synced_at": now}])
    if kind == "sqlite":
        conn.commit()
    load_s = time.perf_counter() - started
    t = time.perf_counter()
    if kind == "postgres":
        await conn.execute("VACUUM ANALYZE")
        await conn.close()
    else:
        conn.execute("ANALYZE")
        conn.close()
    events = month.msg_id + month.event_id + month.call_id + month.answer_id
    return {
        "ws": ws,
        "load_s": load_s,
        "analyze_s": time.perf_counter() - t,
        "rows": w.rows,
        "events": events,
    }


async def measure(database: Database, ws: int) -> list[list[Any]]:
    from sqlalchemy import text

    from omniline import db
    from omniline.analytics import agent_days, rollups, service
    from omniline.analytics.schemas import Filters
    from omniline.config import Settings, set_settings

    settings = Settings(database_url=database.url, secret_key="bench-secret-key-0123456789")
    set_settings(settings)
    db.init_engine(settings)
    start, end = date(2026, 11, 1), date(2026, 11, 30)
    async with db.unit_of_work() as session:
        queue = await session.scalar(
            text("SELECT min(queue_id) FROM analytics_facts WHERE queue_id IS NOT NULL")
        )
    reports = {
        "summary by day (month)": lambda s: service.summary(s, ws, start=start, end=end, by="day"),
        "breakdown by queue": lambda s: service.breakdown(
            s, ws, start=start, end=end, dimension="queue"
        ),
        "agent leaderboard (1,500)": lambda s: service.breakdown(
            s, ws, start=start, end=end, dimension="agent"
        ),
        "agent leaderboard, voice only": lambda s: service.breakdown(
            s, ws, start=start, end=end, dimension="agent", filters=Filters(channel="voice")
        ),
        "agent leaderboard, one queue (from the facts)": lambda s: service.breakdown(
            s, ws, start=start, end=end, dimension="agent", filters=Filters(queue_id=queue)
        ),
        "heatmap (offered)": lambda s: service.heatmap(s, ws, start=start, end=end),
    }
    rows = []
    try:
        t = time.perf_counter()
        async with db.unit_of_work() as session:
            count = await rollups.rebuild(session, ws)
        async with db.unit_of_work() as session:
            await session.execute(text("ANALYZE analytics_rollups"))
        log(f"roll-ups from the facts: {count:,} rows in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        async with db.unit_of_work() as session:
            zone_name = await service.workspace_zone(session, ws)
            count = await agent_days.rebuild(session, ws, zone_name)
        async with db.unit_of_work() as session:
            await session.execute(text("ANALYZE analytics_agent_days"))
        log(f"agent days from the facts: {count:,} rows in {time.perf_counter() - t:.1f} s")
        for name, run in reports.items():
            times = []
            for _ in range(6):
                t = time.perf_counter()
                async with db.unit_of_work() as session:
                    got = await run(session)
                times.append(time.perf_counter() - t)
            size = len(got["periods"]) if isinstance(got, dict) else len(got)
            rows.append([name, size, times[0], statistics.median(times[1:])])
            log(f"{name}: cold {times[0]:.2f} s, warm {statistics.median(times[1:]):.2f} s")
        async with db.unit_of_work() as session:
            total = (await service.summary(session, ws, start=start, end=end, by="month"))["total"]
        sl, asa = total["service_level"], total["asa_s"]
        log(f"month: {total['conversations']:,} conversations, service level {sl}, ASA {asa} s")
        ids = list(range(1, 5001))
        t = time.perf_counter()
        async with db.unit_of_work() as session:
            await service.refresh_conversations(session, ws, ids)
        refresh = time.perf_counter() - t
        rows.append(["refresh_conversations (5,000)", len(ids), refresh, len(ids) / refresh])
    finally:
        await db.dispose_engine()
    return rows


def run(kind: str, n: int) -> None:
    with temp_dir("bench-reports-") as tmp, fresh_database(kind, tmp, "reports") as database:
        env = omniline_env(database, tmp / "var")
        log(f"{kind}: migrations and the demo workspace")
        migrate_and_seed(env)
        log(f"{kind}: writing {n:,} conversations")
        built = asyncio.run(build(database, n))
        log(f"{kind}: loaded in {built['load_s']:.0f} s, analyze {built['analyze_s']:.0f} s")
        rows = asyncio.run(measure(database, int(built["ws"])))
        goal = GOALS_S[kind]
        print_table(
            f"Build: {kind}, {n:,} conversations",
            ["figure", "value"],
            [
                ["conversations", n],
                ["event-log rows (messages, events, calls, answers)", int(built["events"])],
                ["rows written in all", int(built["rows"])],
                ["bulk load, s", built["load_s"]],
                ["conversations/s", n / built["load_s"]],
                ["VACUUM ANALYZE / ANALYZE, s", built["analyze_s"]],
            ],
        )
        table = [[r[0], r[1], r[2], r[3], verdict(max(r[2], r[3]) <= goal)] for r in rows[:-1]]
        print_table(
            f"Reports: {kind}, {n:,} conversations, goal <= {goal} s",
            ["report", "periods/rows", "cold, s", "warm (median of 5), s", "goal"],
            table,
        )
        r = rows[-1]
        print_table(
            "Recomputing facts from the event log",
            ["operation", "conversations", "s", "conversations/s"],
            [[r[0], r[1], r[2], r[3]]],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--conversations", type=int, default=2_000_000)
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    extra = {"conversations": f"{args.conversations:,}"}
    if "postgres" in kinds and pg_available():
        extra["PostgreSQL"] = pg_version()
    extra["SQLite"] = sqlite3.sqlite_version
    print_machine(extra)
    for kind in kinds:
        if kind == "postgres" and not pg_available():
            log("PostgreSQL is not available: skipped")
            continue
        run(kind, args.conversations)


if __name__ == "__main__":
    os.environ.setdefault("OMNILINE_LOG_LEVEL", "warning")
    main()
