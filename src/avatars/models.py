"""Wire models of the Avatar API: what travels as JSON between the server and its clients.

The single source of truth for both sides: the server declares its endpoints with these
models and our SDK parses responses with them. They follow the models of Octopize's official
client 1.20 (API 2.64) with the additions of 1.25 and 1.30 (protocol.md §2.4, §2.7), chosen so
that every official client from 1.17 to 1.30 accepts what the server sends:

- ``User.email`` is required (1.25+ require it) while ``username`` stays optional (1.20 has it);
- ``JobResponse.status`` only takes values of 1.25's closed enum, plus 1.30's ``cancelled``,
  and never ``running`` (a running job is ``pending``);
- ``FileCredentials.jwt_token`` is still sent (as ``""``) for 1.20, 1.30 ignores it;
- every datetime is timezone-aware (the clients use ``AwareDatetime``).

Pure pydantic: nothing here imports the server, so the SDK-only install can use it.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class _Model(BaseModel):
    # Extra fields are ignored rather than rejected: a newer server may send more.
    model_config = ConfigDict(extra="ignore", use_enum_values=False)


# -- enums ------------------------------------------------------------------------------------


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
        return self in TERMINAL_STATUSES

    @property
    def is_failure(self) -> bool:
        return self in FAILURE_STATUSES


TERMINAL_STATUSES = frozenset(
    {
        JobStatus.finished,
        JobStatus.error,
        JobStatus.parent_error,
        JobStatus.lost,
        JobStatus.orphaned,
        JobStatus.cancelled,
    }
)
FAILURE_STATUSES = frozenset(
    {JobStatus.error, JobStatus.parent_error, JobStatus.lost, JobStatus.orphaned}
)


class ResultKind(StrEnum):
    """Keys of ``GET /results/{job}`` (protocol.md §5.4)."""

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


class PlotKind(StrEnum):
    """Figures of a standard job (``figures_metadata.json`` kinds, protocol.md §5.5)."""

    CORRELATION = "correlation"
    CORRELATION_DIFFERENCE = "correlation_difference"
    CONTRIBUTION = "contribution"
    PROJECTION_2D = "2d_projection"
    PROJECTION_3D = "3d_projection"
    DISTRIBUTION = "distribution"
    AGGREGATE_STATS = "aggregate_stats"
    RAW_SERIES = "raw_series"  # time series: not produced by our single-table engine
    NORMALIZED_SERIES = "normalized_series"  # idem
    CLASS_PROJECTION_2D = "class_projection_2d"  # class-balancing augmentation: idem
    METRICS_SUMMARY = "metrics_summary"


#: protocol.md §5.5: characters of a table name escaped in result file names.
_TABLE_ESCAPES = (("/", "_slash_"), ("&", "_ampersand_"), ("+", "_plus_"), (".", "_dot_"))


def escape_table_name(name: str) -> str:
    """A table name as it appears in result file names (``iris.v2`` → ``iris_dot_v2``)."""
    for char, escape in _TABLE_ESCAPES:
        name = name.replace(char, escape)
    return name


def unescape_table_name(name: str) -> str:
    """The table name of a result file name (``iris_dot_v2`` → ``iris.v2``)."""
    for char, escape in _TABLE_ESCAPES:
        name = name.replace(escape, char)
    return name


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


# -- errors -----------------------------------------------------------------------------------


class ErrorDetail(_Model):
    message: str


class ErrorResponse(_Model):
    """Every error body. ``message`` is always there; ``detail`` is ``{"message": ...}``, or
    the list of validation errors for a 422 (FastAPI's shape, which clients know)."""

    message: str
    detail: ErrorDetail | list[dict[str, Any]] | str | None = None


class Message(_Model):
    """A plain acknowledgement."""

    message: str


# -- authentication ---------------------------------------------------------------------------


class LoginResponse(_Model):
    access_token: str
    refresh_token: str | None = None
    token_type: str = "bearer"


class ForgottenPasswordRequest(_Model):
    email: str


class ResetPasswordRequest(_Model):
    email: str
    new_password: str
    new_password_repeated: str
    token: UUID


class ApiKey(_Model):
    id: UUID
    name: str
    created_at: AwareDatetime
    expires_at: AwareDatetime
    revoked_at: AwareDatetime | None = None
    last_used_at: AwareDatetime | None = None


class ApiKeyWithPlaintext(ApiKey):
    """Returned once, at creation: ``plaintext`` is never stored nor shown again."""

    plaintext: str


class CreateApiKeyRequest(_Model):
    name: Annotated[str, Field(min_length=1, max_length=255)]
    expiration_days: ExpirationDays


class CreateApiKeyResponse(_Model):
    api_key: ApiKeyWithPlaintext
    message: str


# -- users ------------------------------------------------------------------------------------


class EnvironmentInfo(_Model):
    dataset_expiration_days: int
    max_allowed_dimensions_per_dataset: int
    max_allowed_lines_per_dataset: int
    license_type: str | None = None


class User(_Model):
    id: UUID
    organization_id: UUID
    email: str
    username: str | None = None
    role: UserRole = UserRole.user


class MeUser(User):
    environment: EnvironmentInfo


class CreateUser(_Model):
    """A user in the caller's organization. ``email`` is how users are identified; a
    ``username`` may be given as well (login accepts either). Without a password the user can
    only get one through the password-reset flow."""

    email: str | None = None
    username: str | None = None
    role: UserRole = UserRole.user
    password: str | None = None


class CreditsInfo(_Model):
    credits: int | None = None
    is_credit_enabled: bool = False


class FeaturesInfo(_Model):
    feature_scopes: list[FeatureScope]


# -- compatibility and health -----------------------------------------------------------------


class CompatibilityResponse(_Model):
    message: str
    most_recent_compatible_client: str | None = None
    status: CompatibilityStatus


class HealthResponse(_Model):
    message: str
    version: str | None = None


class CapabilitiesResponse(_Model):
    input_protocols: list[str]
    database_engines: list[str]
    connections: list[dict[str, Any]]


# -- resources, jobs, results -----------------------------------------------------------------


class ResourceSetResponse(_Model):
    set_name: UUID
    display_name: str


class JobCreateRequest(_Model):
    set_name: UUID
    parameters_name: str
    depends_on: list[str] | None = Field(default_factory=list)


class JobCreateResponse(_Model):
    name: str
    # Capital L, as the official client reads it; echoed back in later ``depends_on``.
    Location: str


class JobFlowCreateRequest(_Model):
    set_name: UUID


class JobFlowCreateResponse(_Model):
    jobs: list[JobCreateResponse]


class JobResponse(_Model):
    name: str
    set_name: UUID
    parameters_name: str
    display_name: str
    created_at: AwareDatetime
    kind: JobKind
    status: JobStatus
    exception: str = ""
    done: bool
    progress: float | None
    phase: str | None = ""
    phase_done: int | None = 0
    phase_total: int | None = 0
    deleted_at: AwareDatetime | None = None


class JobResponseList(_Model):
    jobs: list[JobResponse]


class BulkDeleteRequest(_Model):
    job_names: Annotated[list[str], Field(max_length=100)]


class BulkDeleteResponse(_Model):
    deleted_jobs: list[JobResponse]
    failed_jobs: list[str]


class FileCredentials(_Model):
    access_key_id: str
    secret_access_key: str
    jwt_token: str | None = ""


class FileAccess(_Model):
    url: str
    credentials: FileCredentials


class EventLog(_Model):
    """One audit-trail entry."""

    id: UUID
    verb: str
    object_type: str
    object_id: UUID | None = None
    object_name: str | None = None
    user_id: UUID | None = None
    created_at: AwareDatetime


#: The 1.30 client's name for it.
EventLogResponse = EventLog


# -- datasets (this platform's own addition) --------------------------------------------------


class Dataset(_Model):
    """A table uploaded by its owner, usable as ``{volume: input, file: <name>}`` in a set."""

    name: str
    size: int
    etag: str
    last_modified: AwareDatetime
    url: str  # the storage path, ``s3://<bucket>/<prefix>/<name>``
    expires_at: AwareDatetime | None = None  # deleted by the platform's retention after it


class DatasetList(_Model):
    datasets: list[Dataset]
