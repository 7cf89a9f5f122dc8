"""A local stand-in for Meta's Graph API as the WhatsApp Cloud API uses it.

It serves on a free port in a thread of its own and answers the documented shapes:
the phone number node, ``message_templates`` with paging cursors, ``messages``,
``media`` uploads, media nodes with a download URL, and errors as
``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``. Every call is
recorded, the bearer token is checked, and a test may queue failures for ``messages``.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.conftest import free_port

TOKEN = "EAAGtestTOKENforTheFakeGraph0123456789"
PHONE_ID = "106540352242922"
WABA_ID = "102290129340398"
VERSION = "v26.0"
PAGE_SIZE = 2  # small, so that fetching the templates must follow the cursors
SEND_KINDS = ("text", "interactive", "template", "image", "document", "video")

TEMPLATES: list[dict[str, Any]] = [
    {
        "id": "1001",
        "name": "payment_reminder",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Payment reminder"},
            {"type": "BODY", "text": "Hello {{1}}, your payment of {{2}} is due on {{3}}."},
            {"type": "FOOTER", "text": "MicroLend"},
        ],
    },
    {
        "id": "1002",
        "name": "follow_up",
        "language": "uk",
        "status": "APPROVED",
        "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Вітаємо! Чи можемо ще чимось допомогти?"}],
    },
    {
        "id": "1003",
        "name": "new_offer",
        "language": "en_US",
        "status": "PENDING",
        "category": "MARKETING",
        "components": [{"type": "BODY", "text": "A new offer for you, {{1}}!"}],
    },
    {
        "id": "1004",
        "name": "card_photo",
        "language": "en_US",
        "status": "APPROVED",
        "category": "MARKETING",
        "components": [
            {"type": "HEADER", "format": "IMAGE"},
            {"type": "BODY", "text": "Your new card is ready."},
        ],
    },
    {
        "id": "1005",
        "name": "order_named",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "parameter_format": "NAMED",
        "components": [{"type": "BODY", "text": "Dear {{customer}}, your order {{order}}."}],
    },
]


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)


@dataclass
class Failure:
    status: int
    code: int
    message: str
    subcode: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


def error(status: int, code: int, message: str, subcode: int | None = None) -> Response:
    err: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEfGhIjK",
    }
    if subcode is not None:
        err["error_subcode"] = subcode
    return json_response({"error": err}, status)


def json_response(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status, media_type="application/json")


class FakeGraph:
    def __init__(self) -> None:
        self.token = TOKEN
        self.calls: list[Call] = []
        self.sent: list[dict[str, Any]] = []  # accepted message bodies
        self.failures: list[Failure] = []
        self.templates = [dict(t) for t in TEMPLATES]
        self.media: dict[str, tuple[bytes, str]] = {}
        self.announced_size: dict[str, int] = {}
        self.downloads: list[str] = []
        self._next = 1
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # What a test sets up -------------------------------------------------------------
    def fail_next(self, status: int, code: int, message: str, **extra: Any) -> None:
        """The next POST /messages answers this error instead."""
        self.failures.append(Failure(status, code, message, **extra))

    def add_media(
        self, media_id: str, data: bytes, mime: str, announced: int | None = None
    ) -> None:
        self.media[media_id] = (data, mime)
        if announced is not None:
            self.announced_size[media_id] = announced

    def calls_to(self, suffix: str, method: str = "POST") -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path.endswith(suffix)]

    # The server ----------------------------------------------------------------------
    def start(self) -> None:
        routes = [
            Route("/download/{media_id}", self.download, methods=["GET"]),
            Route("/{version}/{node}/messages", self.messages, methods=["POST"]),
            Route("/{version}/{node}/media", self.upload, methods=["POST"]),
            Route("/{version}/{node}/message_templates", self.list_templates, methods=["GET"]),
            Route("/{version}/{node}", self.node, methods=["GET"]),
        ]
        app = Starlette(routes=routes)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: asyncio.run(self._server.serve()))
        self._thread.start()
        for _ in range(500):
            if self._server.started:
                return
            time.sleep(0.01)
        raise RuntimeError("the fake Graph API did not start")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)

    # Handlers ------------------------------------------------------------------------
    async def _record(self, request: Request) -> tuple[Call, Response | None]:
        call = Call(request.method, request.url.path, dict(request.query_params))
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("application/json"):
            call.json = orjson.loads(await request.body())
        elif ctype.startswith("multipart/form-data"):
            form = await request.form()
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    call.files[key] = (
                        value.filename or "",
                        value.content_type or "",
                        await value.read(),
                    )
                else:
                    call.form[key] = str(value)
        self.calls.append(call)
        return call, self._check(request)

    def _check(self, request: Request) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return error(401, 190, "Error validating access token: Session has expired.", 463)
        version = request.path_params.get("version")
        if version is not None and version != VERSION:
            return error(400, 2500, f"Unknown path components: /{version}")
        return None

    async def node(self, request: Request) -> Response:
        _, refused = await self._record(request)
        if refused:
            return refused
        node = request.path_params["node"]
        if node == PHONE_ID:
            return json_response(
                {
                    "id": PHONE_ID,
                    "display_phone_number": "+380 44 123 4567",
                    "verified_name": "MicroLend",
                    "quality_rating": "GREEN",
                }
            )
        if node in self.media:
            data, mime = self.media[node]
            size = self.announced_size.get(node, len(data))
            return json_response(
                {
                    "messaging_product": "whatsapp",
                    "url": f"{self.url}/download/{node}",
                    "mime_type": mime,
                    "sha256": "0" * 64,
                    "file_size": size,
                    "id": node,
                }
            )
        return unknown(node)

    async def list_templates(self, request: Request) -> Response:
        _, refused = await self._record(request)
        if refused:
            return refused
        if request.path_params["node"] != WABA_ID:
            return unknown(request.path_params["node"])
        start = int(request.query_params.get("after") or 0)
        size = min(int(request.query_params.get("limit") or 25), PAGE_SIZE)
        page = self.templates[start : start + size]
        paging: dict[str, Any] = {"cursors": {"before": str(start), "after": str(start + size)}}
        if start + size < len(self.templates):
            paging["next"] = f"https://graph.facebook.com/{VERSION}/{WABA_ID}/message_templates"
        return json_response({"data": page, "paging": paging})

    async def upload(self, request: Request) -> Response:
        call, refused = await self._record(request)
        if refused:
            return refused
        if call.form.get("messaging_product") != "whatsapp" or "file" not in call.files:
            return error(400, 100, "(#100) The parameter messaging_product is required.")
        media_id = f"{9000 + self._next}"
        self._next += 1
        _name, mime, data = call.files["file"]
        self.media[media_id] = (data, call.form.get("type") or mime)
        return json_response({"id": media_id})

    async def messages(self, request: Request) -> Response:
        call, refused = await self._record(request)
        if refused:
            return refused
        if request.path_params["node"] != PHONE_ID:
            return unknown(request.path_params["node"])
        if self.failures:
            f = self.failures.pop(0)
            answer = error(f.status, f.code, f.message, f.subcode)
            answer.headers.update(f.headers)
            return answer
        body = call.json if isinstance(call.json, dict) else {}
        problem = self._invalid(body)
        if problem:
            return error(400, problem[0], problem[1])
        wamid = f"wamid.HBgM{self._next:08d}"
        self._next += 1
        self.sent.append(body)
        to = body.get("to") or body.get("recipient")
        return json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": wamid}],
            }
        )

    def _invalid(self, body: dict[str, Any]) -> tuple[int, str] | None:
        if body.get("messaging_product") != "whatsapp":
            return 100, "(#100) The parameter messaging_product is required."
        if not body.get("to") and not body.get("recipient"):
            return 100, "(#100) The parameter to is required."
        kind = body.get("type")
        if kind not in SEND_KINDS or not isinstance(body.get(kind), dict):
            return 100, f"(#100) Param type must be one of {SEND_KINDS}"
        part = body[kind]
        if kind == "text":
            text = part.get("body") or ""
            return None if 0 < len(text) <= 4096 else (100, "(#100) text.body is invalid")
        if kind == "interactive":
            return _check_interactive(part)
        if kind == "template":
            return self._check_template(part)
        if part.get("id") not in self.media:
            return 131053, "Media upload error: unknown media id"
        return None

    def _check_template(self, part: dict[str, Any]) -> tuple[int, str] | None:
        code = (part.get("language") or {}).get("code")
        found = [
            t
            for t in self.templates
            if t["name"] == part.get("name") and t["language"] == code and t["status"] == "APPROVED"
        ]
        if not found:
            return 132001, "Template name does not exist in the translation"
        body = next(c["text"] for c in found[0]["components"] if c["type"] == "BODY")
        wanted = len(set(re.findall(r"\{\{\s*(\w+)\s*\}\}", body)))
        params = [
            p
            for c in part.get("components") or []
            if c.get("type") == "body"
            for p in c["parameters"]
        ]
        if len(params) != wanted:
            return 132000, "Number of parameters does not match the expected number of params"
        return None

    async def download(self, request: Request) -> Response:
        _, refused = await self._record(request)
        if refused:
            return refused
        media_id = request.path_params["media_id"]
        if media_id not in self.media:
            return Response(b"not found", 404)
        self.downloads.append(media_id)
        data, mime = self.media[media_id]
        return Response(data, media_type=mime)


def unknown(node: str) -> Response:
    message = (
        f"Unsupported get request. Object with ID '{node}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation."
    )
    return error(400, 100, message, 33)


def _check_interactive(part: dict[str, Any]) -> tuple[int, str] | None:
    body = (part.get("body") or {}).get("text") or ""
    if not body or len(body) > 1024:
        return 131009, "Parameter value is not valid: interactive body text"
    action = part.get("action") or {}
    if part.get("type") == "button":
        buttons = action.get("buttons") or []
        titles = [b["reply"]["title"] for b in buttons]
        if not 1 <= len(buttons) <= 3 or any(len(t) > 20 for t in titles):
            return 131009, "Parameter value is not valid: buttons"
        return None
    if part.get("type") == "list":
        rows = [r for s in action.get("sections") or [] for r in s.get("rows") or []]
        if not 1 <= len(rows) <= 10 or any(len(r["title"]) > 24 for r in rows):
            return 131009, "Parameter value is not valid: rows"
        if not action.get("button") or len(action["button"]) > 20:
            return 131009, "Parameter value is not valid: button"
        return None
    return 131009, "Parameter value is not valid: interactive type"
