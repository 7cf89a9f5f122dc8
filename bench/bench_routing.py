"""Routing 200 rules: per-conversation cost of the evaluator and of route_new_conversation.

    .venv/bin/python bench/bench_routing.py --db sqlite     # or postgres, or both (default)

One process, a fresh migrated database with the demo seed, 200 enabled rules of
every condition type (1-3 conditions each, most of them NOT matching, so a
typical conversation walks far down the list) and 10,000 routing contexts over
1,000 contacts with random CRM attributes and events.

  evaluate   the pure evaluator on prepared contexts (compiled rules cached).
  route      ``route_new_conversation`` on real conversation rows: the rule
             version read, the contact and its events read, evaluation, and when a
             rule matches the update of the conversation, its tags and the
             ``routed`` event, flushed; the caller's commit (every 100) is not
             counted, as routing runs inside ``receive_inbound``'s transaction.
Goal (issue 3): at most 1 ms per conversation.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from _common import (
    fresh_database,
    log,
    percentile,
    pg_available,
    pg_version,
    print_machine,
    print_table,
    temp_dir,
    verdict,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from sqlalchemy import insert, select, text

from omniline import db
from omniline.config import Settings
from omniline.contacts.models import Contact, ContactEvent
from omniline.conversations.models import Conversation
from omniline.inboxes import service as inboxes
from omniline.kit.clock import utcnow
from omniline.routing import rules, service
from omniline.routing.conditions import Context, evaluate
from omniline.sla.models import BusinessCalendar
from omniline.workspaces import service as workspaces

RULES = 200
CONTEXTS = 10_000
CONTACTS = 1_000
COMMIT_EVERY = 100
GOAL_US = 1_000.0
WORDS = ["кредит", "каса", "рахунок", "картка", "loan", "refund", "card", "deposit", "term"]
LANGS = ["uk", "ru", "en", "pl", "de"]
COUNTRIES = ["UA", "PL", "DE", "MD", "GE"]
EVENTS = ["contract_signed", "loan_overdue", "card_issued", "complaint", "visit"]
TOPICS = ["loans", "cards", "cash", "mobile app", "deposits"]
ADDRESSES = [f"dept{i}@bank.example" for i in range(20)]


def rule_data(
    i: int, rnd: random.Random, queues: list[int], inbox_ids: list[int], cal: int
) -> dict[str, Any]:
    """One selective condition (matches a few % of conversations) and 0-2 broad ones."""
    selective = [
        lambda: {"type": "attribute", "key": f"attr{rnd.randrange(30)}", "value": "gold"},
        lambda: {
            "type": "attribute",
            "key": "debt",
            "operator": "gt",
            "value": rnd.randrange(90_000, 99_000),
        },
        lambda: {"type": "event", "name": rnd.choice(EVENTS), "within_days": rnd.randrange(1, 10)},
        lambda: {"type": "mailbox", "addresses": rnd.sample(ADDRESSES, 2)},
        lambda: {"type": "keywords", "keywords": [rnd.choice(WORDS), f"word{i}"]},
    ]
    broad = [
        lambda: {"type": "inbox", "inbox_ids": [rnd.choice(inbox_ids)]},
        lambda: {"type": "channel", "channels": [rnd.choice(["email", "telegram", "webchat"])]},
        lambda: {"type": "language", "languages": rnd.sample(LANGS, 2)},
        lambda: {"type": "country", "countries": rnd.sample(COUNTRIES, 2)},
        lambda: {"type": "topic", "topics": rnd.sample(TOPICS, 2)},
        lambda: {
            "type": "attribute",
            "key": "segment",
            "operator": "in",
            "value": ["retail", "sme"],
        },
        lambda: {"type": "business_hours", "calendar_id": cal, "open": rnd.random() < 0.8},
    ]
    conds = [rnd.choice(selective)()] + [rnd.choice(broad)() for _ in range(rnd.randint(0, 2))]
    rnd.shuffle(conds)
    return {
        "name": f"Rule {i:03d}",
        "priority": rnd.randrange(0, 101),
        "conditions": conds,
        "actions": {
            "queue_id": rnd.choice(queues),
            "tags": [f"r{i % 10}"],
            "priority": rnd.randrange(0, 101),
        },
    }


async def setup(rnd: random.Random) -> dict[str, Any]:
    from omniline.demo.seed import seed

    always = {
        d: [{"start": "00:00", "end": "24:00"}]
        for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }
    async with db.unit_of_work() as session:
        await seed(session)
    async with db.unit_of_work() as session:
        from omniline.workspaces.models import Workspace

        ws = await session.scalar(select(Workspace))
        assert ws is not None
        queues = [
            (await workspaces.do_create_queue(session, ws.id, f"Dept {i}")).id for i in range(10)
        ]
        inbox_ids = [
            (await inboxes.do_create_inbox(session, ws.id, channel=ch, name=f"{ch} {i}")).id
            for i, ch in enumerate(["email", "telegram", "webchat", "email"])
        ]
        cal = BusinessCalendar(
            workspace_id=ws.id, name="24/7", timezone="Europe/Kyiv", hours=always
        )
        session.add(cal)
        await session.flush()
        for i in range(RULES):
            await rules.do_create_rule(session, ws.id, rule_data(i, rnd, queues, inbox_ids, cal.id))
        now = utcnow()
        contact_rows = [
            {
                "workspace_id": ws.id,
                "name": f"C{i}",
                "language": rnd.choice(LANGS),
                "country": rnd.choice(COUNTRIES),
                "verified": False,
                "updated_at": now,
                "created_at": now,
                "attributes": {
                    f"attr{rnd.randrange(30)}": rnd.choice([True, "silver", 3, "gold"]),
                    "debt": rnd.randrange(0, 100_000),
                    "segment": rnd.choice(["retail", "sme", "corporate"]),
                },
            }
            for i in range(CONTACTS)
        ]
        await session.execute(insert(Contact), contact_rows)
        contact_ids = list(
            await session.scalars(select(Contact.id).where(Contact.workspace_id == ws.id))
        )
        events = [
            {
                "workspace_id": ws.id,
                "contact_id": cid,
                "name": rnd.choice(EVENTS),
                "data": {},
                "occurred_at": now - timedelta(days=rnd.randrange(0, 400)),
            }
            for cid in contact_ids
            for _ in range(rnd.randrange(0, 6))
        ]
        await session.execute(insert(ContactEvent), events)
    return {"workspace_id": ws.id, "inboxes": inbox_ids, "contacts": contact_ids}


def contexts(rnd: random.Random, setup_: dict[str, Any]) -> list[dict[str, Any]]:
    channels = {
        setup_["inboxes"][0]: "email",
        setup_["inboxes"][1]: "telegram",
        setup_["inboxes"][2]: "webchat",
        setup_["inboxes"][3]: "email",
    }
    out = []
    for _ in range(CONTEXTS):
        inbox = rnd.choice(setup_["inboxes"])
        text = " ".join(
            rnd.choice(["привіт", "мені", "потрібна", "допомога", "hello", "please"])
            for _ in range(8)
        )
        if rnd.random() < 0.3:
            text += " " + rnd.choice(WORDS)
        out.append(
            {
                "contact_id": rnd.choice(setup_["contacts"]),
                "inbox_id": inbox,
                "channel": channels[inbox],
                "to_address": rnd.choice(ADDRESSES) if channels[inbox] == "email" else None,
                "topic": rnd.choice([*TOPICS, None, None]),
                "first_text": text,
            }
        )
    return out


async def bench_evaluate(ws: int, items: list[dict[str, Any]]) -> tuple[list[float], int]:
    async with db.sessionmaker()() as session:
        compiled = await service.compiled_rules(session, ws)
        ctxs = []
        for it in items[:500]:  # contexts with real contact facts; reused round-robin
            ctxs.append(
                await service.build_context(
                    session,
                    workspace_id=ws,
                    contact_id=it["contact_id"],
                    inbox_id=it["inbox_id"],
                    channel=it["channel"],
                    first_text=it["first_text"],
                    to_address=it["to_address"],
                    topic=it["topic"],
                )
            )
    times: list[float] = []
    matched = 0
    for i in range(len(items)):
        ctx: Context = ctxs[i % len(ctxs)]
        ctx.first_text = items[i]["first_text"]
        t0 = time.perf_counter_ns()
        hit = evaluate(compiled, ctx)
        times.append((time.perf_counter_ns() - t0) / 1000)
        matched += hit is not None
    return times, matched


async def make_conversations(ws: int, items: list[dict[str, Any]]) -> list[int]:
    now = utcnow()
    async with db.unit_of_work() as session:
        rows = [
            {
                "workspace_id": ws,
                "inbox_id": it["inbox_id"],
                "channel": it["channel"],
                "contact_id": it["contact_id"],
                "status": "queued",
                "priority": 0,
                "tags": [],
                "created_at": now,
                "last_activity_at": now,
            }
            for it in items
        ]
        await session.execute(insert(Conversation), rows)
    async with db.sessionmaker()() as session:
        query = select(Conversation.id).where(Conversation.workspace_id == ws)
        return list(await session.scalars(query.order_by(Conversation.id)))


async def bench_route(
    ids: list[int], items: list[dict[str, Any]], *, apply: bool
) -> tuple[list[float], int]:
    """``apply``: route_new_conversation (writes flushed); else ``decide`` (reads only)."""
    route = service.route_new_conversation if apply else service.decide
    times: list[float] = []
    matched = 0
    for start in range(0, len(items), COMMIT_EVERY):
        async with db.unit_of_work() as session:
            chunk = ids[start : start + COMMIT_EVERY]
            convs = {
                c.id: c
                for c in await session.scalars(
                    select(Conversation).where(Conversation.id.in_(chunk))
                )
            }
            for cid, it in zip(chunk, items[start : start + COMMIT_EVERY], strict=True):
                t0 = time.perf_counter_ns()
                d = await route(
                    session,
                    convs[cid],
                    first_text=it["first_text"],
                    to_address=it["to_address"],
                    topic=it["topic"],
                )
                times.append((time.perf_counter_ns() - t0) / 1000)
                matched += d is not None
    return times, matched


async def bench_floor(n: int = 2_000) -> tuple[list[float], int]:
    """One ``SELECT 1`` round trip: the database's own latency on this machine right now."""
    times: list[float] = []
    async with db.sessionmaker()() as session:
        for _ in range(n):
            t0 = time.perf_counter_ns()
            await session.execute(text("SELECT 1"))
            times.append((time.perf_counter_ns() - t0) / 1000)
    return times, n


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


async def run(kind: str, url: str, tmp: Path) -> list[list[Any]]:
    from omniline.migrate import upgrade

    await asyncio.to_thread(upgrade, url)
    settings = Settings(
        database_url=url,
        secret_key="bench-secret-key-0123456789abcdef",
        demo_mode=True,
        var_dir=tmp / "var",
        run_jobs=False,
    )
    db.init_engine(settings)
    results: list[tuple[str, list[float], int]] = []
    try:
        rnd = random.Random(42)
        log(f"{kind}: seeding {RULES} rules, {CONTACTS} contacts")
        s = await setup(rnd)
        items = contexts(rnd, s)
        ids = await make_conversations(s["workspace_id"], items)
        results.append(("floor: one SELECT 1", *await bench_floor()))
        log(f"{kind}: evaluate x{CONTEXTS}")
        results.append(("evaluate (pure)", *await bench_evaluate(s["workspace_id"], items)))
        log(f"{kind}: decide x{CONTEXTS}")
        results.append(("decide (1 read + evaluate)", *await bench_route(ids, items, apply=False)))
        log(f"{kind}: route_new_conversation x{CONTEXTS} (load average {load_average()})")
        results.append(("route_new_conversation", *await bench_route(ids, items, apply=True)))
    finally:
        await db.dispose_engine()
    out = []
    for name, times, hits in results:
        p99 = percentile(times, 99)
        out.append(
            [
                kind,
                name,
                len(times),
                f"{100 * hits / len(times):.0f}%",
                percentile(times, 50),
                p99,
                max(times),
                verdict(p99 <= GOAL_US),
            ]
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in kinds and not pg_available():
        log("PostgreSQL does not answer; skipping it")
        kinds.remove("postgres")
    extra = {"PostgreSQL": pg_version()} if "postgres" in kinds else {}
    print_machine(extra)
    rows: list[list[Any]] = []
    with temp_dir("omniline-bench-routing-") as tmp:
        for kind in kinds:
            with fresh_database(kind, tmp, "routing") as database:
                rows += asyncio.run(run(kind, database.url, tmp))
    print_table(
        f"Routing {RULES} rules, {CONTEXTS:,} conversations (goal: p99 <= {GOAL_US:.0f} µs)",
        ["db", "what", "n", "matched", "p50 µs", "p99 µs", "max µs", "goal"],
        rows,
    )


if __name__ == "__main__":
    main()
