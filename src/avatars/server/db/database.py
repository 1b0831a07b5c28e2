"""Database engines and sessions, and the schema upgrade run at start.

SQLite (the embedded default) is shared by the API threads, the job dispatcher and the worker
processes, so it runs in WAL mode (readers never block the writer) with a busy timeout. Its
one trap: a transaction that starts reading and then writes fails at once with "database is
locked" when another connection committed in between, whatever the timeout. So there are two
session factories: :attr:`Database.read` for requests that only read, and
:attr:`Database.write`, whose transactions start with ``BEGIN IMMEDIATE`` (the write lock is
taken first, then waited for properly). On PostgreSQL both are the same engine.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, CursorResult, Engine, Result, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from avatars.server.private_files import make_private_dirs, touch_private

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def normalize_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs that name no driver (SQLAlchemy assumes psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_engine(url: str, *, begin: str, pool_size: int) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        # The database holds every account: 0600 in a 0700 folder. SQLite gives its journals
        # (-wal, -shm) the database file's mode.
        make_private_dirs(Path(parsed.database).parent)
        touch_private(parsed.database)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        pool_timeout=60,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA cache_size=-16000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


class Database:
    """The engines and session factories of one database URL."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            self.read_engine = _sqlite_engine(self.url, begin="BEGIN", pool_size=pool_size)
            self.write_engine = _sqlite_engine(
                self.url, begin="BEGIN IMMEDIATE", pool_size=max(2, pool_size // 2)
            )
        else:
            self.read_engine = create_engine(
                self.url, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True
            )
            self.write_engine = self.read_engine
        self.read = sessionmaker(self.read_engine, expire_on_commit=False)
        self.write = sessionmaker(self.write_engine, expire_on_commit=False)

    @contextlib.contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction: committed on success, rolled back on error."""
        with self.write() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        with self.read() as session:
            yield session

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        """A plain read connection (no ORM session): for the hottest lookups."""
        with self.read_engine.connect() as connection:
            yield connection

    def ping(self) -> None:
        with self.read_engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def problem(self) -> str | None:
        """None when the database answers, else the name of the error it gave."""
        try:
            self.ping()
        except SQLAlchemyError as exc:
            return type(exc).__name__
        return None

    def dispose(self) -> None:
        self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            self.write_engine.dispose()


def affected_rows(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (``Session.execute`` is typed as returning a
    plain ``Result``; for those statements it is a ``CursorResult``, which counts them)."""
    return int(cast("CursorResult[Any]", result).rowcount)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def upgrade_database(database: Database) -> None:
    """Create or upgrade the schema to the newest migration (safe with several processes)."""
    config = alembic_config(database.url)
    with database.write_engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # Several API processes may start together: one migrates, the others wait.
            connection.execute(text("SELECT pg_advisory_lock(727001)"))
            connection.commit()
        try:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
        finally:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_unlock(727001)"))
                connection.commit()
