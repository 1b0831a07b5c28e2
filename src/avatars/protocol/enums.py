"""Every word of the Avatar protocol that has a fixed set of values, defined once.

The server, the SDK, the CLI and the engine all import their enums from here; nothing else in
the package defines a protocol value. Members and values follow Octopize's official client
(``octopize.avatar`` 1.20-1.30 and ``avatar_yaml`` 0.1.37-0.1.46, protocol.md §2.4, §4, §5), so
a notebook that compares ``ColumnType.NUMERIC`` or ``Results.SHUFFLED`` keeps working. Where
the official client and our engine name a member differently, both names exist and are the
same member (an enum alias): ``ColumnType.FLOAT is ColumnType.NUMERIC``.

Standard library only: the engine imports this module, and it must stay free of pydantic,
HTTP and server code.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = [
    "FAILURE_STATUSES",
    "TERMINAL_STATUSES",
    "AdviceType",
    "AlignmentMethod",
    "AugmentationStrategy",
    "ColumnType",
    "CompatibilityStatus",
    "ComputationType",
    "DataRecipient",
    "DataSubject",
    "DataType",
    "DocumentKind",
    "ExcludeVariablesMethod",
    "ExpirationDays",
    "FastDPMechanism",
    "FeatureScope",
    "ImputeMethod",
    "JobKind",
    "JobStatus",
    "LinkMethod",
    "ObjectType",
    "OutputFormat",
    "PiiType",
    "PlotKind",
    "ProjectionType",
    "PseudonymizationStrategy",
    "ReportLanguage",
    "ReportType",
    "ResultFormat",
    "ResultKind",
    "Results",
    "SensitivityLevel",
    "SpecificIdLetterCase",
    "UnalignmentMethod",
    "UserRole",
    "Verb",
]


# -- jobs -------------------------------------------------------------------------------------


class JobKind(StrEnum):
    """What a job computes. Derived from the kind of its parameters document."""

    standard = "standard"
    privacy_metrics = "privacy_metrics"
    signal_metrics = "signal_metrics"
    report = "report"
    advice = "advice"


class JobStatus(StrEnum):
    """A job's lifecycle (protocol.md §5.2).

    ``queued`` (waiting for its dependencies or a free worker) → ``pending`` (running) →
    ``finished``. ``created`` and ``orphaned`` exist in the official enum and are accepted, but
    this server does not produce them. Failures: ``error`` (the job itself failed, ``exception``
    says why), ``parent_error`` (a dependency failed), ``lost`` (its worker disappeared and it
    could not be run again). ``cancelled``: somebody asked, or a dependency was cancelled.
    Never ``running``: official clients from 1.25 on reject it.
    """

    queued = "queued"
    created = "created"
    pending = "pending"
    finished = "finished"
    error = "error"
    parent_error = "parent_error"
    lost = "lost"
    orphaned = "orphaned"
    cancelled = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_failure(self) -> bool:
        return self in _FAILURE


_TERMINAL = frozenset({"finished", "error", "parent_error", "lost", "orphaned", "cancelled"})
_FAILURE = frozenset({"error", "parent_error", "lost", "orphaned"})

#: Statuses after which a job never changes again (``done`` is true).
TERMINAL_STATUSES = frozenset(JobStatus(value) for value in _TERMINAL)
#: Statuses that make waiting for a job raise (the official 1.25 set).
FAILURE_STATUSES = frozenset(JobStatus(value) for value in _FAILURE)


class ResultKind(StrEnum):
    """Keys of ``GET /results/{job}`` (protocol.md §5.4).

    The official client calls this enum ``Results`` with upper-case members; both spellings
    are the same members here (``ResultKind.shuffled is Results.SHUFFLED``).
    """

    advice = "advice"
    shuffled = "shuffled"
    unshuffled = "unshuffled"
    privacy_metrics = "privacy_metrics"
    signal_metrics = "signal_metrics"
    report_images = "report_images"
    original_projections = "original_projections"
    avatar_projections = "avatar_projections"
    run_metadata = "run_metadata"
    report = "report"
    meta_privacy_metric = "meta_privacy_metric"
    meta_signal_metric = "meta_signal_metric"
    figures = "figures"
    figures_metadata = "figures_metadata"
    privacy_metrics_summary = "privacy_metrics_summary"
    signal_metrics_summary = "signal_metrics_summary"
    #: ours: the self-contained interactive HTML report of a basic report job (official
    #: clients ignore unknown kinds; under ``report`` they would save it as a second report)
    report_html = "report_html"

    # The official client's spelling (``avatars.constants.Results``): aliases, same members.
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
    REPORT_HTML = "report_html"


#: The official client's name for :class:`ResultKind`.
Results = ResultKind


class PlotKind(StrEnum):
    """Figures of a standard job (``figures_metadata.json`` kinds, protocol.md §5.5)."""

    CORRELATION = "correlation"
    CORRELATION_DIFFERENCE = "correlation_difference"
    CONTRIBUTION = "contribution"
    PROJECTION_2D = "2d_projection"
    PROJECTION_3D = "3d_projection"
    DISTRIBUTION = "distribution"
    AGGREGATE_STATS = "aggregate_stats"
    RAW_SERIES = "raw_series"
    NORMALIZED_SERIES = "normalized_series"
    CLASS_PROJECTION_2D = "class_projection_2d"
    METRICS_SUMMARY = "metrics_summary"


class ComputationType(StrEnum):
    """How a privacy metric was computed (``metadata.computation_type``, method.md §2.12)."""

    standalone = "standalone"
    to_top_enriched = "to_top_enriched"
    to_bottom_id_propagated = "to_bottom_id_propagated"
    full_enriched = "full_enriched"
    # data augmentation: originals against the barycentre of every avatar made from each, and
    # only the originals that were augmented against theirs
    barycentered = "barycentered"
    class_balancing_barycenter = "class_balancing_barycenter"


# -- the resource set's YAML ------------------------------------------------------------------


class DocumentKind(StrEnum):
    """``kind`` of a YAML document (avatar-yaml ``ModelKind``)."""

    METADATA = "AvatarMetadata"
    VOLUME = "AvatarVolume"
    SCHEMA = "AvatarSchema"
    AVATARIZATION_PARAMETERS = "AvatarParameters"
    PRIVACY_METRICS_PARAMETERS = "AvatarPrivacyMetricsParameters"
    SIGNAL_METRICS_PARAMETERS = "AvatarSignalMetricsParameters"
    REPORT = "AvatarReportParameters"
    ADVICE = "AvatarAdviceParameters"
    SCHEMA_DISCOVERY = "AvatarSchemaDiscoveryParameters"
    REGENERATE_PARAMETERS = "AvatarRegenerateParameters"
    EXTRACT_PARAMETERS = "AvatarExtractParameters"


class ColumnType(StrEnum):
    """A column's type (method.md §1.2). ``NUMERIC`` is the official client's name of
    ``float``; ``FLOAT`` is the same member."""

    INT = "int"
    BOOL = "bool"
    CATEGORY = "category"
    NUMERIC = "float"
    DATETIME = "datetime"
    DATETIME_TZ = "datetime_tz"
    FLOAT = "float"  # alias of NUMERIC

    @property
    def is_continuous(self) -> bool:
        """Whether the projection treats the column as a number (else: as modalities)."""
        return self.value in ("int", "float", "datetime", "datetime_tz")


class ImputeMethod(StrEnum):
    KNN = "knn"
    MODE = "mode"
    MEDIAN = "median"
    MEAN = "mean"
    FAST_KNN = "fast_knn"


class ExcludeVariablesMethod(StrEnum):
    """How excluded columns get values back after the avatarization."""

    #: SENSITIVE: avatar ``i`` gets original ``i``'s value, a re-identification key.
    ROW_ORDER = "row_order"
    #: the value of the original record nearest to the avatar in the projected space
    COORDINATE_SIMILARITY = "coordinate_similarity"


class AugmentationStrategy(StrEnum):
    minority = "minority"
    not_majority = "not_majority"


class LinkMethod(StrEnum):
    """How avatar children are re-attached to avatar parents (method.md §6.1)."""

    LINEAR_SUM_ASSIGNMENT = "linear_sum_assignment"
    MINIMUM_DISTANCE_ASSIGNMENT = "minimum_distance_assignment"
    #: SENSITIVE: keeps the original parent-child pairing
    SENSITIVE_ORIGINAL_ORDER_ASSIGNMENT = "sensitive_original_order_assignment"
    TIME_SERIES = "time_series"


class ProjectionType(StrEnum):
    """Time-series projection (method.md §6.2)."""

    FPCA = "fpca"
    FLATTEN = "flatten"


class AlignmentMethod(StrEnum):
    """Length of the common grid a time series is resampled onto."""

    SPECIFIED = "specified"
    MAX = "max"
    MIN = "min"
    MEAN = "mean"


class UnalignmentMethod(StrEnum):
    """How avatar series are mapped back to timestamps."""

    UNIFORM = "uniform"
    SKIP = "skip"


class FastDPMechanism(StrEnum):
    """The latent-space mechanism of ``avatarization_fast_dp``."""

    GAUSSIAN = "gaussian"
    GMM = "gmm"
    HISTOGRAM = "histogram"


class PiiType(StrEnum):
    """Kind of personal data a FAKER pseudonym imitates."""

    EMAIL = "EMAIL"
    FIRST_NAME = "FIRST_NAME"
    LAST_NAME = "LAST_NAME"
    FULL_NAME = "FULL_NAME"
    PHONE = "PHONE"
    SSN = "SSN"
    ADDRESS = "ADDRESS"
    FREE_TEXT = "FREE_TEXT"


class PseudonymizationStrategy(StrEnum):
    """How an identifier column is replaced (method.md §6.6). avatar-yaml 0.1.37 writes one of
    the first three as ``pseudonymization_strategy``; 0.1.45+ writes strategy objects whose
    ``kind`` is any of them."""

    FAKER = "FAKER"
    HASH_SHA256 = "HASH_SHA256"
    UUID4 = "UUID4"
    CONSTANT = "CONSTANT"
    INTEGER = "INTEGER"
    SPECIFIC_ID = "SPECIFIC_ID"


class SpecificIdLetterCase(StrEnum):
    UPPER = "upper"
    LOWER = "lower"
    BOTH = "both"


class AdviceType(StrEnum):
    VARIABLES = "variables"
    PARAMETERS = "parameters"
    TABLES_LINKS = "tables_links"


class ReportType(StrEnum):
    BASIC = "basic"
    PIA = "pia"


class OutputFormat(StrEnum):
    """Format of a report document."""

    PDF = "pdf"
    DOCX = "docx"


class ResultFormat(StrEnum):
    """Format of tabular results (``results.format``)."""

    CSV = "csv"
    PARQUET = "parquet"


class ReportLanguage(StrEnum):
    EN = "en"
    FR = "fr"


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


# -- accounts and audit -----------------------------------------------------------------------


class UserRole(StrEnum):
    admin = "admin"
    user = "user"


class CompatibilityStatus(StrEnum):
    compatible = "compatible"
    incompatible = "incompatible"
    unknown = "unknown"


class ExpirationDays(IntEnum):
    """The lifetimes an API key may be given, in days."""

    integer_30 = 30
    integer_60 = 60
    integer_120 = 120
    integer_365 = 365
    integer_3650 = 3650


class FeatureScope(StrEnum):
    avatar_parameters = "avatar_parameters"
    single_table = "single_table"
    multi_table = "multi_table"
    time_series = "time_series"
    report = "report"
    geolocalization = "geolocalization"
    privacy_assessment = "privacy_assessment"
    differential_privacy = "differential_privacy"
    data_augmentation = "data_augmentation"


class Verb(StrEnum):
    """What an audit-trail event records."""

    login = "login"
    logout = "logout"
    download = "download"
    read = "read"
    create = "create"
    update = "update"
    delete = "delete"
    cancel = "cancel"
    startup = "startup"
    test = "test"


class ObjectType(StrEnum):
    user = "user"
    job = "job"
    api_key = "api_key"
    resource = "resource"
    organization = "organization"
    file = "file"
    connection = "connection"
