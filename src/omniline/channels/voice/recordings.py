"""Call recordings: the audio stays in the PBX (or the provider's store); Omniline hands out
a signed link that expires, checks who asks for it, writes who listened to the audit log,
and streams the file through itself so the PBX is never exposed to browsers."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from fastapi import Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from omniline.audit import service as audit
from omniline.auth.deps import CurrentPrincipal, SessionDep
from omniline.auth.models import Role
from omniline.channels.voice.models import VoiceCall
from omniline.config import get_settings
from omniline.conversations import service as conversations
from omniline.errors import Forbidden, NotFound
from omniline.inboxes.models import Inbox
from omniline.kit.ids import Id
from omniline.kit.routing import router as make_router

router = make_router(tags=["voice"])
LINK_TTL_S = 600
LISTENERS = frozenset({Role.qa.value, Role.supervisor.value, Role.admin.value})


def signature(call_id: int, expires: int) -> str:
    key = get_settings().secret_key.encode()
    return hmac.new(
        key, f"voice-recording:{call_id}:{expires}".encode(), hashlib.sha256
    ).hexdigest()


def check_link(call_id: int, expires: int, sig: str, now: float | None = None) -> None:
    if expires < (now if now is not None else time.time()):
        raise Forbidden("the link has expired; open the recording again from the conversation")
    if not hmac.compare_digest(sig.encode(), signature(call_id, expires).encode()):
        raise Forbidden("the link is not valid")


async def _visible_call(session: AsyncSession, p: Any, call_id: int) -> VoiceCall:
    call = await session.get(VoiceCall, call_id)
    if call is None or call.workspace_id != p.workspace_id:
        raise NotFound("no such call")
    await conversations.get_visible(session, p, call.conversation_id)
    if p.role not in LISTENERS and call.agent_id != p.user_id:
        raise Forbidden("recordings are for the agent on the call, QA, supervisors and admins")
    if not call.recording:
        raise NotFound("this call has no recording")
    return call


@router.post("/api/v1/voice/calls/{call_id:int}/recording-link")
async def recording_link(call_id: Id, p: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    """A link to the recording that works for ``LINK_TTL_S`` seconds (an audio element's
    ``src``); asking for it is written to the audit log."""
    call = await _visible_call(session, p, call_id)
    expires = int(time.time()) + LINK_TTL_S
    await audit.record(
        session,
        "voice.recording_opened",
        actor=p,
        target_type="call",
        target_id=call.id,
        target_label=call.caller,
        data={"conversation_id": call.conversation_id},
    )
    return {
        "url": f"/voice/recordings/{call.id}?expires={expires}&sig={signature(call.id, expires)}",
        "expires_at": expires,
        "duration_s": (call.recording or {}).get("duration_s"),
    }


@router.get("/voice/recordings/{call_id:int}")
async def recording_file(
    call_id: Id,
    expires: Annotated[int, Query(ge=0, le=2**40)],
    sig: str,
    request: Request,
    session: SessionDep,
) -> StreamingResponse:
    """The audio, for whoever holds a valid link (a browser's audio element sends no token)."""
    check_link(call_id, expires, sig[:128])
    call = await session.get(VoiceCall, call_id)
    if call is None or not call.recording:
        raise NotFound("no such recording")
    inbox = await session.get(Inbox, call.inbox_id)
    if inbox is None:
        raise NotFound("no such recording")
    url, auth = _source(inbox, call.recording)
    client = httpx.AsyncClient(timeout=30, auth=auth)
    upstream = await client.send(client.build_request("GET", url), stream=True)
    if upstream.status_code != 200:
        await upstream.aclose()
        await client.aclose()
        raise NotFound("the PBX no longer has this recording")

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_bytes():
                yield chunk
        finally:
            await upstream.aclose()
            await client.aclose()

    media = upstream.headers.get("content-type", "audio/wav")
    return StreamingResponse(
        body(), media_type=media, headers={"Cache-Control": "private, no-store"}
    )


def _source(inbox: Inbox, recording: dict[str, Any]) -> tuple[str, tuple[str, str] | None]:
    """Where the audio is: a URL the provider gave (CTI), or the PBX's stored recordings."""
    s = inbox.settings or {}
    given = recording.get("url")
    if isinstance(given, str) and given.startswith(("http://", "https://")):
        return given, None
    base = str(s.get("ari_url") or "").rstrip("/")
    if not base.endswith("/ari"):
        base += "/ari"
    name = quote(str(recording.get("name") or ""), safe="")
    auth = (str(s.get("ari_user") or ""), str(s.get("ari_password") or ""))
    return f"{base}/recordings/stored/{name}/file", auth
