"""Admin pages: web-chat inboxes and how to install the widget on a lender's site."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from omniline.auth.deps import SessionDep
from omniline.auth.principal import Principal
from omniline.auth.tokens import identity_signature, identity_string
from omniline.config import get_settings
from omniline.errors import DomainError, Invalid
from omniline.inboxes import repository as inboxes
from omniline.inboxes import service as inbox_service
from omniline.inboxes.models import Inbox
from omniline.kit.ids import Id
from omniline.workspaces import repository
from omniline.workspaces.pages_channels import channel_menu, is_channel_inbox
from omniline.workspaces.pages_common import (
    AdminPrincipal,
    admin_router,
    checked,
    field_errors,
    form_status,
    found,
    optional_id,
    page,
    redirect,
    text,
    when,
    whole_number,
)

router = admin_router()
DEFAULT_COLOR = "#1f6feb"
CHAT_CHANNELS = ("webchat", "mobile")
FALLBACK_MINUTES = 5
URL_MAX = 2000
SECRET_MAX = 200
# "Check your code": fixed fields and expiry, so an integrator can compare signatures.
EXAMPLE_IDENTITY = {"external_id": "example-customer-id", "name": "Olena Kovalenko"}
EXAMPLE_EXPIRES = 1893456000  # 2030-01-01T00:00:00Z

PYTHON_EXAMPLE = """\
import hashlib
import hmac
import os
import time

# The inbox's identity secret: keep it on your server, never in the page.
IDENTITY_SECRET = os.environ["OMNILINE_IDENTITY_SECRET"]
FIELDS = ("external_id", "name", "email", "phone")


def omniline_identity(external_id, name="", email="", phone="", valid_seconds=3600):
    # Every field the page asserts is signed, with an expiry; empty fields sign as empty.
    values = {"external_id": external_id, "name": name, "email": email, "phone": phone}
    if any("\\n" in v or "\\r" in v for v in values.values()):
        raise ValueError("identity fields must be one line each")
    expires = int(time.time()) + valid_seconds
    lines = ["omniline-identity-v2"]
    lines += [f"{key}={values[key]}" for key in FIELDS]
    lines.append(f"expires={expires}")
    signature = hmac.new(
        IDENTITY_SECRET.encode(), "\\n".join(lines).encode(), hashlib.sha256
    ).hexdigest()
    # Into the tag: data-external-id, data-name, data-email, data-phone,
    # data-expires and data-signature.
    return {**values, "expires": expires, "signature": signature}
"""

PHP_EXAMPLE = """\
<?php
// The inbox's identity secret: keep it on your server, never in the page.
$secret = getenv('OMNILINE_IDENTITY_SECRET');
$fields = [
    'external_id' => (string) $customer->id,
    'name' => (string) $customer->name,
    'email' => (string) $customer->email,
    'phone' => (string) $customer->phone,
];
$expires = time() + 3600;
$lines = ['omniline-identity-v2'];
foreach ($fields as $key => $value) {
    if (preg_match('/[\\r\\n]/', $value)) {
        throw new InvalidArgumentException("$key must be one line");
    }
    $lines[] = "$key=$value";
}
$lines[] = "expires=$expires";
$signature = hash_hmac('sha256', implode("\\n", $lines), $secret);
?>
<script src="{base}/widget.js" data-inbox-key="{key}"
        data-external-id="<?= htmlspecialchars($fields['external_id']) ?>"
        data-name="<?= htmlspecialchars($fields['name']) ?>"
        data-email="<?= htmlspecialchars($fields['email']) ?>"
        data-phone="<?= htmlspecialchars($fields['phone']) ?>"
        data-expires="<?= $expires ?>"
        data-signature="<?= $signature ?>" async></script>
"""


def install_panel(inbox: Inbox) -> dict[str, str]:
    """The snippets an admin pastes into the lender's site; all rendered escaped."""
    base = get_settings().public_base_url
    return {
        "script_tag": (
            f'<script src="{base}/widget.js" data-inbox-key="{inbox.key}" async></script>'
        ),
        "identity_tag": (
            f'<script src="{base}/widget.js" data-inbox-key="{inbox.key}"\n'
            '        data-external-id="CUSTOMER-ID" data-name="CUSTOMER NAME"\n'
            '        data-email="" data-phone="" data-expires="UNIX-SECONDS"\n'
            '        data-signature="HEX-HMAC-SHA256" async></script>'
        ),
        "python": PYTHON_EXAMPLE,
        "php": PHP_EXAMPLE.replace("{base}", base).replace("{key}", inbox.key),
        "example_text": identity_string(EXAMPLE_IDENTITY, EXAMPLE_EXPIRES),
        "example_signature": identity_signature(
            inbox.identity_secret, EXAMPLE_IDENTITY, EXAMPLE_EXPIRES
        ),
    }


def _submitted(form: FormData) -> dict[str, Any]:
    return {
        "name": text(form, "name"),
        "channel": text(form, "channel"),
        "default_queue_id": text(form, "default_queue_id"),
        "color": text(form, "color"),
        "greeting": text(form, "greeting"),
        "enabled": checked(form, "enabled"),
        "push_url": text(form, "push_url"),
        "fallback_email_inbox_id": text(form, "fallback_email_inbox_id"),
        "fallback_after_minutes": text(form, "fallback_after_minutes"),
    }


def _push_url(form: FormData) -> str:
    url = text(form, "push_url").strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid("push_url", "must be an http:// or https:// address")
    if len(url) > URL_MAX:
        raise Invalid("push_url", f"must be at most {URL_MAX} characters")
    return url


async def _chat_settings(
    session: AsyncSession, workspace_id: Id, form: FormData, current: dict[str, Any]
) -> dict[str, Any]:
    """Push webhook and email fallback of a web-chat or mobile inbox, checked."""
    url = _push_url(form)
    # A blank secret field keeps the stored secret (it is never shown back).
    secret = text(form, "push_secret").strip() or str(current.get("push_secret") or "")
    if url and not secret:
        raise Invalid("push_secret", "is needed to sign the pushes; your push service checks it")
    if len(secret) > SECRET_MAX:
        raise Invalid("push_secret", f"must be at most {SECRET_MAX} characters")
    fallback = optional_id(form, "fallback_email_inbox_id")
    if fallback is not None:
        target = await inboxes.get(session, workspace_id, fallback)
        if target is None or target.channel != "email":
            raise Invalid("fallback_email_inbox_id", "choose one of the email inboxes")
    minutes = whole_number(form, "fallback_after_minutes", FALLBACK_MINUTES)
    if not 1 <= minutes <= 1440:
        raise Invalid("fallback_after_minutes", "must be between 1 and 1440 minutes")
    return {
        "push_url": url,
        "push_secret": secret,
        "fallback_email_inbox_id": fallback,
        "fallback_after_minutes": minutes,
    }


async def _email_inboxes(session: AsyncSession, workspace_id: Id) -> list[Inbox]:
    return [i for i in await inboxes.of_workspace(session, workspace_id) if i.channel == "email"]


def _color(inbox: Inbox) -> str:
    """Only a checked #rrggbb goes into a style attribute."""
    color = str((inbox.settings or {}).get("color") or "")
    return color if inbox_service.COLOR_RE.match(color) else DEFAULT_COLOR


def _stored(inbox: Inbox) -> dict[str, Any]:
    settings = inbox.settings or {}
    return {
        "name": inbox.name,
        "channel": inbox.channel,
        "default_queue_id": str(inbox.default_queue_id or ""),
        "color": _color(inbox),
        "greeting": str(settings.get("greeting") or ""),
        "enabled": inbox.enabled,
        "push_url": str(settings.get("push_url") or ""),
        "fallback_email_inbox_id": str(settings.get("fallback_email_inbox_id") or ""),
        "fallback_after_minutes": str(settings.get("fallback_after_minutes") or FALLBACK_MINUTES),
    }


@router.get("/admin/inboxes")
async def list_inboxes(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    queue_names = {q.id: q.name for q in await repository.queues(session, p.workspace_id)}
    rows = [
        {"inbox": i, "queue": queue_names.get(i.default_queue_id or 0), "color": _color(i)}
        for i in await inboxes.of_workspace(session, p.workspace_id)
    ]
    return page(request, p, "admin/inboxes.html", rows=rows, channels=channel_menu(p.locale))


async def _new_form(
    request: Request,
    p: Principal,
    session: AsyncSession,
    *,
    form: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    return page(
        request,
        p,
        "admin/inbox_new.html",
        status=status,
        queues=await repository.queues(session, p.workspace_id),
        email_inboxes=await _email_inboxes(session, p.workspace_id),
        push_secret_set=False,
        form=form,
        errors=errors,
    )


@router.get("/admin/inboxes/new")
async def new_inbox(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    blank = {
        "color": DEFAULT_COLOR,
        "enabled": True,
        "default_queue_id": "",
        "channel": "webchat",
        "fallback_after_minutes": str(FALLBACK_MINUTES),
    }
    return await _new_form(request, p, session, form=blank, errors={})


@router.post("/admin/inboxes")
async def create_inbox(request: Request, p: AdminPrincipal, session: SessionDep) -> Response:
    form = await request.form()
    try:
        channel = text(form, "channel") or "webchat"
        if channel not in CHAT_CHANNELS:
            raise Invalid("channel", "choose web chat or mobile app")
        chat = await _chat_settings(session, p.workspace_id, form, {})
        inbox = await inbox_service.do_create_inbox(
            session,
            p.workspace_id,
            channel=channel,
            name=text(form, "name"),
            default_queue_id=optional_id(form, "default_queue_id"),
            settings={"color": text(form, "color"), "greeting": text(form, "greeting"), **chat},
        )
    except DomainError as exc:
        await session.rollback()
        return await _new_form(
            request,
            p,
            session,
            form=_submitted(form),
            errors=field_errors(exc, "name"),
            status=form_status(exc),
        )
    return redirect(f"/admin/inboxes/{inbox.id}", ok="inbox_created")


async def _inbox_page(
    request: Request,
    p: Principal,
    session: AsyncSession,
    inbox_id: Id,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    inbox = found(await inboxes.get(session, p.workspace_id, inbox_id), "inbox")
    return page(
        request,
        p,
        "admin/inbox_edit.html",
        status=status,
        inbox=inbox,
        created=when(inbox.created_at),
        queues=await repository.queues(session, p.workspace_id),
        install=install_panel(inbox) if inbox.channel in CHAT_CHANNELS else None,
        email_inboxes=await _email_inboxes(session, p.workspace_id),
        push_secret_set=bool((inbox.settings or {}).get("push_secret")),
        form=form or _stored(inbox),
        errors=errors or {},
    )


@router.get("/admin/inboxes/{inbox_id:int}")
async def edit_inbox(
    request: Request, inbox_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    inbox = await inboxes.get(session, p.workspace_id, inbox_id)
    if inbox is not None and is_channel_inbox(inbox):  # messengers, mail: pages_channels
        return RedirectResponse(f"/admin/channels/{inbox_id}", status_code=303)
    return await _inbox_page(request, p, session, inbox_id)


@router.post("/admin/inboxes/{inbox_id:int}")
async def save_inbox(
    request: Request, inbox_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    inbox = found(await inboxes.get(session, p.workspace_id, inbox_id), "inbox")
    try:
        await inbox_service.do_update_inbox(
            session,
            inbox,
            name=text(form, "name"),
            default_queue_id=optional_id(form, "default_queue_id"),
            color=text(form, "color"),
            greeting=text(form, "greeting"),
            enabled=checked(form, "enabled"),
        )
        if inbox.channel in CHAT_CHANNELS:
            chat = await _chat_settings(session, p.workspace_id, form, inbox.settings or {})
            inbox.settings = {**(inbox.settings or {}), **chat}
            await session.flush()
    except DomainError as exc:
        await session.rollback()
        return await _inbox_page(
            request,
            p,
            session,
            inbox_id,
            form=_submitted(form),
            errors=field_errors(exc, "name"),
            status=form_status(exc),
        )
    return redirect("/admin/inboxes", ok="inbox_saved")
