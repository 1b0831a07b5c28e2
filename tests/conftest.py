"""Shared fixtures: a real platform server on a loopback port, on SQLite or PostgreSQL.

Fixtures
--------
``platform``
    One server per database backend for the whole session (tests using it run once on SQLite
    and once on PostgreSQL), with the MCP server at ``/mcp`` (``AVATAR_MCP``). It is a
    :class:`Platform`: ``platform.api_url``, ``platform.admin`` (an admin :class:`TestUser`
    with ``api_key``), ``platform.client(key)``, ``platform.new_user(...)`` (a fresh user
    with a password and an API key, in the admin's organization or another one),
    ``platform.upload(key, name, data)``, ``platform.wait_for_job(client, name)``.
``platform_factory``
    Starts extra servers with their own settings (``platform_factory(env={...})``), for tests
    that need short token lifetimes, restarts, ...; they are stopped at the end of the test.
``backend``
    ``"sqlite"`` or ``"postgres"`` (the parameter behind ``platform``).

PostgreSQL comes from ``AVATAR_TEST_POSTGRES_URL`` (a server URL whose user may create
databases) or is started from the binaries (``initdb``/``pg_ctl`` under
``/usr/lib/postgresql/*/bin`` or ``$PATH``) in a temporary folder. When neither works the
PostgreSQL variants are skipped, unless ``AVATAR_TEST_REQUIRE_POSTGRES=1`` (CI), which makes
them fail instead.

Servers run as subprocesses (``python -m avatars.cli serve``); their log is in
``<data dir>/server.log`` and is printed when a server fails to start.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from stack import DaskCluster, LocalPostgres, SeaweedS3, free_port

ROOT = Path(__file__).resolve().parent.parent
IRIS_CSV = ROOT / "src" / "avatars" / "data" / "iris.csv"
ADMIN_PASSWORD = "admin-password-1"
USER_PASSWORD = "user-password-1"


# -- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def local_postgres() -> Iterator[LocalPostgres | None]:
    """The PostgreSQL cluster this session started, or None when AVATAR_TEST_POSTGRES_URL
    names an external server. Skips (fails in CI) when there is no PostgreSQL at all."""
    if os.environ.get("AVATAR_TEST_POSTGRES_URL"):
        yield None
        return
    server = LocalPostgres()
    try:
        server.url = server.start()
    except Exception as exc:  # no binaries, no postgres user, ...
        server.stop()
        reason = f"no PostgreSQL for the tests ({exc}); set AVATAR_TEST_POSTGRES_URL"
        if os.environ.get("AVATAR_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(local_postgres: LocalPostgres | None) -> str:
    """A PostgreSQL server URL (admin rights), or the test is skipped (failed in CI)."""
    if local_postgres is None:
        return os.environ["AVATAR_TEST_POSTGRES_URL"]
    return local_postgres.url


_db_counter = itertools.count()


def new_postgres_database(server_url: str) -> str:
    """Create an empty database on ``server_url``; its URL."""
    import psycopg

    name = f"avatars_test_{os.getpid()}_{next(_db_counter)}"
    conninfo = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = conninfo.rpartition("/")
    return f"{base}/{name}"


# -- the server ---------------------------------------------------------------------------------


@dataclass
class TestUser:
    id: str
    email: str
    password: str
    organization_id: str
    role: str
    api_key: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"api-key-v1 {self.api_key}"}


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


class Platform:
    """A running server and helpers to use it as tests need."""

    def __init__(self, server: PlatformServer, database_url: str | None) -> None:
        self.server = server
        self.database_url = database_url
        self.admin = TestUser("", "", "", "", "admin")
        self._clients: list[httpx.Client] = []

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def storage(self) -> Any:
        """The server's object storage, configured as the server is (a folder, or S3)."""
        from avatars.server.config import Settings
        from avatars.server.storage import Storage

        env = {k[len("AVATAR_") :].lower(): v for k, v in self.server.env.items()}
        keys = ("storage_url", "storage_endpoint_url", "storage_access_key_id")
        keys += ("storage_secret_access_key",)
        settings = Settings(data_dir=self.server.data_dir, **{k: env[k] for k in keys if k in env})
        return Storage(settings.storage_url, settings.storage_options)

    def read_object(self, path: str) -> bytes:
        """The bytes of ``s3://<bucket>/<key>`` (or of a result URL ending in ``url=...``)."""
        path = path.split("url=", 1)[-1]
        return bytes(self.storage.read_bytes(path.removeprefix("s3://")))

    @property
    def api_url(self) -> str:
        return self.server.api_url

    def client(
        self, api_key: str | None = None, token: str | None = None, **kwargs: Any
    ) -> httpx.Client:
        """An HTTP client on ``/api``, authenticated by key or bearer token if given."""
        headers = dict(kwargs.pop("headers", {}))
        if api_key:
            headers["Authorization"] = f"api-key-v1 {api_key}"
        elif token:
            headers["Authorization"] = f"Bearer {token}"
        client = httpx.Client(base_url=self.api_url, headers=headers, timeout=60, **kwargs)
        self._clients.append(client)
        return client

    def login(self, username: str, password: str) -> dict[str, Any]:
        response = httpx.post(
            f"{self.api_url}/login", data={"username": username, "password": password}, timeout=30
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def create_api_key(self, email: str, password: str, name: str = "test") -> str:
        tokens = self.login(email, password)
        response = httpx.post(
            f"{self.api_url}/api-keys",
            json={"name": name, "expiration_days": 30},
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["api_key"]["plaintext"])

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
            response = httpx.post(
                f"{self.api_url}/users",
                json={"email": email, "password": password, "role": "admin" if admin else "user"},
                headers=self.admin.headers,
                timeout=30,
            )
            assert response.status_code == 200, response.text
            body = response.json()
            user = TestUser(body["id"], email, password, body["organization_id"], body["role"])
        else:
            user = self._create_in_database(email, password, organization, admin)
        if with_key:
            user.api_key = self.create_api_key(email, password)
        return user

    @contextlib.contextmanager
    def database_session(self) -> Iterator[Any]:
        """A write session on this server's own database, for what a test cannot make happen
        through the API (time passing, a user created out of band); committed at the end."""
        from avatars.server.config import Settings
        from avatars.server.db import Database

        settings = Settings(data_dir=self.server.data_dir, database_url=self.database_url or "")
        db = Database(settings.database_url, pool_size=1)
        try:
            with db.writing() as session:
                yield session
        finally:
            db.dispose()

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

    def upload(self, api_key: str, name: str, data: bytes) -> dict[str, Any]:
        """Upload a table to the user's upload prefix (``PUT /api/datasets/{name}``)."""
        response = httpx.put(
            f"{self.api_url}/datasets/{name}",
            content=data,
            headers={"Authorization": f"api-key-v1 {api_key}"},
            timeout=60,
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

    def restart(self, *, kill: bool) -> None:
        """Stop the server (SIGKILL with ``kill``, else a clean SIGTERM) and start a new one
        on the same data directory, database and port (HTTP clients must be recreated)."""
        if kill:
            self.server.kill()
        else:
            self.server.stop()
        self.close()
        self.server = PlatformServer(self.server.data_dir, self.server.env, port=self.server.port)
        self.server.start()

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()


def _start_platform(
    root: Path,
    backend: str,
    postgres: Callable[[], str],
    env: dict[str, str] | None = None,
    scaleout: Callable[[], ScaleoutStack] | None = None,
) -> Platform:
    data_dir = root / f"platform-{uuid.uuid4().hex[:8]}"
    settings_env = {
        "AVATAR_ADMIN_EMAIL": "admin@example.com",
        "AVATAR_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "AVATAR_WORKERS": "2",
        "AVATAR_HEARTBEAT_TIMEOUT_SECONDS": "10",
        **(env or {}),
    }
    database_url = None
    if backend in ("postgres", "scaleout"):
        database_url = new_postgres_database(postgres())
        settings_env["AVATAR_DATABASE_URL"] = database_url
    if backend == "scaleout":
        if scaleout is None:
            raise RuntimeError("the scaleout backend needs the scale-out services")
        settings_env = {**scaleout().settings_env(prefix=data_dir.name), **settings_env}
    server = PlatformServer(data_dir, settings_env)
    server.start()
    platform = Platform(server, database_url)
    try:
        _set_up_admin(platform, settings_env)
    except BaseException:
        server.kill()
        raise
    return platform


def _set_up_admin(platform: Platform, settings_env: dict[str, str]) -> None:
    admin_email = settings_env["AVATAR_ADMIN_EMAIL"]
    admin_password = settings_env["AVATAR_ADMIN_PASSWORD"]
    key = platform.create_api_key(admin_email, admin_password, "admin")
    me = httpx.get(
        f"{platform.api_url}/users/me", headers={"Authorization": f"api-key-v1 {key}"}, timeout=30
    ).json()
    platform.admin = TestUser(
        me["id"], admin_email, admin_password, me["organization_id"], "admin", api_key=key
    )


BACKENDS = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("scaleout", marks=[pytest.mark.postgres, pytest.mark.scaleout]),
]


# -- the scale-out stack: PostgreSQL + SeaweedFS S3 + a Dask cluster -----------------------------


@dataclass
class ScaleoutStack:
    s3: SeaweedS3
    dask: DaskCluster

    def settings_env(self, prefix: str) -> dict[str, str]:
        """Settings of a server on this stack; ``prefix`` separates servers in the bucket."""
        return {
            "AVATAR_STORAGE_URL": f"s3://{self.s3.bucket}/{prefix}",
            "AVATAR_STORAGE_ENDPOINT_URL": self.s3.endpoint_url,
            "AVATAR_STORAGE_ACCESS_KEY_ID": self.s3.access_key,
            "AVATAR_STORAGE_SECRET_ACCESS_KEY": self.s3.secret_key,
            "AVATAR_DASK_SCHEDULER": self.dask.address,
        }


@pytest.fixture(scope="session")
def scaleout_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaleoutStack]:
    """SeaweedFS (S3) and a Dask scheduler with two workers, for the whole session."""
    root = tmp_path_factory.mktemp("scaleout")
    try:
        s3 = SeaweedS3(root / "seaweedfs")
        s3.start()
    except Exception as exc:
        if os.environ.get("AVATAR_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"the scale-out stack cannot start: {exc}")
        pytest.skip(f"the scale-out stack cannot start: {exc}")
    dask = DaskCluster(root / "dask")
    try:
        dask.start(workers=2)
        yield ScaleoutStack(s3, dask)
    finally:
        dask.stop()
        s3.stop()


@pytest.fixture(scope="session")
def _scaleout_getter(request: pytest.FixtureRequest) -> Callable[[], ScaleoutStack]:
    # Started on first use only: runs without the scaleout backend never need it.
    return lambda: request.getfixturevalue("scaleout_stack")


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def _postgres_getter(request: pytest.FixtureRequest) -> Callable[[], str]:
    # Started on first use only: a SQLite-only run never needs PostgreSQL.
    return lambda: str(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="session")
def platform(
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    _postgres_getter: Callable[[], str],
    _scaleout_getter: Callable[[], ScaleoutStack],
) -> Iterator[Platform]:
    root = tmp_path_factory.mktemp(f"platform-{backend}")
    # With the MCP server at /mcp (tests/mcp): the shared platform's warm workers make those
    # tests quick, and nothing else answers at /mcp.
    started = _start_platform(
        root, backend, _postgres_getter, env={"AVATAR_MCP": "1"}, scaleout=_scaleout_getter
    )
    try:
        yield started
    finally:
        started.close()
        started.server.stop()


@dataclass
class PlatformFactory:
    root: Path
    backend: str
    postgres: Callable[[], str]
    scaleout: Callable[[], ScaleoutStack] | None = None
    started: list[Platform] = field(default_factory=list)

    def __call__(self, env: dict[str, str] | None = None) -> Platform:
        platform = _start_platform(self.root, self.backend, self.postgres, env, self.scaleout)
        self.started.append(platform)
        return platform

    def close(self) -> None:
        for platform in self.started:
            platform.close()
            platform.server.stop()


@pytest.fixture
def platform_factory(
    backend: str,
    tmp_path: Path,
    _postgres_getter: Callable[[], str],
    _scaleout_getter: Callable[[], ScaleoutStack],
) -> Iterator[PlatformFactory]:
    factory = PlatformFactory(tmp_path, backend, _postgres_getter, _scaleout_getter)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture(scope="session")
def iris_csv() -> bytes:
    return IRIS_CSV.read_bytes()


@pytest.fixture
def fresh_database_url(backend: str, tmp_path: Path, _postgres_getter: Callable[[], str]) -> str:
    """The URL of a new, empty database of the current backend."""
    if backend in ("postgres", "scaleout"):
        return new_postgres_database(_postgres_getter())
    return f"sqlite:///{tmp_path / 'fresh.db'}"


@pytest.fixture
def start_server() -> Iterator[Callable[..., PlatformServer]]:
    """``start_server(data_dir, env, log_level="warning")``: a bare ``avatars serve`` (no admin
    set up), stopped at the end of the test."""
    started: list[PlatformServer] = []

    def start(data_dir: Path, env: dict[str, str], log_level: str = "warning") -> PlatformServer:
        server = PlatformServer(data_dir, env, log_level)
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()
