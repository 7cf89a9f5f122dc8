"""A flow's texts as a CSV for translators: one row per text, one column per language.

The first column names the text (``menu/text``, ``menu/options.1.label``,
``faq:card_lost/answer``, ``settings/reminder_text``); a translator fills the empty cells and
the import writes them back into the draft. Rows are never added or removed by an import.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from omniline.errors import Invalid

KEY = "text"
MAX_BYTES = 5_000_000


def _slots(draft: dict[str, Any]) -> Iterator[tuple[str, dict[str, str]]]:
    """(name, the live dict of texts per language) of every translatable text of a draft."""
    for node in draft.get("nodes") or []:
        nid = node.get("id")
        text = node.get("text")
        # Optional texts (a handoff's, an end's) are rows only once written in some language.
        if isinstance(text, dict) and (text or node.get("type") in ("message", "menu", "ask")):
            yield f"{nid}/text", text
        if isinstance(node.get("retry_text"), dict) and node["retry_text"]:
            yield f"{nid}/retry_text", node["retry_text"]
        for i, b in enumerate(node.get("buttons") or []):
            yield f"{nid}/buttons.{i + 1}.label", b.setdefault("label", {})
        for i, o in enumerate(node.get("options") or []):
            yield f"{nid}/options.{i + 1}.label", o.setdefault("label", {})
        for i, m in enumerate(node.get("media") or []):
            if m.get("caption"):
                yield f"{nid}/media.{i + 1}.caption", m["caption"]
    for intent in draft.get("faq") or []:
        yield f"faq:{intent.get('key')}/answer", intent.setdefault("answer", {})
    settings = draft.get("settings") or {}
    for name in ("reminder_text", "not_understood_text", "handoff_text"):
        if settings.get(name):
            yield f"settings/{name}", settings[name]


def export_csv(draft: dict[str, Any]) -> str:
    languages = list(draft.get("languages") or ["en"])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([KEY, *languages])
    for name, texts in _slots(draft):
        writer.writerow([name, *(texts.get(lang, "") for lang in languages)])
    return out.getvalue()


# White space but a line break, as str.strip() sees it (a line break ends the header row).
_SPACE = r"(?:[^\S\r\n]|[\x1c-\x1f\x85])*"
# A language code (graph.LangCode).
_LANGUAGE = "[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?"
# The body's schema: UTF-8 CSV whose first row is the header, its first cell "text" (spaces
# around cells are dropped), then one or more language codes (an empty cell is a column left
# out). The rest is free: rows the draft does not have are counted as unknown, never refused.
CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {
                "schema": {
                    "type": "string",
                    "maxLength": MAX_BYTES // 4,
                    "pattern": (
                        rf'^\ufeff?(?:{_SPACE}{KEY}|"{KEY}"){_SPACE}'
                        rf"(?:,{_SPACE}(?:{_LANGUAGE})?{_SPACE})+(?:[\r\n]|$)"
                    ),
                }
            }
        },
    }
}


def import_csv(draft: dict[str, Any], data: bytes) -> tuple[dict[str, Any], int, list[str]]:
    """The draft with the CSV's texts written in, how many cells changed, unknown rows."""
    if len(data) > MAX_BYTES:
        raise Invalid("file", "the CSV is larger than 5 MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("file", "the CSV must be UTF-8") from None
    try:
        # newline="": the csv module reads the line ends itself (a lone \r ends a row too).
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:  # a field over the csv module's limit
        raise Invalid("file", f"not a CSV file: {exc}") from None
    if not rows or not rows[0] or rows[0][0].strip() != KEY:
        raise Invalid("file", f"the first row must be the header: {KEY},<language>,...")
    languages = [c.strip() for c in rows[0][1:]]
    if not languages:
        raise Invalid("file", "the header names no language")
    slots = dict(_slots(draft))
    changed = 0
    unknown: list[str] = []
    for row in rows[1:]:
        if not row or not row[0].strip():
            continue
        target = slots.get(row[0].strip())
        if target is None:
            unknown.append(row[0].strip()[:200])
            continue
        for lang, cell in zip(languages, row[1:], strict=False):
            value = cell.strip()
            if lang and value and target.get(lang) != value:
                target[lang] = value[:4000]
                changed += 1
    return draft, changed, unknown
