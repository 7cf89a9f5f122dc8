from tests.auth.conftest import fast_password_hashing
from tests.browser.conftest import browser

__all__ = ["browser", "fast_password_hashing"]
