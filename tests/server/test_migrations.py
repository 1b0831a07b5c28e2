"""The Alembic migrations create exactly the schema the ORM models describe, on both backends,
and upgrading an up-to-date database changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from avatars.server.db import Database, upgrade_database
from avatars.server.db.models import Base


def _diff(db: Database) -> list[Any]:
    with db.write_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


# Both databases: the migrations are DDL, and each database has its own types and defaults.
# (The PostgreSQL variant is end-to-end: it needs the PostgreSQL server.)
@pytest.mark.backends("sqlite", "postgres")
def test_migrations_match_the_models(fresh_database_url: str) -> None:
    db = Database(fresh_database_url, pool_size=1)
    try:
        upgrade_database(db)
        assert _diff(db) == []
        upgrade_database(db)  # idempotent
        assert _diff(db) == []
    finally:
        db.dispose()
