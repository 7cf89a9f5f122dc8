"""Login throttling with the `limits` library: failed attempts are counted per account and per
client address in a moving window; once a count reaches its limit, further attempts (even with
the right password) are refused with 429 and ``Retry-After`` until the window frees up.

The counts live in Redis when ``OMNILINE_REDIS_URL`` is set (shared by every process and host),
in memory otherwise (the embedded single-process default).
"""

from __future__ import annotations

import logging
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from omniline.config import Settings
from omniline.errors import TooManyRequests

log = logging.getLogger(__name__)

LOCKED = "too many sign-in attempts; try again in {minutes} minutes"


class Throttle:
    def __init__(self, settings: Settings) -> None:
        storage: Storage
        if settings.redis_url:
            uri = settings.redis_url.replace("redis://", "async+redis://", 1)
            storage = RedisStorage(uri, implementation="redispy", key_prefix="omniline-limits")
        else:
            storage = MemoryStorage()
        self.limiter = MovingWindowRateLimiter(storage)
        self.per_account = parse(settings.login_limit_per_account)
        self.per_address = parse(settings.login_limit_per_address)
        self.widget_identity = parse(settings.widget_identity_limit_per_address)

    async def check(self, *checks: tuple[RateLimitItem, str, str]) -> None:
        """Raises TooManyRequests when any ``(limit, scope, key)`` is used up."""
        for item, scope, key in checks:
            if not await self.limiter.test(item, scope, key):
                stats = await self.limiter.get_window_stats(item, scope, key)
                wait = max(1, int(stats.reset_time - time.time()) + 1)
                raise TooManyRequests(
                    LOCKED.format(minutes=max(1, round(wait / 60))), retry_after=wait
                )

    async def fail(self, *hits: tuple[RateLimitItem, str, str]) -> None:
        for item, scope, key in hits:
            await self.limiter.hit(item, scope, key)

    async def clear(self, item: RateLimitItem, scope: str, key: str) -> None:
        await self.limiter.clear(item, scope, key)

    # -- the checks of each entry point ------------------------------------------------------
    def login(self, email: str, address: str) -> list[tuple[RateLimitItem, str, str]]:
        return [
            (self.per_account, "login-account", email.strip().lower()),
            (self.per_address, "login-address", address),
        ]

    def identity(self, address: str) -> list[tuple[RateLimitItem, str, str]]:
        return [(self.widget_identity, "widget-identity", address)]


_throttle: Throttle | None = None


def init_throttle(settings: Settings) -> Throttle:
    global _throttle
    _throttle = Throttle(settings)
    return _throttle


def get_throttle() -> Throttle:
    global _throttle
    if _throttle is None:
        from omniline.config import get_settings

        _throttle = Throttle(get_settings())
    return _throttle
