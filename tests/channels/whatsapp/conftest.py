from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.auth.conftest import fast_password_hashing
from tests.channels.whatsapp.fake_graph import FakeGraph
from tests.channels.whatsapp.helpers import WaInbox, create_inbox
from tests.conftest import Demo

__all__ = ["fast_password_hashing"]


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    server = FakeGraph()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def wa(demo: Demo, graph: FakeGraph) -> AsyncIterator[WaInbox]:
    """A WhatsApp inbox of the demo workspace, pointed at the fake Graph API."""
    from omniline.channels.whatsapp.webhook import forget

    inbox = await create_inbox(demo, graph)
    yield inbox
    forget()
