"""The admin page of the audit log: filters, escaping, paging links, admins only."""

from __future__ import annotations

import httpx

from omniline import db
from omniline.audit import service as audit
from tests.conftest import Demo
from tests.workspaces.test_admin_pages import login, login_admin


async def test_page_filters_and_escapes(client: httpx.AsyncClient, demo: Demo) -> None:
    async with db.unit_of_work() as session:
        await audit.record(
            session,
            "sample.changed",
            workspace_id=demo.workspace_id,
            target_type="queue",
            target_id=7,
            target_label="<script>alert(1)</script>",
        )
        await audit.record(session, "other.changed", workspace_id=demo.workspace_id)
    await login_admin(client)
    page = await client.get("/admin/audit", params={"action": "sample.", "from": "2000-01-01"})
    assert page.status_code == 200, page.text
    assert "sample.changed" in page.text and "other.changed" not in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text
    junk = await client.get("/admin/audit", params={"actor": "x", "from": "never", "before": "-1"})
    assert junk.status_code == 200


async def test_page_is_for_admins(client: httpx.AsyncClient, demo: Demo) -> None:
    await login(client, "agent@demo.omniline", "demo-agent")
    r = await client.get("/admin/audit")
    assert r.status_code == 403
