from __future__ import annotations

from tests.auth.conftest import fast_password_hashing
from tests.channels.email.conftest import smtp_server
from tests.channels.messenger.conftest import fake_graph, fresh_inbox_cache
from tests.channels.telegram.conftest import fake_telegram
from tests.channels.vk.conftest import fake_vk
from tests.channels.whatsapp.conftest import graph, wa

__all__ = [
    "fake_graph",
    "fake_telegram",
    "fake_vk",
    "fast_password_hashing",
    "fresh_inbox_cache",
    "graph",
    "smtp_server",
    "wa",
]
