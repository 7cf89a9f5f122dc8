from __future__ import annotations

from dataclasses import dataclass

import pytest

from omniline import db


@dataclass
class Bank:
    workspace_id: int
    slug: str
    users: dict[str, int]


@pytest.fixture
async def bank(engine: None) -> Bank:
    """A workspace in Kyiv time with two agents, one of them named like a server in the file."""
    from omniline.auth import service as auth
    from omniline.workspaces import service as workspaces

    async with db.unit_of_work() as session:
        ws = await workspaces.do_create_workspace(session, name="Bank", slug="bank")
        ws.timezone = "Europe/Kyiv"
        dorit = await auth.do_create_user(
            session, workspace_id=ws.id, email="dorit@bank.test", name="Dorit", password="x" * 12
        )
        admin = await auth.do_create_user(
            session,
            workspace_id=ws.id,
            email="admin@bank.test",
            name="Admin",
            password="x" * 12,
            role="admin",
        )
        return Bank(ws.id, ws.slug, {"dorit": dorit.id, "admin": admin.id})
