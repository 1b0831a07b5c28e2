"""Multi-table avatarization (draft docstring, completed with the measurements)."""

from avatars.engine.multitable.advice import advise_tables
from avatars.engine.multitable.avatarization import (
    AvatarTable,
    LinkResult,
    MultiTableResult,
    avatarize_tables,
)
from avatars.engine.multitable.privacy import TablePrivacyMetrics, privacy_metrics_tables
from avatars.engine.multitable.schema import (
    Link,
    SchemaError,
    SchemaProblem,
    Table,
    TableGraph,
    TableParameters,
    validate_tables,
)
from avatars.engine.multitable.signal import (
    LinkSignalMetrics,
    MultiTableSignalMetrics,
    signal_metrics_tables,
)
from avatars.engine.multitable.synthetic import synthetic_hospital_schema, synthetic_hospital_tables

__all__ = [
    "AvatarTable",
    "Link",
    "LinkResult",
    "LinkSignalMetrics",
    "MultiTableResult",
    "MultiTableSignalMetrics",
    "SchemaError",
    "SchemaProblem",
    "Table",
    "TableGraph",
    "TableParameters",
    "TablePrivacyMetrics",
    "advise_tables",
    "avatarize_tables",
    "privacy_metrics_tables",
    "signal_metrics_tables",
    "synthetic_hospital_schema",
    "synthetic_hospital_tables",
    "validate_tables",
]
