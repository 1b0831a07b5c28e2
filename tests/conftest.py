"""Shared fixtures, the two tiers and the backends each test runs on.

Tiers
-----
- **fast** (``make test-fast``, ``-m "not e2e"``): the engine, the protocol, the layering, the
  S3 router, and the API's logic in this process (``platform`` on SQLite: ``create_app`` behind
  an ASGI transport, see ``tests/platforms.py``).
- **end-to-end** (``make test-e2e``, ``-m e2e``): the real ``avatars serve`` process,
  PostgreSQL, SeaweedFS S3, Dask and Octopize's official clients. Everything under
  ``tests/e2e``, ``tests/interop`` and ``tests/scaleout`` is marked ``e2e``, and so is every
  test variant on the ``postgres`` or ``scaleout`` backend.

Backends
--------
A test that uses ``backend`` (directly or through ``platform``/``live_platform``...) runs once
per backend named by its ``@pytest.mark.backends(...)`` marker (closest wins: function, class,
module ``pytestmark``), by default on SQLite only:

- ``sqlite``: the embedded setup (SQLite file, storage folder, local worker processes);
- ``postgres``: PostgreSQL, storage folder, local worker processes;
- ``scaleout``: PostgreSQL + SeaweedFS (S3) + a Dask cluster.

Each marker says, in a comment, which behaviour of those backends the test checks.

Fixtures
--------
``platform``
    The platform of the test's backend, one per backend for the whole session: on SQLite the
    app in this process (:class:`platforms.AppPlatform`), on PostgreSQL and scale-out a live
    ``avatars serve`` (:class:`platforms.ServerPlatform`, the same object as ``live_platform``,
    with the MCP server at ``/mcp``).
``platform_factory``
    Starts extra platforms with their own settings (``platform_factory(env={...})``, and on
    SQLite ``run_jobs=False`` or ``clock=...``); stopped at the end of the test.
``live_platform`` / ``live_platform_factory``
    Always a live ``avatars serve`` subprocess (for restarts, several processes, the official
    clients, the access log...).

PostgreSQL comes from ``AVATAR_TEST_POSTGRES_URL`` (a server URL whose user may create
databases) or is started from the binaries (``initdb``/``pg_ctl`` under
``/usr/lib/postgresql/*/bin`` or ``$PATH``) in a temporary folder. When neither works the
PostgreSQL variants are skipped, unless ``AVATAR_TEST_REQUIRE_POSTGRES=1`` (CI), which makes
them fail instead.
"""

from __future__ import annotations

import itertools
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from platforms import (
    IRIS_CSV,
    LIVE_ENV,
    AppPlatform,
    Platform,
    PlatformServer,
    ServerPlatform,
)
from stack import DaskCluster, LocalPostgres, SeaweedS3

TESTS = Path(__file__).resolve().parent
#: Folders whose every test is end-to-end.
E2E_FOLDERS = [TESTS / "e2e", TESTS / "interop", TESTS / "scaleout"]
#: Files whose every test is end-to-end, in folders of the fast tier.
E2E_FILES = [TESTS / "web" / "test_browser.py"]  # Chromium against a live avatars serve
#: Fixtures that start a live process: a test using one is end-to-end wherever it lives.
E2E_FIXTURES = frozenset({"security_server"})  # one avatars serve for the security tests
BACKENDS = ("sqlite", "postgres", "scaleout")
BACKEND_MARKS = {
    "sqlite": [],
    "postgres": [pytest.mark.postgres, pytest.mark.e2e],
    "scaleout": [pytest.mark.postgres, pytest.mark.scaleout, pytest.mark.e2e],
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("backends")
    names = marker.args if marker else ("sqlite",)
    unknown = [n for n in names if n not in BACKENDS]
    if not names or unknown:
        raise pytest.UsageError(
            f"{metafunc.definition.nodeid}: backends(...) takes some of {BACKENDS}, got {names}"
        )
    metafunc.parametrize(
        "backend",
        [pytest.param(n, marks=BACKEND_MARKS[n], id=n) for n in names],
        indirect=True,
        scope="session",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        live = E2E_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if live or item.path in E2E_FILES or any(item.path.is_relative_to(f) for f in E2E_FOLDERS):
            item.add_marker(pytest.mark.e2e)


_SCALEOUT_ID = re.compile(r"[\[-]scaleout[\]-]")


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under pytest-xdist, every scale-out variant goes to one worker as one unit, so that the
    SeaweedFS + Dask stack (session-scoped) and the modules' scale-out flows start once rather
    than once per worker; every other test goes out on its own, as with ``--dist load``, which
    keeps the workers' ends even. The unit goes first (xdist's ``loadscopereorder`` puts the
    largest units first): it is long, and must not become the tail."""
    from xdist.scheduler import LoadScopeScheduling

    class ScaleoutTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "scale-out stack" if _SCALEOUT_ID.search(nodeid) else nodeid

    return ScaleoutTogether(config, log)


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


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


@pytest.fixture(scope="session")
def _postgres_getter(request: pytest.FixtureRequest) -> Callable[[], str]:
    # Started on first use only: a SQLite-only run never needs PostgreSQL.
    return lambda: str(request.getfixturevalue("postgres_url"))


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


# -- live servers (end-to-end) ------------------------------------------------------------------


def _start_live(
    root: Path,
    backend: str,
    postgres: Callable[[], str],
    scaleout: Callable[[], ScaleoutStack],
    env: dict[str, str] | None = None,
) -> ServerPlatform:
    data_dir = root / f"platform-{uuid.uuid4().hex[:8]}"
    settings_env = {**LIVE_ENV, **(env or {})}
    if backend in ("postgres", "scaleout"):
        settings_env["AVATAR_DATABASE_URL"] = new_postgres_database(postgres())
    if backend == "scaleout":
        settings_env = {**scaleout().settings_env(prefix=data_dir.name), **settings_env}
    server = PlatformServer(data_dir, settings_env)
    server.start()
    try:
        platform = ServerPlatform(server, backend)
        platform.set_up_admin()
    except BaseException:
        server.kill()
        raise
    return platform


@pytest.fixture(scope="session")
def live_platform(
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    _postgres_getter: Callable[[], str],
    _scaleout_getter: Callable[[], ScaleoutStack],
) -> Iterator[ServerPlatform]:
    """A live ``avatars serve`` on the test's backend, for the whole session."""
    root = tmp_path_factory.mktemp(f"live-{backend}")
    # With the MCP server at /mcp (tests/mcp/test_mounted.py): nothing else answers there.
    started = _start_live(
        root, backend, _postgres_getter, _scaleout_getter, env={"AVATAR_MCP": "1"}
    )
    try:
        yield started
    finally:
        started.stop()


@dataclass
class LivePlatformFactory:
    root: Path
    backend: str
    postgres: Callable[[], str]
    scaleout: Callable[[], ScaleoutStack]
    started: list[ServerPlatform] = field(default_factory=list)

    def __call__(
        self, env: dict[str, str] | None = None, *, run_jobs: bool = True
    ) -> ServerPlatform:
        # run_jobs: accepted as the in-process factory does; a live server always runs jobs.
        platform = _start_live(self.root, self.backend, self.postgres, self.scaleout, env)
        self.started.append(platform)
        return platform

    def close(self) -> None:
        for platform in self.started:
            platform.stop()


@pytest.fixture
def live_platform_factory(
    backend: str,
    tmp_path: Path,
    _postgres_getter: Callable[[], str],
    _scaleout_getter: Callable[[], ScaleoutStack],
) -> Iterator[LivePlatformFactory]:
    factory = LivePlatformFactory(tmp_path, backend, _postgres_getter, _scaleout_getter)
    try:
        yield factory
    finally:
        factory.close()


# -- the platform of the test's backend ---------------------------------------------------------


@pytest.fixture(scope="session")
def platform(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    if backend != "sqlite":
        yield request.getfixturevalue("live_platform")
        return
    started = AppPlatform(tmp_path_factory.mktemp("app") / "data")
    try:
        yield started
    finally:
        started.close()


@dataclass
class AppPlatformFactory:
    root: Path
    started: list[AppPlatform] = field(default_factory=list)

    def __call__(
        self,
        env: dict[str, str] | None = None,
        *,
        run_jobs: bool = True,
        clock: Callable[[], Any] | None = None,
    ) -> AppPlatform:
        data_dir = self.root / f"app-{uuid.uuid4().hex[:8]}"
        platform = AppPlatform(data_dir, env, run_jobs=run_jobs, clock=clock)
        self.started.append(platform)
        return platform

    def close(self) -> None:
        for platform in self.started:
            platform.close()


@pytest.fixture
def platform_factory(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., Platform]]:
    if backend != "sqlite":
        yield request.getfixturevalue("live_platform_factory")
        return
    factory = AppPlatformFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.close()


# -- bare servers, data -------------------------------------------------------------------------


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
