"""The SDK's exceptions: one hierarchy, so callers can catch as broadly or narrowly as they need.

Every HTTP failure is an :class:`APIError` carrying the status code, the server's own message
and the ``httpx.Response``; the subclass says which kind of failure it is, so a notebook can
``except NotFoundError`` without parsing strings. Network failures that survived the retries
are :class:`APIConnectionError` / :class:`APITimeoutError`. Waiting for a job ends in
:class:`JobFailedError` (with the server's ``exception`` text) or :class:`JobTimeoutError`.

``APIError`` also derives from ``Exception`` through ``AvatarsError`` only: the official
client raised bare ``Exception``/``ValueError``, so code written for it that catches
``Exception`` keeps working. :class:`JobFailedError` derives from ``ValueError`` for the same
reason (the official client raises ``ValueError("Job ... failed with exception: ...")``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import httpx

    from avatars.protocol.wire import JobResponse

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "AvatarsError",
    "ConflictError",
    "JobFailedError",
    "JobTimeoutError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "StorageError",
    "UnprocessableEntityError",
    "ValidationError",
]


class AvatarsError(Exception):
    """Base class of every error raised by the SDK."""


class APIError(AvatarsError):
    """The server answered with an error status.

    ``message`` is the server's own explanation (its ``message`` field, FastAPI's ``detail``,
    or a validation error's ``msg`` with the field it concerns); ``str(error)`` is
    ``"<METHOD> <url>: <status> <message>"``.
    """

    def __init__(
        self,
        status_code: int,
        message: str,
        response: httpx.Response | None = None,
        *,
        method: str = "",
        url: str = "",
        body: Any = None,
    ) -> None:
        self.status_code = status_code
        self.message = message
        self.response = response
        self.method = method.upper()
        self.url = url
        self.body = body
        where = f"{self.method} {url}: " if method or url else ""
        super().__init__(f"{where}{status_code} {message}")


class AuthenticationError(APIError):
    """401: missing, wrong or expired credentials."""


class PermissionDeniedError(APIError):
    """403: authenticated, but not allowed to do this."""


class NotFoundError(APIError):
    """404: no such object (or not visible to the caller)."""


class ConflictError(APIError):
    """409: the object's state forbids the request (e.g. cancelling a finished job)."""


class UnprocessableEntityError(APIError):
    """422: the request was understood but its content is invalid."""


#: The name most users look for.
ValidationError = UnprocessableEntityError


class RateLimitError(APIError):
    """429: too many requests; raised once the automatic retries are exhausted."""

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: the server failed."""


class APIConnectionError(AvatarsError):
    """The server could not be reached (after the automatic retries)."""

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        self.method = method.upper()
        self.url = url
        super().__init__(message)


class APITimeoutError(APIConnectionError):
    """A request timed out (after the automatic retries)."""


class StorageError(AvatarsError):
    """The S3 storage endpoint refused or failed a transfer."""

    def __init__(self, message: str, *, status_code: int | None = None, code: str = "") -> None:
        self.status_code = status_code
        self.code = code
        super().__init__(message)


class JobFailedError(AvatarsError, ValueError):
    """A job ended in an error status (or was cancelled); ``str()`` is the server's reason."""

    def __init__(self, message: str, job: JobResponse | None = None) -> None:
        self.job = job
        super().__init__(message)


class JobTimeoutError(AvatarsError, TimeoutError):
    """A job did not finish within the allowed time. The job itself keeps running."""

    def __init__(self, message: str, job: JobResponse | None = None) -> None:
        self.job = job
        super().__init__(message)


_BY_STATUS: dict[int, type[APIError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_class_for(status_code: int) -> type[APIError]:
    """The exception class of an error status."""
    if status_code >= 500:
        return ServerError
    return _BY_STATUS.get(status_code, APIError)
