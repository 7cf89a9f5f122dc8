"""The SLA admin pages: forms that re-render with the message next to the field."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from omniline import db
from omniline.sla.models import BusinessCalendar, SlaPolicy
from tests.conftest import Demo
from tests.workspaces.test_admin_pages import login_admin, post_form

WEEK = {f"hours_{d}": "09:00-13:00, 14:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")}


async def test_calendar_form_creates_and_refuses_with_field_messages(
    client: httpx.AsyncClient, demo: Demo
) -> None:
    csrf = await login_admin(client)
    page = await client.get("/admin/sla/calendars")
    assert page.status_code == 200
    bad = await post_form(
        client,
        "/admin/sla/calendars",
        csrf,
        {"name": "<b>Kyiv</b>", "timezone": "Europe/Kyiv", **WEEK, "hours_mon": "13:00-09:00"},
    )
    assert bad.status_code == 422
    assert "The end must be after the start." in bad.text
    assert 'id="f-hours_mon"' in bad.text and 'aria-invalid="true"' in bad.text
    assert "&lt;b&gt;Kyiv&lt;/b&gt;" in bad.text  # the submitted name is kept, escaped

    no_hours = await post_form(
        client, "/admin/sla/calendars", csrf, {"name": "Closed", "timezone": "Europe/Kyiv"}
    )
    assert no_hours.status_code == 422
    assert "The calendar has no working hours." in no_hours.text

    bad_zone = await post_form(
        client, "/admin/sla/calendars", csrf, {"name": "X", "timezone": "Kyiv", **WEEK}
    )
    assert "Unknown time zone" in bad_zone.text

    holidays = "2026-08-24 Independence Day\n2026-12-31 09:00-13:00 Short day\n31.12.2026"
    bad_holiday = await post_form(
        client,
        "/admin/sla/calendars",
        csrf,
        {"name": "Kyiv", "timezone": "Europe/Kyiv", **WEEK, "holidays": holidays},
    )
    assert "Line 3: use YYYY-MM-DD." in bad_holiday.text

    ok = await post_form(
        client,
        "/admin/sla/calendars",
        csrf,
        {
            "name": "Kyiv",
            "timezone": "Europe/Kyiv",
            **WEEK,
            "holidays": holidays.rsplit("\n", 1)[0],
        },
    )
    assert ok.status_code == 303, ok.text
    async with db.sessionmaker()() as session:
        (cal,) = list(await session.scalars(select(BusinessCalendar)))
    assert cal.hours["mon"] == [
        {"start": "09:00", "end": "13:00"},
        {"start": "14:00", "end": "18:00"},
    ]
    assert cal.holidays[1] == {
        "date": "2026-12-31",
        "name": "Short day",
        "hours": [{"start": "09:00", "end": "13:00"}],
    }
    edit = await client.get(f"/admin/sla/calendars/{cal.id}")
    assert "2026-12-31 09:00-13:00 Short day" in edit.text


async def test_policy_form(client: httpx.AsyncClient, demo: Demo) -> None:
    csrf = await login_admin(client)
    base: dict[str, object] = {
        "name": "Ten minutes",
        "queue_id": str(demo.queues["First line"]),
        "first_response": "10",
        "warning_percent": "80",
        "breach_actions": ["notify", "tag", "webhook"],
        "breach_tag": "free-month",
        "active": "1",
    }
    bad = await post_form(client, "/admin/sla", csrf, {**base, "first_response": "0"})
    assert bad.status_code == 422
    assert "Must be greater than zero" in bad.text
    none = await post_form(client, "/admin/sla", csrf, {**base, "first_response": ""})
    assert "Set at least one target." in none.text
    ok = await post_form(client, "/admin/sla", csrf, base)
    assert ok.status_code == 303, ok.text
    listing = await client.get("/admin/sla")
    assert "Ten minutes" in listing.text and "10 min" in listing.text
    async with db.sessionmaker()() as session:
        (policy,) = list(await session.scalars(select(SlaPolicy)))
    assert policy.first_response_seconds == 600
    assert policy.warning_share == 0.8
    assert policy.breach_tag == "free-month"
    again = await post_form(client, "/admin/sla", csrf, {**base, "name": "Other"})
    assert "already has an active SLA policy" in again.text
    edit = await post_form(
        client, f"/admin/sla/{policy.id}", csrf, {**base, "first_response": "0.5"}
    )
    assert edit.status_code == 303
    async with db.sessionmaker()() as session:
        saved = await session.get(SlaPolicy, policy.id)
        assert saved is not None and saved.first_response_seconds == 30
    gone = await post_form(client, f"/admin/sla/{policy.id}/delete", csrf, {})
    assert gone.status_code == 303
