"""Attachment files on disk, with size and type limits."""

from __future__ import annotations

import hashlib
import mimetypes
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from omniline.config import Settings
from omniline.errors import Invalid, TooLarge, UnsupportedType

_SAFE = re.compile(r"[^\w.\- ()]+", re.UNICODE)


@dataclass(slots=True)
class StoredFile:
    filename: str
    content_type: str
    size: int
    sha256: str
    storage_key: str
    content_id: str | None = None  # see Attachment.content_id


def clean_filename(name: str | None) -> str:
    base = Path((name or "").replace("\\", "/")).name
    base = _SAFE.sub("_", base).strip(" .")[:200]
    return base or "file"


def resolve_type(filename: str, declared: str | None) -> str:
    declared = (declared or "").split(";")[0].strip().lower()
    if declared and declared != "application/octet-stream":
        return declared
    guessed, _ = mimetypes.guess_type(filename)
    return (guessed or "application/octet-stream").lower()


def store(
    settings: Settings, workspace_id: int, filename: str | None, declared: str | None, data: bytes
) -> StoredFile:
    """Check limits and write the file; raises 413/415 domain errors."""
    if len(data) > settings.upload_max_bytes:
        raise TooLarge(
            f"the file is larger than the limit of {settings.upload_max_bytes // 1024} KB"
        )
    if not data:
        raise Invalid("file", "must not be empty")
    name = clean_filename(filename)
    ctype = resolve_type(name, declared)
    if ctype not in settings.allowed_types:
        raise UnsupportedType(f"files of type {ctype} are not accepted")
    digest = hashlib.sha256(data).hexdigest()
    key = f"{workspace_id}/{digest[:2]}/{uuid.uuid4().hex}"
    path = settings.uploads_dir / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return StoredFile(
        filename=name, content_type=ctype, size=len(data), sha256=digest, storage_key=key
    )


def path_of(settings: Settings, storage_key: str) -> Path:
    root = settings.uploads_dir.resolve()
    path = (root / storage_key).resolve()
    if root not in path.parents:
        raise Invalid("attachment", "bad storage key")
    return path
