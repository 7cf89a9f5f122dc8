"""Report tables as CSV or XLSX files: the figures of the summary or of a breakdown.

CSV cells that a spreadsheet would run as a formula (starting with = + - @, or a tab or a
carriage return before one) get a leading apostrophe: a queue or tag named "=HYPERLINK(...)"
stays text. Numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import xlsxwriter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A value for a CSV cell: text that starts like a formula is neutralised."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def summary_table(data: dict[str, Any], metrics: Sequence[str]) -> list[list[Any]]:
    """Header, one row per period, then the total (and the previous period when compared)."""
    rows: list[list[Any]] = [["period", *metrics]]
    for start, figures in data.get("periods", {}).items():
        rows.append([start, *(figures.get(m) for m in metrics)])
    rows.append(["total", *(data.get("total", {}).get(m) for m in metrics)])
    if "previous" in data:
        rows.append(["previous period", *(data["previous"].get(m) for m in metrics)])
    return rows


def breakdown_table(rows_in: Iterable[dict[str, Any]], metrics: Sequence[str]) -> list[list[Any]]:
    rows: list[list[Any]] = [["key", "label", *metrics]]
    for row in rows_in:
        figures = row.get("metrics", {})
        rows.append([row.get("key"), row.get("label"), *(figures.get(m) for m in metrics)])
    return rows


def to_csv(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    # A byte order mark: Excel then reads Cyrillic names as UTF-8.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: list[list[Any]], sheet: str) -> bytes:
    """One sheet; text is written as text (never as a formula), numbers as numbers."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False})
    ws = book.add_worksheet(sheet[:31])
    bold = book.add_format({"bold": True})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if r == 0:
                ws.write_string(r, c, str(value), bold)
            elif isinstance(value, bool):
                ws.write_boolean(r, c, value)
            elif isinstance(value, int | float):
                ws.write_number(r, c, value)
            else:
                ws.write_string(r, c, str(value))
    ws.freeze_panes(1, 0)
    book.close()
    return out.getvalue()
