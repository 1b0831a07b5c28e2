"""Running one job: :func:`run_job` is self-contained (it opens its own database engine and
storage from the settings), so the same function runs in a local worker process today and on
a Dask worker later.

While the engine computes, a heartbeat thread writes ``heartbeat_at`` (the dispatcher takes a
silent job for lost) and polls ``cancel_requested``. The progress callback given to the engine
writes progress at most twice a second and raises :class:`JobCancelled` once cancellation was
asked for, which stops the engine at its next report.

Every final write is conditional on the job still being this attempt's (status ``pending``,
same ``attempts``): a worker that was given up for lost and comes back cannot overwrite the
outcome of the run that replaced it.

A job that fails tells the user's mistake from a bug. Bad parameters or data
(:data:`USER_ERRORS`: our :class:`JobError`, the engine's :class:`AvatarsEngineError` family
— the multi-table ``SchemaError`` and the series ``SeriesDataError`` among them —
the protocol's :class:`ParameterError` and :class:`ResourceSetError`) end the job ``error``
with their message, which names what is wrong. Anything else is a bug: its traceback goes to
the log under a short reference, and the user reads "internal error (reference ...)" (see
:func:`internal_error`), never the bug's own message.

Workers run in their own processes (or on Dask workers) and keep the real clock.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import select as io_select
import signal
import threading
import time
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, select, update

from avatars.engine.errors import AvatarsEngineError
from avatars.protocol.documents import ResourceSetError, parse_resource_set
from avatars.protocol.enums import JobKind, JobStatus
from avatars.protocol.errors import ParameterError
from avatars.server import files
from avatars.server.clock import utc_now
from avatars.server.config import Settings
from avatars.server.db import Database, affected_rows
from avatars.server.db.models import Job, ResourceSet
from avatars.server.jobs.errors import JobError
from avatars.server.storage import Storage, StorageError

if TYPE_CHECKING:
    from avatars.server.jobs.handlers import JobInput

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.5  # seconds between two progress writes

#: Failures that are the user's to fix: their message names the parameter, table or column.
USER_ERRORS: tuple[type[Exception], ...] = (
    JobError,
    AvatarsEngineError,
    ParameterError,
    ResourceSetError,
)


def internal_error(what: str, job_name: str, error: BaseException | None = None) -> str:
    """Log ``error`` (default: the exception being handled) with its traceback under a new
    reference; the message for the user, which carries the same reference and nothing of the
    bug itself."""
    details = (
        "".join(traceback.format_exception(error)) if error is not None else traceback.format_exc()
    )
    reference = secrets.token_hex(4)
    log.error("job %s: internal error (reference %s): %s\n%s", job_name, reference, what, details)
    return f"internal error (reference {reference}): {what}; the platform's log has the details"


class JobCancelled(Exception):
    """Raised from the progress callback to stop a job whose cancellation was requested."""


class JobSuperseded(JobCancelled):
    """This attempt no longer owns the job (deleted, or given up for lost and run again)."""


@dataclass
class WorkerContext:
    settings: Settings
    db: Database
    storage: Storage


_CONTEXTS: dict[str, WorkerContext] = {}
_CONTEXT_LOCK = threading.Lock()


def _context(settings_json: str) -> WorkerContext:
    """One database engine and storage per process and settings (reused across jobs)."""
    with _CONTEXT_LOCK:
        context = _CONTEXTS.get(settings_json)
        if context is None:
            settings = Settings.from_worker_json(settings_json)
            context = WorkerContext(
                settings=settings,
                db=Database(settings.database_url, pool_size=2),
                storage=Storage(settings.storage_url, settings.storage_options),
            )
            _CONTEXTS[settings_json] = context
        return context


def _exit_with(api_pid: int) -> None:
    """Exit as soon as the API process ``api_pid`` is gone.

    Worker processes are children of the forkserver, not of the API process, and they hold
    the write ends of the pool's pipes themselves: without this, a killed server would leave
    them (and the forkserver) waiting forever."""
    try:
        fd = os.pidfd_open(api_pid)
    except (AttributeError, OSError):
        fd = None
    while True:
        if fd is not None:
            io_select.select([fd], [], [])  # readable once the process has exited
        else:
            time.sleep(1.0)
            try:
                os.kill(api_pid, 0)
                continue
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
        os._exit(70)


def init_worker(api_pid: int) -> None:
    """Initializer of local worker processes: exit with the API process, ignore Ctrl-C (the
    server decides what happens to running jobs), log as the server does, and import the
    engine once."""
    threading.Thread(target=_exit_with, args=(api_pid,), name="api-watch", daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Same line format as the server's (``avatars serve``); the output goes where its goes.
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with contextlib.suppress(ImportError):
        import avatars.engine  # noqa: F401


def warm_up() -> bool:
    """A no-op job: starts a worker process ahead of the first real job."""
    return True


class _Run:
    def __init__(self, context: WorkerContext, job_name: str) -> None:
        self.context = context
        self.db = context.db
        self.name = job_name
        self.attempt = 0
        self.cancel = threading.Event()
        self.cancel_reason = "cancelled"
        self.stop = threading.Event()
        self._last_write = 0.0

    # -- ownership-checked writes -------------------------------------------------------
    def _mine(self) -> list[ColumnElement[bool]]:
        return [
            Job.name == self.name,
            Job.status == JobStatus.pending.value,
            Job.attempts == self.attempt,
        ]

    def _beat(self, **values: object) -> None:
        with self.db.writing() as session:
            count = affected_rows(
                session.execute(
                    update(Job).where(*self._mine()).values(heartbeat_at=utc_now(), **values)
                )
            )
            row = session.execute(
                select(Job.cancel_requested, Job.deleted_at, Job.exception).where(
                    Job.name == self.name
                )
            ).first()
        if count == 0 or row is None:
            self.cancel_reason = "superseded"
            self.cancel.set()
        elif row.deleted_at is not None:
            self.cancel_reason = "deleted"
            self.cancel.set()
        elif row.cancel_requested:
            self.cancel.set()

    def _heartbeat(self) -> None:
        interval = self.context.settings.heartbeat_interval_seconds
        while not self.stop.wait(interval):
            try:
                self._beat()
            except Exception:  # a busy database must not kill the job: try again next beat
                log.warning("heartbeat of job %s failed", self.name, exc_info=True)

    def progress(self, fraction: float, phase: str) -> None:
        if self.cancel.is_set():
            if self.cancel_reason == "superseded":
                raise JobSuperseded()
            raise JobCancelled()
        now = time.monotonic()
        if now - self._last_write < PROGRESS_INTERVAL:
            return
        self._last_write = now
        try:
            self._beat(progress=round(min(1.0, max(0.0, fraction)), 4), phase=phase[:64])
        except Exception:
            log.warning("progress write of job %s failed", self.name, exc_info=True)

    # -- the run ------------------------------------------------------------------------
    def _load(self) -> JobInput | None:
        # The handlers (pandas, the engine) load in the worker process, at its first job or
        # in the forkserver's preload, never in the API process that imports this module.
        from avatars.server.jobs.handlers import JobInput

        settings = self.context.settings
        with self.db.reading() as session:
            job = session.get(Job, self.name)
            if job is None or job.status != JobStatus.pending.value or job.deleted_at is not None:
                return None
            self.attempt = job.attempts
            row = session.get(ResourceSet, job.set_name)
            if row is None:
                raise JobError("the resource set of this job no longer exists")
            try:
                resources = parse_resource_set(row.yaml, check_references=False)
            except ResourceSetError as exc:
                raise JobError(str(exc)) from None
            return JobInput(
                name=job.name,
                kind=JobKind(job.kind),
                parameters_name=job.parameters_name,
                set_name=str(job.set_name),
                depends_on=list(job.depends_on or []),
                resources=resources,
                inputs=dict(row.inputs or {}),
                results_prefix=files.results_prefix(
                    job.user_id, settings.dataset_expiration_days, job.set_name, job.name
                ),
                settings=settings,
                storage=self.context.storage,
                db=self.db,
                progress=self.progress,
            )

    def _finish(self, status: JobStatus, exception: str, outputs: dict[str, list[str]]) -> bool:
        values: dict[str, object] = {
            "status": status.value,
            "exception": exception,
            "outputs": outputs,
            "finished_at": utc_now(),
            "heartbeat_at": utc_now(),
            "phase": "",
            "cancel_requested": False,
        }
        if status == JobStatus.finished:
            values["progress"] = 1.0
        with self.db.writing() as session:
            count = affected_rows(
                session.execute(update(Job).where(*self._mine()).values(**values))
            )
        return count == 1

    def run(self) -> str:
        job: JobInput | None = None
        try:
            job = self._load()
        except JobError as exc:
            with self.db.reading() as session:
                found = session.get(Job, self.name)
                self.attempt = found.attempts if found is not None else 0
            self._finish(JobStatus.error, str(exc), {})
            return JobStatus.error.value
        if job is None:
            return "skipped"
        beat = threading.Thread(target=self._heartbeat, name=f"heartbeat-{self.name}", daemon=True)
        beat.start()
        status, exception, outputs = JobStatus.error, "", {}
        try:
            from avatars.server.jobs.routing import run_handler

            outputs = run_handler(job)
            status = JobStatus.finished
            # a run that did what was asked but must be flagged (a sensitive link): the clients
            # show a finished job's exception only when someone looks (runner.get_job)
            exception = "; ".join(f"warning: {w}" for w in job.warnings)
        except JobSuperseded:
            status, exception = JobStatus.lost, "superseded"
        except JobCancelled:
            status = JobStatus.cancelled
            exception = "cancelled while running" if self.cancel_reason != "deleted" else "deleted"
        except StorageError as exc:  # the object store failed: nothing partial was committed
            log.error("job %s: storage failure: %s", self.name, exc)
            exception = "the storage backend failed (unavailable?); run the job again later"
        except USER_ERRORS as exc:  # meant for the user: names what to fix
            exception = str(exc) or type(exc).__name__
        except Exception:  # a bug (a bare ValueError or KeyError included): log, don't show
            exception = internal_error("the job failed unexpectedly", self.name)
        except BaseException as exc:  # MemoryError is an Exception; this is KeyboardInterrupt...
            log.error("job %s interrupted: %r", self.name, exc)
            raise
        finally:
            self.stop.set()
            beat.join(timeout=5)
        if status == JobStatus.lost:  # not ours any more: leave the row and the files alone
            return status.value
        if status != JobStatus.finished:
            self._discard(job)
        if not self._finish(status, exception, outputs if status == JobStatus.finished else {}):
            return "superseded"
        with self.db.reading() as session:
            deleted = session.scalar(select(Job.deleted_at).where(Job.name == self.name))
        if deleted is not None and status == JobStatus.finished:
            # Deleted while it ran: what it wrote must not linger.
            self._discard(job)
            with self.db.writing() as session:
                session.execute(update(Job).where(Job.name == self.name).values(outputs={}))
        return status.value

    def _discard(self, job: JobInput) -> None:
        for key in job.written:
            with contextlib.suppress(Exception):
                job.storage.delete(key)


def run_job(job_name: str, settings_json: str) -> str:
    """Run the job named ``job_name`` to its end; its final status (or "skipped" when it was
    not runnable any more). Never raises for a failing job: the failure is in the database."""
    context = _context(settings_json)
    return _Run(context, job_name).run()
