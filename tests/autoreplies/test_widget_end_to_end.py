"""A customer writes in the widget and the greeting comes back, with no test hook in between."""

from __future__ import annotations

import httpx

from tests.autoreplies.support import admin_headers, bot_texts, create_rule, customer_writes
from tests.conftest import Demo


async def test_greeting_in_the_widget_history(client: httpx.AsyncClient, demo: Demo) -> None:
    h = await admin_headers(client)
    await create_rule(
        client, h, texts=[{"language": "en", "text": "Hello! We answer within 10 minutes."}]
    )
    token, _conv_id = await customer_writes(client, "I need help with my loan")
    assert await bot_texts(client, token) == ["Hello! We answer within 10 minutes."]
    # A second message in the same conversation is not greeted again.
    await customer_writes(client, "Are you there?", token=token)
    assert len(await bot_texts(client, token)) == 1
