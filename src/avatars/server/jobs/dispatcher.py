"""The dispatcher: a thread in each API process that moves queued jobs to workers.

It wakes every ``dispatch_interval_seconds`` (and at once when this process creates a job):

1. **dependencies**: a queued job whose dependency failed ends ``parent_error``; one whose
   dependency was cancelled ends ``cancelled``;
2. **claims**: queued jobs whose dependencies all finished are claimed with a conditional
   UPDATE (``queued`` → ``pending``), oldest first, up to the executor's free slots, and
   submitted. Several API processes sharing one database never claim the same job;
3. **reaping** (every few seconds): a ``pending`` job whose heartbeat is older than
   ``heartbeat_timeout_seconds`` lost its worker (crash, server killed). It is queued again
   while it has attempts left (``job_max_attempts``), else it ends ``lost`` with a message.

At a clean shutdown the jobs this process was running go back to ``queued`` without using up
an attempt, so the next start runs them again at once.

Claims, heartbeat checks and the times it writes read the API's clock
(:mod:`avatars.server.clock`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid

from sqlalchemy import select, update

from avatars.protocol.enums import JobStatus
from avatars.server.clock import Clock, utc_now
from avatars.server.config import Settings
from avatars.server.db import Database, affected_rows
from avatars.server.db.models import Job
from avatars.server.jobs import lifecycle
from avatars.server.jobs.executors import Executor
from avatars.server.jobs.worker import internal_error

log = logging.getLogger(__name__)

QUEUE_SCAN_LIMIT = 500


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        executor: Executor | None = None,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings
        self.db = db
        self.executor = executor
        self.clock = clock
        self.instance = f"api-{uuid.uuid4().hex[:12]}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_reap = 0.0
        self.reap_interval = max(0.5, min(5.0, settings.heartbeat_timeout_seconds / 4))

    # -- control ------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="avatars-dispatcher", daemon=True)
        self._thread.start()

    @property
    def stopping(self) -> threading.Event:
        """Set once :meth:`stop` was called."""
        return self._stop

    def attach(self, executor: Executor) -> bool:
        """Run the jobs on ``executor`` from now on. False, and the executor shut down, when
        :meth:`stop` came first: whichever of the two runs second shuts it down, so an
        executor still starting when the server stops leaves no process behind."""
        self.executor = executor
        if self._stop.is_set():
            executor.shutdown(wait=False)
            return False
        return True

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.executor is not None:
            running: list[str] = getattr(self.executor, "running", lambda: [])()
            self.executor.shutdown(wait=False)
            self.hand_back(running)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.settings.dispatch_interval_seconds)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.tick()
            except Exception:  # the database may be briefly unavailable: try again next tick
                log.exception("dispatcher tick failed")

    # -- one round ----------------------------------------------------------------------
    def tick(self) -> None:
        now = time.monotonic()
        if now - self._last_reap >= self.reap_interval:
            self._last_reap = now
            self.reap()
        runnable = self.resolve_queued()
        if self.executor is None or not runnable:
            return
        for name in runnable[: max(0, self.executor.free_slots())]:
            if self.claim(name):
                try:
                    self.executor.submit(name)
                except Exception:
                    self.on_crash(name, internal_error("the job could not be started", name))

    def resolve_queued(self) -> list[str]:
        """End the queued jobs whose dependencies failed; the names of the runnable ones."""
        with self.db.reading() as session:
            queued = list(
                session.scalars(
                    select(Job)
                    .where(Job.status == JobStatus.queued.value)
                    .order_by(Job.created_at, Job.name)
                    .limit(QUEUE_SCAN_LIMIT)
                )
            )
            if not queued:
                return []
            needed = {d for job in queued for d in job.depends_on or []}
            statuses = {}
            if needed:
                rows = session.execute(
                    select(Job.name, Job.status, Job.exception, Job.deleted_at).where(
                        Job.name.in_(needed)
                    )
                )
                statuses = {r.name: (r.status, r.exception, r.deleted_at) for r in rows}
        runnable: list[str] = []
        ended: list[tuple[str, str, str]] = []
        for job in queued:
            if job.deleted_at is not None:
                ended.append((job.name, JobStatus.cancelled.value, "deleted before it started"))
                continue
            verdict, why = lifecycle.dependency_verdict(job, statuses)
            if verdict == "run":
                runnable.append(job.name)
            elif verdict != "wait":
                ended.append((job.name, verdict, why))
        if ended:
            with self.db.writing() as session:
                for name, status, why in ended:
                    lifecycle.end(session, [name], JobStatus(status), why, now=self.clock())
        return runnable

    def claim(self, name: str) -> bool:
        now = self.clock()
        with self.db.writing() as session:
            count = affected_rows(
                session.execute(
                    update(Job)
                    .where(
                        Job.name == name,
                        Job.status == JobStatus.queued.value,
                        Job.deleted_at.is_(None),
                    )
                    .values(
                        status=JobStatus.pending.value,
                        started_at=now,
                        heartbeat_at=now,
                        attempts=Job.attempts + 1,
                        worker=self.instance,
                        phase="starting",
                        progress=0.0,
                        exception="",
                    )
                )
            )
        return count == 1

    def reap(self) -> None:
        """Queue again (or give up on) running jobs whose worker went silent."""
        cutoff = self.clock() - dt.timedelta(seconds=self.settings.heartbeat_timeout_seconds)
        with self.db.reading() as session:
            stale = session.execute(
                select(Job.name, Job.attempts, Job.cancel_requested).where(
                    Job.status == JobStatus.pending.value, Job.heartbeat_at < cutoff
                )
            ).all()
        for name, attempts, cancel_requested in stale:
            condition = [
                Job.name == name,
                Job.status == JobStatus.pending.value,
                Job.heartbeat_at < cutoff,
            ]
            with self.db.writing() as session:
                if cancel_requested:
                    values = {
                        "status": JobStatus.cancelled.value,
                        "exception": "cancelled while running",
                        "finished_at": self.clock(),
                        "phase": "",
                        "cancel_requested": False,
                    }
                elif attempts < self.settings.job_max_attempts:
                    values = {
                        "status": JobStatus.queued.value,
                        "worker": None,
                        "phase": "",
                        "progress": 0.0,
                    }
                else:
                    values = {
                        "status": JobStatus.lost.value,
                        "exception": (
                            f"the job was lost: its worker stopped responding (server stopped or "
                            f"crashed) {attempts} time(s)"
                        ),
                        "finished_at": self.clock(),
                        "phase": "",
                    }
                count = affected_rows(
                    session.execute(update(Job).where(*condition).values(**values))
                )
            if count:
                log.warning("job %s lost its worker: now %s", name, values["status"])
                self.wake()

    def on_crash(self, name: str, message: str) -> None:
        """The executor could not run ``name`` (its worker process died): queue it again while
        it has attempts left, else end it in ``error`` with ``message``."""
        with self.db.writing() as session:
            job = session.get(Job, name)
            if job is None or job.status != JobStatus.pending.value:
                return
            if job.attempts < self.settings.job_max_attempts and not job.cancel_requested:
                job.status = JobStatus.queued.value
                job.worker = None
                job.phase = ""
            else:
                job.status = JobStatus.error.value
                job.exception = message
                job.finished_at = self.clock()
                job.phase = ""
        log.warning("job %s: %s", name, message)
        self.wake()

    def hand_back(self, names: list[str]) -> None:
        """At shutdown: the jobs this process was running go back to the queue."""
        if not names:
            return
        try:
            with self.db.writing() as session:
                running = [Job.name.in_(names), Job.status == JobStatus.pending.value]
                # Those somebody asked to stop are stopped; the others will run again.
                session.execute(
                    update(Job)
                    .where(*running, Job.cancel_requested.is_(True))
                    .values(
                        status=JobStatus.cancelled.value,
                        exception="cancelled while running",
                        finished_at=self.clock(),
                        phase="",
                        cancel_requested=False,
                    )
                )
                session.execute(
                    update(Job)
                    .where(*running)
                    .values(
                        status=JobStatus.queued.value,
                        attempts=Job.attempts - 1,
                        worker=None,
                        phase="",
                        progress=0.0,
                    )
                )
            log.info("handed %d running job(s) back to the queue", len(names))
        except Exception:  # the reaper will requeue them at the next start anyway
            log.exception("could not hand running jobs back")
