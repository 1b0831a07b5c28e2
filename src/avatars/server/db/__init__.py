"""The database: ORM models (:mod:`.models`), engines and sessions (:mod:`.database`) and the
Alembic migrations (``migrations/``) that create and upgrade the schema."""

from __future__ import annotations

from avatars.server.db.database import (
    MIGRATIONS_DIR,
    Database,
    affected_rows,
    alembic_config,
    normalize_url,
    upgrade_database,
)

__all__ = [
    "MIGRATIONS_DIR",
    "Database",
    "affected_rows",
    "alembic_config",
    "normalize_url",
    "upgrade_database",
]
