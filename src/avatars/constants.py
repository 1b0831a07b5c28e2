"""Names and defaults of the SDK, with the values of Octopize's official client.

Notebooks written for the official client import these names (``from avatars.constants
import PlotKind``; the enums of ``avatar_yaml`` through ``avatars.runner``). The enums are
defined once, in :mod:`avatars.protocol.enums`, and re-exported here; this module adds the
SDK's own defaults (timeouts, polling, the order jobs run in).
"""

from __future__ import annotations

import re

from avatars.protocol.enums import (
    AdviceType,
    AlignmentMethod,
    AugmentationStrategy,
    ColumnType,
    DataRecipient,
    DataSubject,
    DataType,
    ExcludeVariablesMethod,
    ImputeMethod,
    JobKind,
    JobStatus,
    LinkMethod,
    OutputFormat,
    PlotKind,
    ProjectionType,
    ReportLanguage,
    ReportType,
    Results,
    SensitivityLevel,
)
from avatars.protocol.results import TABULAR_STEMS

__all__ = [
    "DEFAULT_POLL_BACKOFF",
    "DEFAULT_POLL_INITIAL",
    "DEFAULT_POLL_MAX",
    "DEFAULT_TIMEOUT",
    "ERROR_STATUSES",
    "JOB_EXECUTION_ORDER",
    "MATCHERS",
    "RESULTS_TO_STORE",
    "VOLUME_NAME",
    "AdviceType",
    "AlignmentMethod",
    "AugmentationStrategy",
    "ColumnType",
    "DataRecipient",
    "DataSubject",
    "DataType",
    "ExcludeVariablesMethod",
    "ImputeMethod",
    "JobKind",
    "LinkMethod",
    "OutputFormat",
    "PlotKind",
    "ProjectionType",
    "ReportLanguage",
    "ReportType",
    "Results",
    "SensitivityLevel",
]

#: Seconds an API request may take (connect, read, write each).
DEFAULT_TIMEOUT = 60.0
#: Job polling: first wait, growth factor and longest wait, in seconds. The official client
#: waits 5 s before its second look; our jobs often finish in well under a second.
DEFAULT_POLL_INITIAL = 0.2
DEFAULT_POLL_BACKOFF = 1.5
DEFAULT_POLL_MAX = 5.0

#: The volume name uploads are referred to by in the resource set.
VOLUME_NAME = "input"
RESULTS_VOLUME_NAME = "results"

JOB_EXECUTION_ORDER = [
    JobKind.standard,
    JobKind.signal_metrics,
    JobKind.privacy_metrics,
    JobKind.report,
]

#: Statuses that make waiting for a job raise (the official 1.25 set).
ERROR_STATUSES = [
    JobStatus.parent_error.value,
    JobStatus.error.value,
    JobStatus.lost.value,
    JobStatus.orphaned.value,
]
CANCELLED_STATUSES = [JobStatus.cancelled.value]
READY_STATUSES = [JobStatus.finished.value, *ERROR_STATUSES]


#: What ``get_all_results()`` downloads.
RESULTS_TO_STORE = [
    Results.SHUFFLED,
    Results.UNSHUFFLED,
    Results.PRIVACY_METRICS,
    Results.SIGNAL_METRICS,
    Results.PROJECTIONS_ORIGINAL,
    Results.PROJECTIONS_AVATARS,
    Results.METADATA,
    Results.FIGURES,
    Results.PRIVACY_METRICS_SUMMARY,
    Results.SIGNAL_METRICS_SUMMARY,
]


#: pandas dtype → column type. Timezone-aware datetimes are matched first: the official
#: client's table tests ``datetime`` first and so never produces ``datetime_tz``.
MATCHERS: dict[re.Pattern[str], ColumnType] = {
    re.compile(r"^datetime64\[[^,\]]+, .+\]$"): ColumnType.DATETIME_TZ,
    re.compile(r"^[Ff]loat\d*$"): ColumnType.NUMERIC,
    re.compile(r"^[Uu]?[Ii]nt\d*$"): ColumnType.INT,
    re.compile(r"^bool(ean)?$"): ColumnType.BOOL,
    re.compile(r"^datetime64"): ColumnType.DATETIME,
}
DEFAULT_TYPE = ColumnType.CATEGORY

#: File-name stems of the tabular result kinds (the table name is what precedes them).
RESULT_FILE_STEMS = TABULAR_STEMS
