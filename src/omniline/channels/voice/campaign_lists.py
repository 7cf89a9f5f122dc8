"""A campaign's list of customers: rows from JSON or CSV in, results out as CSV.

A bad row (a number that is no phone number, a repeated number, an unknown contact) is
reported with its row number and left out; the good rows are added all the same.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.channels.voice.campaigns import (
    ListRow,
    Status,
    contact_view,
    settings_of,
    zone_for,
)
from omniline.channels.voice.models import CampaignStatus, VoiceCampaign, VoiceCampaignContact
from omniline.contacts import repository as contact_repo
from omniline.contacts import service as contacts
from omniline.contacts.models import Contact
from omniline.contacts.phones import normalize_phone
from omniline.errors import Conflict, Invalid
from omniline.inboxes.models import Inbox
from omniline.kit.clock import utcnow

MAX_ROWS = 10_000
MAX_CSV_BYTES = 5 * 1024 * 1024
EXPORT_FIELDS = ("number", "name", "contact_id", "status", "result", "attempts", "last_call_id")


def parse_csv(data: bytes) -> list[tuple[int, ListRow]]:
    """``number[,name]`` per line, with their line numbers; a first line naming a ``number``
    column is a header, and its further columns become the flow's variables
    (``number,name,amount``)."""
    if len(data) > MAX_CSV_BYTES:
        raise Invalid("file", "the CSV is larger than 5 MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("file", "the CSV must be UTF-8") from None
    lines = [(n, r) for n, r in enumerate(csv.reader(io.StringIO(text)), 1) if "".join(r).strip()]
    if not lines:
        raise Invalid("file", "the CSV has no rows")
    columns = ["number", "name"]
    header = [c.strip().lower() for c in lines[0][1]]
    if "number" in header:
        columns, lines = header, lines[1:]
    rows = []
    for n, cells in lines:
        values = dict(zip(columns, (c.strip() for c in cells), strict=False))
        extra = {k: v for k, v in values.items() if k and k not in ("number", "name")}
        row = ListRow(number=values.get("number", ""), name=values.get("name", ""), variables=extra)
        rows.append((n, row))
    return rows


async def do_add_contacts(
    session: AsyncSession, campaign: VoiceCampaign, given: list[tuple[int, ListRow]]
) -> dict[str, Any]:
    """Add the good rows; returns how many were added and which rows were not, and why."""
    if campaign.status == CampaignStatus.done.value:
        raise Conflict("the campaign is over")
    if len(given) > MAX_ROWS:
        raise Invalid("contacts", f"at most {MAX_ROWS} rows at a time")
    inbox = await session.get(Inbox, campaign.inbox_id)
    assert inbox is not None
    settings = settings_of(inbox)
    taken = set(
        await session.scalars(
            select(VoiceCampaignContact.number).where(
                VoiceCampaignContact.campaign_id == campaign.id
            )
        )
    )
    rejected: list[dict[str, Any]] = []
    good: list[tuple[ListRow, str]] = []
    for n, row in given:
        number = normalize_phone(row.number, settings.region)
        reason = None
        if number is None:
            reason = "not a phone number"
        elif number in taken:
            reason = "already in the campaign"
        if reason is not None:
            rejected.append({"row": n, "number": row.number[:100], "reason": reason})
            continue
        assert number is not None
        taken.add(number)
        good.append((row, number))
    owners = await _contacts(session, campaign.workspace_id, good, rejected, given)
    now = utcnow()
    added = 0
    for row, number in good:
        contact = owners.get(number)
        if contact is None:
            continue
        opted_out = contact.notifications_opt_out
        session.add(
            VoiceCampaignContact(
                workspace_id=campaign.workspace_id,
                campaign_id=campaign.id,
                contact_id=contact.id,
                number=number,
                name=(row.name or contact.name or "")[:200],
                timezone=zone_for(number, contact.timezone, settings),
                status=Status.skipped.value if opted_out else Status.pending.value,
                result="opted_out" if opted_out else None,
                next_attempt_at=now,
                data=dict(row.variables),
                variables={},
            )
        )
        added += 1
    await session.flush()
    rejected.sort(key=lambda r: int(r["row"]))
    return {"added": added, "rejected": rejected}


async def _contacts(
    session: AsyncSession,
    workspace_id: int,
    good: list[tuple[ListRow, str]],
    rejected: list[dict[str, Any]],
    given: list[tuple[int, ListRow]],
) -> dict[str, Contact]:
    """The contact of each number: the one the row names (the number becomes theirs), else
    whoever has the number, else a new contact."""
    owners: dict[str, Contact] = {}
    row_no = {id(row): n for n, row in given}
    for row, number in [g for g in good if g[0].contact_id is not None]:
        contact = await contact_repo.get(session, workspace_id, row.contact_id or 0)
        if contact is None:
            rejected.append(
                {"row": row_no[id(row)], "number": row.number, "reason": "no such contact"}
            )
            continue
        await contacts.link_phone(session, contact, number)
        contacts.fill_reachability(contact, phone=number, email=None)
        owners[number] = contact
    rest = {number: row.name or None for row, number in good if row.contact_id is None}
    if rest:
        owners |= await contacts.find_or_create_many(session, workspace_id, "phone", rest)
    return owners


def results_csv(rows: list[VoiceCampaignContact]) -> str:
    """One line per customer: the list's columns, the status, the result and what the flow
    collected (one column per variable)."""
    views = [contact_view(r) for r in rows]
    names = sorted({k for v in views for k in (v["variables"] or {})})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*EXPORT_FIELDS, "finished_at", *names])
    for v in views:
        cells = [_cell(v[f]) for f in EXPORT_FIELDS] + [_cell(v["finished_at"])]
        writer.writerow(cells + [_cell((v["variables"] or {}).get(n)) for n in names])
    return out.getvalue()


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell a spreadsheet would run as a formula is quoted as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    return text[:1] == "+" and text[1:].isdigit()
