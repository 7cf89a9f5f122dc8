"""The BI export: files per dataset and day read back with pyarrow and csv; the nightly job."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select

from omniline import db
from omniline.bi import service
from omniline.bi.commands import export_workspace
from omniline.bi.datasets import DATASETS
from omniline.bi.jobs import bi_export
from omniline.config import Settings
from omniline.imports.commands import import_calls
from omniline.jobs.models import Job
from omniline.workspaces.models import Workspace
from tests.conftest import Demo, bearer, visitor
from tests.imports.test_import_calls import ROWS, write

SECRET_TEXT = "card 4000 please call me back on Tuesday"
OCT_1 = date(1999, 10, 1)


async def _zone() -> ZoneInfo:
    async with db.sessionmaker()() as session:
        ws = await session.scalar(select(Workspace).where(Workspace.slug == "demo"))
        assert ws is not None
        return ZoneInfo(ws.timezone)


async def test_a_day_of_calls_and_chats_reads_back_from_parquet_and_csv(
    client: httpx.AsyncClient, demo: Demo, tmp_path: Path
) -> None:
    await import_calls(write(tmp_path, ROWS), "demo", tz=str(await _zone()))
    for _ in range(2):
        token = await visitor(client)
        r = await client.post(
            "/api/v1/widget/messages", json={"text": SECRET_TEXT}, headers=bearer(token)
        )
        assert r.status_code == 201
    today = datetime.now(await _zone()).date()
    out = tmp_path / "out"
    result, days = await export_workspace("demo", out, [OCT_1, today], "both")
    assert days == [OCT_1, today]
    assert len(result.files) == 2 * 2 * len(DATASETS)

    def parquet(name: str, day: date) -> pa.Table:
        return pq.read_table(out / name / f"{day.isoformat()}.parquet")

    def rows_csv(name: str, day: date) -> list[dict[str, str]]:
        with (out / name / f"{day.isoformat()}.csv").open(newline="") as f:
            return list(csv.DictReader(f))

    # 1 October 1999: the seven imported calls (the one after midnight started that day).
    calls = parquet("calls", OCT_1)
    assert calls.num_rows == 7
    assert calls.schema.field("queued_at").type == pa.timestamp("us", tz="UTC")
    assert calls.schema.field("short_abandon").type == pa.bool_()
    assert calls.schema.field("hold_s").type == pa.float64()
    reasons = sorted(calls.column("end_reason").to_pylist())
    assert reasons == ["abandoned", "abandoned", "answered", "answered", "answered", "ivr", "lost"]
    assert parquet("conversations", OCT_1).num_rows == 7
    assert parquet("messages", OCT_1).num_rows == 0
    as_csv = rows_csv("calls", OCT_1)
    assert len(as_csv) == 7 and list(as_csv[0]) == [c.name for c in DATASETS["calls"].columns]
    assert {r["short_abandon"] for r in as_csv} == {"true", "false"}
    assert all(r["ended_at"].endswith("Z") for r in as_csv)
    assert sum(1 for r in as_csv if r["queued_at"] == "") == 2  # never offered

    # Today: the two chats, their messages as metadata only.
    messages = parquet("messages", today)
    assert messages.num_rows == 2
    assert messages.column_names == [c.name for c in DATASETS["messages"].columns]
    assert messages.column("length").to_pylist() == [len(SECRET_TEXT)] * 2
    assert messages.schema.field("length").type == pa.int64()
    assert parquet("conversations", today).num_rows == 2
    assert parquet("calls", today).num_rows == 0
    for name in DATASETS:
        for day in (OCT_1, today):
            text = (out / name / f"{day.isoformat()}.csv").read_text()
            assert "Tuesday" not in text
            assert parquet(name, day).num_rows == len(rows_csv(name, day))
    assert not list(out.rglob("*.part"))


async def test_csv_only_and_a_rerun_replaces_the_day(demo: Demo, tmp_path: Path) -> None:
    await import_calls(write(tmp_path, ROWS[:2]), "demo")
    out = tmp_path / "out"
    await export_workspace("demo", out, [OCT_1], "csv")
    await import_calls(write(tmp_path, ROWS), "demo")
    result, _ = await export_workspace("demo", out, [OCT_1], "csv")
    assert result.rows["calls"] == 7
    assert not list(out.rglob("*.parquet"))
    with (out / "calls" / "1999-10-01.csv").open(newline="") as f:
        assert len(list(csv.DictReader(f))) == 7


async def test_the_nightly_job_catches_up_and_queues_the_next_day(
    demo: Demo, settings: Settings, tmp_path: Path
) -> None:
    settings.bi_export_dir = tmp_path / "bi"
    settings.bi_export_format = "parquet"
    async with db.unit_of_work() as session:
        assert await service.ensure_all(session) == 1
    async with db.unit_of_work() as session:
        assert await service.ensure_all(session) == 0  # one job per workspace
    tz = await _zone()
    yesterday = datetime.now(tz).date() - timedelta(days=1)
    async with db.unit_of_work() as session:
        job = await session.scalar(select(Job).where(Job.kind == "bi_export"))
        assert job is not None and job.payload["day"] == yesterday.isoformat()
        # The worker was down for two more days: the job written then still names its day.
        job.payload = {"workspace_id": demo.workspace_id, "day": str(yesterday - timedelta(2))}
        job.state = "done"
        await bi_export(session, job.payload)
    written = sorted(p.name for p in (tmp_path / "bi" / "demo" / "messages").iterdir())
    assert written == [f"{yesterday - timedelta(days=n)}.parquet" for n in (2, 1, 0)]
    async with db.sessionmaker()() as session:
        pending = list(
            await session.scalars(
                select(Job).where(Job.kind == "bi_export", Job.state == "pending")
            )
        )
    assert len(pending) == 1
    today = yesterday + timedelta(days=1)
    assert pending[0].payload["day"] == today.isoformat()
    at = pending[0].run_at.astimezone(tz)
    assert (at.date(), at.hour) == (today + timedelta(days=1), settings.bi_export_hour)
