"""One router module per resource; ``avatars.server.main`` mounts them under ``/api``."""

from __future__ import annotations

from typing import Any

from avatars.protocol.wire import ErrorResponse


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI declarations of the error responses an endpoint may give."""
    descriptions = {
        400: "Bad request",
        401: "Not authenticated",
        403: "Forbidden",
        404: "Not found",
        409: "Conflict",
        413: "Too large",
        422: "Invalid input",
        429: "Too many requests",
        503: "Unavailable",
    }
    return {
        code: {"model": ErrorResponse, "description": descriptions.get(code, "Error")}
        for code in codes
    }


#: What every authenticated endpoint may answer.
AUTH_ERRORS = errors(401, 422)
