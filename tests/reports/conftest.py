"""The analytics tests' hand-written event log (tests/analytics/log.py) serves here too."""

from __future__ import annotations

from tests.analytics.conftest import fast_password_hashing, log

__all__ = ["fast_password_hashing", "log"]
