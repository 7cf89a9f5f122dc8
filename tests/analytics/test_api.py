"""GET /api/v1/reports/*: the figures of tests/analytics/log.py over HTTP, who may see
what, and the requests that are refused with a clear 4xx."""

from __future__ import annotations

import httpx
import pytest

from tests.analytics.log import Log
from tests.conftest import bearer, staff_token

RANGE = {"from": "2026-03-28", "to": "2026-04-01"}


async def headers(client: httpx.AsyncClient, who: str) -> dict[str, str]:
    password = "demo-agent" if who.startswith("agent") else f"demo-{who}"
    return bearer(await staff_token(client, f"{who}@demo.omniline", password))


async def test_summary_with_comparison(client: httpx.AsyncClient, log: Log) -> None:
    h = await headers(client, "supervisor")
    r = await client.get(
        "/api/v1/reports/summary",
        params={**RANGE, "by": "day", "channel": "voice", "compare": "true"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["tz"] == "Europe/Berlin" and len(body["periods"]) == 5
    assert body["total"]["offered"] == 4 and body["total"]["service_level"] == 0.3333
    # The five days before (23-27 March) hold nothing.
    assert body["previous"]["offered"] == 0 and body["previous"]["service_level"] is None
    r = await client.get(
        "/api/v1/reports/summary",
        params={"from": "2026-04-02", "to": "2026-04-06", "compare": "true"},
        headers=h,
    )
    # The previous five days are 28 March - 1 April: the whole log.
    assert r.json()["previous"]["conversations"] == 8
    assert r.json()["total"]["conversations"] == 0


async def test_breakdown_and_heatmap(client: httpx.AsyncClient, log: Log) -> None:
    h = await headers(client, "admin")
    r = await client.get(
        "/api/v1/reports/breakdown", params={**RANGE, "dimension": "agent"}, headers=h
    )
    assert r.status_code == 200, r.text
    rows = {row["label"]: row["metrics"]["conversations"] for row in r.json()["rows"]}
    # C3, C4, C6, C7 nobody's; C1, C5 Anna's; C2, C8 Boris's.
    assert rows == {"": 4, "Anna Agent": 2, "Boris Agent": 2}
    r = await client.get(
        "/api/v1/reports/heatmap", params={**RANGE, "metric": "offered"}, headers=h
    )
    assert r.status_code == 200
    cells = r.json()["cells"]
    assert len(cells) == 168
    assert {(d, hr): v for d, hr, v in cells if v} == {
        (5, 9): 2,  # Saturday 09:00-10:00 Berlin: C1, C2
        (5, 10): 2,  # C3, C4
        (6, 1): 1,  # Sunday 01:30 (+01:00): C5
        (6, 3): 1,  # Sunday 03:30 (+02:00): C6
        (0, 13): 1,  # Monday 13:00 (+02:00): C8 (C7 never reached a person)
    }


async def test_an_agent_sees_only_their_own_figures(client: httpx.AsyncClient, log: Log) -> None:
    h = await headers(client, "agent")
    r = await client.get("/api/v1/reports/summary", params=RANGE, headers=h)
    assert r.status_code == 200
    assert r.json()["total"]["conversations"] == 2  # C1 and C5
    r = await client.get(
        "/api/v1/reports/breakdown", params={**RANGE, "dimension": "agent"}, headers=h
    )
    assert [row["label"] for row in r.json()["rows"]] == ["Anna Agent"]
    r = await client.get(
        "/api/v1/reports/summary", params={**RANGE, "agent_id": log.agent2}, headers=h
    )
    assert r.status_code == 403
    assert "own figures" in r.text
    r = await client.get("/api/v1/reports/summary", params=RANGE)
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-02-30", "to": "2026-03-01"}, "from"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "from"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "to"),  # 367 days
        ({**RANGE, "tz": "Mars/Olympus"}, "tz"),
        ({**RANGE, "tag": ""}, "tag"),
        ({**RANGE, "by": "year"}, "by"),
        ({**RANGE, "queue_id": "0"}, "queue_id"),
        ({"to": "2026-03-01"}, "from"),
        ({"from": "0001-01-01", "to": "0001-01-02"}, "from"),
    ],
)
async def test_bad_requests_are_4xx(
    client: httpx.AsyncClient, log: Log, params: dict[str, str], field: str
) -> None:
    h = await headers(client, "admin")
    # The heatmap has no periods ("by").
    for path in ("summary",) if field == "by" else ("summary", "heatmap"):
        r = await client.get(f"/api/v1/reports/{path}", params=params, headers=h)
        assert r.status_code == 422, r.text
        assert field in r.text
    r = await client.get(
        "/api/v1/reports/breakdown", params={**RANGE, "dimension": "planet"}, headers=h
    )
    assert r.status_code == 422 and "dimension" in r.text
