"""KPI targets, and exports that hold the same figures as the API, safe in a spreadsheet."""

from __future__ import annotations

import csv
import io

import httpx
import openpyxl
from sqlalchemy import update

from omniline import db
from omniline.auth.models import User
from omniline.reports.export import safe_cell, to_csv
from omniline.reports.targets import attainment
from tests.analytics.log import Log
from tests.conftest import bearer, staff_token
from tests.workspaces.test_admin_pages import login

RANGE = {"from": "2026-03-28", "to": "2026-04-01"}
EVIL = '=HYPERLINK("http://x","<b>x</b>")'


async def headers(client: httpx.AsyncClient, who: str) -> dict[str, str]:
    password = "demo-agent" if who.startswith("agent") else f"demo-{who}"
    return bearer(await staff_token(client, f"{who}@demo.omniline", password))


async def test_targets_defaults_changes_and_refusals(client: httpx.AsyncClient, log: Log) -> None:
    sup = await headers(client, "supervisor")
    r = await client.get("/api/v1/reports/targets", headers=sup)
    assert r.status_code == 200
    sl = r.json()["targets"]["service_level"]
    assert sl == {"value": 0.8, "default": 0.8, "better": "higher", "unit": "ratio"}
    assert r.json()["targets"]["asa_s"]["value"] == 20.0
    r = await client.put(
        "/api/v1/reports/targets",
        json={"targets": {"service_level": 0.9, "frt_s": 45}},
        headers=sup,
    )
    assert r.status_code == 200, r.text
    assert r.json()["targets"]["service_level"]["value"] == 0.9
    admin = await headers(client, "admin")
    got = (await client.get("/api/v1/reports/targets", headers=admin)).json()["targets"]
    assert got["service_level"]["value"] == 0.9 and got["frt_s"]["value"] == 45.0
    r = await client.put(
        "/api/v1/reports/targets", json={"targets": {"service_level": None}}, headers=admin
    )
    assert r.json()["targets"]["service_level"]["value"] == 0.8
    assert r.json()["targets"]["frt_s"]["value"] == 45.0
    agent = await headers(client, "agent")
    r = await client.put("/api/v1/reports/targets", json={"targets": {"asa_s": 10}}, headers=agent)
    assert r.status_code == 403
    for bad in ({"targets": {"service_level": 80}}, {"targets": {"magic": 1}}, {"targets": {}}):
        r = await client.put("/api/v1/reports/targets", json=bad, headers=admin)
        assert r.status_code == 422, bad
        assert r.json()["error"]["fields"][0]["field"].startswith("targets")


def test_attainment_colours() -> None:
    assert attainment("service_level", 0.85, 0.8) == "green"
    assert attainment("service_level", 0.75, 0.8) == "amber"  # 0.05 short: within 10 %
    assert attainment("service_level", 0.6, 0.8) == "red"
    assert attainment("asa_s", 21.0, 20.0) == "amber"
    assert attainment("asa_s", 30.0, 20.0) == "red"
    assert attainment("asa_s", 5.0, 20.0) == "green"
    assert attainment("csat", None, 0.85) is None


def test_csv_cells_that_look_like_formulas_stay_text() -> None:
    for text in ("=1+1", "+7", "-2+3", "@SUM(A1)", "\t=1"):
        assert safe_cell(text) == "'" + text
    assert safe_cell(-2) == -2 and safe_cell(0.5) == 0.5 and safe_cell(None) == ""
    assert safe_cell("Anna") == "Anna"
    rows = list(csv.reader(io.StringIO(to_csv([["name"], ["=cmd"], [-1]]).decode("utf-8-sig"))))
    assert rows == [["name"], ["'=cmd"], ["-1"]]


async def test_csv_export_of_a_breakdown_equals_the_api(
    client: httpx.AsyncClient, log: Log
) -> None:
    async with db.unit_of_work() as session:
        await session.execute(update(User).where(User.id == log.agent).values(name=EVIL))
    h = await headers(client, "admin")
    api = await client.get(
        "/api/v1/reports/breakdown", params={**RANGE, "dimension": "agent"}, headers=h
    )
    r = await client.get(
        "/api/v1/reports/export",
        params={**RANGE, "dimension": "agent", "kind": "breakdown", "format": "csv"},
        headers=h,
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert (
        'filename="report-breakdown-2026-03-28-2026-04-01.csv"' in r.headers["content-disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    by_label = {row["label"]: row for row in rows}
    assert "'" + EVIL in by_label and EVIL not in by_label
    for want in api.json()["rows"]:
        label = want["label"] if want["label"] != EVIL else "'" + EVIL
        got = by_label[label]
        assert int(got["conversations"]) == want["metrics"]["conversations"]
        assert got["service_level"] == (
            ""
            if want["metrics"]["service_level"] is None
            else str(want["metrics"]["service_level"])
        )


async def test_xlsx_export_of_the_summary_equals_the_api(
    client: httpx.AsyncClient, log: Log
) -> None:
    h = await headers(client, "supervisor")
    params = {**RANGE, "by": "day", "compare": "true", "channel": "voice"}
    api = (await client.get("/api/v1/reports/summary", params=params, headers=h)).json()
    r = await client.get(
        "/api/v1/reports/export", params={**params, "format": "xlsx", "kind": "summary"}, headers=h
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    header = values[0]
    table = {row[0]: dict(zip(header, row, strict=True)) for row in values[1:]}
    assert set(api["periods"]) | {"total", "previous period"} == set(table)
    assert table["total"]["offered"] == api["total"]["offered"] == 4
    assert table["total"]["service_level"] == api["total"]["service_level"]
    assert table["previous period"]["offered"] == api["previous"]["offered"]
    for start, figures in api["periods"].items():
        assert table[start]["offered"] == figures["offered"]


async def test_export_refusals(client: httpx.AsyncClient, log: Log) -> None:
    h = await headers(client, "admin")
    r = await client.get("/api/v1/reports/export", params={**RANGE, "format": "pdf"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "format"
    r = await client.get(
        "/api/v1/reports/export", params={"from": "2026-04-01", "to": "2026-03-01"}, headers=h
    )
    assert 400 <= r.status_code < 500
    agent = await headers(client, "agent")
    r = await client.get(
        "/api/v1/reports/export", params={**RANGE, "agent_id": log.agent2}, headers=agent
    )
    assert r.status_code == 403


async def test_the_page_is_for_leads_and_escapes(client: httpx.AsyncClient, log: Log) -> None:
    await login(client, "agent@demo.omniline", "demo-agent")
    assert (await client.get("/reports")).status_code == 403
    async with db.unit_of_work() as session:
        await session.execute(update(User).where(User.id == log.agent2).values(name="<i>Bo</i>"))
    await login(client, "supervisor@demo.omniline", "demo-supervisor")
    page = await client.get("/reports")
    assert page.status_code == 200
    assert "<i>Bo</i>" not in page.text and "&lt;i&gt;Bo&lt;/i&gt;" in page.text
    assert "vendor/echarts/echarts.min.js" in page.text and "reports/reports.js" in page.text
