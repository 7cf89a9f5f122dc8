"""A local stand-in for the VK API (https://dev.vk.com/en/method), community token only.

It checks the token and version on every call, answers in VK's shapes (``response`` or
``error`` with HTTP 200), runs the two-step photo and document uploads, and drops a second
messages.send with a ``random_id`` it has seen for that peer, as VK does.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN = "vk1.a.community-token-0123456789abcdef"
GROUP_ID = 218276154
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


@dataclass
class FakeVk:
    base: str = ""
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    sent: list[dict[str, str]] = field(default_factory=list)
    uploads: list[tuple[str, str, bytes]] = field(default_factory=list)
    fail_once: dict[str, tuple[int, str]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=lambda: {"photo.jpg": PNG})
    _ids: Any = field(default_factory=lambda: itertools.count(1001))
    _random_ids: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def api_base(self) -> str:
        return f"{self.base}/method"

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/method/{name}", self._method, methods=["POST"]),
                Route("/upload/{kind}", self._upload, methods=["POST"]),
                Route("/files/{name}", self._file, methods=["GET"]),
            ]
        )

    def sent_texts(self) -> list[str]:
        return [s.get("message", "") for s in self.sent]

    async def _method(self, request: Request) -> Response:
        name = request.path_params["name"]
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.calls.append((name, form))
        if form.get("access_token") != TOKEN:
            return _error(5, "User authorization failed: invalid access_token (4).")
        if not form.get("v"):
            return _error(8, "Invalid request: v (version) is required")
        if name in self.fail_once:
            code, msg = self.fail_once.pop(name)
            return _error(code, msg)
        handler = getattr(self, "_" + name.replace(".", "_"), None)
        if handler is None:
            return _error(3, "Unknown method passed")
        return await handler(form)

    async def _messages_send(self, form: dict[str, str]) -> Response:
        if not form.get("peer_id") or not form.get("random_id"):
            return _error(100, "One of the parameters specified was missing or invalid")
        key = (form["peer_id"], form["random_id"])
        if key in self._random_ids:
            return JSONResponse({"response": self._random_ids[key]})
        msg_id = next(self._ids)
        self._random_ids[key] = msg_id
        self.sent.append(form)
        return JSONResponse({"response": msg_id})

    async def _groups_getById(self, form: dict[str, str]) -> Response:
        group = {"id": GROUP_ID, "name": "MicroLend", "screen_name": "microlend"}
        return JSONResponse({"response": {"groups": [group], "profiles": []}})

    async def _photos_getMessagesUploadServer(self, form: dict[str, str]) -> Response:
        url = f"{self.base}/upload/photo"
        return JSONResponse({"response": {"upload_url": url, "album_id": -64, "group_id": 0}})

    async def _photos_saveMessagesPhoto(self, form: dict[str, str]) -> Response:
        if form.get("hash") != "h1" or not form.get("photo"):
            return _error(100, "One of the parameters specified was missing or invalid")
        photo = {"id": next(self._ids), "owner_id": -GROUP_ID, "access_key": "ak"}
        return JSONResponse({"response": [photo]})

    async def _docs_getMessagesUploadServer(self, form: dict[str, str]) -> Response:
        return JSONResponse({"response": {"upload_url": f"{self.base}/upload/doc"}})

    async def _docs_save(self, form: dict[str, str]) -> Response:
        if not form.get("file"):
            return _error(100, "One of the parameters specified was missing or invalid")
        doc = {"id": next(self._ids), "owner_id": -GROUP_ID, "title": form.get("title")}
        return JSONResponse({"response": {"type": "doc", "doc": doc}})

    async def _upload(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        form = await request.form()
        upload: Any = form.get("photo" if kind == "photo" else "file")
        if upload is None or not hasattr(upload, "read"):
            return JSONResponse({"error": "ERR_UPLOAD_FILE_NOT_UPLOADED"})
        self.uploads.append((kind, upload.filename, await upload.read()))
        if kind == "photo":
            return JSONResponse({"server": 123, "photo": '[{"photo":"x"}]', "hash": "h1"})
        return JSONResponse({"file": "doc-file-token"})

    async def _file(self, request: Request) -> Response:
        data = self.files.get(request.path_params["name"])
        if data is None:
            return Response(status_code=404)
        return Response(data, media_type="image/png")


def _error(code: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"error_code": code, "error_msg": message, "request_params": []}})
