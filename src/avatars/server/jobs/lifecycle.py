"""Job state changes shared by the API, the dispatcher and the workers.

The jobs table is the queue. Every transition is a conditional UPDATE on the current status
(``... WHERE status = 'queued'``), so API processes, dispatchers and workers sharing one
database never both win a race: whoever changes the row first decides, the others see
``rowcount == 0`` and leave it alone.
"""

from __future__ import annotations

import datetime as dt
import logging
import posixpath
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from avatars.protocol.documents import (
    AdviceDocument,
    AvatarizationDocument,
    PrivacyMetricsDocument,
    ReportDocument,
    SignalMetricsDocument,
)
from avatars.protocol.enums import FAILURE_STATUSES, TERMINAL_STATUSES, JobKind, JobStatus
from avatars.protocol.wire import JobResponse
from avatars.server.db import Database, affected_rows
from avatars.server.db.models import Job
from avatars.server.storage import Storage

log = logging.getLogger(__name__)

TERMINAL = {s.value for s in TERMINAL_STATUSES}
FAILED = {s.value for s in FAILURE_STATUSES}

#: Parameters document kind -> job kind.
KIND_OF_DOCUMENT = {
    AvatarizationDocument.KIND: JobKind.standard,
    PrivacyMetricsDocument.KIND: JobKind.privacy_metrics,
    SignalMetricsDocument.KIND: JobKind.signal_metrics,
    ReportDocument.KIND: JobKind.report,
    AdviceDocument.KIND: JobKind.advice,
}


def to_wire(job: Job | Any) -> JobResponse:
    """The wire model of a job (an ORM object, or a row with the same column names)."""
    status = JobStatus(job.status)
    return JobResponse(
        name=job.name,
        set_name=job.set_name,
        parameters_name=job.parameters_name,
        display_name=job.display_name,
        created_at=job.created_at,
        kind=JobKind(job.kind),
        status=status,
        exception=job.exception or "",
        done=status.is_terminal,
        progress=job.progress if job.progress is not None else 0.0,
        phase=job.phase or "",
        phase_done=job.phase_done or 0,
        phase_total=job.phase_total or 0,
        deleted_at=job.deleted_at,
    )


def job_name_of(reference: str) -> str:
    """``/jobs/<name>`` (a ``Location``), ``<base>/jobs/<name>`` or ``<name>`` -> ``<name>``."""
    reference = reference.strip().rstrip("/")
    if "/jobs/" in reference:
        reference = reference.rsplit("/jobs/", 1)[1]
    return reference


def end(
    session: Session,
    names: Iterable[str],
    status: JobStatus,
    exception: str,
    *,
    now: dt.datetime,
    from_statuses: Iterable[str] = ("queued",),
) -> list[str]:
    """Move the jobs still in ``from_statuses`` to a terminal ``status`` (finished at ``now``);
    the names moved."""
    moved = []
    for name in names:
        count = affected_rows(
            session.execute(
                update(Job)
                .where(Job.name == name, Job.status.in_(list(from_statuses)))
                .values(
                    status=status.value,
                    exception=exception,
                    finished_at=now,
                    phase="",
                    cancel_requested=False,
                )
                .execution_options(synchronize_session=False)
            )
        )
        if count:
            moved.append(name)
    return moved


def queued_dependents(session: Session, names: set[str]) -> list[Job]:
    """Queued jobs that depend on any of ``names`` (depends_on is a JSON list: scanned here)."""
    if not names:
        return []
    queued = session.scalars(select(Job).where(Job.status == JobStatus.queued.value))
    return [j for j in queued if names.intersection(j.depends_on or [])]


def cancel_queued_tree(
    session: Session, root_names: Iterable[str], reason: str, *, now: dt.datetime
) -> list[str]:
    """Cancel the queued jobs among ``root_names`` and, transitively, their queued dependents."""
    cancelled = end(session, root_names, JobStatus.cancelled, reason, now=now)
    frontier = set(root_names)
    while frontier:
        dependents = queued_dependents(session, frontier)
        frontier = set(
            end(
                session,
                [j.name for j in dependents],
                JobStatus.cancelled,
                "cancelled because a job it depends on was cancelled",
                now=now,
            )
        )
        cancelled += frontier
    return cancelled


def request_cancel(session: Session, job: Job, reason: str, *, now: dt.datetime) -> None:
    """Stop ``job``: at once if queued, at the worker's next progress report if running."""
    if job.status == JobStatus.queued.value:
        cancel_queued_tree(session, [job.name], reason, now=now)
    elif job.status == JobStatus.pending.value:
        session.execute(
            update(Job)
            .where(Job.name == job.name, Job.status == JobStatus.pending.value)
            .values(cancel_requested=True, phase="cancelling")
            .execution_options(synchronize_session=False)
        )
    session.flush()
    session.refresh(job)


def results_prefix_of(job: Job) -> str | None:
    """The folder holding the job's results, from the keys it recorded."""
    for keys in (job.outputs or {}).values():
        for key in keys:
            return posixpath.dirname(key) + "/"
    return None


def delete_results(storage: Storage, job: Job, prefix: str | None = None) -> None:
    prefix = prefix or results_prefix_of(job)
    if prefix:
        try:
            storage.delete_prefix(prefix)
        except Exception:  # a missing folder or a storage hiccup must not block the delete
            log.exception("could not delete the results of job %s", job.name)


def dependency_verdict(job: Job, statuses: dict[str, tuple[str, str, Any]]) -> tuple[str, str]:
    """What a queued job should do given its dependencies' ``(status, exception, deleted_at)``:
    ``("run", "")``, ``("wait", "")``, or ``(<terminal status>, <why>)``."""
    waiting = False
    for name in job.depends_on or []:
        found = statuses.get(name)
        if found is None:
            return JobStatus.parent_error.value, f"the job it depends on, {name}, does not exist"
        status, exception, deleted_at = found
        if status in FAILED:
            why = f": {exception}" if exception else ""
            return (
                JobStatus.parent_error.value,
                f"the job it depends on, {name}, ended {status}{why}",
            )
        if status == JobStatus.cancelled.value:
            return (
                JobStatus.cancelled.value,
                f"cancelled because the job it depends on, {name}, was cancelled",
            )
        if deleted_at is not None and status != JobStatus.finished.value:
            return JobStatus.parent_error.value, f"the job it depends on, {name}, was deleted"
        if status != JobStatus.finished.value:
            waiting = True
    return ("wait", "") if waiting else ("run", "")


def count_running(db: Database) -> int:
    """Jobs running anywhere (every API process, every worker): status ``pending``."""
    with db.reading() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Job).where(Job.status == JobStatus.pending.value)
            )
            or 0
        )
