"""Errors as JSON: every error response carries ``message`` (and ``detail``).

The body is ``{"detail": {"message": m, ...}, "message": m}``. Both places matter:

- the official client shows the first ``message`` it finds (``base_client.py``'s nested
  search), and its token refresh looks for "credentials expired" in ``detail.message``;
- FastAPI clients look at ``detail``.

The services raise the exceptions of :mod:`avatars.server.services.errors`; this module is
the one place that turns them into HTTP answers (:data:`STATUS_OF`). Validation errors keep
FastAPI's ``detail`` list (``loc``/``msg``/``type``) and add a ``message`` that names the field
and the problem. Unexpected exceptions answer 500 with a generic message; the traceback goes
to the log only.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from avatars.server.services.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidRequest,
    NotFound,
    RateLimited,
    ServiceError,
    TooLarge,
    Unauthenticated,
    Unavailable,
)
from avatars.server.storage import StorageError

log = logging.getLogger(__name__)


class ApiError(StarletteHTTPException):
    """An HTTP error with a message for the user and optional extra fields in ``detail``."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.message = message
        self.extra = extra


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


#: The HTTP status of each service error.
STATUS_OF: dict[type[ServiceError], int] = {
    InvalidRequest: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    InvalidInput: 422,
    RateLimited: 429,
    Unavailable: 503,
}


def service_error_response(exc: ServiceError) -> JSONResponse:
    """The HTTP answer to a service error: its status, message, extra fields and headers."""
    status = next((code for cls, code in STATUS_OF.items() if isinstance(exc, cls)), 400)
    headers: dict[str, str] = {}
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = exc.scheme
    elif isinstance(exc, RateLimited | Unavailable) and exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    body = error_body(exc.message, **jsonable_encoder(exc.extra))
    return JSONResponse(body, status_code=status, headers=headers or None)


def early_error_response(exc: BaseException) -> JSONResponse | None:
    """The answer to what authenticating a request raised before the application ran (the
    request guard of :mod:`avatars.server.middleware`), or None for a bug (re-raised)."""
    if isinstance(exc, ServiceError):
        return service_error_response(exc)
    if isinstance(exc, OperationalError):
        return JSONResponse(
            error_body("the database is unavailable; retry later"),
            status_code=503,
            headers={"Retry-After": "5"},
        )
    return None


def error_body(message: str, **extra: Any) -> dict[str, Any]:
    return {"detail": {"message": message, **extra}, "message": message}


def _location(loc: list[Any] | tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
        where = parts[0]
        rest = ".".join(parts[1:])
        return f"{where} field '{rest}'" if rest else where
    return ".".join(parts)


def summarize_validation(errors: list[dict[str, Any]]) -> str:
    shown = [f"{_location(e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in errors[:5]]
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "invalid request: " + "; ".join(shown) + more


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            # FastAPI's answer to an undecodable body: a validation error like any other.
            return JSONResponse(error_body("the request body could not be parsed"), status_code=422)
        if isinstance(exc, ApiError):
            body = error_body(exc.message, **jsonable_encoder(exc.extra))
        elif isinstance(exc.detail, dict) and "message" in exc.detail:
            body = {"detail": exc.detail, "message": str(exc.detail["message"])}
        else:
            message = str(exc.detail) if exc.detail else "error"
            if exc.status_code == 404 and message == "Not Found":
                message = f"no such endpoint: {request.method} {request.url.path}"
            elif exc.status_code == 405:
                message = f"method {request.method} is not allowed on {request.url.path}"
            body = error_body(message)
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return service_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = jsonable_encoder(exc.errors())
        # The input can be a password or a whole upload: never echo it back.
        for err in errors:
            err.pop("input", None)
            err.pop("url", None)
        return JSONResponse(
            {"detail": errors, "message": summarize_validation(errors)}, status_code=422
        )

    @app.exception_handler(DataError)
    async def _bad_data(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value that came from the request: PostgreSQL rejects NUL
        # characters in text, and values too long for their column. The client's fault.
        if "NUL" in str(exc.orig):
            message = "text containing a NUL character (\\x00) is not accepted"
        else:
            message = "a value of the request is not acceptable (too long, or out of range)"
        log.info("refused by the database on %s %s: %s", request.method, request.url.path, exc.orig)
        return JSONResponse(error_body(message), status_code=422)

    @app.exception_handler(StorageError)
    async def _storage_down(request: Request, exc: StorageError) -> JSONResponse:
        # The object store failed (down, unreachable): nothing was committed, retrying helps.
        log.error("storage failure on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            error_body("the storage backend is unavailable; retry later"),
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: OperationalError) -> JSONResponse:
        # The database is unreachable (restarting...): the pool reconnects by itself.
        log.error("database failure on %s %s: %s", request.method, request.url.path, exc.orig)
        return JSONResponse(
            error_body("the database is unavailable; retry later"),
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body("internal server error; the server log has the details"), status_code=500
        )
