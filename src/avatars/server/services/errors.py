"""The services' exceptions: what went wrong, in the caller's terms, without HTTP.

The API maps them to status codes in one place (:mod:`avatars.server.errors`); another front
end (a web UI, an MCP server, the command line) can catch them as they are. Each carries a
message meant for the user and optional ``extra`` fields (shown in the API's ``detail``).
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Base class: ``message`` is shown to the user as is."""

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class NotFound(ServiceError):
    """The object does not exist, or the caller may not see it (the two look the same)."""

    @classmethod
    def of(cls, what: str) -> NotFound:
        return cls(f"{what} not found")


class Conflict(ServiceError):
    """The object's state forbids the action (already exists, already over, ...)."""


class Forbidden(ServiceError):
    """The caller is known but lacks the right (e.g. the action needs an admin)."""


class InvalidInput(ServiceError):
    """A value given is not acceptable (malformed, out of range, names nothing)."""


class InvalidRequest(ServiceError):
    """The request as a whole cannot be honoured: options that exclude each other, a token
    that is invalid or expired."""


class Unauthenticated(ServiceError):
    """The credentials are missing, invalid, expired or revoked.

    ``scheme`` is the authentication scheme they were for (``Bearer``, ``api-key-v1``).
    """

    def __init__(self, message: str, *, scheme: str = "Bearer", **extra: Any) -> None:
        super().__init__(message, **extra)
        self.scheme = scheme


class RateLimited(ServiceError):
    """Too many attempts: try again in ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


class TooLarge(ServiceError):
    """The input is larger than the platform accepts."""


class Unavailable(ServiceError):
    """A backend (database, object store) is unavailable; retrying later may work."""

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
