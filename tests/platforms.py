"""The platform as tests see it: the API in this process, or ``avatars serve`` in another.

Both kinds have one interface (:class:`Platform`), so a test written against it runs on either:

- :class:`AppPlatform` (fast tier): ``avatars.server.main.create_app(Settings(...))`` on SQLite
  and a storage folder in a temporary directory, its lifespan (migrations, admin, job
  dispatcher with its worker processes) on an event loop of its own. No socket: every request,
  the SDK's S3 transfers included, goes through an ASGI transport (:class:`PortalTransport`).
- :class:`ServerPlatform` (end-to-end tier): ``python -m avatars.cli serve`` on a loopback port,
  on SQLite, PostgreSQL or the scale-out stack (PostgreSQL + SeaweedFS S3 + Dask).

What a test needs from it:

- ``platform.http``: an ``httpx.Client`` that reaches the platform (absolute URLs:
  ``platform.http.get(f"{platform.api_url}/health")``);
- ``platform.client(api_key=..., token=...)``: an ``httpx.Client`` on ``/api``;
- ``platform.http_client(**kwargs)``: a new ``httpx.Client`` on the platform's transport, to
  inject into the SDK (``ApiClient(..., http_client=...)``) or to record requests;
- ``platform.api_client(...)`` / ``platform.manager(...)``: the SDK, on that transport;
- ``platform.admin``, ``new_user``, ``login``, ``create_api_key``, ``upload``,
  ``wait_for_job``, ``storage``, ``read_object``, ``database_session``, ``log()``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import logging
import os
import signal
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from stack import free_port

ROOT = Path(__file__).resolve().parent.parent
IRIS_CSV = ROOT / "src" / "avatars" / "data" / "iris.csv"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-1"
USER_PASSWORD = "user-password-1"

#: Settings of every test platform unless a test says otherwise (``env=``).
BASE_ENV = {
    "AVATAR_ADMIN_EMAIL": ADMIN_EMAIL,
    "AVATAR_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "AVATAR_WORKERS": "2",
    "AVATAR_HEARTBEAT_TIMEOUT_SECONDS": "10",
}
#: Live servers (end-to-end tier) also write figures that load plotly.js from its CDN rather
#: than carrying it (4.8 MB less per figure file, ~30 MB less per standard job, in the S3 store
#: too): no end-to-end test looks inside a figure. The offline default is what the fast tier
#: checks (tests/sdk/test_runner.py, test_reports_through_server.py, tests/engine).
LIVE_ENV = {**BASE_ENV, "AVATAR_FIGURES_PLOTLYJS": "cdn"}


@dataclass
class TestUser:
    __test__ = False  # not a test class, whatever its name says

    id: str
    email: str
    password: str
    organization_id: str
    role: str
    api_key: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"api-key-v1 {self.api_key}"}


def settings_values(env: dict[str, str]) -> dict[str, str]:
    """``{"AVATAR_MAX_ROWS": "100"}`` → ``{"max_rows": "100"}`` (pydantic parses the strings)."""
    return {k.removeprefix("AVATAR_").lower(): v for k, v in env.items()}


class Platform:
    """What tests use of a running platform, whatever runs it (see the module docstring)."""

    backend = "sqlite"
    base_url = ""
    data_dir: Path
    env: dict[str, str]
    database_url: str | None = None

    def __init__(self) -> None:
        self.admin = TestUser("", "", "", "", "admin")
        self._clients: list[httpx.Client] = []
        self.http = self.http_client(timeout=60)

    # -- transport ------------------------------------------------------------------------
    def http_client(self, **kwargs: Any) -> httpx.Client:
        """A new ``httpx.Client`` that reaches this platform; closed with the platform."""
        raise NotImplementedError

    def _track(self, client: httpx.Client) -> httpx.Client:
        self._clients.append(client)
        return client

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api"

    def client(
        self, api_key: str | None = None, token: str | None = None, **kwargs: Any
    ) -> httpx.Client:
        """An HTTP client on ``/api``, authenticated by key or bearer token if given."""
        headers = dict(kwargs.pop("headers", {}))
        if api_key:
            headers["Authorization"] = f"api-key-v1 {api_key}"
        elif token:
            headers["Authorization"] = f"Bearer {token}"
        kwargs.setdefault("timeout", 60)
        return self.http_client(base_url=self.api_url, headers=headers, **kwargs)

    def api_client(self, api_key: str | None = None, **kwargs: Any) -> Any:
        """Our SDK's ``ApiClient`` on this platform (its requests and S3 transfers included)."""
        from avatars.client import ApiClient

        kwargs.setdefault("http_client", self.http_client())
        return ApiClient(self.api_url, api_key=api_key, **kwargs)

    def manager(self, api_key: str | None = None, **kwargs: Any) -> Any:
        """Our SDK's ``Manager`` on this platform."""
        from avatars.manager import Manager

        kwargs.setdefault("http_client", self.http_client())
        return Manager(self.base_url, api_key=api_key, **kwargs)

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()

    # -- settings, storage and database ---------------------------------------------------
    def settings(self) -> Any:
        from avatars.server.config import Settings

        values = settings_values(self.env)
        values["data_dir"] = str(self.data_dir)
        return Settings.model_validate(values)

    @property
    def storage(self) -> Any:
        """The server's object storage, configured as the server is (a folder, or S3)."""
        from avatars.server.storage import Storage

        settings = self.settings()
        return Storage(settings.storage_url, settings.storage_options)

    def read_object(self, path: str) -> bytes:
        """The bytes of ``s3://<bucket>/<key>`` (or of a result URL ending in ``url=...``)."""
        path = path.split("url=", 1)[-1]
        return bytes(self.storage.read_bytes(path.removeprefix("s3://")))

    @contextlib.contextmanager
    def database_session(self) -> Iterator[Any]:
        """A write session on this platform's own database, for what a test cannot make happen
        through the API (time passing, a user created out of band); committed at the end."""
        from avatars.server.db import Database

        db = Database(self.settings().database_url, pool_size=1)
        try:
            with db.writing() as session:
                yield session
        finally:
            db.dispose()

    def log(self) -> str:
        raise NotImplementedError

    def reset_token(self, email: str, now: dt.datetime | None = None) -> str:
        """A password-reset token for ``email``, issued the admin's way (``avatars users
        reset-password``): without SMTP the server neither sends nor logs one (issue 16.6)."""
        from avatars.server.clock import utc_now
        from avatars.server.services import accounts

        with self.database_session() as session:
            user = accounts.find_login_user(session, email)
            assert user is not None, email
            token = accounts.new_reset_token(session, user, minutes=60.0, now=now or utc_now())
        with contextlib.suppress(NotImplementedError):
            assert token not in self.log()
        return token

    # -- users ----------------------------------------------------------------------------
    def login(self, username: str, password: str) -> dict[str, Any]:
        response = self.http.post(
            f"{self.api_url}/login", data={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def create_api_key(self, email: str, password: str, name: str = "test") -> str:
        tokens = self.login(email, password)
        response = self.http.post(
            f"{self.api_url}/api-keys",
            json={"name": name, "expiration_days": 30},
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        assert response.status_code == 200, response.text
        return str(response.json()["api_key"]["plaintext"])

    def set_up_admin(self) -> None:
        email, password = self.env["AVATAR_ADMIN_EMAIL"], self.env["AVATAR_ADMIN_PASSWORD"]
        key = self.create_api_key(email, password, "admin")
        me = self.http.get(
            f"{self.api_url}/users/me", headers={"Authorization": f"api-key-v1 {key}"}
        ).json()
        self.admin = TestUser(
            me["id"], email, password, me["organization_id"], "admin", api_key=key
        )

    def new_user(
        self,
        *,
        organization: str | None = None,
        admin: bool = False,
        email: str | None = None,
        password: str = USER_PASSWORD,
        with_key: bool = True,
    ) -> TestUser:
        """A new user with an API key. Without ``organization``: created by the admin through
        ``POST /users`` in the admin's organization. With one: created like ``avatars users
        create --organization`` does, in that organization (made if needed)."""
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
        if organization is None:
            response = self.http.post(
                f"{self.api_url}/users",
                json={"email": email, "password": password, "role": "admin" if admin else "user"},
                headers=self.admin.headers,
            )
            assert response.status_code == 200, response.text
            body = response.json()
            user = TestUser(body["id"], email, password, body["organization_id"], body["role"])
        else:
            user = self._create_in_database(email, password, organization, admin)
        if with_key:
            user.api_key = self.create_api_key(email, password)
        return user

    def _create_in_database(
        self, email: str, password: str, organization: str, admin: bool
    ) -> TestUser:
        from avatars.server.services import accounts

        with self.database_session() as session:
            org = accounts.get_or_create_organization(session, organization)
            row = accounts.create_user(
                session,
                organization_id=org.id,
                email=email,
                password=password,
                role="admin" if admin else "user",
            )
            return TestUser(str(row.id), email, password, str(org.id), row.role)

    # -- data and jobs --------------------------------------------------------------------
    def upload(self, api_key: str, name: str, data: bytes) -> dict[str, Any]:
        """Upload a table to the user's upload prefix (``PUT /api/datasets/{name}``)."""
        response = self.http.put(
            f"{self.api_url}/datasets/{name}",
            content=data,
            headers={"Authorization": f"api-key-v1 {api_key}"},
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    @staticmethod
    def wait_for_job(client: httpx.Client, name: str, timeout: float = 120) -> dict[str, Any]:
        """Poll ``GET /jobs/{name}`` until ``done``; the final job."""
        deadline = time.monotonic() + timeout
        while True:
            response = client.get(f"/jobs/{name}")
            assert response.status_code == 200, response.text
            job = dict(response.json())
            if job["done"]:
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job {name} not done after {timeout} s: {job}")
            time.sleep(0.1)


# -- in this process --------------------------------------------------------------------------


class _Records(logging.Handler):
    """Every log record of the process while the app runs, as ``avatars serve`` would log."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.lines.append(self.format(record))
            del self.lines[:-20_000]  # a session-long platform: keep the recent records


def cheap_password_hashing() -> None:
    """Argon2 with its smallest cost for the app in this process (the live servers of the
    end-to-end tier keep the production cost).

    At its production cost (64 MiB, 3 passes, 4 lanes) every password hashed or checked takes
    ~0.2 s of CPU: more than half the time of the account tests, and a new user costs two. The
    code path is the same (argon2id through ``avatars.server.security``), only the cost
    parameters differ; hashes record their parameters, so both kinds verify everywhere. If the
    module no longer has ``_hasher`` the tests only get slower.
    """
    from argon2 import PasswordHasher

    from avatars.server import security

    if isinstance(getattr(security, "_hasher", None), PasswordHasher):
        security._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class PortalTransport(httpx.BaseTransport):
    """A synchronous httpx transport into an ASGI app running on an anyio portal's event loop.

    Each request goes through ``httpx.ASGITransport`` on the portal's loop (the loop the app's
    lifespan runs on), so any thread may use it, as a network client would: the SDK, event
    hooks, base URLs, timeouts (ignored). Request bodies are read before the call, response
    bodies returned whole (no test streams an endless response). An exception in the app
    answers 500, as in production (its traceback is in the log).
    """

    def __init__(self, app: Any, portal: Any) -> None:
        self._asgi = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def call() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            forwarded = httpx.Request(
                request.method, request.url, headers=request.headers, content=body
            )
            response = await self._asgi.handle_async_request(forwarded)
            content = b"".join([chunk async for chunk in response.stream])  # type: ignore[union-attr]
            return response.status_code, response.headers.raw, content

        status, headers, content = self._portal.call(call)
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content))


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    """httpx's default TLS settings (certifi's CAs), made once: every ``httpx.Client`` builds
    its own otherwise, ~0.07 s of CPU to load the CA bundle, and the tests make one or more
    per test. Only the clients' network transport uses it (the platform is reached through
    :class:`PortalTransport`); a test that passes ``verify`` keeps its own."""
    return httpx.create_ssl_context()


class AppPlatform(Platform):
    """``create_app(Settings(...))`` in this process, on an event loop of its own (an anyio
    blocking portal: a thread) where its lifespan runs, reached through :class:`PortalTransport`.

    ``run_jobs=False`` leaves the job dispatcher (and its worker processes) out, for tests
    that never run a job. ``clock`` is handed to ``create_app`` (the injectable clock,
    ``avatars.server.clock.ManualClock``).
    """

    base_url = "http://testserver"

    def __init__(
        self,
        data_dir: Path,
        env: dict[str, str] | None = None,
        *,
        run_jobs: bool = True,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        from anyio.from_thread import start_blocking_portal

        from avatars.server.main import create_app

        self.data_dir = data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.env = {**BASE_ENV, **(env or {})}
        self._records = _Records()
        logging.getLogger().addHandler(self._records)
        # ``avatars serve --log-level info`` logs the platform's INFO records: so does this.
        self._avatars_level = logging.getLogger("avatars").level
        logging.getLogger("avatars").setLevel(logging.INFO)
        cheap_password_hashing()
        kwargs: dict[str, Any] = {"run_jobs": run_jobs}
        if clock is not None:
            kwargs["clock"] = clock
        self._running = contextlib.ExitStack()
        try:
            self.app = create_app(self.settings(), **kwargs)
            portal = self._running.enter_context(start_blocking_portal())
            # The lifespan (migrations, admin, dispatcher), entered on the portal's loop.
            lifespan = self.app.router.lifespan_context(self.app)
            self._running.enter_context(portal.wrap_async_context_manager(lifespan))
            self._transport = PortalTransport(self.app, portal)
        except BaseException:
            self._running.close()
            self._stop_logging()
            raise
        super().__init__()
        try:
            self.set_up_admin()
        except BaseException:
            self.close()
            raise

    def http_client(self, **kwargs: Any) -> httpx.Client:
        # Requests to the platform (http://testserver) go into the app; any other address
        # over the network, as from any client (a test's own socket server, for instance).
        mounts = {"all://testserver": self._transport}
        kwargs.setdefault("verify", _default_ssl_context())
        return self._track(httpx.Client(mounts=mounts, **kwargs))

    def log(self) -> str:
        return "\n".join(self._records.lines)

    def _stop_logging(self) -> None:
        logging.getLogger().removeHandler(self._records)
        logging.getLogger("avatars").setLevel(self._avatars_level)

    def close(self) -> None:
        super().close()
        try:
            self._running.close()  # the lifespan's end (workers stop), then the loop's
        finally:
            self._stop_logging()
            gc.unfreeze()  # create_app froze the heap for the server's lifetime


# -- in another process -----------------------------------------------------------------------


class PlatformServer:
    """``avatars serve`` in a subprocess, on a free loopback port."""

    def __init__(
        self,
        data_dir: Path,
        env: dict[str, str],
        log_level: str = "warning",
        port: int | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.env = env
        self.log_level = log_level
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "server.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api"

    def start(self, timeout: float = 60) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, "AVATAR_DATA_DIR": str(self.data_dir)}
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "avatars.cli",
                "serve",
                "--port",
                str(self.port),
                "--log-level",
                self.log_level,
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.data_dir,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the server exited with {self.process.returncode}:\n{self.log()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"the server did not answer within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-8000:]
        except OSError:
            return ""

    def stop(self, timeout: float = 20) -> None:
        """A clean stop (SIGTERM), as an administrator would do."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def kill(self) -> None:
        """SIGKILL: the server dies without any cleanup, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class ServerPlatform(Platform):
    """A running ``avatars serve`` (:class:`PlatformServer`) and the helpers to use it."""

    def __init__(self, server: PlatformServer, backend: str) -> None:
        self.server = server
        self.backend = backend
        self.data_dir = server.data_dir
        self.env = server.env
        self.database_url = server.env.get("AVATAR_DATABASE_URL")
        super().__init__()

    @property
    def base_url(self) -> str:  # type: ignore[override]
        return self.server.base_url

    def http_client(self, **kwargs: Any) -> httpx.Client:
        return self._track(httpx.Client(**kwargs))

    def log(self) -> str:
        return self.server.log()

    def restart(self, *, kill: bool) -> None:
        """Stop the server (SIGKILL with ``kill``, else a clean SIGTERM) and start a new one
        on the same data directory, database and port (HTTP clients must be recreated)."""
        if kill:
            self.server.kill()
        else:
            self.server.stop()
        self.close()
        self.http = self.http_client(timeout=60)
        self.server = PlatformServer(self.server.data_dir, self.server.env, port=self.server.port)
        self.server.start()

    def stop(self) -> None:
        self.close()
        self.server.stop()
