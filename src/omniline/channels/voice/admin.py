"""The phone line on the admin pages: how Omniline reaches the PBX, and the line's rules."""

from __future__ import annotations

import re
import secrets
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from omniline.errors import Invalid
from omniline.inboxes.channel_types import ChannelType, SettingField, TestResult
from omniline.inboxes.models import Inbox

CHANNEL = "voice"
HOURS_RE = re.compile(r"^\d{2}:\d{2}-\d{2}:\d{2}$")


def N_(message: str) -> str:
    return message


FIELDS = (
    SettingField(
        "provider",
        N_("PBX connection"),
        kind="select",
        default="ari",
        choices=(("ari", N_("Asterisk (ARI)")), ("cti", N_("Other PBX (HTTP CTI API)"))),
    ),
    SettingField(
        "ari_url",
        N_("ARI address"),
        kind="url",
        default="http://127.0.0.1:8088",
        help=N_("Asterisk's HTTP server, as in http.conf."),
    ),
    SettingField("ari_user", N_("ARI user"), help=N_("A user of ari.conf.")),
    SettingField("ari_password", N_("ARI password"), kind="secret"),
    SettingField(
        "ari_app",
        N_("Stasis application"),
        default="omniline",
        help=N_("The name in the dialplan line Stasis(omniline,inbound,${EXTEN})."),
    ),
    SettingField(
        "dial_template",
        N_("Dial string for numbers"),
        default="PJSIP/{number}@trunk",
        help=N_("How Asterisk dials out: {number} becomes the E.164 number."),
        advanced=True,
    ),
    SettingField(
        "tts_url",
        N_("Speech service URL"),
        kind="url",
        help=N_("Asterisk fetches spoken texts from it; {text} and {lang} are filled in."),
        advanced=True,
    ),
    SettingField(
        "cti_url",
        N_("CTI command URL"),
        kind="url",
        help=N_("Where Omniline posts call commands (other PBX)."),
        advanced=True,
    ),
    SettingField(
        "cti_secret",
        N_("CTI signing secret"),
        kind="secret",
        help=N_("Signs both ways; generated when left empty."),
        advanced=True,
    ),
    SettingField("caller_id", N_("Number shown on calls we make"), help=N_("E.164, +380...")),
    SettingField(
        "region",
        N_("Country of local numbers"),
        default="UA",
        help=N_("Two letters; numbers without + are read as this country's."),
    ),
    SettingField("language", N_("Default language"), default="uk"),
    SettingField("timezone", N_("Time zone"), default="Europe/Kyiv"),
    SettingField("short_abandon_s", N_("Short abandon, seconds"), kind="number", default=5),
    SettingField("acw_s", N_("After-call work, seconds"), kind="number", default=30),
    SettingField("csat", N_("Ask callers to rate the call (1-5)"), kind="checkbox", default=True),
    SettingField(
        "callback_on_abandon",
        N_("Call back callers who hung up waiting"),
        kind="checkbox",
        default=True,
    ),
    SettingField("callback_hours", N_("Callback hours (customer's time)"), default="09:00-20:00"),
    SettingField("callback_max_attempts", N_("Callback attempts"), kind="number", default=3),
    SettingField("callback_spacing_s", N_("Seconds between attempts"), kind="number", default=600),
    SettingField("record", N_("Record calls"), kind="checkbox", default=False),
)

NUMBERS = {
    "short_abandon_s": (0, 120),
    "acw_s": (0, 3600),
    "callback_max_attempts": (1, 10),
    "callback_spacing_s": (60, 86400),
}


def validate(settings: dict[str, Any]) -> dict[str, Any]:
    out = dict(settings)
    provider = str(out.get("provider") or "ari")
    if provider not in ("ari", "cti"):
        raise Invalid("provider", "ari or cti")
    out["provider"] = provider
    if provider == "ari":
        url = str(out.get("ari_url") or "").strip()
        if not re.match(r"^https?://\S+$", url):
            raise Invalid("ari_url", "an http:// or https:// address")
        if not str(out.get("ari_user") or "").strip():
            raise Invalid("ari_user", "the ARI user from ari.conf")
        if not re.match(r"^[A-Za-z0-9_.-]{1,64}$", str(out.get("ari_app") or "omniline")):
            raise Invalid("ari_app", "letters, digits, '.', '_' or '-'")
    else:
        if not re.match(r"^https?://\S+$", str(out.get("cti_url") or "")):
            raise Invalid("cti_url", "an http:// or https:// address")
        out["cti_secret"] = str(out.get("cti_secret") or "").strip() or secrets.token_urlsafe(32)
    for name, (low, high) in NUMBERS.items():
        if name in out and out[name] not in (None, ""):
            try:
                value = float(out[name])
            except (TypeError, ValueError):
                raise Invalid(name, "a number") from None
            if not low <= value <= high:
                raise Invalid(name, f"from {low} to {high}")
            out[name] = value
    hours = str(out.get("callback_hours") or "09:00-20:00")
    if not HOURS_RE.match(hours) or hours[:5] >= hours[6:]:
        raise Invalid("callback_hours", "like 09:00-20:00")
    zone = str(out.get("timezone") or "UTC")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid("timezone", "a time zone name such as Europe/Kyiv") from None
    region = str(out.get("region") or "").upper()
    if region and not re.match(r"^[A-Z]{2}$", region):
        raise Invalid("region", "two letters, such as UA")
    out["region"] = region
    return out


async def test_connection(inbox: Inbox) -> TestResult:
    from omniline.channels.voice.link import make_pbx

    pbx = make_pbx(inbox)
    try:
        ok = await pbx.ping()  # type: ignore[attr-defined]
    finally:
        close = getattr(pbx, "close", None)
        if close is not None:
            await close()
    return TestResult(ok, "The PBX answers." if ok else "The PBX does not answer.")


def setup_info(inbox: Inbox, base_url: str) -> list[tuple[str, str]]:
    s = inbox.settings or {}
    if s.get("provider") == "cti":
        return [
            (
                N_("CTI webhook URL (the PBX posts call events here)"),
                f"{base_url.rstrip('/')}/voice/cti/{inbox.key}",
            )
        ]
    app = s.get("ari_app") or "omniline"
    return [(N_("Dialplan line"), f"same => n,Stasis({app},inbound,${{EXTEN}})")]


CHANNEL_TYPE = ChannelType(
    channel=CHANNEL,
    label=N_("Phone line"),
    fields=FIELDS,
    validate=validate,
    test=test_connection,
    setup=setup_info,
    description=N_("Calls from the bank's PBX: menu, queue, agents' phones, callbacks."),
)
