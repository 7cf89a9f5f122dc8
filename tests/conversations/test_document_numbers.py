"""Passport and tax numbers: recognised by form and checksum, masked for most roles."""

from __future__ import annotations

import logging

import httpx
import pytest

from omniline.conversations.document_numbers import DocumentLogFilter, mask_documents
from tests.conftest import Demo, bearer, staff_token, visitor

# 7707083893 is a valid 10-digit INN (Sberbank); 500100732259 a valid 12-digit one.
CASES = [
    ("паспорт 45 06 123456", "паспорт ** ** ****56"),
    ("ИНН 7707083893", "ИНН ********93"),
    ("inn 500100732259 ok", "inn **********59 ok"),
    ("мій паспорт АА123456", "мій паспорт ******56"),
    ("ID-картка 123456789", "ID-картка *******89"),
    ("Паспорт: 4506123456", "Паспорт: ********56"),
]
UNTOUCHED = ["order 7707083894", "call 8 800 555 35 35", "invoice 123456789", "AB123456"]


@pytest.mark.parametrize(("text", "masked"), CASES)
def test_documents_are_masked(text: str, masked: str) -> None:
    assert mask_documents(text) == masked


@pytest.mark.parametrize("text", UNTOUCHED)
def test_ordinary_numbers_stay(text: str) -> None:
    assert mask_documents(text) == text


def test_log_records_are_masked() -> None:
    record = logging.LogRecord("x", logging.INFO, "f", 1, "client %s", ("ИНН 7707083893",), None)
    assert DocumentLogFilter().filter(record)
    assert record.getMessage() == "client ИНН ********93"


async def test_agents_see_them_masked_admins_in_full(client: httpx.AsyncClient, demo: Demo) -> None:
    token = await visitor(client)
    r = await client.post(
        "/api/v1/widget/messages", json={"text": "ИНН 7707083893"}, headers=bearer(token)
    )
    conv_id = r.json()["conversation_id"]
    texts = {}
    for role, pw in (("admin", "demo-admin"), ("agent", "demo-agent")):
        h = bearer(await staff_token(client, f"{role}@demo.omniline", pw))
        r = await client.get(f"/api/v1/conversations/{conv_id}/messages", headers=h)
        assert r.status_code == 200, r.text
        texts[role] = r.json()["items"][0]["text"]
    assert texts == {"admin": "ИНН 7707083893", "agent": "ИНН ********93"}


def test_the_app_masks_numbers_in_every_log_record(caplog: pytest.LogCaptureFixture) -> None:
    from omniline.wiring import register_all

    register_all()
    with caplog.at_level(logging.INFO):
        logging.getLogger("omniline.any").info("card %s inn %s", "4276830123456781", "7707083893")
    assert caplog.records[-1].getMessage() == "card 427683******6781 inn ********93"
