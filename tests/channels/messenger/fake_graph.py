"""A local stand-in for the Graph API of one Facebook Page (Send API and page calls).

It checks the version in the path and the page token in the query, answers in the
documented shapes (``{"recipient_id", "message_id"}`` or ``{"error": {...}}`` with HTTP
400), checks quick-reply and template limits, and fails chosen sends once.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

PAGE_ID = "104567890123456"
TOKEN = "EAAGpage-token-0123456789abcdef"
VERSION = "v24.0"
APP_SECRET = "0123456789abcdef0123456789abcdef"
MESSAGING_TYPES = {"RESPONSE", "UPDATE", "MESSAGE_TAG"}
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


def graph_error(code: int, message: str, status: int = 400, **extra: Any) -> JSONResponse:
    body = {"message": message, "type": "OAuthException", "code": code, **extra}
    return JSONResponse({"error": {**body, "fbtrace_id": "AbCdEf"}}, status_code=status)


@dataclass
class FakeGraph:
    base: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)
    subscribed: list[str] = field(default_factory=list)
    # Answers for the next sends, in order: an error, or None to let that send through.
    fail_next: list[JSONResponse | None] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=lambda: {"photo.png": PNG})
    _mids: Any = field(default_factory=lambda: itertools.count(1))

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/{version}/me/messages", self._send, methods=["POST"]),
                Route("/{version}/me", self._me, methods=["GET"]),
                Route("/{version}/{page}/subscribed_apps", self._subscribe, methods=["POST"]),
                Route("/files/{name}", self._file, methods=["GET"]),
            ]
        )

    def _refused(self, request: Request) -> JSONResponse | None:
        if request.path_params["version"] != VERSION:
            return graph_error(2635, f"Unknown API version {request.path_params['version']}")
        if request.query_params.get("access_token") != TOKEN:
            return graph_error(190, "Invalid OAuth access token - Cannot parse access token")
        return None

    async def _me(self, request: Request) -> Response:
        refused = self._refused(request)
        return refused or JSONResponse({"id": PAGE_ID, "name": "MicroLend"})

    async def _subscribe(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
        if request.path_params["page"] != PAGE_ID:
            return graph_error(100, "Unsupported post request")
        self.subscribed.append(request.query_params.get("subscribed_fields", ""))
        return JSONResponse({"success": True})

    async def _send(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
        body = await self._body(request)
        problem = _check(body)
        if problem:
            return graph_error(100, problem)
        failure = self.fail_next.pop(0) if self.fail_next else None
        if failure is not None:
            return failure
        self.sent.append(body)
        return JSONResponse(
            {"recipient_id": body["recipient"]["id"], "message_id": f"m_out{next(self._mids)}"}
        )

    async def _body(self, request: Request) -> dict[str, Any]:
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            form = await request.form()
            upload: Any = form.get("filedata")
            body = {k: orjson.loads(str(form[k])) for k in ("recipient", "message") if k in form}
            body.update({k: str(form[k]) for k in ("messaging_type", "tag") if k in form})
            if upload is not None:
                body["file"] = (upload.filename, upload.content_type, await upload.read())
            return body
        return dict(orjson.loads(await request.body()))

    async def _file(self, request: Request) -> Response:
        if request.path_params["name"] == "lookaside":  # like lookaside.fbsbx.com: a redirect
            return RedirectResponse(f"{self.base}/files/{request.query_params['to']}", 302)
        data = self.files.get(request.path_params["name"])
        return Response(data, media_type="image/png") if data else Response(status_code=404)


def _check(body: dict[str, Any]) -> str | None:
    if not isinstance(body.get("recipient"), dict) or not body["recipient"].get("id"):
        return "(#100) The parameter recipient is required"
    if body.get("messaging_type") not in MESSAGING_TYPES:
        return "(#100) Invalid messaging_type"
    if body["messaging_type"] == "MESSAGE_TAG" and body.get("tag") != "HUMAN_AGENT":
        return "(#100) Tag is required for MESSAGE_TAG"
    message = body.get("message") or {}
    if len(message.get("text") or "") > 2000:
        return "(#100) Length of param message[text] must be less than or equal to 2000"
    quick = message.get("quick_replies") or []
    if len(quick) > 13 or any(len(q.get("title", "")) > 20 for q in quick):
        return "(#100) Invalid quick_replies"
    attachment = message.get("attachment")
    if not message.get("text") and not attachment:
        return "(#100) Must send either message text or an attachment"
    if attachment and attachment.get("type") == "template":
        buttons = attachment["payload"].get("buttons") or []
        if not 1 <= len(buttons) <= 3:
            return "(#100) Param buttons must have 1 to 3 elements"
    elif attachment and "file" not in body:
        return "(#100) Upload attachment failure"
    return None
