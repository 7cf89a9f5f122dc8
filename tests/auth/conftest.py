"""Fixtures of the API tests: cheap password hashing, so each test's demo seed is fast."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with minimal cost: the seed hashes four passwords per test (~0.5 s saved).

    Verification reads the cost from each stored hash, so the behaviour under test
    (right password accepted, wrong one refused) is the same as in production.
    """
    monkeypatch.setattr(
        "omniline.auth.passwords._hasher",
        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )
