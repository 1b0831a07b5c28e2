"""``Manager``: the everyday entry point, with the surface of Octopize's official client.

::

    from avatars.manager import Manager
    manager = Manager(base_url="https://avatar.example.com", api_key="...")
    runner = manager.create_runner("iris_k20")

``base_url`` is the server's URL; the API is ``<base_url>/api`` and the storage
``<base_url>/storage`` (a trailing ``/api`` is accepted and stripped, as the official client
does). Without arguments the ``AVATAR_*`` environment variables of the official client apply:
``AVATAR_BASE_URL`` (or ``AVATAR_BASE_API_URL``), ``AVATAR_API_KEY``,
``AVATAR_STORAGE_ENDPOINT_URL``, ``AVATAR_TIMEOUT`` (HTTP, seconds),
``AVATAR_SHOULD_VERIFY_SSL``, ``AVATAR_VERIFY_COMPATIBILITY``; plus ``AVATAR_JOB_TIMEOUT``
(how long result getters wait for a job).

With an API key the Manager checks at once that the server speaks this protocol
(``/check_client``) and that the key is valid (``/users/me``), so a wrong URL or key fails
here with a clear message rather than at the first upload.
"""

from __future__ import annotations

import os
import re
import warnings
from typing import Any
from uuid import UUID

from avatars import __version__
from avatars.client import ApiClient
from avatars.constants import DEFAULT_TIMEOUT
from avatars.exceptions import APIError, AuthenticationError, NotFoundError
from avatars.protocol.enums import (
    CompatibilityStatus,
    DataRecipient,
    DataSubject,
    DataType,
    JobKind,
    ReportLanguage,
    SensitivityLevel,
)
from avatars.protocol.wire import (
    BulkDeleteRequest,
    BulkDeleteResponse,
    JobCreateResponse,
    JobResponse,
    MeUser,
)
from avatars.runner import Runner
from avatars.runner_config import RunnerConfig

__all__ = ["Manager"]

DEFAULT_BASE_URL = "https://www.octopize.app"


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, got {value!r}")


def _increment_display_name_version(name: str) -> str:
    """``my_set`` → ``my_set-v1``, ``my_set-v1`` → ``my_set-v2``."""
    match = re.search(r"-v(\d+)$", name)
    if match:
        return f"{name[: match.start()]}-v{int(match.group(1)) + 1}"
    return f"{name}-v1"


class Manager:
    """Authenticated access to a platform, and the factory of :class:`Runner` objects.

    ``auth_client`` is the underlying :class:`~avatars.client.ApiClient`, for everything the
    Manager does not wrap (``manager.auth_client.jobs.get_jobs()``...).
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_client: ApiClient | None = None,
        api_key: str | None = None,
        should_verify_compatibility: bool | None = None,
        timeout: float | None = None,
        job_timeout: float | None = None,
        should_verify_ssl: bool | None = None,
        http_client: Any = None,
    ) -> None:
        if api_client is not None:
            conflicting = [
                n for n, v in (("base_url", base_url), ("api_key", api_key)) if v is not None
            ]
            if conflicting:
                raise ValueError(
                    f"Cannot provide both 'api_client' and {', '.join(conflicting)}: pass a "
                    "pre-configured ApiClient or the parameters, not both."
                )
            self.auth_client = api_client
        else:
            api_url = self._api_url(base_url)
            if timeout is None:
                env_timeout = os.environ.get("AVATAR_TIMEOUT")
                timeout = float(env_timeout) if env_timeout else DEFAULT_TIMEOUT
            if should_verify_ssl is None:
                should_verify_ssl = _env_bool("AVATAR_SHOULD_VERIFY_SSL", True)
            key = api_key if api_key is not None else os.environ.get("AVATAR_API_KEY") or None
            self.auth_client = ApiClient(
                api_url,
                timeout=timeout,
                should_verify_ssl=should_verify_ssl,
                api_key=key,
                http_client=http_client,
            )
        self.job_timeout = job_timeout
        self.base_url = self.auth_client.base_url[: -len("/api")]
        if self.auth_client.is_using_api_key():
            self._verify_compatibility_if_needed(should_verify_compatibility)
            self._check_api_key()

    @staticmethod
    def _api_url(base_url: str | None) -> str:
        if base_url is None:
            api = os.environ.get("AVATAR_BASE_API_URL")
            if api:
                return api.rstrip("/")
            base_url = os.environ.get("AVATAR_BASE_URL") or DEFAULT_BASE_URL
        if not isinstance(base_url, str) or not base_url.strip():
            raise ValueError("base_url must be the server's URL, e.g. 'https://avatar.example.com'")
        base = base_url.strip().rstrip("/").removesuffix("/api")
        return f"{base}/api"

    def _verify_compatibility_if_needed(self, should_verify: bool | None = None) -> None:
        if should_verify is None:
            should_verify = _env_bool("AVATAR_VERIFY_COMPATIBILITY", True)
        if not should_verify:
            return
        try:
            response = self.auth_client.compatibility.is_client_compatible()
        except NotFoundError as exc:
            raise APIError(
                404,
                f"{self.auth_client.base_url} does not serve the Avatar API (no /check_client); "
                "check base_url",
                exc.response,
                method="GET",
                url=exc.url,
            ) from exc
        if response.status in (CompatibilityStatus.incompatible, CompatibilityStatus.unknown):
            message = (
                "Client is not compatible with the server.\n"
                f"Server message: {response.message}.\n"
                f"Client version: {__version__}.\n"
                "Most recent compatible client version: "
                f"{response.most_recent_compatible_client}.\n"
                "To ignore, set should_verify_compatibility=False in Manager() or authenticate()."
            )
            warnings.warn(message, DeprecationWarning, stacklevel=3)
            raise DeprecationWarning(message)

    def _check_api_key(self) -> MeUser:
        try:
            return self.auth_client.users.get_me()
        except AuthenticationError as exc:
            raise AuthenticationError(
                401,
                f"the API key was refused by {self.auth_client.base_url}: {exc.message}",
                exc.response,
                method=exc.method,
                url=exc.url,
            ) from exc

    # -- authentication --------------------------------------------------------------------
    def authenticate(
        self, username: str, password: str, should_verify_compatibility: bool | None = None
    ) -> None:
        """Log in with a username (or e-mail) and password.

        API keys are the recommended way: create one once logged in with
        ``manager.auth_client.api_keys.create_api_key(name="my-key")``.
        """
        if self.auth_client.is_using_api_key():
            raise ValueError(
                "Cannot call authenticate() when Manager was initialized with api_key: API "
                "key authentication is already active. To use username/password "
                "authentication, create a new Manager without api_key."
            )
        self._verify_compatibility_if_needed(should_verify_compatibility)
        self.auth_client.authenticate(username, password)

    def forgotten_password(self, email: str) -> None:
        self.auth_client.forgotten_password(email)

    def reset_password(
        self, email: str, new_password: str, new_password_repeated: str, token: str | UUID
    ) -> None:
        self.auth_client.reset_password(
            email, new_password, new_password_repeated, UUID(str(token))
        )

    # -- runners ---------------------------------------------------------------------------
    def create_runner(
        self,
        set_name: str,
        seed: int | None = None,
        max_distribution_plots: int | None = None,
        pia_data_recipient: DataRecipient = DataRecipient.UNKNOWN,
        pia_data_type: DataType = DataType.UNKNOWN,
        pia_data_subject: DataSubject = DataSubject.UNKNOWN,
        pia_sensitivity_level: SensitivityLevel = SensitivityLevel.UNDEFINED,
        report_language: ReportLanguage = ReportLanguage.EN,
        *,
        timeout: float | None = None,
    ) -> Runner:
        """A new Runner named ``set_name`` (its display name)."""
        return Runner(
            api_client=self.auth_client,
            display_name=set_name,
            seed=seed,
            max_distribution_plots=max_distribution_plots,
            pia_data_recipient=pia_data_recipient,
            pia_data_type=pia_data_type,
            pia_data_subject=pia_data_subject,
            pia_sensitivity_level=pia_sensitivity_level,
            report_language=report_language,
            timeout=timeout if timeout is not None else self.job_timeout,
        )

    def create_runner_from_yaml(self, yaml_path: str, set_name: str) -> Runner:
        """A Runner configured by a YAML file (tables must be uploaded again)."""
        runner = self.create_runner(set_name=_increment_display_name_version(set_name))
        runner.from_yaml(yaml_path)
        return runner

    def create_runner_from_id(self, set_name: str | UUID) -> Runner:
        """A Runner for an earlier run, with access to its results without running again."""
        if not isinstance(set_name, str | UUID):
            raise TypeError(f"set_name must be a str or UUID, got {type(set_name).__name__}")
        try:
            set_id = str(UUID(str(set_name)))
        except ValueError:
            raise ValueError(
                f"Invalid set_name format: '{set_name}'. Expected a UUID string."
            ) from None
        text = self.auth_client.resources.get_resources(set_id)
        config = RunnerConfig.from_yaml(text)
        runner = self.create_runner(set_name=_increment_display_name_version(config.display_name))
        config.display_name = runner.display_name
        runner.config = config
        runner.set_name = set_id
        for job in self.auth_client.jobs.get_jobs(set_name=set_id).jobs:
            if str(job.set_name) == set_id:
                runner.jobs[job.parameters_name] = JobCreateResponse(
                    name=job.name, Location=f"/jobs/{job.name}"
                )
        return runner

    def find_ids_by_name(self, set_name: str) -> list[tuple[str, list[JobResponse]]]:
        """Runs of a display name: ``[(set_name uuid, jobs)]``, newest first."""
        jobs = self.auth_client.jobs.get_jobs(display_name=set_name).jobs
        grouped: dict[str, list[JobResponse]] = {}
        for job in jobs:
            if job.display_name == set_name and job.kind != JobKind.advice:
                grouped.setdefault(str(job.set_name), []).append(job)
        return sorted(
            grouped.items(), key=lambda item: max(j.created_at for j in item[1]), reverse=True
        )

    def create_runner_from_name(self, display_name: str) -> Runner:
        """A Runner for the most recent run of ``display_name``."""
        found = self.find_ids_by_name(display_name)
        if not found:
            raise ValueError(f"No jobs found for display name '{display_name}'")
        return self.create_runner_from_id(found[0][0])

    # -- jobs ------------------------------------------------------------------------------
    def get_last_jobs(self, count: int = 1) -> dict[str, JobResponse]:
        """The ``count`` most recent jobs, ``{name: job}``, oldest first."""
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        jobs = self.auth_client.jobs.get_jobs(limit=count).jobs
        return {job.name: job for job in jobs[-count:]}

    def get_last_results(self, count: int = 1) -> list[dict[str, Any]]:
        """The results (``{kind: [urls]}``) of the ``count`` most recent jobs."""
        return [self.auth_client.results.get_results(name) for name in self.get_last_jobs(count)]

    def delete_jobs(self, job_names: list[str]) -> BulkDeleteResponse:
        """Delete jobs by name, 100 at a time."""
        deleted: list[JobResponse] = []
        failed: list[str] = []
        for start in range(0, len(job_names), 100):
            response = self.auth_client.jobs.bulk_delete_jobs(
                BulkDeleteRequest(job_names=job_names[start : start + 100])
            )
            deleted.extend(response.deleted_jobs)
            failed.extend(response.failed_jobs)
        return BulkDeleteResponse(deleted_jobs=deleted, failed_jobs=failed)

    def delete_job(self, name: str) -> BulkDeleteResponse:
        """Delete every job of the run named ``name`` (its display name)."""
        matches = self.find_ids_by_name(name)
        if not matches:
            raise ValueError(f"No jobs found for display name '{name}'")
        if len(matches) > 1:
            commands = "\n".join(
                f'  manager.delete_job_by_id(UUID("{set_name}"))' for set_name, _ in matches
            )
            raise ValueError(
                f"Multiple runs found for display name '{name}'.\n"
                f"Delete the desired run by set name:\n{commands}"
            )
        return self.delete_jobs([job.name for job in matches[0][1]])

    def delete_job_by_id(self, id: UUID | str) -> BulkDeleteResponse:
        """Delete every job of the run with this ``set_name``."""
        set_name = UUID(str(id))
        jobs = self.auth_client.jobs.get_jobs(set_name=set_name).jobs
        return self.delete_jobs([job.name for job in jobs if job.set_name == set_name])

    def get_health(self) -> dict[str, Any]:
        """The server's health answer."""
        return self.auth_client.health.get_health()
