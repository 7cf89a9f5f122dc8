"""The JSON API of routing rules: admin only, validation, reorder, dry run."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from omniline import db
from omniline.routing.models import RoutingRule
from tests.conftest import Demo, bearer, staff_token
from tests.routing.helpers import TELEMARKETING, bank, issue_rules

BASE = "/api/v1/routing"


@pytest.fixture
async def admin(client: httpx.AsyncClient, demo: Demo) -> dict[str, str]:
    return bearer(await staff_token(client, "admin@demo.omniline", "demo-admin"))


@pytest.fixture
async def queues(demo: Demo) -> dict[str, int]:
    async with db.unit_of_work() as session:
        return await bank(session, demo)


async def count_rules() -> int:
    async with db.sessionmaker()() as session:
        return int(await session.scalar(select(func.count()).select_from(RoutingRule)) or 0)


async def test_agent_and_supervisor_get_403(client: httpx.AsyncClient, demo: Demo) -> None:
    for email, pw in (("agent@demo.omniline", "demo-agent"),
                      ("supervisor@demo.omniline", "demo-supervisor")):  # fmt: skip
        h = bearer(await staff_token(client, email, pw))
        assert (await client.get(f"{BASE}/rules", headers=h)).status_code == 403
        r = await client.post(f"{BASE}/rules", json={}, headers=h)
        assert r.status_code == 403
        assert "administrator" in r.json()["error"]["message"]
    assert (await client.get(f"{BASE}/rules")).status_code == 401


async def test_create_list_update_delete(
    client: httpx.AsyncClient, admin: dict[str, str], queues: dict[str, int]
) -> None:
    created = []
    for rule in issue_rules(queues):
        r = await client.post(f"{BASE}/rules", json=rule, headers=admin)
        assert r.status_code == 201, r.text
        created.append(r.json())
    assert created[1]["queue_name"] == "Business assistants"
    assert created[1]["condition_texts"] == ["attribute client eq true"]
    listed = (await client.get(f"{BASE}/rules", headers=admin)).json()["items"]
    assert [x["name"] for x in listed] == ["Telemarketing", "Clients", "Contract signed", "Mail"]

    tele = created[3]
    change = {**issue_rules(queues)[3], "priority": 5, "enabled": False}
    r = await client.put(f"{BASE}/rules/{tele['id']}", json=change, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["enabled"] is False and r.json()["priority"] == 5
    listed = (await client.get(f"{BASE}/rules", headers=admin)).json()["items"]
    assert listed[-1]["name"] == "Telemarketing"

    r = await client.delete(f"{BASE}/rules/{tele['id']}", headers=admin)
    assert r.status_code == 204
    assert (await client.delete(f"{BASE}/rules/{tele['id']}", headers=admin)).status_code == 404
    assert await count_rules() == 3


# An id of nothing in the workspace is a 404 naming the field; the rest are invalid (422).
BAD: list[tuple[str, dict[str, Any], str, int]] = [
    ("unknown queue", {"actions": {"queue_id": 99999}}, "actions.queue_id", 404),
    ("empty conditions", {"conditions": []}, "conditions", 422),
    ("empty condition values", {"conditions": [{"type": "channel", "channels": []}]},
     "conditions[0].channels", 422),
    ("unknown condition type", {"conditions": [{"type": "weather", "value": "rain"}]},
     "conditions[0].type", 422),
    ("negative within_days", {"conditions": [{"type": "event", "name": "x", "within_days": -3}]},
     "conditions[0].within_days", 422),
    ("priority out of range", {"priority": 1000}, "priority", 422),
    ("action priority out of range", {"actions": {"priority": -1}}, "actions.priority", 422),
    ("unknown inbox", {"conditions": [{"type": "inbox", "inbox_ids": [424242]}]},
     "conditions[0].inbox_ids", 404),
    ("unknown calendar", {"conditions": [{"type": "business_hours", "calendar_id": 424242}]},
     "conditions[0].calendar_id", 404),
]  # fmt: skip


@pytest.mark.parametrize(("label", "change", "field", "status"), BAD, ids=[b[0] for b in BAD])
async def test_bad_rules_are_refused_and_nothing_is_saved(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    queues: dict[str, int],
    label: str,
    change: dict[str, Any],
    field: str,
    status: int,
) -> None:
    rule = {**issue_rules(queues)[1], **change}
    r = await client.post(f"{BASE}/rules", json=rule, headers=admin)
    assert r.status_code == status, r.text
    assert field in [f["field"] for f in r.json()["error"]["fields"]]
    assert field in r.json()["error"]["message"]
    assert await count_rules() == 0


async def test_bad_update_keeps_the_old_rule(
    client: httpx.AsyncClient, admin: dict[str, str], queues: dict[str, int]
) -> None:
    good = issue_rules(queues)[1]
    rid = (await client.post(f"{BASE}/rules", json=good, headers=admin)).json()["id"]
    bad = {**good, "name": "Renamed", "conditions": [{"type": "keywords", "keywords": [""]}]}
    r = await client.put(f"{BASE}/rules/{rid}", json=bad, headers=admin)
    assert r.status_code == 422
    listed = (await client.get(f"{BASE}/rules", headers=admin)).json()["items"]
    assert [x["name"] for x in listed] == ["Clients"]
    dup = await client.post(f"{BASE}/rules", json=good, headers=admin)
    assert dup.status_code == 409 and dup.json()["error"]["fields"][0]["field"] == "name"
    not_json = await client.post(f"{BASE}/rules", content=b"[1,2", headers=admin)
    assert not_json.status_code in (400, 422)


async def test_reorder_decides_among_equal_priorities(
    client: httpx.AsyncClient, admin: dict[str, str], queues: dict[str, int]
) -> None:
    ids = []
    for rule in issue_rules(queues):
        ids.append((await client.post(f"{BASE}/rules", json=rule, headers=admin)).json()["id"])
    mail, clients, contract, tele = ids
    r = await client.post(
        f"{BASE}/rules/reorder", json={"ids": [contract, clients, mail, tele]}, headers=admin
    )
    assert r.status_code == 200, r.text
    assert [x["name"] for x in r.json()["items"]] == [
        "Telemarketing", "Contract signed", "Clients", "Mail",
    ]  # fmt: skip
    # Rules left out: the list was read before rules were added (409, read it again).
    r = await client.post(f"{BASE}/rules/reorder", json={"ids": [contract, clients]}, headers=admin)
    assert r.status_code == 409 and r.json()["error"]["fields"][0]["field"] == "ids"
    left_out = r.json()["error"]["fields"][0]["message"].split("left out: ")[1]
    assert sorted(map(int, left_out.split(", "))) == sorted([mail, tele])
    every = [contract, clients, mail, tele]
    r = await client.post(f"{BASE}/rules/reorder", json={"ids": [*every, 424242]}, headers=admin)
    assert r.status_code == 404 and r.json()["error"]["fields"][0]["field"] == "ids"
    # A rule twice is refused by the schema (uniqueItems), the rest as before.
    r = await client.post(f"{BASE}/rules/reorder", json={"ids": [*every, mail]}, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "ids"
    r = await client.post(f"{BASE}/rules/reorder", json={"ids": "x"}, headers=admin)
    assert r.status_code == 422
    listed = (await client.get(f"{BASE}/rules", headers=admin)).json()["items"]
    assert [x["id"] for x in listed] == [tele, contract, clients, mail]


async def test_dry_run_by_external_id_and_email(
    client: httpx.AsyncClient, admin: dict[str, str], queues: dict[str, int], demo: Demo
) -> None:
    for rule in issue_rules(queues):
        await client.post(f"{BASE}/rules", json=rule, headers=admin)
    body = {"contact": "client-42", "inbox_id": demo.inbox_id, "first_text": "hi"}
    r = await client.post(f"{BASE}/dry-run", json=body, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["matched_rule"]["name"] == "Clients"
    assert r.json()["decision"]["queue_name"] == "Business assistants"
    body = {"contact": "OLENA.kovalenko@example.com", "inbox_id": queues["email_inbox"],
            "to_address": TELEMARKETING}  # fmt: skip
    r = await client.post(f"{BASE}/dry-run", json=body, headers=admin)
    assert r.json()["matched_rule"]["name"] == "Telemarketing"
    r = await client.post(
        f"{BASE}/dry-run", json={"contact": "nobody", "inbox_id": demo.inbox_id}, headers=admin
    )
    assert r.status_code == 404 and r.json()["error"]["fields"][0]["field"] == "contact"
    r = await client.post(
        f"{BASE}/dry-run", json={"contact": "client-42", "inbox_id": 9999}, headers=admin
    )
    assert r.status_code == 404 and r.json()["error"]["fields"][0]["field"] == "inbox_id"
