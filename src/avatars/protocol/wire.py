"""Wire models of the Avatar API: what travels as JSON between the server and its clients.

The single definition for both sides: the server declares its endpoints with these models and
our SDK parses responses with them. They follow the models of Octopize's official client 1.20
(API 2.64) with the additions of 1.25 and 1.30 (protocol.md §2.4, §2.7), chosen so that every
official client from 1.17 to 1.30 accepts what the server sends:

- ``User.email`` is required (1.25+ require it) while ``username`` stays optional (1.20 has it);
- ``JobResponse.status`` only takes values of 1.25's closed enum, plus 1.30's ``cancelled``,
  and never ``running`` (a running job is ``pending``);
- ``FileCredentials.jwt_token`` is still sent (as ``""``) for 1.20, 1.30 ignores it;
- every datetime is timezone-aware (the clients use ``AwareDatetime``).

Pure pydantic: nothing here imports the server, so the SDK-only install can use it.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from avatars.protocol.enums import (
    CompatibilityStatus,
    ExpirationDays,
    FeatureScope,
    JobKind,
    JobStatus,
    UserRole,
)


class _Model(BaseModel):
    # Extra fields are ignored rather than rejected: a newer server may send more.
    model_config = ConfigDict(extra="ignore", use_enum_values=False)


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
