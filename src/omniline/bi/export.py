"""Writing the BI datasets to files: one file per dataset and day, CSV and/or Parquet.

A day is the workspace's own calendar day (its time zone), and a row belongs to the day
it was created (``created_at``), as it stood when the file was written: a conversation
resolved later appears in its first day's file with the status it had then (the API's
``updated_since`` finds what changed since). Files are written under a temporary name and
renamed, so a reader never sees half a file and a re-run replaces a day's file whole.
"""

from __future__ import annotations

import asyncio
import csv
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.bi.datasets import DATASETS, Dataset, Window, page
from omniline.kit.clock import iso

FORMATS = ("csv", "parquet")
READ_BATCH = 5000
ARROW_TYPES = {
    "int": pa.int64(),
    "str": pa.string(),
    "bool": pa.bool_(),
    "float": pa.float64(),
    "datetime": pa.timestamp("us", tz="UTC"),
}


def arrow_schema(d: Dataset) -> pa.Schema:
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in d.columns])


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def formats_of(name: str) -> tuple[str, ...]:
    return FORMATS if name == "both" else (name,)


@dataclass(slots=True)
class ExportResult:
    rows: dict[str, int] = field(default_factory=dict)  # dataset -> rows, over all days
    files: list[Path] = field(default_factory=list)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class _Files:
    """The open files of one dataset and day, written batch by batch."""

    def __init__(self, d: Dataset, base: Path, formats: tuple[str, ...]) -> None:
        self.d, self.base, self.formats = d, base, formats
        self.names = [c.name for c in d.columns]
        base.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = {f: base.with_name(f".{base.name}.{f}.part") for f in formats}
        self.csv_file = None
        self.csv: Any = None
        if "csv" in formats:
            self.csv_file = self.tmp["csv"].open("w", newline="", encoding="utf-8")
            self.csv = csv.writer(self.csv_file)
            self.csv.writerow(self.names)
        self.parquet = (
            pq.ParquetWriter(self.tmp["parquet"], arrow_schema(d)) if "parquet" in formats else None
        )

    def write(self, rows: list[dict[str, Any]]) -> None:
        if self.csv is not None:
            self.csv.writerows([[_csv_cell(r[n]) for n in self.names] for r in rows])
        if self.parquet is not None:
            columns = {n: [r[n] for r in rows] for n in self.names}
            self.parquet.write_table(pa.table(columns, schema=self.parquet.schema))

    def close(self) -> list[Path]:
        if self.csv_file is not None:
            self.csv_file.close()
        if self.parquet is not None:
            self.parquet.close()
        done = []
        for f, tmp in self.tmp.items():
            final = self.base.with_suffix(f".{f}")
            os.replace(tmp, final)
            done.append(final)
        return done

    def abort(self) -> None:
        if self.csv_file is not None:
            self.csv_file.close()
        if self.parquet is not None:
            self.parquet.close()
        for tmp in self.tmp.values():
            tmp.unlink(missing_ok=True)


async def export_day(
    session: AsyncSession,
    workspace_id: int,
    d: Dataset,
    day: date,
    tz: ZoneInfo,
    out: Path,
    formats: tuple[str, ...],
) -> tuple[int, list[Path]]:
    """``<out>/<dataset>/<YYYY-MM-DD>.<format>``: the rows of ``d`` created that day."""
    start, end = day_bounds(day, tz)
    files = _Files(d, out / d.name / day.isoformat(), formats)
    count, after = 0, 0
    try:
        while True:
            rows = await page(session, d, workspace_id, Window(after, start, end), READ_BATCH)
            if not rows:
                break
            await asyncio.to_thread(files.write, rows)
            count += len(rows)
            after = rows[-1]["id"]
            if len(rows) < READ_BATCH:
                break
    except BaseException:
        files.abort()
        raise
    return count, await asyncio.to_thread(files.close)


async def export_days(
    session: AsyncSession,
    workspace_id: int,
    days: list[date],
    tz: ZoneInfo,
    out: Path,
    formats: tuple[str, ...],
    progress: Callable[[str], None] | None = None,
) -> ExportResult:
    result = ExportResult(rows={name: 0 for name in DATASETS})
    for day in days:
        for name, d in DATASETS.items():
            count, files = await export_day(session, workspace_id, d, day, tz, out, formats)
            result.rows[name] += count
            result.files += files
            if progress is not None:
                progress(f"{day.isoformat()} {name}: {count:,} rows")
    return result
