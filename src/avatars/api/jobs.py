"""``/jobs``: create, list, inspect, cancel and delete jobs."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from avatars.api._base import DEFAULT, Facade
from avatars.protocol.enums import JobKind
from avatars.protocol.wire import (
    BulkDeleteRequest,
    BulkDeleteResponse,
    JobCreateRequest,
    JobCreateResponse,
    JobFlowCreateRequest,
    JobFlowCreateResponse,
    JobResponse,
    JobResponseList,
)


class Jobs(Facade):
    def get_jobs(
        self,
        kind: JobKind | str | Sequence[JobKind | str] | None = None,
        include_deleted: bool | None = None,
        display_name: str | None = None,
        set_name: UUID | str | None = None,
        limit: int | None = None,
        names: Sequence[str] | None = None,
        *,
        timeout: float | None = DEFAULT,
    ) -> JobResponseList:
        """The caller's jobs, oldest first, optionally filtered.

        ``kind`` takes one kind or several; ``limit`` keeps the newest ``limit`` jobs (still
        oldest first); ``names`` selects at most 100 jobs by name.
        """
        kinds = [kind] if isinstance(kind, str) else (list(kind) if kind is not None else None)
        params = {
            "kind": kinds,
            "include_deleted": include_deleted,
            "display_name": display_name,
            "set_name": str(set_name) if set_name is not None else None,
            "limit": limit,
            "names": list(names) if names is not None else None,
        }
        body = self._request("GET", "/jobs", params=params, timeout=timeout)
        return JobResponseList.model_validate(body)

    def get_last_jobs(self, *, timeout: float | None = DEFAULT) -> JobResponseList:
        """The jobs of the caller's most recent resource set (``GET /jobs/last_set``)."""
        body = self._request("GET", "/jobs/last_set", timeout=timeout)
        return JobResponseList.model_validate(body)

    #: The 1.25 client's name for the same call.
    last_set = get_last_jobs

    def create_job(
        self, request: JobCreateRequest, *, timeout: float | None = DEFAULT
    ) -> JobCreateResponse:
        """Start the job described by ``request`` (a parameters document of a set)."""
        body = self._request("POST", "/jobs", json_body=request, timeout=timeout)
        return JobCreateResponse.model_validate(body)

    def create_job_flow(
        self, request: JobFlowCreateRequest | UUID | str, *, timeout: float | None = DEFAULT
    ) -> JobFlowCreateResponse:
        """Start every job of a set with its dependencies (``POST /jobs/flow``)."""
        if not isinstance(request, JobFlowCreateRequest):
            request = JobFlowCreateRequest(set_name=UUID(str(request)))
        body = self._request("POST", "/jobs/flow", json_body=request, timeout=timeout)
        return JobFlowCreateResponse.model_validate(body)

    def get_job_status(self, job_name: str, *, timeout: float | None = DEFAULT) -> JobResponse:
        """One job: status, progress, ``exception`` when it failed."""
        body = self._request("GET", f"/jobs/{job_name}", timeout=timeout)
        return JobResponse.model_validate(body)

    #: A shorter name for :meth:`get_job_status`.
    get_job = get_job_status

    def cancel_job(self, job_name: str, *, timeout: float | None = DEFAULT) -> JobResponse:
        """Cancel a job (409 :class:`~avatars.exceptions.ConflictError` if it is over)."""
        body = self._request("POST", f"/jobs/{job_name}/cancel", timeout=timeout)
        return JobResponse.model_validate(body)

    def delete_job(self, job_name: str, *, timeout: float | None = DEFAULT) -> JobResponse:
        """Delete one job (and its results)."""
        body = self._request("DELETE", f"/jobs/{job_name}", timeout=timeout)
        return JobResponse.model_validate(body)

    def bulk_delete_jobs(
        self, request: BulkDeleteRequest | Sequence[str], *, timeout: float | None = DEFAULT
    ) -> BulkDeleteResponse:
        """Delete up to 100 jobs at once; names that could not be deleted are listed."""
        if not isinstance(request, BulkDeleteRequest):
            request = BulkDeleteRequest(job_names=list(request))
        body = self._request("POST", "/jobs/bulk-delete", json_body=request, timeout=timeout)
        return BulkDeleteResponse.model_validate(body)
