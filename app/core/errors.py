"""Errors services raise; routes turn them into 4xx answers in the person's language."""

from __future__ import annotations


class ServiceError(Exception):
    status_code = 400

    def __init__(self, message: str, *, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class NotFound(ServiceError):
    status_code = 404


class Forbidden(ServiceError):
    status_code = 403


class Conflict(ServiceError):
    status_code = 409


class Gone(ServiceError):
    status_code = 410


class Invalid(ServiceError):
    status_code = 422


class TooManyAttempts(ServiceError):
    status_code = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Busy(TooManyAttempts):
    """The server is busy (e.g. every password-check slot taken): 503 with Retry-After.

    A TooManyAttempts, so every handler of those answers it with its Retry-After too.
    """

    status_code = 503
