from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from omniline.channels import _kit
from tests.channels.messenger.fake_graph import FakeGraph
from tests.channels.vk.local_server import serving


@pytest.fixture(autouse=True)
def fresh_inbox_cache() -> Iterator[None]:
    _kit.forget()
    yield
    _kit.forget()


@pytest.fixture
async def fake_graph() -> AsyncIterator[FakeGraph]:
    fake = FakeGraph()
    async with serving(fake.app()) as base:
        fake.base = base
        yield fake
