"""Runs on a platform, through this project's SDK with one user's API key.

A run is a resource set: its id is the set's UUID (``Runner.set_name``), and everything about
it is read back from the platform with the same key (``Manager.create_runner_from_id``), so
this module keeps no state between calls and sees exactly what the key's owner sees.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from avatars.engine.schema import resolve_column_types
from avatars.exceptions import (
    APIConnectionError,
    AuthenticationError,
    AvatarsError,
    JobFailedError,
    JobTimeoutError,
    NotFoundError,
)
from avatars.manager import Manager
from avatars.mcp.errors import UsageError
from avatars.mcp.runs import (
    RunMetrics,
    RunOptions,
    RunRecord,
    Runs,
    What,
    is_platform_run_id,
    unknown_run,
)
from avatars.mcp.tables import TableRef, read_file
from avatars.protocol.enums import ImputeMethod, JobKind
from avatars.runner import Runner

log = logging.getLogger(__name__)

#: Display name of the runs this server starts: ``mcp-<table>``.
DISPLAY_PREFIX = "mcp-"
FAILED = frozenset({"error", "parent_error", "lost", "cancelled", "killed"})
METRICS_JOBS = ("privacy_metrics", "signal_metrics")


class PlatformRuns(Runs):
    where: ClassVar[str] = "platform"

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._manager: Manager | None = None

    @property
    def manager(self) -> Manager:
        if self._manager is None:
            with self.errors():
                self._manager = Manager(self.base_url, api_key=self._api_key)
        return self._manager

    @contextlib.contextmanager
    def errors(self, run_id: str | None = None) -> Iterator[None]:
        """The SDK's errors as a sentence for the model."""
        try:
            yield
        except AuthenticationError:
            raise UsageError(
                f"the platform at {self.base_url} refused the API key (unknown, revoked or "
                "expired): create a new one with `avatars api-keys create`"
            ) from None
        except NotFoundError:
            if run_id is None:
                raise
            raise unknown_run(run_id) from None
        except APIConnectionError as exc:
            raise UsageError(f"cannot reach the platform at {self.base_url}: {exc}") from None
        except JobFailedError as exc:
            raise UsageError(f"the run failed on the platform: {exc}") from None

    # -- tables ----------------------------------------------------------------------------
    def read(self, ref: TableRef, column_types: Mapping[str, str] | None) -> pd.DataFrame:
        if ref.kind != "dataset":
            return read_file(ref.local_path(), column_types)
        with tempfile.TemporaryDirectory(prefix="avatars-mcp-") as folder:
            path = Path(folder) / ref.value
            try:
                with self.errors():
                    self.manager.auth_client.datasets.download(ref.value, path, via="api")
            except NotFoundError:
                raise UsageError(
                    f"table {ref}: no uploaded table {ref.value!r} (GET /api/datasets lists yours)"
                ) from None
            return read_file(path, column_types)

    # -- runs ------------------------------------------------------------------------------
    def avatarize(
        self, ref: TableRef, table: pd.DataFrame, options: RunOptions, wait_seconds: float
    ) -> RunRecord:
        name = ref.name
        with self.errors():
            runner = self.manager.create_runner(f"{DISPLAY_PREFIX}{name}", seed=options.seed)
            upload = _add_table(runner, name, table, options.column_types)
            try:
                _set_parameters(runner, name, options)
                jobs = [JobKind.standard, JobKind.privacy_metrics, JobKind.signal_metrics]
                runner.run(jobs_to_run=[*jobs, JobKind.report] if options.report else jobs)
            finally:
                self._forget_upload(upload)
        run_id = str(runner.set_name)
        record = RunRecord(
            run_id=run_id,
            where=self.where,
            table=name,
            status="running",
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            source=str(ref),
            parameters=_parameters(runner, name),
            rows=len(table),
            has_report=options.report,
        )
        deadline = time.monotonic() + wait_seconds
        try:
            for job in METRICS_JOBS:
                runner.wait(job, timeout=max(0.1, deadline - time.monotonic()))
        except JobTimeoutError:
            return record  # still running: get_metrics reads it when it is done
        except JobFailedError as exc:
            record.status, record.error = "error", str(exc)
            return record
        record.status = "done"
        return record

    def _forget_upload(self, name: str) -> None:
        """Delete the table's upload: the resource set keeps its own copy (a platform that
        has no ``DELETE /datasets`` keeps the upload until its retention ends)."""
        try:
            self.manager.auth_client.datasets.delete(name)
        except AvatarsError:
            log.info("could not delete the upload %s", name, exc_info=True)

    def _runner(self, run_id: str) -> Runner:
        if not is_platform_run_id(run_id):
            raise unknown_run(run_id)
        with self.errors(run_id):
            return self.manager.create_runner_from_id(run_id)

    def _record(self, run_id: str, runner: Runner) -> RunRecord:
        table = next(iter(runner.config.tables), None)
        if table is None:
            raise unknown_run(run_id)
        with self.errors(run_id):
            jobs = {
                name: runner.client.jobs.get_job_status(job.name)
                for name, job in runner.jobs.items()
            }
        status, error = _status(jobs)
        standard = jobs.get("standard")
        return RunRecord(
            run_id=run_id,
            where=self.where,
            table=table,
            status=status,
            created_at=standard.created_at.isoformat(timespec="milliseconds") if standard else None,
            parameters=_parameters(runner, table),
            error=error,
            has_report="report" in jobs,
        )

    def record(self, run_id: str) -> RunRecord:
        return self._record(run_id, self._runner(run_id))

    def list_runs(self, limit: int) -> list[RunRecord]:
        with self.errors():
            jobs = self.manager.auth_client.jobs.get_jobs(limit=max(50, limit * 6)).jobs
        by_set: dict[str, list[Any]] = {}
        for job in jobs:
            by_set.setdefault(str(job.set_name), []).append(job)
        records = []
        for set_name, group in by_set.items():
            named = {job.parameters_name: job for job in group}
            if "standard" not in named:
                continue  # advice only, or metrics of uploaded avatars
            status, error = _status(named)
            standard = named["standard"]
            records.append(
                RunRecord(
                    run_id=set_name,
                    where=self.where,
                    table=standard.display_name.removeprefix(DISPLAY_PREFIX),
                    status=status,
                    created_at=standard.created_at.isoformat(timespec="milliseconds"),
                    error=error,
                    has_report="report" in named,
                )
            )
        records.sort(key=lambda r: r.created_at or "", reverse=True)
        return records[:limit]

    def metrics(self, run_id: str) -> RunMetrics:
        runner = self._runner(run_id)
        record = self._record(run_id, runner)
        if record.status == "running":
            raise UsageError(f"run {run_id} is still running: ask again in a few seconds")
        if record.status == "error":
            raise UsageError(f"run {run_id} failed: {record.error}")
        with self.errors(run_id):
            privacy = runner.privacy_metrics(record.table)
            signal = runner.signal_metrics(record.table)
        return RunMetrics(record, privacy[0] if privacy else {}, signal[0] if signal else {})

    def file(self, run_id: str, what: What) -> bytes:
        if what == "metrics":
            metrics = self.metrics(run_id)
            body = {"privacy": metrics.privacy, "signal": metrics.signal}
            return json.dumps(body, indent=2, default=str).encode()
        runner = self._runner(run_id)
        record = self._record(run_id, runner)
        if record.status != "done":
            raise UsageError(f"run {run_id} is {record.status}: its files are not ready")
        if what == "avatars":
            with self.errors(run_id):
                return runner.shuffled(record.table).to_csv(index=False).encode()
        if not record.has_report:
            raise UsageError(f"run {run_id} has no report: avatarize with report=true")
        with tempfile.TemporaryDirectory(prefix="avatars-mcp-") as folder, self.errors(run_id):
            saved = runner.download_report(str(Path(folder) / "report.pdf"))
            return Path(saved[0]).read_bytes()

    def owns(self, run_id: str) -> bool:
        return is_platform_run_id(run_id)


def _add_table(
    runner: Runner, name: str, table: pd.DataFrame, column_types: Mapping[str, str]
) -> str:
    """Upload ``table`` under a file name of its own (so that no table the caller uploaded
    is replaced), with every column's type as the engine infers it (as ``describe_table``
    and local runs see them); the uploaded file's name."""
    file, _ = runner.upload_file(f"mcp-{uuid.uuid4().hex[:12]}-{name}", table)
    types = resolve_column_types(table, column_types or None)
    runner.config.add_table(name, file, types={c: t.value for c, t in types.items()})
    return file


def _set_parameters(runner: Runner, name: str, options: RunOptions) -> None:
    try:
        runner.set_parameters(
            name,
            k=options.k,
            ncp=options.ncp,
            exclude_variable_names=options.exclude or None,
            imputation_method=ImputeMethod(options.imputation) if options.imputation else None,
        )
    except ValueError as exc:  # the SDK's checks of the parameters (ParameterError)
        raise UsageError(str(exc)) from None


def _parameters(runner: Runner, table: str) -> dict[str, Any]:
    avatarization = runner.config.avatarization.get(table, {})
    out = {key: avatarization.get(key) for key in ("k", "ncp") if avatarization.get(key)}
    out["seed"] = runner.config.seed
    exclude = (avatarization.get("exclude_variables") or {}).get("variable_names")
    if exclude:
        out["exclude"] = list(exclude)
    return out


def _status(jobs: Mapping[str, Any]) -> tuple[str, str | None]:
    """``done`` when the avatarization and its metrics are finished, ``error`` (with the
    first failure's message) when a job failed, else ``running``."""
    for name, job in jobs.items():
        if job.status.value in FAILED:
            return "error", f"{name}: {job.exception or job.status.value}"
    wanted = [jobs.get(name) for name in ("standard", *METRICS_JOBS)]
    if all(job is not None and job.done for job in wanted):
        return "done", None
    return "running", None
