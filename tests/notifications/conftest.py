from tests.auth.conftest import fast_password_hashing

__all__ = ["fast_password_hashing"]
