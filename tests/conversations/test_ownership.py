"""One ownership rule on every path that changes who has a conversation (assign, unassign,
pick, transfer): an agent takes what is unassigned or already theirs and releases their own;
taking, giving or releasing someone else's needs supervisor or admin rights; QA only reads."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from omniline import db
from omniline.auth import service as users
from tests.conftest import Demo, bearer, staff_token, visitor

PASSWORDS = {
    "agent": "demo-agent",
    "agent2": "demo-agent",
    "supervisor": "demo-supervisor",
    "admin": "demo-admin",
    "qa": "qa-password-1",
}
OK, TAKEN, FORBIDDEN = 200, 409, 403

# role -> path -> who has the conversation before -> expected status
# "unassigned", "self" (the acting user), "colleague" (Boris, another agent of the queue)
LEAD = {"unassigned": OK, "self": OK, "colleague": OK}
AGENT_OWN_ONLY = {"unassigned": OK, "self": OK, "colleague": TAKEN}
QA = {"unassigned": FORBIDDEN, "self": FORBIDDEN, "colleague": FORBIDDEN}
EXPECTED: dict[str, dict[str, dict[str, int]]] = {
    "agent": {
        "assign_to_me": AGENT_OWN_ONLY,
        "unassign": AGENT_OWN_ONLY,
        "pick": AGENT_OWN_ONLY,
        "transfer": AGENT_OWN_ONLY,
        "assign_to_supervisor": {"unassigned": FORBIDDEN, "self": FORBIDDEN, "colleague": TAKEN},
    },
    "supervisor": {
        "assign_to_me": LEAD,
        "unassign": LEAD,
        "pick": LEAD,
        "transfer": LEAD,
        "assign_to_supervisor": LEAD,
    },
    "admin": {
        "assign_to_me": LEAD,
        "unassign": LEAD,
        "pick": LEAD,
        "transfer": LEAD,
        "assign_to_supervisor": LEAD,
    },
    "qa": {path: QA for path in ("assign_to_me", "unassign", "pick", "transfer")},
}
CASES = [
    (role, path, before, status)
    for role, paths in EXPECTED.items()
    for path, by_state in paths.items()
    for before, status in by_state.items()
    if not (role == "qa" and before == "self")  # QA never holds a conversation
]


async def _login(client: httpx.AsyncClient, who: str) -> str:
    return await staff_token(client, f"{who}@demo.omniline", PASSWORDS[who])


async def _conversation(client: httpx.AsyncClient, demo: Demo) -> int:
    token = await visitor(client)
    r = await client.post(
        "/api/v1/widget/messages", json={"text": "Who will help me?"}, headers=bearer(token)
    )
    assert r.status_code == 201, r.text
    return int(r.json()["conversation_id"])


async def _set_owner(client: httpx.AsyncClient, conv: int, user_id: int | None) -> None:
    admin = await _login(client, "admin")
    r = await client.post(
        f"/api/v1/conversations/{conv}/assign", json={"assignee_id": user_id}, headers=bearer(admin)
    )
    assert r.status_code == 200, r.text


async def _act(
    client: httpx.AsyncClient, token: str, path: str, conv: int, me: int, demo: Demo
) -> httpx.Response:
    url = f"/api/v1/conversations/{conv}"
    body: dict[str, Any]
    if path == "pick":
        return await client.post(f"{url}/pick", headers=bearer(token))
    if path == "transfer":
        body = {"queue_id": demo.queues["Tech support"], "note": "second line, please"}
        return await client.post(f"{url}/transfer", json=body, headers=bearer(token))
    target = {
        "assign_to_me": me,
        "unassign": None,
        "assign_to_supervisor": demo.users["supervisor"],
    }[path]
    return await client.post(f"{url}/assign", json={"assignee_id": target}, headers=bearer(token))


@pytest.mark.parametrize(("role", "path", "before", "expected"), CASES)
async def test_one_ownership_rule(
    client: httpx.AsyncClient, demo: Demo, role: str, path: str, before: str, expected: int
) -> None:
    if role == "qa":
        async with db.unit_of_work() as session:
            qa = await users.do_create_user(
                session,
                workspace_id=demo.workspace_id,
                email="qa@demo.omniline",
                name="Quinn QA",
                password=PASSWORDS["qa"],
                role="qa",
            )
            me = qa.id
    else:
        me = demo.users[role]
    conv = await _conversation(client, demo)
    owner = {"unassigned": None, "self": me, "colleague": demo.users["agent2"]}[before]
    if role == "agent2":
        raise AssertionError("the colleague is Boris; act as someone else")
    await _set_owner(client, conv, owner)

    token = await _login(client, role)
    r = await _act(client, token, path, conv, me, demo)
    assert r.status_code == expected, (role, path, before, r.text)

    # Whatever the path, a refusal leaves the conversation with whoever had it.
    admin = await _login(client, "admin")
    after = (await client.get(f"/api/v1/conversations/{conv}", headers=bearer(admin))).json()
    holder = (after.get("assignee") or {}).get("id")
    if expected != OK:
        assert holder == owner
        assert after["queue"]["id"] == demo.queues["First line"]
    if expected == TAKEN:
        assert "Boris Agent" in r.json()["error"]["message"]
