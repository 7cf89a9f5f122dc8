"""What every staff page template receives."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from omniline.auth.deps import SESSION_COOKIE
from omniline.auth.principal import Principal
from omniline.auth.tokens import csrf_for
from omniline.config import get_settings


def staff_context(request: Request, p: Principal) -> dict[str, Any]:
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return {
        "user": {
            "id": p.user_id,
            "name": p.name,
            "email": p.email,
            "role": p.role,
            "locale": p.locale,
        },
        "csrf_token": csrf_for(get_settings().secret_key, cookie) if cookie else "",
    }
