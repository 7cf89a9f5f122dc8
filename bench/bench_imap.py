"""IMAP backlog: 10,000 letters waiting in a mailbox, fetched and stored by the poller.

    .venv/bin/python bench/bench_imap.py --db sqlite      # or postgres, or both (default)

A private dovecot (tests/channels/email/dovecot_server.py; `make system-deps`
installs dovecot-imapd) gets N realistic letters APPENDed beforehand: new
questions in plain text and in HTML (texts from BANKING77 when
../shared/data/banking77 is there), replies that quote the letter they answer
(threaded by In-Reply-To/References), a few with a PDF attached. Then, on a
fresh database per kind (the project's migrations and the demo seed), this
process runs the email channel's own ``poll_once()``, the code `omniline
worker` runs, and times it until every letter is stored: UID FETCH in chunks of
500, parsing in a worker thread, one commit per chunk with the mailbox position.
A second poll afterwards must fetch nothing (positions survive a restart).

Goal (issue 4): a backlog of 10,000 letters ingested in at most 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import subprocess
import sys
import time
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from _common import (  # noqa: E402
    SECRET,
    free_port,
    fresh_database,
    log,
    migrate_and_seed,
    omniline_env,
    own_cpu_seconds,
    pg_available,
    pg_version,
    print_machine,
    print_table,
    temp_dir,
    verdict,
)

GOAL_SECONDS = 60.0
MAILBOX = "support@microlend.example"
BANKING77 = ROOT.parent / "shared" / "data" / "banking77" / "train.csv"
FIRST = ["Anna", "Ivan", "Olena", "Boris", "Maria", "Taras", "Sofia", "Dmytro", "Kate", "Oleg"]
LAST = ["Petrova", "Ivanov", "Kovalenko", "Smith", "Shevchenko", "Sidorov", "Brown", "Melnyk"]
FALLBACK_TEXTS = [
    "My card payment was declined at the shop, why?",
    "I topped up yesterday but the balance has not changed.",
    "How long does a transfer to another bank take?",
    "I want to repay my loan early. What do I need to do?",
    "Где моя карта? Я жду её уже две недели.",
]
PDF = b"%PDF-1.4\n" + b"0" * 20_000 + b"\n%%EOF\n"


# ---------------------------------------------------------------- the letters


def questions() -> tuple[list[str], str]:
    if not BANKING77.exists():
        return FALLBACK_TEXTS, "built-in sample questions (../shared/data/banking77 absent)"
    with BANKING77.open(newline="") as f:
        texts = [row["text"].strip() for row in csv.DictReader(f) if row["text"].strip()]
    return texts, f"BANKING77 train.csv ({len(texts):,} customer questions)"


def make_letters(
    n: int, texts: list[str], rng: random.Random
) -> tuple[list[bytes], dict[str, int]]:
    """N letters in arrival order; answers the mix."""
    people = [
        (f"{rng.choice(FIRST)} {rng.choice(LAST)}", f"customer{i}@mail.example")
        for i in range(max(10, n // 4))
    ]
    sent: list[tuple[str, str, str, str]] = []  # message id, sender, subject, text
    letters: list[bytes] = []
    mix = {"plain": 0, "html": 0, "reply": 0, "attachment": 0}
    for _ in range(n):
        roll = rng.random()
        if roll < 0.2 and sent:
            raw, entry = _reply(rng.choice(sent[-500:]), rng.choice(texts))
            mix["reply"] += 1
        else:
            name, address = rng.choice(people)
            kind = "html" if roll < 0.4 else "attachment" if roll < 0.45 else "plain"
            raw, entry = _new(name, address, rng.choice(texts), kind)
            mix[kind] += 1
        sent.append(entry)
        letters.append(raw)
    return letters, mix


def _base(sender: str, subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = f"MicroLend Support <{MAILBOX}>"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now().astimezone())
    msg["Message-ID"] = make_msgid(domain="mail.example")
    return msg


def _new(name: str, address: str, text: str, kind: str) -> tuple[bytes, tuple[str, str, str, str]]:
    sender = f"{name} <{address}>"
    subject = text[:60]
    msg = _base(sender, subject)
    body = f"Hello,\n\n{text}\n\nThank you.\n\n-- \n{name}\n"
    msg.set_content(body)
    if kind == "html":
        msg.add_alternative(
            f"<html><body><p>Hello,</p><p>{text}</p><p>Thank you.</p>"
            f"<div class='signature'>-- <br>{name}</div></body></html>",
            subtype="html",
        )
    elif kind == "attachment":
        msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="statement.pdf")
    return msg.as_bytes(), (str(msg["Message-ID"]), sender, subject, text)


def _reply(
    earlier: tuple[str, str, str, str], text: str
) -> tuple[bytes, tuple[str, str, str, str]]:
    message_id, sender, subject, quoted = earlier
    msg = _base(sender, f"Re: {subject}")
    msg["In-Reply-To"] = message_id
    msg["References"] = message_id
    msg.set_content(
        f"One more question: {text}\n\nOn Mon, 3 Nov 2026 at 10:00, {sender} wrote:\n"
        + "".join(f"> {line}\n" for line in quoted.splitlines())
    )
    return msg.as_bytes(), (str(msg["Message-ID"]), sender, msg["Subject"], text)


# ---------------------------------------------------------------- ingesting


async def ingest(url: str, var_dir: Path, account: Any, expected: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from omniline import db
    from omniline.channels.email import imap
    from omniline.config import Settings, set_settings
    from omniline.conversations.models import Attachment, Conversation, Message
    from omniline.inboxes import service as inboxes
    from omniline.realtime.service import init_realtime
    from omniline.wiring import register_all
    from omniline.workspaces.models import Workspace

    settings = Settings(database_url=url, var_dir=var_dir, secret_key=SECRET, run_jobs=False)
    set_settings(settings)
    register_all()
    db.init_engine(settings)
    realtime = init_realtime(None, settings.realtime_buffer)
    await realtime.start()
    try:
        async with db.unit_of_work() as session:
            ws = await session.scalar(select(Workspace).where(Workspace.slug == "demo"))
            assert ws is not None
            inbox = await inboxes.do_create_inbox(
                session, ws.id, channel="email", name="Support mail",
                settings={"address": MAILBOX, **account.settings()},
            )  # fmt: skip
            inbox_id = inbox.id

        async def count(model: Any) -> int:
            async with db.sessionmaker()() as session:
                return int(await session.scalar(select(func.count()).select_from(model)) or 0)

        async def progress(started: float) -> None:
            while True:
                await asyncio.sleep(5)
                done = await count(Message)
                rate = done / (time.perf_counter() - started)
                log(f"  {done:,} / {expected:,} letters stored ({rate:,.0f}/s)")

        started, cpu_started = time.perf_counter(), own_cpu_seconds()
        reporter = asyncio.create_task(progress(started))
        try:
            stored = await imap.poll_once(inbox_id)
        finally:
            reporter.cancel()
        seconds = time.perf_counter() - started
        cpu = own_cpu_seconds() - cpu_started
        again_started = time.perf_counter()
        again = await imap.poll_once(inbox_id)
        again_seconds = time.perf_counter() - again_started
        async with db.sessionmaker()() as session:
            threaded = await session.scalar(
                select(func.count()).select_from(
                    select(Message.conversation_id)
                    .group_by(Message.conversation_id)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
        return {
            "stored": stored,
            "seconds": seconds,
            "cpu seconds": cpu,
            "messages": await count(Message),
            "conversations": await count(Conversation),
            "files": await count(Attachment),
            "threads with replies": int(threaded or 0),
            "second poll letters": again,
            "second poll seconds": again_seconds,
        }
    finally:
        await realtime.stop()
        await db.dispose_engine()
        set_settings(None)


def bench(kind: str, account: Any, expected: int) -> dict[str, Any]:
    with (
        temp_dir(f"omniline-bench-imap-{kind}-") as tmp,
        fresh_database(kind, tmp, "imap") as database,
    ):
        env = omniline_env(database, tmp / "var")
        log(f"[{kind}] migrating and seeding the demo workspace")
        migrate_and_seed(env)
        log(f"[{kind}] poll_once(): fetching and storing {expected:,} letters")
        return asyncio.run(ingest(database.url, tmp / "var", account, expected))


def report(kind: str, r: dict[str, Any], expected: int, mix: dict[str, int]) -> bool:
    rate = r["messages"] / r["seconds"]
    ok = (
        r["messages"] == expected and r["seconds"] <= GOAL_SECONDS and r["second poll letters"] == 0
    )
    new_letters = expected - mix["reply"]
    print_table(
        f"IMAP backlog on {kind}: {expected:,} letters, one poll_once()",
        ["measure", "value", "goal", "verdict"],
        [
            ["letters stored", r["messages"], f"= {expected:,}",
             verdict(r["messages"] == expected)],
            ["seconds", r["seconds"], f"<= {GOAL_SECONDS:.0f}",
             verdict(r["seconds"] <= GOAL_SECONDS)],
            ["letters/s", rate, f">= {expected / GOAL_SECONDS:,.0f}", ""],
            ["CPU of this process, ms per letter (parse + store)",
             r["cpu seconds"] * 1000 / max(r["messages"], 1), "", ""],
            ["CPU of this process, % of one core", r["cpu seconds"] / r["seconds"] * 100, "", ""],
            ["conversations (new letters)", r["conversations"], f"= {new_letters:,}",
             verdict(r["conversations"] == new_letters)],
            ["threads with a reply", r["threads with replies"], "", ""],
            ["files stored (PDF attachments)", r["files"], f"= {mix['attachment']:,}",
             verdict(r["files"] == mix["attachment"])],
            ["second poll: letters fetched again", r["second poll letters"], "= 0",
             verdict(r["second poll letters"] == 0)],
            ["second poll seconds", r["second poll seconds"], "", ""],
        ],
    )  # fmt: skip
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--letters", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    from tests.channels.email.dovecot_server import DovecotError, dovecot_binary, start_dovecot

    if dovecot_binary() is None:
        log("dovecot is not installed (`make system-deps` installs dovecot-imapd): skipped")
        return 0
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in kinds and not pg_available():
        log("PostgreSQL does not answer on 127.0.0.1:5432: skipping it")
        kinds.remove("postgres")
    version = subprocess.run(
        [dovecot_binary() or "dovecot", "--version"], capture_output=True, text=True
    ).stdout.strip()
    texts, source = questions()
    extra = {"IMAP server": f"dovecot {version} (same machine, Maildir, plain TCP)"}
    extra["letter texts"] = source
    if "postgres" in kinds:
        extra["PostgreSQL"] = f"{pg_version()} (same machine)"
    print_machine(extra)

    try:
        server = start_dovecot(free_port(), pool=2)
    except DovecotError as exc:
        log(f"dovecot would not start: {exc}")
        return 1
    try:
        account = server.new_account()
        letters, mix = make_letters(args.letters, texts, random.Random(args.seed))
        size = sum(len(x) for x in letters)
        log(f"APPENDing {len(letters):,} letters ({size / 1e6:.1f} MB): {mix}")
        started = time.perf_counter()
        account.append_many(letters)  # in order: a reply after the letter it answers
        log(f"APPEND done in {time.perf_counter() - started:.1f} s (not measured)")
        met = {
            kind: report(kind, bench(kind, account, len(letters)), len(letters), mix)
            for kind in kinds
        }
    finally:
        server.stop()
    print_table("IMAP backlog goal", ["database", f"{args.letters:,} letters in <= 60 s"],
                [[k, verdict(v)] for k, v in met.items()])  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
