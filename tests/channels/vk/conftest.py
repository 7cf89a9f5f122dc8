from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from omniline.channels import _kit
from tests.channels.vk.fake_vk import FakeVk
from tests.channels.vk.local_server import serving


@pytest.fixture(autouse=True)
def fresh_inbox_cache() -> Iterator[None]:
    _kit.forget()
    yield
    _kit.forget()


@pytest.fixture
async def fake_vk() -> AsyncIterator[FakeVk]:
    fake = FakeVk()
    async with serving(fake.app()) as base:
        fake.base = base
        yield fake
