"""Secrets of bots' HTTP steps are stored encrypted and rotate with the channel secrets."""

from __future__ import annotations

from cryptography.fernet import Fernet
from sqlalchemy import select, text

from omniline import db
from omniline.bots import service
from omniline.bots.models import BotSecret
from omniline.config import Settings, set_settings
from omniline.inboxes.secrets import do_reencrypt_all
from omniline.kit.encryption import derived_key
from tests.conftest import Demo

VALUE = "crm-api-key-0123456789"


async def _raw() -> str:
    async with db.sessionmaker()() as session:
        return str((await session.execute(text("SELECT value FROM bot_secrets"))).scalar_one())


async def _read() -> str:
    async with db.sessionmaker()() as session:
        found = await session.scalar(select(BotSecret))
        assert found is not None
        return found.value


async def test_stored_encrypted_and_rotated(settings: Settings, demo: Demo) -> None:
    async with db.unit_of_work() as session:
        await service.do_set_secret(session, demo.workspace_id, "crm_token", VALUE)
    before = await _raw()
    assert VALUE not in before and before.startswith("enc:")
    old, new = derived_key(settings.secret_key), Fernet.generate_key().decode()
    set_settings(settings.model_copy(update={"encryption_keys": f"{new},{old}"}))
    try:
        async with db.unit_of_work() as session:
            await do_reencrypt_all(session)
        assert await _raw() != before
        set_settings(settings.model_copy(update={"encryption_keys": new}))
        assert await _read() == VALUE
    finally:
        set_settings(settings)
