"""Jinja2 rendering with autoescape and per-locale gettext."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from omniline.config import get_settings
from omniline.kit.bidi import CONTROLS, neutralise
from omniline.web.i18n import LOCALE_NAMES, LOCALES, translations

TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=8)
def _shown(value: Any) -> Any:
    if not isinstance(value, str) or not CONTROLS.search(value):
        return value
    # Markup (already escaped, e.g. |tojson) must stay Markup, or it would be escaped twice.
    # Removing characters from escaped text cannot make markup: it stays safe.
    if isinstance(value, Markup):
        return Markup(neutralise(value))  # noqa: S704
    return neutralise(value)


def environment(locale: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True, default=True),
        extensions=["jinja2.ext.i18n"],
        auto_reload=True,
        # Every value a page shows loses bidi overrides (kit/bidi.py): a name or a file name
        # cannot turn itself around.
        finalize=_shown,
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(locales=LOCALES, locale_names=LOCALE_NAMES, static_url="/static")
    return env


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    locale: str,
    status_code: int = 200,
) -> HTMLResponse:
    settings = get_settings()
    ctx: dict[str, Any] = {
        "request": request,
        "locale": locale,
        "demo_mode": settings.demo_mode,
        "user": None,
        "csrf_token": "",
    }
    ctx.update(context)
    html = environment(locale).get_template(name).render(ctx)
    return HTMLResponse(html, status_code=status_code)
