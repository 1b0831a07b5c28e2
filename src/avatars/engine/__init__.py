"""The avatar engine: avatarization, privacy metrics and signal metrics on pandas tables.

Where things are:

- ``schema``         column types, inferred from dtypes (method.md §1.2)
- ``preprocessing``  typing, missingness indicators, datetimes as numbers, output formatting
- ``imputation``     fast_knn / knn / mean / median / mode (§1.3)
- ``projection``     FAMD / PCA / MCA (§1.6)
- ``neighbors``      exact k-nearest-neighbour search in bounded-memory chunks (§1.7)
- ``identifiers``    columns that identify individuals (e-mails, IDs, ...): ``detect_identifiers``
- ``pseudonymization``  FAKER / HMAC-SHA256 / UUID4 / ... pseudonyms (§6.6)
- ``avatarization``  weights ``E·2^-σ/d`` and the synthetic records (§1.8-1.9): ``avatarize``
- ``privacy``        hidden rate, local cloaking, DCR, NNDR, copies of unique records,
                     identifiers, membership with a holdout, ... (§2): ``privacy_metrics``
- ``signal``         Hellinger distances, correlation differences (§3): ``signal_metrics``
- ``advice``         parameter advisor (from the shape, or a search that meets privacy
                     targets) and per-column summary (§6.7)
- ``io``             reading and writing tables (CSV, Parquet) with their column types
- ``common``         what the entry points share: input checks, progress and timings, JSON
- ``figures``        the figures' data and their plotly drawings, one HTML document per figure
- ``reports``        PDF/DOCX/HTML reports and the privacy impact assessment (uses ``figures``)
- ``metric_rows``, ``texts``  metrics as printed rows, the privacy verdict in words, every
                     string in English and French (shared by ``figures`` and ``reports``)

The engine never imports the server or the SDK, and names no result file: the server does.

Importing the package is cheap: each public name is imported from its module on first use
(PEP 562), so a process that needs only ``avatars.engine.errors`` or ``avatars.engine.texts``
(the API process, the command line) does not pay for SciPy and scikit-learn at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from avatars.engine.advice import advise_parameters, search_parameters, table_summary
    from avatars.engine.avatarization import (
        AvatarizationResult,
        avatarize,
        metrics_exclusions,
    )
    from avatars.engine.errors import (
        AvatarsEngineError,
        IdentifierColumnsError,
        InvalidDataError,
        InvalidParameterError,
        UnknownColumnError,
    )
    from avatars.engine.identifiers import IdentifierFinding, detect_identifiers
    from avatars.engine.io import read_table, write_table
    from avatars.engine.metric_rows import PrivacyVerdict, privacy_verdict
    from avatars.engine.privacy import PrivacyMetricsResult, privacy_metrics
    from avatars.engine.pseudonymization import (
        PseudonymizationSpec,
        pseudonymize_table,
        pseudonymize_values,
    )
    from avatars.engine.schema import (
        ColumnType,
        categorical_under_threshold,
        resolve_column_types,
    )
    from avatars.engine.signal import SignalMetricsResult, signal_metrics
    from avatars.engine.targets import MetricValue

#: Each public name and the module that defines it.
_MODULES = {
    "advise_parameters": "advice",
    "search_parameters": "advice",
    "table_summary": "advice",
    "AvatarizationResult": "avatarization",
    "avatarize": "avatarization",
    "metrics_exclusions": "avatarization",
    "AvatarsEngineError": "errors",
    "IdentifierColumnsError": "errors",
    "InvalidDataError": "errors",
    "InvalidParameterError": "errors",
    "UnknownColumnError": "errors",
    "IdentifierFinding": "identifiers",
    "detect_identifiers": "identifiers",
    "read_table": "io",
    "write_table": "io",
    "PrivacyVerdict": "metric_rows",
    "privacy_verdict": "metric_rows",
    "PrivacyMetricsResult": "privacy",
    "privacy_metrics": "privacy",
    "PseudonymizationSpec": "pseudonymization",
    "pseudonymize_table": "pseudonymization",
    "pseudonymize_values": "pseudonymization",
    "ColumnType": "schema",
    "categorical_under_threshold": "schema",
    "resolve_column_types": "schema",
    "SignalMetricsResult": "signal",
    "signal_metrics": "signal",
    "MetricValue": "targets",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'avatars.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"avatars.engine.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULES))


__all__ = [
    "AvatarizationResult",
    "AvatarsEngineError",
    "ColumnType",
    "IdentifierColumnsError",
    "IdentifierFinding",
    "InvalidDataError",
    "InvalidParameterError",
    "MetricValue",
    "PrivacyMetricsResult",
    "PrivacyVerdict",
    "PseudonymizationSpec",
    "SignalMetricsResult",
    "UnknownColumnError",
    "advise_parameters",
    "avatarize",
    "categorical_under_threshold",
    "detect_identifiers",
    "metrics_exclusions",
    "privacy_metrics",
    "privacy_verdict",
    "pseudonymize_table",
    "pseudonymize_values",
    "read_table",
    "resolve_column_types",
    "search_parameters",
    "signal_metrics",
    "table_summary",
    "write_table",
]
