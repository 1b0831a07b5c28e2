"""The platform's ASGI application: ``create_app(settings) -> FastAPI``.

- ``/api/...``      the Avatar API (protocol.md §2), OpenAPI at ``/api/openapi.json``
- ``/storage/...``  the S3-compatible storage endpoint (``avatars.server.s3``)
- ``/mcp``          the MCP tools for assistants, when ``AVATAR_MCP`` (``avatars.mcp.mount``)
- ``/``             the web application (``avatars.server.web``)

At start the database schema is brought to the newest migration, the admin of
``AVATAR_ADMIN_EMAIL`` is created if absent, and (unless ``run_jobs=False``) the job
dispatcher starts with its local worker processes. ``clock`` is the time the API's rules read
(:mod:`avatars.server.clock`); job workers in other processes keep the real clock.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import re
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Scope

from avatars import __version__
from avatars.protocol.enums import ObjectType, Verb
from avatars.server import web
from avatars.server.clock import Clock, utc_now
from avatars.server.config import Settings
from avatars.server.db import Database, upgrade_database
from avatars.server.db.models import User
from avatars.server.deps import AppState, authenticate_request
from avatars.server.docs import install_docs
from avatars.server.errors import early_error_response, install_error_handlers
from avatars.server.files import is_report
from avatars.server.jobs import lifecycle
from avatars.server.jobs.dispatcher import Dispatcher
from avatars.server.jobs.executors import Executor, LocalExecutor
from avatars.server.middleware import BodyRules, RequestGuard, SecurityHeaders, TrustedProxies
from avatars.server.private_files import exposed_paths
from avatars.server.retention import delete_expired
from avatars.server.routers import (
    api_keys,
    datasets,
    event_logs,
    health,
    jobs,
    login,
    resources,
    results,
    users,
)
from avatars.server.services import accounts
from avatars.server.services.context import Caller
from avatars.server.services.events import record_event
from avatars.server.services.results import principal_resolver
from avatars.server.storage import Storage

log = logging.getLogger(__name__)

STALE_UPLOAD_AGE = dt.timedelta(days=1)

#: The only requests whose body is read without authentication (small forms). Any other
#: request with a body is authenticated first (avatars.server.middleware.BodyRules).
PUBLIC_BODIES = frozenset(
    {
        ("POST", "/api/login"),
        ("POST", "/api/refresh"),
        ("GET", "/api/refresh"),
        ("POST", "/api/login/forgotten_password"),
        ("POST", "/api/login/reset_password"),
    }
)
#: Streamed uploads, bounded by AVATAR_MAX_UPLOAD_BYTES (the S3 endpoint bounds its own).
UPLOADS = (("PUT", re.compile(r"/api/datasets/[^/]+")),)
#: The web pages' forms anybody may post (avatars.server.web.pages): small, as the API's public
#: bodies. Every other web form needs a login, which the page checks before it reads the body.
WEB_PUBLIC_FORMS = frozenset(
    ("POST", path)
    for path in ("/login", "/logout", "/language", "/password/forgot", "/password/reset")
)
#: The web pages' uploads (avatars.server.web.pages), bounded by AVATAR_MAX_UPLOAD_BYTES; the
#: pages check their session cookie before they read a byte.
WEB_UPLOADS = (("PUT", re.compile(r"/uploads/[^/]+")), ("POST", re.compile(r"/runs/new")))

_S3_VERBS = {
    "GetObject": Verb.download,
    "PutObject": Verb.create,
    "CopyObject": Verb.create,
    "CompleteMultipartUpload": Verb.create,
    "DeleteObject": Verb.delete,
}


def _s3_event_hook(state: AppState) -> Callable[[str, object, str, str], None]:
    def on_event(operation: str, principal: object, bucket: str, key: str) -> None:
        verb = _S3_VERBS.get(operation)
        if verb is None:
            return
        user_id = uuid.UUID(str(getattr(principal, "user_id", "")))
        with state.db.writing() as session:
            user = session.get(User, user_id)
            record_event(
                session,
                verb,
                ObjectType.file,
                object_name=f"{bucket}/{key}",
                user_id=user_id,
                organization_id=user.organization_id if user is not None else None,
                at=state.now(),
                details={"via": "s3", "operation": operation},
            )

    return on_event


def first_admin_hint(settings: Settings) -> str:
    """What to run when the platform has no user yet (nobody could log in)."""
    where = f"--data-dir {settings.data_dir}"
    if not settings.is_sqlite:
        where += " (with the same AVATAR_DATABASE_URL)"
    return (
        "nobody can log in to this platform yet: it has no user. Create the first admin with\n"
        f"    avatars users create --email you@example.org --admin {where}\n"
        "or start the server with AVATAR_ADMIN_EMAIL and AVATAR_ADMIN_PASSWORD set."
    )


def _mount_storage(app: FastAPI, state: AppState) -> None:
    try:
        from avatars.server.s3 import create_s3_router
    except ImportError:  # pragma: no cover - the S3 endpoint ships with the server
        log.warning("the S3 storage endpoint is not available in this installation")
        return
    router = create_s3_router(
        state.storage,
        principal_resolver(state),
        on_event=_s3_event_hook(state),
        max_object_size=state.settings.max_upload_bytes,
        clock=state.clock,
        inline_object=is_report,
    )
    app.include_router(router, prefix="/storage", include_in_schema=False)


def _housekeeping(state: AppState, stop: threading.Event) -> None:
    """At start, then every ``housekeeping_interval_seconds``: delete expired data
    (``avatars.server.retention``) and multipart uploads abandoned by killed clients."""
    purge: Callable[..., int] | None
    try:
        from avatars.server.s3 import purge_stale_uploads as purge
    except ImportError:  # pragma: no cover
        purge = None
    settings = state.settings
    while True:
        try:
            delete_expired(state.storage, settings.dataset_expiration_days, state.now())
            if purge is not None:
                purge(state.storage, STALE_UPLOAD_AGE, now=state.now())
        except Exception:  # storage briefly unavailable: next round
            log.exception("housekeeping failed")
        if stop.wait(settings.housekeeping_interval_seconds):
            return


def warn_if_exposed(settings: Settings) -> None:
    """Warn about the platform's files that others than its account may read (they are
    created private, 0700/0600; older ones, or ones made by hand, may not be)."""
    from sqlalchemy.engine import make_url

    paths: list[object] = [settings.data_dir, settings.data_dir / "secret_key"]
    if settings.is_sqlite:
        database = make_url(settings.database_url).database
        if database and database != ":memory:":
            paths += [database, f"{database}-wal", f"{database}-shm"]
    if "://" not in settings.storage_url or settings.storage_url.startswith("file://"):
        paths.append(settings.storage_url.removeprefix("file://"))
    for path, mode in exposed_paths(str(p) for p in paths):
        log.warning(
            "%s has mode %s: others than this account may read the platform's data. "
            "Fix it with: chmod -R go-rwx %s",
            path,
            oct(mode),
            path,
        )


def _start_jobs(state: AppState) -> Dispatcher:
    settings = state.settings
    dispatcher = Dispatcher(settings, state.db, clock=state.clock)

    def warm_then_dispatch() -> None:
        # Claiming waits for warm workers, so a job's heartbeat starts as soon as it is claimed.
        # The executor is attached before its warm-up: a server stopped meanwhile shuts down
        # the worker processes being started (dispatcher.attach) instead of leaving them.
        while True:
            executor: Executor | None = None
            try:
                executor = _executor(state, dispatcher)
                if not dispatcher.attach(executor):
                    return
                executor.warm_up()
                break
            except Exception:  # e.g. the Dask scheduler is not up yet: jobs wait in the queue
                if dispatcher.stopping.is_set():
                    return  # the stop interrupted the warm-up: nothing went wrong
                log.exception("could not start the job executor; trying again in 10 s")
                if executor is not None:
                    executor.shutdown(wait=False)
                    dispatcher.executor = None
            if dispatcher.stopping.wait(10):
                return
        dispatcher.start()

    threading.Thread(target=warm_then_dispatch, name="avatars-warm-up", daemon=True).start()
    return dispatcher


def _executor(state: AppState, dispatcher: Dispatcher) -> Executor:
    """Local worker processes (embedded default), or the Dask cluster of the settings."""
    settings = state.settings
    if settings.dask_scheduler:
        from avatars.server.jobs.executors import DaskExecutor

        log.info("jobs run on the Dask cluster at %s", settings.dask_scheduler)
        return DaskExecutor(
            settings.dask_scheduler,
            settings.to_worker_json(),
            dispatcher.on_crash,
            running_jobs=lambda: lifecycle.count_running(state.db),
        )
    return LocalExecutor(settings.workers, settings.to_worker_json(), dispatcher.on_crash)


def _mcp_app(state: AppState) -> Any:
    """The MCP server answering at /mcp (``AVATAR_MCP``), or None when it is off."""
    if not state.settings.mcp:
        return None
    try:
        from avatars.mcp.mount import create_mcp_app
    except ModuleNotFoundError as missing:
        if (missing.name or "").startswith("avatars"):
            raise
        raise RuntimeError(
            f"AVATAR_MCP needs the 'mcp' extra ({missing.name} is not installed): "
            "pip install 'avatars[mcp]'"
        ) from None
    return create_mcp_app()


def create_app(
    settings: Settings | None = None, *, run_jobs: bool = True, clock: Clock | None = None
) -> FastAPI:
    """The application; ``clock`` (default: the real UTC time) is what its rules read."""
    settings = settings or Settings()
    db = Database(settings.database_url, pool_size=20)
    state = AppState(
        settings=settings,
        db=db,
        storage=Storage(settings.storage_url, settings.storage_options),
        secret_key=settings.ensure_secret_key(),
        clock=clock or utc_now,
    )
    mcp_app = _mcp_app(state)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warn_if_exposed(settings)
        upgrade_database(db)
        accounts.ensure_admin(state)
        if not accounts.has_users(state):
            log.warning(first_admin_hint(settings))
        stop = threading.Event()
        threading.Thread(target=_housekeeping, args=(state, stop), daemon=True).start()
        if run_jobs:
            state.dispatcher = _start_jobs(state)
        # Everything loaded so far lives as long as the server: keep it out of the garbage
        # collector's full passes, whose pauses otherwise show in the tail latency.
        gc.collect()
        gc.freeze()
        try:
            async with AsyncExitStack() as stack:
                if mcp_app is not None:  # the MCP transport's session manager
                    await stack.enter_async_context(mcp_app.router.lifespan_context(mcp_app))
                yield
        finally:
            stop.set()
            if state.dispatcher is not None:
                state.dispatcher.stop()
            state.background.shutdown(wait=True)
            db.dispose()

    app = _Platform(
        title="Avatar API",
        version=__version__,
        description="The open Avatar platform: anonymization by the avatar method.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # served from the package: avatars.server.docs
        redoc_url=None,
        lifespan=lifespan,
        # A redirect has no body nor Content-Type, which the official client needs (§2.1).
        redirect_slashes=False,
    )
    app.state.avatars = state
    install_error_handlers(app)
    for module in (health, login, users, api_keys, resources, jobs, results, datasets, event_logs):
        app.include_router(module.router, prefix="/api")
    install_docs(app)

    if mcp_app is not None:
        from avatars.mcp.mount import mcp_route

        app.router.routes.append(mcp_route(mcp_app, state))
    _mount_storage(app, state)
    # The pages at "/", last: after /api, /mcp and /storage, which they must not shadow.
    web.install(app)
    _install_guards(app, settings)
    return app


class _Platform(FastAPI):
    """The application, whose every response, errors of the last resort included, carries the
    security headers (:class:`SecurityHeaders` wraps the whole middleware stack)."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


def _install_guards(app: FastAPI, settings: Settings) -> None:
    """The request guard (body limits, authentication before bodies, JSON depth) inside the
    trusted-proxy rewriting, which must come first: the guard records the client address."""

    async def authenticate(scope: Scope) -> Caller:
        return await authenticate_request(Request(scope))

    rules = BodyRules(
        public=PUBLIC_BODIES | WEB_PUBLIC_FORMS,
        uploads=UPLOADS,
        self_guarded=("/storage",),
        # /mcp: its gate checks the bearer API key before the MCP app reads the body
        gated=("/mcp",),
        api_prefixes=("/api",),
        web_uploads=WEB_UPLOADS,
        max_request_bytes=settings.max_request_bytes,
        max_upload_bytes=settings.max_upload_bytes,
    )
    app.add_middleware(
        RequestGuard,
        policy_of=rules.policy_of,
        authenticate=authenticate,
        respond=early_error_response,
    )
    app.add_middleware(TrustedProxies, proxies=settings.trusted_proxies)
