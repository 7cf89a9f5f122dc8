"""Stored passwords use argon2id with production costs (the tests themselves hash with the
smallest costs, see tests/conftest.py: quick_password_hashes)."""

from __future__ import annotations

from argon2 import Type, extract_parameters

from omniline.auth import passwords


def test_the_server_hashes_with_argon2id_at_owasp_costs_or_more() -> None:
    # Computed at import by the server's own hasher, before the tests swapped it.
    params = extract_parameters(passwords.DUMMY_HASH)
    assert params.type is Type.ID
    # OWASP's floor for argon2id: 19 MiB of memory and two passes.
    assert params.memory_cost >= 19 * 1024
    assert params.time_cost >= 2
