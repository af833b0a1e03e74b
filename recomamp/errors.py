"""Domain exceptions raised by services; the API maps them to 4xx in one place (recomamp.api)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    message: str


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    status_code = 400
    default_code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.errors = [FieldError(field or "non_field_errors", code or self.default_code, message)]


class ValidationFailed(DomainError):
    """One or more fields are invalid."""

    def __init__(self, errors: list[FieldError]):
        Exception.__init__(self, "; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = list(errors)


class Conflict(DomainError):
    status_code = 409
    default_code = "conflict"


class NotFound(DomainError):
    status_code = 404
    default_code = "not_found"


class PermissionDenied(DomainError):
    status_code = 403
    default_code = "permission_denied"


class RateLimited(DomainError):
    status_code = 429
    default_code = "throttled"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after
