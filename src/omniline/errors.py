"""Domain errors raised by services; one handler maps them to HTTP answers."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, fields: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or []

    def headers(self) -> dict[str, str]:
        return {}

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            err["fields"] = self.fields
        return {"error": err}


class BadRequest(DomainError):
    status = 400
    code = "bad_request"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class NoSuch(NotFound):
    """An id (or name) in the request names nothing the caller may use: a queue, team, inbox,
    user, flow or calendar of another workspace or none at all. 404 naming the field, as the
    request itself may be right and the thing it refers to is what is missing."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", fields=[{"field": field, "message": message}])


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Taken(Conflict):
    """A name or key that must be unique in the workspace is used by another thing: 409
    naming the field (the same request succeeds once the other thing is renamed)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", fields=[{"field": field, "message": message}])


class TooLarge(DomainError):
    status = 413
    code = "payload_too_large"


class UnsupportedType(DomainError):
    status = 415
    code = "unsupported_media_type"


class Invalid(DomainError):
    status = 422
    code = "validation_error"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", fields=[{"field": field, "message": message}])


class TooManyRequests(DomainError):
    """A limit was reached (login throttling): try again after ``retry_after`` seconds."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class TwoFactorRequired(Unauthorized):
    """The password was right; a code from the authenticator app (or a recovery code) is
    needed too: send it as ``otp``."""

    code = "two_factor_required"


class TwoFactorSetupRequired(Forbidden):
    """The user's role must use two-factor sign-in and they have not set it up yet."""

    code = "two_factor_setup_required"
