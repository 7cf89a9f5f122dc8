"""Approved message templates: fetched from the WhatsApp Business Account, kept in the
inbox settings, filled with the agent's parameters.

Only templates whose body is the only part needing parameters can be sent from the
workspace: a media header or a button with a variable URL would need more than text.
"""

from __future__ import annotations

import re
from typing import Any

from omniline.channels.whatsapp import graph
from omniline.inboxes.models import Inbox

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
MAX_PAGES = 20
APPROVED = "APPROVED"
MEDIA_HEADERS = frozenset({"IMAGE", "VIDEO", "DOCUMENT", "LOCATION"})


def param_names(body: str) -> list[str]:
    """Placeholders in order of first appearance: ["1", "2"] or named ["customer_name"]."""
    names: list[str] = []
    for name in PLACEHOLDER.findall(body):
        if name not in names:
            names.append(name)
    if all(n.isdigit() for n in names):
        names.sort(key=int)
    return names


def _sendable(components: list[dict[str, Any]]) -> bool:
    for comp in components:
        kind = str(comp.get("type", "")).upper()
        if kind == "HEADER":
            fmt = str(comp.get("format", "TEXT")).upper()
            if fmt in MEDIA_HEADERS or PLACEHOLDER.search(str(comp.get("text", ""))):
                return False
        if kind == "BUTTONS":
            for button in comp.get("buttons") or []:
                if not isinstance(button, dict):
                    continue
                if PLACEHOLDER.search(str(button.get("url", ""))):
                    return False
                if str(button.get("type", "")).upper() in ("COPY_CODE", "OTP", "FLOW"):
                    return False
    return True


def normalize(raw: dict[str, Any]) -> dict[str, Any] | None:
    """One template of Graph's answer as we keep it; None when it is unusable."""
    components = [c for c in raw.get("components") or [] if isinstance(c, dict)]
    body = next((str(c.get("text", "")) for c in components if c.get("type") == "BODY"), "")
    name, language = str(raw.get("name") or ""), str(raw.get("language") or "")
    if not name or not language:
        return None
    names = param_names(body)
    return {
        "name": name,
        "language": language,
        "category": str(raw.get("category") or ""),
        "status": str(raw.get("status") or ""),
        "body": body,
        "params": len(names),
        "param_names": names,
        "named": bool(names) and not names[0].isdigit(),
        "sendable": _sendable(components),
    }


async def fetch(cfg: graph.Config) -> list[dict[str, Any]]:
    """Every template of the WhatsApp Business Account (follows Graph's paging cursors)."""
    params: dict[str, Any] = {
        "fields": "name,language,status,category,components",
        "limit": 100,
    }
    found: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        page = await graph.call(cfg, "GET", f"{cfg.waba_id}/message_templates", params=params)
        for raw in page.get("data") or []:
            item = normalize(raw) if isinstance(raw, dict) else None
            if item is not None:
                found.append(item)
        paging = page.get("paging") or {}
        after = (paging.get("cursors") or {}).get("after")
        if not paging.get("next") or not after:
            break
        params = {**params, "after": after}
    return sorted(found, key=lambda t: (t["name"], t["language"]))


def usable(inbox: Inbox) -> list[dict[str, Any]]:
    """Templates an agent may send now: approved and needing only body text."""
    items = (inbox.settings or {}).get("templates") or []
    return [
        t
        for t in items
        if isinstance(t, dict) and t.get("status") == APPROVED and t.get("sendable", True)
    ]


def find(inbox: Inbox, name: str, language: str) -> dict[str, Any] | None:
    for t in usable(inbox):
        if t.get("name") == name and t.get("language") == language:
            return t
    return None


def fill(template: dict[str, Any], params: list[str]) -> str:
    """The body as the customer will read it."""
    values = dict(zip(template.get("param_names") or [], params, strict=False))
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template["body"])


def payload(template: dict[str, Any], params: list[str]) -> dict[str, Any]:
    """The ``template`` object of a send request."""
    out: dict[str, Any] = {"name": template["name"], "language": {"code": template["language"]}}
    if params:
        names = template.get("param_names") or []
        parameters: list[dict[str, Any]] = []
        for i, value in enumerate(params):
            item: dict[str, Any] = {"type": "text", "text": value}
            if template.get("named") and i < len(names):
                item["parameter_name"] = names[i]
            parameters.append(item)
        out["components"] = [{"type": "body", "parameters": parameters}]
    return out
