from __future__ import annotations

from typing import Any

from omniline.auth import service
from omniline.auth.deps import CurrentPrincipal, SessionDep
from omniline.auth.models import TokenKind
from omniline.auth.schemas import LoginIn, LoginOut, UserOut
from omniline.config import get_settings
from omniline.kit.clock import iso
from omniline.kit.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["auth"])


@router.post("/auth/login", response_model=LoginOut)
async def login(body: LoginIn, session: SessionDep) -> dict[str, Any]:
    user = await service.authenticate(session, body.email, body.password)
    secret, token = await service.do_issue_token(
        session, user, TokenKind.access, hours=get_settings().access_token_hours
    )
    return {
        "access_token": secret,
        "token_type": "bearer",
        "expires_at": iso(token.expires_at),
        "user": UserOut.model_validate(user, from_attributes=True).model_dump(),
    }


@router.get("/me", response_model=UserOut)
async def me(p: CurrentPrincipal) -> dict[str, Any]:
    return {
        "id": p.user_id,
        "email": p.email,
        "name": p.name,
        "role": p.role,
        "locale": p.locale,
        "workspace_id": p.workspace_id,
    }
