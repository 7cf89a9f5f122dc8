"""The admin API of auto-reply rules: CRUD, and every refusal names its field."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from omniline import db
from omniline.autoreplies.models import AutoReplyRule, AutoReplyText
from tests.autoreplies.support import AGENT, admin_headers, create_rule, rule_body
from tests.conftest import Demo, bearer, staff_token


async def count_rows() -> tuple[int, int]:
    async with db.sessionmaker()() as session:
        rules = await session.scalar(select(func.count()).select_from(AutoReplyRule))
        texts = await session.scalar(select(func.count()).select_from(AutoReplyText))
        return int(rules or 0), int(texts or 0)


async def test_create_read_update_delete(client: httpx.AsyncClient, demo: Demo) -> None:
    h = await admin_headers(client)
    body = rule_body(
        queue_id=demo.queues["First line"],
        inbox_id=demo.inbox_id,
        texts=[
            {"language": "EN", "text": "Hello {contact_name}, this is {queue_name}."},
            {"language": "uk", "text": "Вітаємо, {contact_name}!"},
        ],
    )
    r = await client.post("/api/v1/autoreplies", json=body, headers=h)
    assert r.status_code == 201, r.text
    rule = r.json()
    assert rule["texts"] == [
        {"language": "en", "text": "Hello {contact_name}, this is {queue_name}."},
        {"language": "uk", "text": "Вітаємо, {contact_name}!"},
    ]
    rid = rule["id"]

    body["texts"] = [{"language": "en", "text": "Hi again"}]
    body["enabled"] = False
    r = await client.put(f"/api/v1/autoreplies/{rid}", json=body, headers=h)
    assert r.status_code == 200, r.text
    got = (await client.get(f"/api/v1/autoreplies/{rid}", headers=h)).json()
    assert got["enabled"] is False
    assert got["texts"] == [{"language": "en", "text": "Hi again"}]
    listing = (await client.get("/api/v1/autoreplies", headers=h)).json()["items"]
    assert [x["id"] for x in listing] == [rid]

    assert (await client.delete(f"/api/v1/autoreplies/{rid}", headers=h)).status_code == 204
    assert (await client.get(f"/api/v1/autoreplies/{rid}", headers=h)).status_code == 404
    assert await count_rows() == (0, 0)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"name": "  "}, "name", "must not be empty"),
        ({"kind": "farewell"}, "kind", "must be one of"),
        ({"inbox_id": 999999}, "inbox_id", "no such inbox"),
        ({"queue_id": 999999}, "queue_id", "no such queue"),
        ({"fallback_language": "zz"}, "fallback_language", "unknown language code"),
        ({"fallback_language": "uk"}, "fallback_language", "add a text in uk"),
        ({"texts": []}, "texts", "at least one language"),
        ({"texts": [{"language": "en", "text": " "}]}, "texts.0.text", "must not be empty"),
        (
            {"texts": [{"language": "en", "text": "ok"}, {"language": "klingon", "text": "x"}]},
            "texts.1.language",
            "unknown language code",
        ),
        (
            {"texts": [{"language": "en", "text": "Hi {first_name}"}]},
            "texts.0.text",
            "unknown variable {first_name}",
        ),
        (
            {"texts": [{"language": "en", "text": "{agent_name} is here"}]},
            "texts.0.text",
            "has no value in a greeting",
        ),
        ({"kind": "out_of_hours"}, "calendar_id", "choose the calendar"),
        ({"kind": "high_load"}, "min_position", "set a queue position"),
        ({"kind": "high_load", "min_position": -1}, "min_position", "between 0 and"),
    ],
)
async def test_refusals_name_the_field_and_save_nothing(
    client: httpx.AsyncClient, demo: Demo, change: dict[str, Any], field: str, words: str
) -> None:
    h = await admin_headers(client)
    r = await client.post("/api/v1/autoreplies", json=rule_body(**change), headers=h)
    # An id of nothing in the workspace is a 404 naming the field; the rest are invalid.
    assert r.status_code == (404 if "no such" in words else 422), r.text
    err = r.json()["error"]
    assert err["fields"][0]["field"] == field
    assert words in err["fields"][0]["message"]
    assert await count_rows() == (0, 0)


async def test_one_rule_per_kind_and_scope(client: httpx.AsyncClient, demo: Demo) -> None:
    h = await admin_headers(client)
    await create_rule(client, h, queue_id=demo.queues["First line"])
    r = await client.post(
        "/api/v1/autoreplies", json=rule_body(queue_id=demo.queues["First line"]), headers=h
    )
    assert r.status_code == 422
    assert "already sends this kind of reply" in r.json()["error"]["message"]
    # The same scope for another kind, and another scope for the same kind, are fine.
    await create_rule(client, h, kind="closing", queue_id=demo.queues["First line"])
    await create_rule(client, h, queue_id=demo.queues["Tech support"])


async def test_failed_update_keeps_the_old_texts(client: httpx.AsyncClient, demo: Demo) -> None:
    h = await admin_headers(client)
    rid = await create_rule(client, h)
    bad = rule_body(texts=[{"language": "en", "text": "new"}, {"language": "uk", "text": "{x}"}])
    r = await client.put(f"/api/v1/autoreplies/{rid}", json=bad, headers=h)
    assert r.status_code == 422
    got = (await client.get(f"/api/v1/autoreplies/{rid}", headers=h)).json()
    assert got["texts"] == [{"language": "en", "text": "greeting in English"}]


async def test_only_admins(client: httpx.AsyncClient, demo: Demo) -> None:
    h = bearer(await staff_token(client, *AGENT))
    assert (await client.get("/api/v1/autoreplies", headers=h)).status_code == 403
    r = await client.post("/api/v1/autoreplies", json=rule_body(), headers=h)
    assert r.status_code == 403
    assert await count_rows() == (0, 0)


async def test_preview_renders_sample_values(client: httpx.AsyncClient, demo: Demo) -> None:
    h = await admin_headers(client)
    r = await client.post(
        "/api/v1/autoreplies/preview",
        json={"kind": "high_load", "text": "You are number {position}, about {wait_minutes} min"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"text": "You are number 4, about 12 min"}
    r = await client.post(
        "/api/v1/autoreplies/preview", json={"kind": "closing", "text": "{position}"}, headers=h
    )
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["field"] == "text"
