"""The SLA administration API: validation names the field, nothing is half-saved."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from omniline import db
from omniline.sla import calendars
from omniline.sla.models import BusinessCalendar, SlaPolicy
from tests.conftest import Demo
from tests.sla.conftest import admin_headers, agent_headers, make_policy, policy_body

KYIV_OFFICE: dict[str, Any] = {
    "name": "Kyiv office",
    "timezone": "Europe/Kyiv",
    "hours": {
        d: [{"start": "09:00", "end": "13:00"}, {"start": "14:00", "end": "18:00"}]
        for d in ("mon", "tue", "wed", "thu", "fri")
    },
    "holidays": [{"date": "2026-08-24", "name": "Independence Day"}],
}


async def count(model: Any) -> int:
    async with db.sessionmaker()() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_calendar_crud_and_the_routing_helper(client: httpx.AsyncClient, demo: Demo) -> None:
    admin = await admin_headers(client)
    r = await client.post("/api/v1/sla/calendars", json=KYIV_OFFICE, headers=admin)
    assert r.status_code == 201, r.text
    cal = r.json()
    assert cal["hours"]["sat"] == []
    assert cal["holidays"] == [{"date": "2026-08-24", "name": "Independence Day", "hours": []}]

    from datetime import datetime
    from zoneinfo import ZoneInfo

    kyiv = ZoneInfo("Europe/Kyiv")
    async with db.sessionmaker()() as session:
        is_open = calendars.is_business_time
        assert await is_open(session, cal["id"], datetime(2026, 8, 25, 10, tzinfo=kyiv))
        assert not await is_open(session, cal["id"], datetime(2026, 8, 25, 13, 30, tzinfo=kyiv))
        assert not await is_open(session, cal["id"], datetime(2026, 8, 24, 10, tzinfo=kyiv))

    changed = {**KYIV_OFFICE, "hours": {"sat": [{"start": "10:00", "end": "14:00"}]}}
    r = await client.put(f"/api/v1/sla/calendars/{cal['id']}", json=changed, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["hours"]["mon"] == []
    listing = (await client.get("/api/v1/sla/calendars", headers=admin)).json()
    assert [c["name"] for c in listing["items"]] == ["Kyiv office"]

    # In use by a policy: refused; free again: deleted.
    policy = await make_policy(client, demo, calendar_id=cal["id"])
    r = await client.delete(f"/api/v1/sla/calendars/{cal['id']}", headers=admin)
    assert r.status_code == 409
    assert "First line promise" in r.json()["error"]["message"]
    assert (
        await client.delete(f"/api/v1/sla/policies/{policy['id']}", headers=admin)
    ).status_code == 204
    assert (
        await client.delete(f"/api/v1/sla/calendars/{cal['id']}", headers=admin)
    ).status_code == 204
    assert await count(BusinessCalendar) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"hours": {}}, "hours"),
        ({"hours": {"mon": [{"start": "18:00", "end": "09:00"}]}}, "hours.mon[0]"),
        (
            {
                "hours": {
                    "mon": [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "15:00"}]
                }
            },
            "hours.mon",
        ),
        ({"holidays": [{"date": "24.08.2026"}]}, "holidays[0].date"),
        ({"name": "   "}, "name"),
    ],
)
async def test_bad_calendars_are_refused_naming_the_field(
    client: httpx.AsyncClient, demo: Demo, change: dict[str, Any], field: str
) -> None:
    r = await client.post(
        "/api/v1/sla/calendars", json={**KYIV_OFFICE, **change}, headers=await admin_headers(client)
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["fields"][0]["field"] == field
    assert await count(BusinessCalendar) == 0


@pytest.mark.parametrize(
    ("change", "field", "words", "status"),
    [
        ({"first_response_seconds": 0}, "first_response_seconds", "greater than zero", 422),
        ({"resolution_seconds": -60}, "resolution_seconds", "greater than zero", 422),
        (
            {
                "first_response_seconds": None,
                "next_response_seconds": None,
                "resolution_seconds": None,
            },
            "first_response_seconds",
            "at least one target",
            422,
        ),
        ({"queue_id": 999_999}, "queue_id", "no such queue", 404),
        ({"calendar_id": 999_999}, "calendar_id", "no such calendar", 404),
        ({"warning_share": 1.5}, "warning_share", "between 0 and 1", 422),
        ({"breach_actions": ["sms"]}, "breach_actions", "unknown action", 422),
    ],
)
async def test_bad_policies_are_refused_naming_the_field(
    client: httpx.AsyncClient,
    demo: Demo,
    change: dict[str, Any],
    field: str,
    words: str,
    status: int,
) -> None:
    r = await client.post(
        "/api/v1/sla/policies",
        json=policy_body(demo, **change),
        headers=await admin_headers(client),
    )
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["fields"][0]["field"] == field
    assert words in err["fields"][0]["message"]
    assert await count(SlaPolicy) == 0


async def test_one_active_policy_per_queue(client: httpx.AsyncClient, demo: Demo) -> None:
    admin = await admin_headers(client)
    first = await make_policy(client, demo)
    r = await client.post(
        "/api/v1/sla/policies", json=policy_body(demo, name="Second"), headers=admin
    )
    assert r.status_code == 409
    assert r.json()["error"]["fields"][0]["field"] == "queue_id"
    r = await client.post(
        "/api/v1/sla/policies", json=policy_body(demo, active=False), headers=admin
    )
    assert r.status_code == 409 and r.json()["error"]["fields"][0]["field"] == "name"
    # An inactive one may wait beside it.
    r = await client.post(
        "/api/v1/sla/policies", json=policy_body(demo, name="Second", active=False), headers=admin
    )
    assert r.status_code == 201, r.text
    r = await client.put(
        f"/api/v1/sla/policies/{first['id']}",
        json=policy_body(demo, first_response_seconds=300),
        headers=admin,
    )
    assert r.status_code == 200
    assert r.json()["first_response_seconds"] == 300
    assert len((await client.get("/api/v1/sla/policies", headers=admin)).json()["items"]) == 2


async def test_only_admins_manage_sla(client: httpx.AsyncClient, demo: Demo) -> None:
    agent = await agent_headers(client)
    assert (await client.get("/api/v1/sla/policies", headers=agent)).status_code == 403
    r = await client.post("/api/v1/sla/calendars", json=KYIV_OFFICE, headers=agent)
    assert r.status_code == 403
    assert await count(BusinessCalendar) == 0


async def test_unknown_sort_is_refused(client: httpx.AsyncClient, demo: Demo) -> None:
    r = await client.get("/api/v1/conversations?sort=oldest", headers=await agent_headers(client))
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["field"] == "sort"
