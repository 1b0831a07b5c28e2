"""Multi-table avatarization (draft docstring, completed with the measurements)."""

from avatars.engine.multitable.advice import advise_tables
from avatars.engine.multitable.avatarization import (
    AvatarTable,
    LinkResult,
    MultiTableResult,
    avatarize_tables,
)
from avatars.engine.multitable.schema import (
    Link,
    SchemaError,
    SchemaProblem,
    Table,
    TableGraph,
    TableParameters,
    validate_tables,
)

__all__ = [
    "AvatarTable",
    "Link",
    "LinkResult",
    "MultiTableResult",
    "SchemaError",
    "SchemaProblem",
    "Table",
    "TableGraph",
    "TableParameters",
    "advise_tables",
    "avatarize_tables",
    "validate_tables",
]
