"""`omniline secrets rotate`: channel secrets written again with the first encryption key."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any


async def _reencrypt() -> int:
    from omniline import db
    from omniline.inboxes.secrets import do_reencrypt_all

    db.init_engine()
    try:
        async with db.unit_of_work() as session:
            return await do_reencrypt_all(session)
    finally:
        await db.dispose_engine()


def encrypt_stored_secrets() -> int:
    """After migrations: secrets stored before encryption existed get encrypted."""
    from omniline.kit.encryption import SecretsUnreadable

    try:
        return asyncio.run(_reencrypt())
    except SecretsUnreadable as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc


def cmd_secrets_rotate(args: argparse.Namespace) -> int:
    from omniline.config import Settings, set_settings

    try:
        set_settings(Settings())
    except ValueError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    count = encrypt_stored_secrets()
    print(f"channel secrets of {count} inboxes written again with the first encryption key")
    return 0


def register(sub: Any) -> None:
    sec = sub.add_parser("secrets", help="channel secrets at rest").add_subparsers(
        dest="action", required=True
    )
    p = sec.add_parser(
        "rotate",
        help="re-encrypt every stored channel secret with the first OMNILINE_ENCRYPTION_KEYS key",
    )
    p.set_defaults(fn=cmd_secrets_rotate)
