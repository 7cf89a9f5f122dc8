"""Helpers of the bot tests: a lender's flow, a CRM on localhost, customers in the widget."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from sqlalchemy import select

from omniline import db
from omniline.bots.models import BotSession
from omniline.conversations.models import Conversation, ConversationEvent, Message
from tests.channels.telegram.helpers import run_jobs
from tests.conftest import Demo, bearer, staff_token, visitor

ADMIN = ("admin@demo.omniline", "demo-admin")


class Crm:
    """The lender's system: ``/loans/<phone>`` answers by the phone's last digit.

    A number ending in 3 is looked up slowly: the answer waits until ``gate`` is set (at
    most 8 s); ``asked`` is set when such a call comes in."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.asked = threading.Event()
        self.gate = threading.Event()
        self.answered = threading.Event()
        crm = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                crm.calls.append({"path": self.path, "auth": self.headers.get("Authorization")})
                last = self.path.rstrip("/")[-1]
                if last == "0":
                    self._answer(500, b'{"error": "down"}')
                elif last == "1":
                    self._answer(200, b"<html>not json</html>")
                elif last == "2":
                    time.sleep(1.5)
                    self._answer(200, b'{"data": {"status": "late"}}')
                elif last == "3":
                    crm.asked.set()
                    crm.gate.wait(8)
                    self._answer(200, b'{"data": {"status": "approved", "amount": 3}}')
                    crm.answered.set()
                else:
                    body = {"data": {"status": "approved", "amount": 15000}}
                    self._answer(200, json.dumps(body).encode())

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def crm_fixture() -> Iterator[Crm]:
    crm = Crm()
    try:
        yield crm
    finally:
        crm.stop()


def lender_flow(crm_url: str, crm_seconds: float = 0.5) -> dict[str, Any]:
    """Greeting menu: loan status (phone -> CRM), a person, and FAQ-free basics; en and ru."""
    return {
        "languages": ["en", "ru"],
        "fallback_language": "en",
        "start": "menu",
        "nodes": [
            {
                "id": "menu",
                "type": "menu",
                "text": {"en": "Hello! How can we help?", "ru": "Здравствуйте! Чем помочь?"},
                "options": [
                    {"label": {"en": "Loan status", "ru": "Статус займа"}, "next": "phone"},
                    {"label": {"en": "Talk to a person", "ru": "Позвать человека"},
                     "next": "person"},
                    {"label": {"en": "Nothing, thanks", "ru": "Ничего, спасибо"}, "next": "bye"},
                ],
            },
            {
                "id": "phone",
                "type": "ask",
                "text": {"en": "Your phone number?", "ru": "Ваш номер телефона?"},
                "variable": "phone",
                "check": "phone",
                "retries": 1,
                "next": "crm",
            },
            {
                "id": "crm",
                "type": "http",
                "url": crm_url + "/loans/{{phone}}",
                "headers": {"Authorization": "Bearer {{secret.crm_token}}"},
                "save": {"status": "data.status", "amount": "data.amount"},
                "timeout_seconds": crm_seconds,
                "next": "status",
                "error": "crm_down",
            },
            {
                "id": "status",
                "type": "message",
                "text": {"en": "Your application is {{status}} ({{amount}}).",
                         "ru": "Ваша заявка: {{status}} ({{amount}})."},
                "next": "bye",
            },
            {
                "id": "crm_down",
                "type": "handoff",
                "text": {"en": "Let me find a colleague.", "ru": "Позову коллегу."},
                "topic": "loan status",
            },
            {"id": "person", "type": "handoff", "topic": "person", "priority": 2},
            {"id": "bye", "type": "end", "text": {"en": "Goodbye!", "ru": "До свидания!"}},
        ],
    }  # fmt: skip


async def admin(client: httpx.AsyncClient) -> dict[str, str]:
    return bearer(await staff_token(client, *ADMIN))


async def publish(
    client: httpx.AsyncClient,
    h: dict[str, str],
    graph: dict[str, Any],
    *,
    key: str = "greeting",
    inbox_id: int | None = None,
    secret: str | None = "s3cret",
) -> int:
    if secret is not None:
        r = await client.put("/api/v1/bots/secrets/crm_token", json={"value": secret}, headers=h)
        assert r.status_code == 204, r.text
    r = await client.post(
        "/api/v1/bots/flows", json={"key": key, "name": key.title(), "graph": graph}, headers=h
    )
    assert r.status_code == 201, r.text
    flow_id = int(r.json()["id"])
    assert r.json()["problems"] == [], r.json()["problems"]
    r = await client.post(f"/api/v1/bots/flows/{flow_id}/publish", json={}, headers=h)
    assert r.status_code == 201, r.text
    if inbox_id is not None:
        r = await client.put(
            f"/api/v1/bots/inboxes/{inbox_id}", json={"flow_id": flow_id}, headers=h
        )
        assert r.status_code == 200, r.text
    return flow_id


class Customer:
    """A visitor of the lender's site writing in the widget; the bot's turns run as jobs."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.token = token
        self.conversation_id = 0
        self.seen = 0

    @classmethod
    async def open(cls, client: httpx.AsyncClient, **session: Any) -> Customer:
        return cls(client, await visitor(client, **session))

    async def send(self, text: str, payload: str | None = None, *, run: bool = True) -> None:
        body: dict[str, Any] = {"text": text}
        if payload:
            body["payload"] = payload
        r = await self.client.post("/api/v1/widget/messages", json=body, headers=bearer(self.token))
        assert r.status_code == 201, r.text
        self.conversation_id = int(r.json()["conversation_id"])
        if run:
            await run_jobs()

    async def replies(self) -> list[dict[str, Any]]:
        """The bot's messages since the last call."""
        r = await self.client.get("/api/v1/widget/messages", headers=bearer(self.token))
        assert r.status_code == 200, r.text
        mine = [m for m in r.json()["items"] if m["direction"] == "out"]
        new, self.seen = mine[self.seen :], len(mine)
        return new


async def conversation(conv_id: int) -> Conversation:
    async with db.sessionmaker()() as session:
        conv = await session.get(Conversation, conv_id)
        assert conv is not None
        return conv


async def bot_session(conv_id: int) -> BotSession:
    async with db.sessionmaker()() as session:
        bs = await session.scalar(select(BotSession).where(BotSession.conversation_id == conv_id))
        assert bs is not None
        return bs


async def events(conv_id: int) -> list[ConversationEvent]:
    async with db.sessionmaker()() as session:
        rows = await session.scalars(
            select(ConversationEvent)
            .where(ConversationEvent.conversation_id == conv_id)
            .order_by(ConversationEvent.id)
        )
        return list(rows)


async def outbound(conv_id: int) -> list[Message]:
    async with db.sessionmaker()() as session:
        rows = await session.scalars(
            select(Message)
            .where(Message.conversation_id == conv_id, Message.direction == "out")
            .order_by(Message.id)
        )
        return list(rows)


__all__ = ["Demo"]
