"""API latency of the embedded platform: ``GET /api/jobs/{name}`` under 50 concurrent clients,
and the time from ``POST /api/jobs`` to the job running and to it finishing.

Run: ``.venv/bin/python benchmarks/api_latency.py`` (options: ``--help``). It starts
``avatars serve`` on the embedded default (SQLite, storage folder, in-process workers) in a
temporary data directory, creates an admin, an API key and a job, then measures:

1. polling: 50 clients each polling one job every 250 ms (the fastest rate of the official
   client 1.30, protocol.md §5.3) -- the load the platform actually sees;
2. saturation: 50 clients sending requests back to back -- the worst case, where latency is
   queueing (50 / throughput);
3. job start: POST /jobs, then the time until the job is ``pending`` (running) and
   ``finished``, for a small job (iris, k=5), over several trials.

The load generator is a minimal asyncio HTTP/1.1 client (keep-alive, one connection per
client, on uvloop when installed) so that it takes as little as possible of the CPU it shares
with the server. Targets: p99 <= 50 ms, and <= 0.5 s from POST to running.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
IRIS = ROOT / "src" / "avatars" / "data" / "iris.csv"
ADMIN = ("bench@example.com", "bench-password-1")

SET_YAML = """kind: AvatarMetadata
metadata:
  name: avatar-metadata-bench
spec:
  display_name: bench
---
kind: AvatarSchema
metadata:
  name: schema
spec:
  tables:
  - name: iris
    data:
      volume: input
      file: iris.csv
---
kind: AvatarParameters
metadata:
  name: standard
spec:
  schema: schema
  avatarization:
    iris:
      k: 5
  compute_figures: false
  seed: 1
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(data_dir: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "AVATAR_DATA_DIR": str(data_dir),
        "AVATAR_ADMIN_EMAIL": ADMIN[0],
        "AVATAR_ADMIN_PASSWORD": ADMIN[1],
        "AVATAR_WORKERS": str(workers),
    }
    log = open(data_dir / "server.log", "wb")  # noqa: SIM115 - owned by the process
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "avatars.cli",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not start; see " + str(data_dir / "server.log"))


class Connection:
    """One keep-alive HTTP/1.1 connection, just enough for GETs of small JSON bodies."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        self.header_lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{self.header_lines}\r\n"
        self.writer.write(request.encode())
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def run_clients(
    port: int, headers: dict[str, str], path: str, clients: int, requests: int, interval: float
) -> tuple[list[float], float]:
    """``clients`` connections, ``requests`` GETs each, ``interval`` s apart (0: back to back);
    the latencies (seconds) and the wall time."""
    latencies: list[float] = []
    errors = 0

    async def client(index: int) -> None:
        nonlocal errors
        connection = Connection(port, headers)
        if interval:
            await asyncio.sleep(interval * index / clients)  # spread the polls
        next_at = time.perf_counter()
        try:
            for _ in range(requests):
                started = time.perf_counter()
                status = await connection.get(path)
                latencies.append(time.perf_counter() - started)
                errors += status != 200
                if interval:
                    next_at += interval
                    await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    wall = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{errors} requests failed")
    return latencies, wall


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def report(title: str, latencies: list[float], wall: float) -> float:
    p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
    print(
        f"{title:<44} n={len(latencies):5d}  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
        f"max {max(latencies) * 1000:6.1f} ms  {len(latencies) / wall:6.0f} req/s"
    )
    return p99


def job_start_trials(
    api: httpx.Client, set_name: str, trials: int
) -> tuple[list[float], list[float]]:
    to_running, to_finished = [], []
    for _ in range(trials):
        started = time.perf_counter()
        name = api.post("/jobs", json={"set_name": set_name, "parameters_name": "standard"}).json()[
            "name"
        ]
        running = None
        while True:
            job = api.get(f"/jobs/{name}").json()
            now = time.perf_counter() - started
            if running is None and job["status"] in ("pending", "finished"):
                running = now
            if job["done"]:
                if job["status"] != "finished":
                    raise SystemExit(f"the job failed: {job['exception']}")
                break
            time.sleep(0.005)
        to_running.append(running or now)
        to_finished.append(now)
    return to_running, to_finished


def _event_loop() -> None:
    # The load generator shares the CPUs with the server: uvloop keeps its own cost low.
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def main() -> None:
    _event_loop()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument(
        "--poll-seconds", type=float, default=10.0, help="duration of the polling run"
    )
    parser.add_argument("--poll-interval", type=float, default=0.25)
    parser.add_argument("--saturation-requests", type=int, default=100, help="per client")
    parser.add_argument("--trials", type=int, default=10, help="job start trials")
    parser.add_argument("--workers", type=int, default=1, help="AVATAR_WORKERS of the server")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="avatars-bench-") as tmp:
        data_dir = Path(tmp)
        port = free_port()
        server = start_server(data_dir, port, args.workers)
        try:
            base = f"http://127.0.0.1:{port}/api"
            tokens = httpx.post(
                f"{base}/login", data={"username": ADMIN[0], "password": ADMIN[1]}
            ).json()
            key = httpx.post(
                f"{base}/api-keys",
                json={"name": "bench", "expiration_days": 30},
                headers={"Authorization": f"Bearer {tokens['access_token']}"},
            ).json()["api_key"]["plaintext"]
            headers = {"Authorization": f"api-key-v1 {key}"}
            api = httpx.Client(base_url=base, headers=headers, timeout=60)
            assert api.put("/datasets/iris.csv", content=IRIS.read_bytes()).status_code == 200
            set_name = api.put(
                "/resources/bench", content=SET_YAML, headers={"Content-Type": "application/yaml"}
            ).json()["set_name"]
            time.sleep(3)  # the worker processes warm up after the server answers
            to_running, to_finished = job_start_trials(api, set_name, args.trials)
            name = api.get("/jobs").json()["jobs"][-1]["name"]
            path = f"/api/jobs/{name}"

            print(f"avatars API latency -- embedded default (SQLite), {os.cpu_count()} CPU(s)")
            print(f"GET {path[:18]}... with {args.clients} concurrent keep-alive clients")
            polls = max(1, int(args.poll_seconds / args.poll_interval))
            warm, _ = asyncio.run(run_clients(port, headers, path, args.clients, 5, 0))
            latencies, wall = asyncio.run(
                run_clients(port, headers, path, args.clients, polls, args.poll_interval)
            )
            p99_polling = report(
                f"polling, each client every {args.poll_interval:g} s", latencies, wall
            )
            latencies, wall = asyncio.run(
                run_clients(port, headers, path, args.clients, args.saturation_requests, 0)
            )
            p99_saturation = report("saturation, back to back", latencies, wall)
            for label, values in (
                ("POST /jobs -> running (pending)", to_running),
                ("POST /jobs -> finished (iris, k=5)", to_finished),
            ):
                print(
                    f"{label:<36} median {statistics.median(values) * 1000:6.0f} ms  "
                    f"max {max(values) * 1000:6.0f} ms  ({args.trials} trials)"
                )
            print("targets: p99 <= 50 ms; <= 500 ms from POST to running")
            verdicts = [
                ("p99 polling", p99_polling <= 50),
                ("p99 saturation", p99_saturation <= 50),
                ("to running", max(to_running) <= 0.5),
            ]
            print("  ".join(f"{label}: {'met' if ok else 'MISSED'}" for label, ok in verdicts))
            del warm
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
