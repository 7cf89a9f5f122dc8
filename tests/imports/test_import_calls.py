"""``omniline import calls``: a small hand-written file, malformed rows, re-import, zones."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from omniline import db
from omniline.channels.voice.models import VoiceCall
from omniline.contacts.models import Contact
from omniline.conversations.models import Conversation
from omniline.imports.commands import format_summary, import_calls
from omniline.imports.models import ImportedCall
from omniline.inboxes.models import Inbox
from tests.imports.conftest import Bank

HEADER = (
    "vru+line\tcall_id\tcustomer_id\tpriority\ttype\tdate\tvru_entry\tvru_exit\tvru_time\t"
    "q_start\tq_exit\tq_time\toutcome\tser_start\tser_exit\tser_time\tserver"
)
ROWS = [
    # answered after 30 s in queue, by Dorit (a user of the workspace)
    "AA0101\t1\t12345\t2\tPS\t991001\t10:00:00\t10:00:10\t10\t10:00:10\t10:00:40\t30\tAGENT"
    "\t10:00:40\t10:02:40\t120\tDORIT",
    # answered straight from the menu by someone who is not a user
    "AA0101\t2\t12345\t1\tPE\t991001\t11:00:00\t11:00:05\t5\t0:00:00\t0:00:00\t0\tAGENT"
    "\t11:00:05\t11:01:05\t60\tBASCH",
    # abandoned after 3 s (short) and after 50 s
    "AA0102\t3\t0\t0\tPS\t991001\t12:00:00\t12:00:05\t5\t12:00:05\t12:00:08\t3\tHANG"
    "\t0:00:00\t0:00:00\t0\tNO_SERVER",
    "AA0102\t4\t0\t0\tIN\t991001\t12:10:00\t12:10:05\t5\t12:10:05\t12:10:55\t50\tHANG"
    "\t0:00:00\t0:00:00\t0\tNO_SERVER",
    # hung up in the menu, and a ghost call: stored, never offered
    "AA0103\t5\t777\t0\tPS\t991001\t13:00:00\t13:00:20\t20\t0:00:00\t0:00:00\t0\tHANG"
    "\t0:00:00\t0:00:00\t0\tNO_SERVER",
    "AA0103\t6\t0\t0\tPS\t991001\t13:30:00\t13:30:01\t1\t0:00:00\t0:00:00\t0\tPHANTOM"
    "\t0:00:00\t0:00:00\t0\tNO_SERVER",
    # a shifted row (16 fields) and an unknown outcome: malformed (lines 8 and 9)
    "AA0103\t7\t0\tPS\t991001\t13:40:00\t13:40:01\t1\t0:00:00\t0:00:00\t0\tHANG"
    "\t0:00:00\t0:00:00\t0\tNO_SERVER",
    "AA0103\t8\t0\t0\tPS\t991001\t13:50:00\t13:50:01\t1\t0:00:00\t0:00:00\t0\tBUSY"
    "\t0:00:00\t0:00:00\t0\tNO_SERVER",
    # entered the queue just before midnight, answered after it
    "AA0101\t9\t12345\t0\tPS\t991001\t23:59:40\t23:59:50\t10\t23:59:50\t0:00:20\t30\tAGENT"
    "\t0:00:20\t0:01:20\t60\tDorit",
]


def write(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "calls.txt"
    path.write_bytes(("\r\n".join([HEADER, *rows]) + "\r\n").encode("latin-1"))
    return path


async def calls_by_ref() -> dict[str, VoiceCall]:
    async with db.sessionmaker()() as session:
        return {c.ref: c for c in await session.scalars(select(VoiceCall))}


async def count(model: type) -> int:
    async with db.sessionmaker()() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_small_file_imports_as_resolved_voice_calls(bank: Bank, tmp_path: Path) -> None:
    out = io.StringIO()
    summary = await import_calls(write(tmp_path, ROWS), bank.slug, out=out)
    assert (summary.rows, summary.imported, summary.present, summary.malformed) == (9, 7, 0, 2)
    assert [m["line"] for m in summary.first_malformed] == [8, 9]
    assert "16 fields" in summary.first_malformed[0]["reason"]
    assert "7 / 7 calls" in out.getvalue()
    text = format_summary(summary)
    assert "malformed:        2 (skipped)" in text and "line 9: unknown outcome 'BUSY'" in text

    calls = await calls_by_ref()
    lines = {
        1: "AA0101",
        2: "AA0101",
        3: "AA0102",
        4: "AA0102",
        5: "AA0103",
        6: "AA0103",
        9: "AA0101",
    }
    assert sorted(calls) == sorted(
        f"import:{lines[n]}:{n}:1999-10-01" for n in (1, 2, 3, 4, 5, 6, 9)
    )
    first = calls["import:AA0101:1:1999-10-01"]
    # The workspace is in Kyiv: 10:00:10 local on 1 October 1999 is 07:00:10 UTC.
    assert first.queued_at == datetime(1999, 10, 1, 7, 0, 10, tzinfo=UTC)
    assert first.answered_at == datetime(1999, 10, 1, 7, 0, 40, tzinfo=UTC)
    assert first.ended_at == datetime(1999, 10, 1, 7, 2, 40, tzinfo=UTC)
    assert (first.end_reason, first.agent_id, first.priority) == (
        "answered",
        bank.users["dorit"],
        2,
    )
    straight = calls["import:AA0101:2:1999-10-01"]
    assert straight.queued_at == straight.answered_at  # offered, waited 0 s
    assert straight.agent_id is None  # BASCH is no user: the name stays on the import row
    short, long_ = calls["import:AA0102:3:1999-10-01"], calls["import:AA0102:4:1999-10-01"]
    assert (short.end_reason, short.short_abandon) == ("abandoned", True)
    assert (long_.end_reason, long_.short_abandon) == ("abandoned", False)
    assert long_.answered_at is None
    assert long_.ended_at == datetime(1999, 10, 1, 9, 10, 55, tzinfo=UTC)
    for ref in ("import:AA0103:5:1999-10-01", "import:AA0103:6:1999-10-01"):
        assert calls[ref].queued_at is None  # never offered
    assert calls["import:AA0103:5:1999-10-01"].end_reason == "ivr"
    late = calls["import:AA0101:9:1999-10-01"]
    assert late.answered_at == datetime(1999, 10, 1, 21, 0, 20, tzinfo=UTC)  # 00:00:20 on the 2nd
    assert late.agent_id == bank.users["dorit"]  # names match whatever their case

    async with db.sessionmaker()() as session:
        agent_names = dict(
            (await session.execute(select(ImportedCall.source_key, ImportedCall.agent_name))).all()
        )
        assert agent_names["AA0101:2:1999-10-01"] == "BASCH"
        contacts = {c.external_id: c for c in await session.scalars(select(Contact))}
        # One contact per customer number, one shared by the unidentified callers.
        assert set(contacts) == {"12345", "777", "import:unidentified"}
        convs = list(await session.scalars(select(Conversation)))
        assert {c.status for c in convs} == {"resolved"}
        assert {c.channel for c in convs} == {"voice"}
        by_contact = {c.contact_id for c in convs if c.id == first.conversation_id}
        assert by_contact == {contacts["12345"].id}
        inbox = await session.get(Inbox, first.inbox_id)
        assert inbox is not None
        assert (inbox.name, inbox.channel, inbox.enabled) == ("Imported calls", "voice", False)


async def test_importing_the_same_file_twice_adds_nothing(bank: Bank, tmp_path: Path) -> None:
    path = write(tmp_path, ROWS)
    await import_calls(path, bank.slug, batch=3)
    before = [await count(m) for m in (VoiceCall, Conversation, Contact, Inbox)]
    again = await import_calls(path, bank.slug, batch=3)
    assert (again.imported, again.present, again.malformed) == (0, 7, 2)
    assert [await count(m) for m in (VoiceCall, Conversation, Contact, Inbox)] == before
    # A longer file adds only its new calls, reusing the inbox and the contacts.
    extra = ROWS[0].replace("\t1\t12345", "\t10\t12345")
    more = await import_calls(write(tmp_path, [*ROWS, extra]), bank.slug)
    assert (more.imported, more.present) == (1, 7)
    assert await count(Contact) == before[2]


async def test_times_are_read_in_the_zone_given(bank: Bank, tmp_path: Path) -> None:
    summary = await import_calls(write(tmp_path, ROWS[:1]), bank.slug, tz="Asia/Jerusalem")
    assert summary.tz == "Asia/Jerusalem"
    call = (await calls_by_ref())["import:AA0101:1:1999-10-01"]
    assert call.queued_at == datetime(1999, 10, 1, 8, 0, 10, tzinfo=UTC)  # UTC+2 in Israel


async def test_unknown_zone_workspace_and_inbox_are_refused(bank: Bank, tmp_path: Path) -> None:
    import pytest

    from omniline.errors import Invalid, NotFound

    path = write(tmp_path, ROWS)
    with pytest.raises(Invalid, match="time zone"):
        await import_calls(path, bank.slug, tz="Mars/Olympus")
    with pytest.raises(NotFound, match="workspace"):
        await import_calls(path, "nobody")
    with pytest.raises(NotFound, match="inbox"):
        await import_calls(path, bank.slug, inbox_id=999_999)
    assert await count(VoiceCall) == 0
