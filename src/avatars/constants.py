"""Names and defaults of the SDK, with the values of Octopize's official client.

Notebooks written for the official client import these names (``from avatars.constants
import PlotKind``; the enums of ``avatar_yaml`` through ``avatars.runner``), so the members
and string values match the official ones exactly (protocol.md §4-5). They are ``StrEnum``:
comparing with the plain string works too.
"""

from __future__ import annotations

import re
from enum import StrEnum

from avatars.models import JobKind, JobStatus, PlotKind

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


class Results(StrEnum):
    """Result kinds of ``GET /results/{job}`` (protocol.md §5.4)."""

    ADVICE = "advice"
    SHUFFLED = "shuffled"
    UNSHUFFLED = "unshuffled"
    PRIVACY_METRICS = "privacy_metrics"
    SIGNAL_METRICS = "signal_metrics"
    REPORT_IMAGES = "report_images"
    PROJECTIONS_ORIGINAL = "original_projections"
    PROJECTIONS_AVATARS = "avatar_projections"
    METADATA = "run_metadata"
    REPORT = "report"
    META_PRIVACY_METRIC = "meta_privacy_metric"
    META_SIGNAL_METRIC = "meta_signal_metric"
    FIGURES = "figures"
    FIGURES_METADATA = "figures_metadata"
    PRIVACY_METRICS_SUMMARY = "privacy_metrics_summary"
    SIGNAL_METRICS_SUMMARY = "signal_metrics_summary"
    REPORT_HTML = "report_html"  # ours: the interactive HTML report of a basic report job


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


# -- the enums of the resource-set YAML (avatar_yaml's names and values) --------------------


class ColumnType(StrEnum):
    INT = "int"
    BOOL = "bool"
    CATEGORY = "category"
    NUMERIC = "float"
    DATETIME = "datetime"
    DATETIME_TZ = "datetime_tz"


class ImputeMethod(StrEnum):
    KNN = "knn"
    MODE = "mode"
    MEDIAN = "median"
    MEAN = "mean"
    FAST_KNN = "fast_knn"


class ExcludeVariablesMethod(StrEnum):
    ROW_ORDER = "row_order"
    COORDINATE_SIMILARITY = "coordinate_similarity"


class ReportLanguage(StrEnum):
    EN = "en"
    FR = "fr"


class ReportType(StrEnum):
    BASIC = "basic"
    PIA = "pia"


class OutputFormat(StrEnum):
    PDF = "pdf"
    DOCX = "docx"


class ProjectionType(StrEnum):
    FPCA = "fpca"
    FLATTEN = "flatten"


class AlignmentMethod(StrEnum):
    SPECIFIED = "specified"
    MAX = "max"
    MIN = "min"
    MEAN = "mean"


class AugmentationStrategy(StrEnum):
    minority = "minority"
    not_majority = "not_majority"


class LinkMethod(StrEnum):
    LINEAR_SUM_ASSIGNMENT = "linear_sum_assignment"
    MINIMUM_DISTANCE_ASSIGNMENT = "minimum_distance_assignment"
    SENSITIVE_ORIGINAL_ORDER_ASSIGNMENT = "sensitive_original_order_assignment"
    TIME_SERIES = "time_series"


class AdviceType(StrEnum):
    VARIABLES = "variables"
    PARAMETERS = "parameters"
    TABLES_LINKS = "tables_links"


class DataRecipient(StrEnum):
    UNKNOWN = "unknown"
    OPENDATA = "opendata"
    CONTRACTUAL_THIRDPARTY = "contractual_thirdparty"
    INTERNAL = "internal"
    OUTSIDE_EU = "outside_eu"
    TRUSTED_THIRDPARTY = "trusted_thirdparty"


class DataSubject(StrEnum):
    UNKNOWN = "unknown"
    PATIENTS = "patients"
    EMPLOYEES = "employees"
    CLIENTS = "clients"
    USERS = "users"
    STUDENTS = "students"


class DataType(StrEnum):
    UNKNOWN = "unknown"
    HEALTH = "health"
    HR = "hr"
    MOBILITY = "mobility"
    INSURANCE = "insurance"
    FINANCE = "finance"
    EDUCATION = "education"


class SensitivityLevel(StrEnum):
    VERY_HIGH = "Very High"
    HIGH = "High"
    MEDIUM = "Medium"
    LOW = "Low"
    VERY_LOW = "Very Low"
    NEGLIGIBLE = "Negligible"
    UNDEFINED = "Undefined"


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
RESULT_FILE_STEMS = {
    Results.SHUFFLED: "shuffled",
    Results.UNSHUFFLED: "unshuffled",
    Results.PROJECTIONS_ORIGINAL: "projections.original",
    Results.PROJECTIONS_AVATARS: "projections.avatars",
}
