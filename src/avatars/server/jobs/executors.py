"""Where jobs run. The dispatcher hands job names to an :class:`Executor`; a job's whole
state lives in the database, so an executor only has to run
:func:`avatars.server.jobs.worker.run_job` somewhere and report crashes.

:class:`LocalExecutor` (the embedded default) runs jobs in worker processes of a
``ProcessPoolExecutor`` started with the ``forkserver`` method and the engine preloaded: a job
that crashes or eats all memory takes down its worker process, never the API. A broken pool is
replaced and the jobs it was running are reported through ``on_crash``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from avatars.server.jobs import worker

log = logging.getLogger(__name__)

CrashHandler = Callable[[str, str], None]


class Executor(Protocol):
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
        # The forkserver imports these once; each worker forked from it starts warm.
        context.set_forkserver_preload(
            ["avatars.server.jobs.worker", "avatars.engine", "avatars.engine.figures"]
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
        """Start the worker processes now rather than at the first job (blocks until ready)."""
        futures = [self._pool.submit(worker.warm_up) for _ in range(self.workers)]
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
            message = f"internal error: {type(error).__name__}: {error}"
            log.error("job %s could not run: %r", job_name, error)
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
