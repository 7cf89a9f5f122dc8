"""Admin pages: connecting a messenger or mailbox inbox from its channel's ``ChannelType``.

The form is generated from the channel's fields; secrets are never sent back to the
browser (an empty secret keeps the stored one). "Test connection" runs the channel's
test with the saved settings and shows what it said.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from omniline.auth.deps import SessionDep
from omniline.auth.principal import Principal
from omniline.config import get_settings
from omniline.errors import DomainError
from omniline.inboxes import repository as inboxes
from omniline.inboxes import service as inbox_service
from omniline.inboxes.channel_types import (
    ChannelType,
    SettingField,
    TestResult,
    channel_type,
    channel_types,
)
from omniline.inboxes.models import Inbox
from omniline.kit.http import describe_error
from omniline.kit.ids import Id
from omniline.web.i18n import gettext
from omniline.workspaces import repository
from omniline.workspaces.pages_common import (
    AdminPrincipal,
    admin_router,
    checked,
    field_errors,
    form_status,
    found,
    optional_id,
    page,
    text,
    when,
)

router = admin_router()
log = logging.getLogger(__name__)
# Form inputs of a channel's settings carry this prefix, so a setting can't clash with the
# inbox's own fields (name, default queue, enabled) or the CSRF token.
PREFIX = "setting_"
CORE_FIELDS = ("name", "default_queue_id", "enabled")
# Inboxes with their own admin page (pages_inboxes.py): the widget and the mobile app.
WIDGET_CHANNELS = ("webchat", "mobile")
DONE = ("connected", "saved")  # ?done= codes this page words itself


def channel_menu(locale: str) -> list[dict[str, str]]:
    """The "Connect a channel" choices of the inbox list, translated."""
    return [
        {
            "channel": ct.channel,
            "label": gettext(locale, ct.label),
            "description": gettext(locale, ct.description) if ct.description else "",
            "href": f"/admin/inboxes/connect/{ct.channel}",
        }
        for ct in channel_types()
        if ct.channel not in WIDGET_CHANNELS
    ]


def is_channel_inbox(inbox: Inbox) -> bool:
    """Whether the inbox is edited here rather than on the web-chat inbox page."""
    return inbox.channel not in WIDGET_CHANNELS and channel_type(inbox.channel) is not None


def _channel(channel: str) -> ChannelType:
    ct = channel_type(channel)
    if ct is None or channel in WIDGET_CHANNELS:
        return found(None, "channel")
    return ct


async def _inbox(session: AsyncSession, p: Principal, inbox_id: Id) -> tuple[Inbox, ChannelType]:
    inbox = found(await inboxes.get(session, p.workspace_id, inbox_id), "inbox")
    return inbox, _channel(inbox.channel)


def _values(form: FormData, ct: ChannelType) -> dict[str, Any]:
    """What was typed for each setting, by setting name."""
    values: dict[str, Any] = {}
    for f in ct.fields:
        key = PREFIX + f.name
        if f.kind == "checkbox":
            values[f.name] = checked(form, key)
        elif f.kind == "textarea":
            values[f.name] = text(form, key).strip("\r\n")
        else:
            values[f.name] = text(form, key).strip()
    return values


def _submitted(form: FormData, ct: ChannelType) -> dict[str, Any]:
    """The refused form as typed (secrets are never sent back)."""
    shown = {
        "name": text(form, "name"),
        "default_queue_id": text(form, "default_queue_id"),
        "enabled": checked(form, "enabled"),
    }
    for name, value in _values(form, ct).items():
        if channel_field(ct, name).kind != "secret":
            shown[PREFIX + name] = value
    return shown


def _stored(inbox: Inbox, ct: ChannelType) -> dict[str, Any]:
    settings = inbox.settings or {}
    shown: dict[str, Any] = {
        "name": inbox.name,
        "default_queue_id": str(inbox.default_queue_id or ""),
        "enabled": inbox.enabled,
    }
    for f in ct.fields:
        if f.kind != "secret":
            value = settings.get(f.name, f.default)
            shown[PREFIX + f.name] = value if f.kind == "checkbox" else _as_text(value)
    return shown


def _blank(ct: ChannelType) -> dict[str, Any]:
    shown: dict[str, Any] = {"name": "", "default_queue_id": "", "enabled": True}
    for f in ct.fields:
        if f.kind != "secret":
            shown[PREFIX + f.name] = (
                bool(f.default) if f.kind == "checkbox" else _as_text(f.default)
            )
    return shown


def _as_text(value: Any) -> str:
    return "" if value is None else str(value)


def channel_field(ct: ChannelType, name: str) -> SettingField:
    return next(f for f in ct.fields if f.name == name)


def _errors(exc: DomainError, ct: ChannelType) -> dict[str, str]:
    """Messages by form input; a setting's message goes next to its (prefixed) input."""
    settings = {f.name for f in ct.fields}
    errors: dict[str, str] = {}
    for name, message in field_errors(exc, "_form").items():
        if name in settings:
            errors[PREFIX + name] = message
        elif name in CORE_FIELDS:
            errors[name] = message
        else:
            errors["_form"] = message
    return errors


def _field_views(ct: ChannelType, locale: str, settings: dict[str, Any]) -> list[dict[str, Any]]:
    """The settings inputs, translated; a secret says whether one is stored."""
    return [
        {
            "name": PREFIX + f.name,
            "kind": f.kind,
            "label": gettext(locale, f.label),
            "help": gettext(locale, f.help) if f.help else "",
            "required": f.required,
            "advanced": f.advanced,
            "choices": [(value, gettext(locale, label)) for value, label in f.choices],
            "is_set": f.kind == "secret" and bool(settings.get(f.name)),
        }
        for f in ct.fields
    ]


async def _form_page(
    request: Request,
    p: Principal,
    session: AsyncSession,
    ct: ChannelType,
    *,
    template: str,
    form: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
    inbox: Inbox | None = None,
    **context: Any,
) -> Response:
    settings = (inbox.settings or {}) if inbox is not None else {}
    fields = _field_views(ct, p.locale, settings)
    return page(
        request,
        p,
        template,
        status=status,
        channel={"channel": ct.channel, "label": gettext(p.locale, ct.label)},
        description=gettext(p.locale, ct.description) if ct.description else "",
        queues=await repository.queues(session, p.workspace_id),
        fields=[f for f in fields if not f["advanced"]],
        advanced=[f for f in fields if f["advanced"]],
        form=form,
        errors=errors,
        inbox=inbox,
        **context,
    )


@router.get("/admin/inboxes/connect/{channel}")
async def connect_form(
    request: Request, channel: str, p: AdminPrincipal, session: SessionDep
) -> Response:
    ct = _channel(channel)
    return await _form_page(
        request, p, session, ct, template="admin/channel_connect.html", form=_blank(ct), errors={}
    )


@router.post("/admin/inboxes/connect/{channel}")
async def connect(
    request: Request, channel: str, p: AdminPrincipal, session: SessionDep
) -> Response:
    ct = _channel(channel)
    form = await request.form()
    try:
        inbox = await inbox_service.do_create_channel_inbox(
            session,
            p.workspace_id,
            ct,
            name=text(form, "name"),
            default_queue_id=optional_id(form, "default_queue_id"),
            enabled=checked(form, "enabled"),
            values=_values(form, ct),
        )
    except DomainError as exc:
        await session.rollback()
        return await _form_page(
            request,
            p,
            session,
            ct,
            template="admin/channel_connect.html",
            form=_submitted(form, ct),
            errors=_errors(exc, ct),
            status=form_status(exc),
        )
    await inbox_service.run_after_save(session, inbox, ct)
    return _done(inbox, "connected")


def _done(inbox: Inbox, code: str) -> Response:
    return RedirectResponse(f"/admin/channels/{inbox.id}?done={code}", status_code=303)


async def _edit_page(
    request: Request,
    p: Principal,
    session: AsyncSession,
    inbox: Inbox,
    ct: ChannelType,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    test_result: TestResult | None = None,
) -> Response:
    done = request.query_params.get("done")
    setup = _setup_info(inbox, ct)
    return await _form_page(
        request,
        p,
        session,
        ct,
        template="admin/channel_edit.html",
        form=form or _stored(inbox, ct),
        errors=errors or {},
        status=status,
        inbox=inbox,
        done=done if done in DONE and not errors else None,
        setup=[(gettext(p.locale, label), value) for label, value in setup],
        setup_error=(inbox.settings or {}).get(inbox_service.SETUP_ERROR),
        can_test=ct.test is not None,
        test_result=test_result,
        created=when(inbox.created_at),
    )


def _setup_info(inbox: Inbox, ct: ChannelType) -> list[tuple[str, str]]:
    if ct.setup is None:
        return []
    try:
        return ct.setup(inbox, get_settings().public_base_url)
    except Exception:  # a channel's bug hides its setup list, not the whole page
        log.exception("setup info of %s inbox %s failed", ct.channel, inbox.id)
        return []


@router.get("/admin/channels/{inbox_id:int}")
async def edit_channel(
    request: Request, inbox_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    inbox, ct = await _inbox(session, p, inbox_id)
    return await _edit_page(request, p, session, inbox, ct)


@router.post("/admin/channels/{inbox_id:int}")
async def save_channel(
    request: Request, inbox_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    inbox, ct = await _inbox(session, p, inbox_id)
    form = await request.form()
    try:
        await inbox_service.do_update_channel_inbox(
            session,
            inbox,
            ct,
            name=text(form, "name"),
            default_queue_id=optional_id(form, "default_queue_id"),
            enabled=checked(form, "enabled"),
            values=_values(form, ct),
        )
    except DomainError as exc:
        await session.rollback()
        inbox, ct = await _inbox(session, p, inbox_id)
        return await _edit_page(
            request,
            p,
            session,
            inbox,
            ct,
            form=_submitted(form, ct),
            errors=_errors(exc, ct),
            status=form_status(exc),
        )
    await inbox_service.run_after_save(session, inbox, ct)
    return _done(inbox, "saved")


@router.post("/admin/channels/{inbox_id:int}/test")
async def test_channel(
    request: Request, inbox_id: Id, p: AdminPrincipal, session: SessionDep
) -> Response:
    inbox, ct = await _inbox(session, p, inbox_id)
    result = await _run_test(inbox, ct)
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"ok": result.ok, "message": result.message})
    return await _edit_page(request, p, session, inbox, ct, test_result=result)


async def _run_test(inbox: Inbox, ct: ChannelType) -> TestResult:
    if ct.test is None:
        return TestResult(False, "this channel has no connection test")
    try:
        return await ct.test(inbox)
    except DomainError as exc:
        return TestResult(False, exc.message)
    except Exception as exc:  # a test must say what went wrong, never fail the page
        log.exception("connection test of %s inbox %s failed", ct.channel, inbox.id)
        return TestResult(False, describe_error(exc))
