"""Reading an uploaded file from a request without holding more than the limit in memory."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.responses import FileResponse

from omniline.config import Settings
from omniline.errors import BadRequest, NotFound, TooLarge


async def read_limited(upload: object, settings: Settings) -> bytes:
    if not isinstance(upload, UploadFile):
        raise BadRequest("send the file as the multipart field 'file'")
    data = await upload.read(settings.upload_max_bytes + 1)
    if len(data) > settings.upload_max_bytes:
        raise TooLarge(
            f"the file is larger than the limit of {settings.upload_max_bytes // 1024} KB"
        )
    return data


def file_response(settings: Settings, att: Any) -> FileResponse:
    """Serve a stored attachment; only images and PDFs open inline, never as HTML."""
    from omniline.conversations.attachments import path_of

    path = path_of(settings, att.storage_key)
    if not path.exists():
        raise NotFound("the file is no longer stored")
    inline = att.content_type.startswith("image/") or att.content_type == "application/pdf"
    return FileResponse(
        path,
        media_type=att.content_type,
        filename=att.filename,
        content_disposition_type="inline" if inline else "attachment",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=3600",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
