from __future__ import annotations

import pytest

from omniline import db


async def reporting_token(email: str) -> str:
    from omniline.auth import repository, service
    from omniline.auth.models import TokenKind

    async with db.unit_of_work() as session:
        user = await repository.user_by_email(session, email)
        assert user is not None
        service.check_may_own_reporting_token(user)
        secret, _ = await service.do_issue_token(
            session, user, TokenKind.reporting, hours=None, name="bi"
        )
        return secret


@pytest.fixture
async def reporting(demo: object) -> str:
    """A reporting token of the demo workspace's administrator."""
    return await reporting_token("admin@demo.omniline")
