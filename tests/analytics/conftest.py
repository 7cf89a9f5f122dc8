"""A hand-written event log (tests/analytics/log.py) in the demo workspace, in Berlin time."""

from __future__ import annotations

import pytest

from omniline import db
from tests.analytics.log import Log, write_log
from tests.auth.conftest import fast_password_hashing
from tests.conftest import Demo

__all__ = ["fast_password_hashing"]


@pytest.fixture
async def log(demo: Demo) -> Log:
    async with db.unit_of_work() as session:
        return await write_log(session, demo)
