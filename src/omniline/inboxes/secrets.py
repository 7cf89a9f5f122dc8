"""Channel secrets at rest: encrypting what was stored before, rotating keys, checking keys.

See kit/encryption.py for what is encrypted and how.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from omniline.inboxes.models import Inbox

BATCH = 200


async def do_reencrypt_all(session: AsyncSession) -> int:
    """Every inbox's secrets written again with the first key (plain ones get encrypted).

    Reading decrypts with any configured key; writing encrypts with the first: run after
    putting a new key first, then the old one can go. Returns the number of inboxes.
    """
    await _reencrypt_two_factor(session)
    await _reencrypt_bot_secrets(session)
    count = 0
    last = 0
    while True:
        rows = list(
            await session.scalars(
                select(Inbox).where(Inbox.id > last).order_by(Inbox.id).limit(BATCH)
            )
        )
        if not rows:
            return count
        for inbox in rows:
            flag_modified(inbox, "settings")
            flag_modified(inbox, "identity_secret")
            last = inbox.id
        count += len(rows)
        await session.flush()


async def check_readable(session: AsyncSession) -> None:
    """Raises kit.encryption.SecretsUnreadable when the configured keys cannot read them."""
    await session.scalar(select(Inbox).order_by(Inbox.id.desc()).limit(1))


async def _reencrypt_two_factor(session: AsyncSession) -> None:
    """Staff two-factor secrets are encrypted with the same keys."""
    from omniline.auth.models import User

    users = await session.scalars(
        select(User).where(
            (User.totp_secret.is_not(None)) | (User.totp_pending_secret.is_not(None))
        )
    )
    for user in users:
        flag_modified(user, "totp_secret")
        flag_modified(user, "totp_pending_secret")
    await session.flush()


async def _reencrypt_bot_secrets(session: AsyncSession) -> None:
    """The secrets bots' HTTP steps send to the lender's systems (bots/models.py)."""
    from omniline.bots.models import BotSecret

    for secret in await session.scalars(select(BotSecret)):
        flag_modified(secret, "value")
    await session.flush()
