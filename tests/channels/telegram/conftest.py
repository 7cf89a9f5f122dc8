from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.auth.conftest import fast_password_hashing
from tests.channels.telegram.fake_telegram import FakeTelegram

__all__ = ["fast_password_hashing"]


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    server = FakeTelegram()
    server.start()
    yield server
    server.stop()
