"""Health, client compatibility and capabilities: public endpoints (no authentication).

``GET /check_client`` reads the ``User-Agent``: Octopize's client sends
``avatar-python/<version>`` and ours ``avatars-sdk/<version>``. Official clients 1.17 to 1.30
speak the protocol this server implements; older and newer ones are told they are
incompatible (with the newest compatible version), because the official client refuses to run
on ``incompatible`` *and* on ``unknown``. Anything else (curl, a browser, a health checker)
is answered ``compatible`` with a note: only the official client acts on the status, and it
always identifies itself, so "unknown" would only break tools that cannot care.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from avatars import __version__
from avatars.protocol.enums import CompatibilityStatus
from avatars.protocol.wire import CapabilitiesResponse, CompatibilityResponse, HealthResponse
from avatars.server.deps import State
from avatars.server.errors import error_body
from avatars.server.routers import errors

router = APIRouter(tags=["health"])

OFFICIAL_MIN = (1, 17, 0)
OFFICIAL_MAX = (1, 30)  # any 1.30.x
MOST_RECENT_OFFICIAL = "1.30.0"
_OFFICIAL = re.compile(r"avatar-python/(\d+)\.(\d+)\.(\d+)")
_OURS = re.compile(r"avatars-sdk/(\S+)")


def check_user_agent(user_agent: str) -> CompatibilityResponse:
    ours = _OURS.search(user_agent)
    if ours:
        return CompatibilityResponse(
            message=f"avatars SDK {ours.group(1)} is compatible with this server ({__version__})",
            status=CompatibilityStatus.compatible,
        )
    official = _OFFICIAL.search(user_agent)
    if official:
        version = tuple(int(x) for x in official.groups())
        text = ".".join(official.groups())
        if version >= OFFICIAL_MIN and version[:2] <= OFFICIAL_MAX:
            return CompatibilityResponse(
                message=f"client {text} is compatible", status=CompatibilityStatus.compatible
            )
        return CompatibilityResponse(
            message=(
                f"client {text} is not supported: this server speaks the protocol of the "
                f"official clients 1.17.0 to {MOST_RECENT_OFFICIAL[:4]}.x"
            ),
            most_recent_compatible_client=MOST_RECENT_OFFICIAL,
            status=CompatibilityStatus.incompatible,
        )
    return CompatibilityResponse(
        message="unrecognized client: no compatibility check was made",
        status=CompatibilityStatus.compatible,
    )


@router.get("/", response_model=HealthResponse, summary="Root")
async def root() -> HealthResponse:
    return HealthResponse(message="Avatar API", version=__version__)


@router.get("/health", response_model=HealthResponse, summary="Is the server up?")
async def health() -> HealthResponse:
    return HealthResponse(message="ok", version=__version__)


@router.get(
    "/health/db",
    response_model=HealthResponse,
    responses=errors(503),
    summary="Can the server reach its database?",
)
def health_db(state: State) -> HealthResponse | JSONResponse:
    problem = state.db.problem()
    if problem is not None:
        return JSONResponse(error_body(f"database unreachable: {problem}"), status_code=503)
    return HealthResponse(message="ok", version=__version__)


@router.get("/check_client", response_model=CompatibilityResponse, summary="Client compatibility")
async def check_client(request: Request) -> CompatibilityResponse:
    return check_user_agent(request.headers.get("user-agent", ""))


@router.get("/capabilities", response_model=CapabilitiesResponse, summary="What can run here")
async def capabilities() -> CapabilitiesResponse:
    # Uploaded tables only: no database connections on this server.
    return CapabilitiesResponse(input_protocols=["file"], database_engines=[], connections=[])
