"""A local stand-in for the Telegram Bot API (https://core.telegram.org/bots/api).

It runs on a free port in its own thread, checks the bot token in the path, answers the
documented shapes (``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": ...,
"description": ..., "parameters": {...}}``), records every call and can be told to fail.
"""

from __future__ import annotations

import asyncio
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

TOKEN = "123456789:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-ys"
BOT = {"id": 123456789, "is_bot": True, "first_name": "MicroLend", "username": "microlend_bot"}
GETFILE_MAX = 20 * 1024 * 1024


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)


@dataclass
class Failure:
    code: int
    description: str
    retry_after: int | None = None


class FakeTelegram:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.failures: dict[str, list[Failure]] = {}
        self.blocked: set[str] = set()
        self.files: dict[str, tuple[str, bytes, int | None]] = {}
        self.downloads: list[str] = []
        self._next_id = 1000
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # What a test sets up -------------------------------------------------------------
    def fail_next(
        self, method: str, code: int, description: str, retry_after: int | None = None
    ) -> None:
        self.failures.setdefault(method, []).append(Failure(code, description, retry_after))

    def add_file(self, file_id: str, data: bytes, path: str, size: int | None = None) -> None:
        """A file a customer sent; ``size`` overrides what getFile announces."""
        self.files[file_id] = (path, data, size)

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # The server ----------------------------------------------------------------------
    def start(self) -> None:
        app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._method, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._file, methods=["GET"]),
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        server = self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
        self._thread.start()
        for _ in range(500):
            if server.started:
                return
            time.sleep(0.01)
        raise RuntimeError("the fake Telegram server did not start")

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)

    async def _method(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.path_params["method"]
        params, files = await _read(request)
        self.calls.append(Call(method, params, files))
        queued = self.failures.get(method)
        if queued:
            f = queued.pop(0)
            return _error(f.code, f.description, f.retry_after)
        handler = getattr(self, f"_do_{method}", None)
        if handler is None:
            return _error(404, "Not Found")
        result = handler(params, files)
        return result if isinstance(result, Response) else _ok(result)

    async def _file(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        path = request.path_params["path"]
        self.downloads.append(path)
        for stored_path, data, _size in self.files.values():
            if stored_path == path:
                return Response(data, media_type="application/octet-stream")
        return _error(404, "Not Found")

    # Bot API methods -----------------------------------------------------------------
    def _do_getMe(self, params: dict[str, Any], files: Any) -> Any:
        return BOT

    def _do_setWebhook(self, params: dict[str, Any], files: Any) -> Any:
        url = str(params.get("url") or "")
        if not url:
            return _error(400, "Bad Request: bad webhook: URL is empty")
        if not url.startswith("https://"):
            return _error(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        return True

    def _do_answerCallbackQuery(self, params: dict[str, Any], files: Any) -> Any:
        return (
            True if params.get("callback_query_id") else _error(400, "Bad Request: query is empty")
        )

    def _do_getFile(self, params: dict[str, Any], files: Any) -> Any:
        file_id = str(params.get("file_id") or "")
        if file_id not in self.files:
            return _error(400, "Bad Request: invalid file_id")
        path, data, size = self.files[file_id]
        size = len(data) if size is None else size
        if size > GETFILE_MAX:
            return _error(400, "Bad Request: file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": size,
            "file_path": path,
        }

    def _do_sendMessage(self, params: dict[str, Any], files: Any) -> Any:
        if not str(params.get("text") or "").strip():
            return _error(400, "Bad Request: message text is empty")
        return self._sent(params, text=params["text"])

    def _do_sendPhoto(self, params: dict[str, Any], files: Any) -> Any:
        if "photo" not in files:
            return _error(400, "Bad Request: there is no photo in the request")
        return self._sent(
            params, photo=[{"file_id": "p1", "file_unique_id": "p1", "width": 1, "height": 1}]
        )

    def _do_sendDocument(self, params: dict[str, Any], files: Any) -> Any:
        if "document" not in files:
            return _error(400, "Bad Request: there is no document in the request")
        name = files["document"][0]
        return self._sent(
            params, document={"file_id": "d1", "file_unique_id": "d1", "file_name": name}
        )

    def _sent(self, params: dict[str, Any], **content: Any) -> Any:
        chat_id = str(params.get("chat_id") or "")
        if not chat_id:
            return _error(400, "Bad Request: chat_id is empty")
        if chat_id in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        problem = _markup_problem(params.get("reply_markup"))
        if problem:
            return _error(400, problem)
        self._next_id += 1
        chat = {"id": int(chat_id), "type": "private"}
        return {"message_id": self._next_id, "date": int(time.time()), "chat": chat, **content}


def _markup_problem(markup: Any) -> str | None:
    if markup is None:
        return None
    if isinstance(markup, str):
        markup = orjson.loads(markup)
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list):
        return "Bad Request: can't parse reply keyboard markup JSON object"
    for row in rows:
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                return "Bad Request: BUTTON_DATA_INVALID"
            if data is None and not button.get("url"):
                return "Bad Request: can't parse inline keyboard button"
    return None


async def _read(request: Request) -> tuple[dict[str, Any], dict[str, tuple[str, str, bytes]]]:
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/json"):
        body = await request.body()
        return (orjson.loads(body) if body else {}), {}
    if ctype.startswith("multipart/") or ctype.startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        params: dict[str, Any] = {}
        files: dict[str, tuple[str, str, bytes]] = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[key] = (value.filename or "", value.content_type or "", await value.read())
            else:
                params[key] = value
        return params, files
    return dict(request.query_params), {}


def _ok(result: Any) -> Response:
    return Response(orjson.dumps({"ok": True, "result": result}), media_type="application/json")


def _error(code: int, description: str, retry_after: int | None = None) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return Response(orjson.dumps(body), status_code=code, media_type="application/json")
