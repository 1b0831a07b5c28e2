"""Where jobs run. The dispatcher hands job names to an :class:`Executor`; a job's whole
state lives in the database, so an executor only has to run
:func:`avatars.server.jobs.worker.run_job` somewhere and report crashes.

:class:`LocalExecutor` (the embedded default) runs jobs in worker processes of a
``ProcessPoolExecutor`` started with the ``forkserver`` method and the engine preloaded: a job
that crashes or eats all memory takes down its worker process, never the API. A broken pool is
replaced and the jobs it was running are reported through ``on_crash``.

:class:`DaskExecutor` (scale-out) submits the same function to a Dask cluster.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from avatars.server.jobs import worker

log = logging.getLogger(__name__)

CrashHandler = Callable[[str, str], None]


class Executor(Protocol):
    def warm_up(self) -> None: ...

    def free_slots(self) -> int: ...

    def submit(self, job_name: str) -> None: ...

    def shutdown(self, wait: bool) -> None: ...


class LocalExecutor:
    """Jobs in local worker processes, at most ``workers`` at once."""

    def __init__(self, workers: int, settings_json: str, on_crash: CrashHandler) -> None:
        self.workers = workers
        self._settings_json = settings_json
        self._on_crash = on_crash
        self._lock = threading.Lock()
        self._running: dict[str, Future[str]] = {}
        context = multiprocessing.get_context("forkserver")
        # The forkserver imports these once; each worker forked from it starts warm. (The API
        # process itself imports none of them: see avatars.engine's lazy names.)
        context.set_forkserver_preload(
            [
                "avatars.server.jobs.worker",
                "avatars.server.jobs.routing",
                "avatars.engine.avatarization",
                "avatars.engine.privacy",
                "avatars.engine.signal",
                "avatars.engine.figures",
            ]
        )
        self._context = context
        self._pool = self._new_pool()
        self._closed = False

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=self._context,
            initializer=worker.init_worker,
            initargs=(os.getpid(),),
        )

    def warm_up(self) -> None:
        """Start the worker processes now rather than at the first job (blocks until ready;
        :meth:`shutdown` from another thread interrupts it with an exception)."""
        with self._lock:
            pool = self._pool
        futures = [pool.submit(worker.warm_up) for _ in range(self.workers)]
        for future in futures:
            future.result(timeout=120)

    def free_slots(self) -> int:
        with self._lock:
            return 0 if self._closed else self.workers - len(self._running)

    def running(self) -> list[str]:
        with self._lock:
            return list(self._running)

    def submit(self, job_name: str) -> None:
        with self._lock:
            pool = self._pool
            future = pool.submit(worker.run_job, job_name, self._settings_json)
            self._running[job_name] = future
        future.add_done_callback(lambda f: self._done(job_name, pool, f))

    def _done(self, job_name: str, pool: ProcessPoolExecutor, future: Future[str]) -> None:
        with self._lock:
            self._running.pop(job_name, None)
            if future.cancelled():
                return
            error = future.exception()
            if isinstance(error, BrokenProcessPool) and pool is self._pool and not self._closed:
                log.error("a job worker process died; starting a new pool")
                self._pool = self._new_pool()
        if future.cancelled() or error is None or self._closed:
            return  # at shutdown the dispatcher hands running jobs back itself
        if isinstance(error, BrokenProcessPool):
            message = (
                "the worker process running this job stopped unexpectedly (killed, or out of "
                "memory)"
            )
        else:
            message = worker.internal_error("the job could not run", job_name, error)
        self._on_crash(job_name, message)

    def shutdown(self, wait: bool) -> None:
        with self._lock:
            self._closed = True
            pool = self._pool
        processes = list((getattr(pool, "_processes", None) or {}).values())
        if not wait:
            # Running jobs are handed back by the dispatcher; their processes must not go on.
            for process in processes:
                if process.is_alive():
                    process.kill()
        pool.shutdown(wait=wait, cancel_futures=True)


class DaskExecutor:
    """Jobs on the workers of a Dask cluster (``AVATAR_DASK_SCHEDULER=tcp://host:port``).

    Each job is one Dask task running :func:`worker.run_job`; the worker reads and writes the
    shared database and object store itself, so this process only submits. Tasks are
    *fire-and-forget*: they keep running when the API process that submitted them stops or
    restarts, and their outcome reaches the database whoever is listening. When a Dask worker
    dies mid-job the scheduler runs the task again on another worker (same attempt, so the
    job's ownership checks let it through); when the scheduler gives up (``KilledWorker``) or
    the task fails outside the job's own error handling, ``on_crash`` ends the job with the
    reason.

    Capacity is the cluster's: the worker threads it has now, minus the jobs running anywhere
    (counted in the database, so several API processes share one cluster without overfilling
    it; the cluster would queue extra tasks anyway, but their jobs would look running).
    """

    def __init__(
        self,
        address: str,
        settings_json: str,
        on_crash: CrashHandler,
        running_jobs: Callable[[], int],
        *,
        connect_timeout: float = 30.0,
    ) -> None:
        from distributed import Client

        self.address = address
        self._settings_json = settings_json
        self._on_crash = on_crash
        self._running_jobs = running_jobs
        self._lock = threading.Lock()
        self._futures: dict[str, object] = {}
        self._closed = False
        self.client = Client(address, timeout=connect_timeout, set_as_default=False)

    def warm_up(self) -> None:
        """Nothing to do: the cluster's workers start on their own."""

    def free_slots(self) -> int:
        if self._closed:
            return 0
        try:
            workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        except Exception:  # scheduler unreachable: nothing can start now
            log.warning("the Dask scheduler at %s does not answer", self.address)
            return 0
        threads = sum(int(w.get("nthreads", 1)) for w in workers.values())
        return max(0, threads - self._running_jobs())

    def running(self) -> list[str]:
        # Jobs on the cluster do not belong to this process: a stop must not hand them back.
        return []

    def submit(self, job_name: str) -> None:
        from distributed import fire_and_forget

        future = self.client.submit(
            worker.run_job,
            job_name,
            self._settings_json,
            key=f"avatars-job-{job_name}-{uuid.uuid4().hex[:8]}",
            pure=False,
        )
        fire_and_forget(future)
        with self._lock:
            self._futures[job_name] = future
        future.add_done_callback(lambda f: self._done(job_name, f))

    def _done(self, job_name: str, future: object) -> None:
        with self._lock:
            self._futures.pop(job_name, None)
        status = getattr(future, "status", "")
        if self._closed or status != "error":
            return
        try:
            error = future.exception()  # type: ignore[attr-defined]
        except Exception as exc:  # the scheduler went away while we asked
            error = exc
        name = type(error).__name__
        if name == "KilledWorker":
            message = (
                "the Dask workers running this job stopped unexpectedly, several times (killed, "
                "or out of memory)"
            )
            log.error("job %s failed on the cluster: %s", job_name, message)
        else:
            message = worker.internal_error(
                "the job could not run on the Dask worker", job_name, error
            )
        self._on_crash(job_name, message)

    def shutdown(self, wait: bool) -> None:
        self._closed = True
        # fire_and_forget tasks survive the client: running jobs go on and report themselves.
        with contextlib.suppress(Exception):
            self.client.close(timeout=5)
