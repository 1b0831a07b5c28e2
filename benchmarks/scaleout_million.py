"""One million rows end to end through the scale-out platform, on this machine.

    python benchmarks/scaleout_million.py              # 1,000,000 × 16 (targets: ≤ 10 min, ≤ 6 GB)
    python benchmarks/scaleout_million.py --rows 200000

It starts the scale-out stack locally — PostgreSQL, SeaweedFS (S3), a Dask scheduler with two
workers — and the API server on it, then does what a user does with our SDK: upload the table
(streamed, multipart), run avatarization, privacy and signal metrics and both reports, and
download the avatars. It prints the time of each step, the total, and the peak resident memory
of every process involved (polled with psutil every 0.2 s). The baseline, measured in the same
run, is the engine alone on the same table in one process (avatarize + metrics), so the ratio
says what the platform costs on top of the computation.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from stack import DaskCluster, LocalPostgres, SeaweedS3, free_port  # noqa: E402

TARGET_SECONDS = 600
TARGET_GB = 6.0


class MemoryWatch:
    """Peak RSS per labelled process (and its children), polled in a thread."""

    def __init__(self) -> None:
        self.processes: dict[str, list[int]] = {}
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def watch(self, label: str, pid: int) -> None:
        self.processes.setdefault(label, []).append(pid)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            watched = {pid for pids in list(self.processes.values()) for pid in pids}
            for label, pids in list(self.processes.items()):
                for pid in pids:
                    try:
                        process = psutil.Process(pid)
                        children = process.children(recursive=True)
                        # a watched process is reported under its own label, not as a child
                        family = [process, *(c for c in children if c.pid not in watched)]
                        for member in family:
                            rss = member.memory_info().rss / 1024**3
                            key = label if member.pid == pid else f"{label} (child)"
                            self.peaks[key] = max(self.peaks.get(key, 0.0), rss)
                    except psutil.Error:
                        continue

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


def engine_baseline(csv: Path) -> float:
    """The engine alone (one process): avatarize + privacy + signal metrics."""
    code = f"""
import time
from avatars.engine import avatarize, privacy_metrics, signal_metrics, read_table
df = read_table({str(csv)!r})
t = time.perf_counter()
r = avatarize(df, k=20, ncp=5, seed=0)
privacy_metrics(df, r.unshuffled, ncp=5, seed=0)
signal_metrics(df, r.shuffled)
print(time.perf_counter() - t)
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()

    from avatars.data.synthetic import synthetic_patients
    from avatars.manager import Manager

    work = Path(tempfile.mkdtemp(prefix="avatars-million-"))
    csv = work / "patients.csv"
    synthetic_patients(args.rows, seed=0).to_csv(csv, index=False)
    print(f"{args.rows:,} rows × 16 columns: {csv.stat().st_size / 1e6:.0f} MB of CSV")

    watch = MemoryWatch()
    postgres = LocalPostgres()
    s3 = SeaweedS3(work / "seaweedfs")
    dask = DaskCluster(work / "dask")
    server = None
    try:
        print("starting PostgreSQL, SeaweedFS, Dask (2 workers) and the API server...")
        postgres_url = postgres.start()
        s3.start()
        dask.start(workers=2)
        for name, process in dask.workers.items():
            watch.watch(f"dask {name}", process.pid)
        assert dask.scheduler is not None and s3.process is not None
        watch.watch("dask scheduler", dask.scheduler.pid)
        watch.watch("seaweedfs", s3.process.pid)
        port = free_port()
        env = {
            **os.environ,
            "AVATAR_DATA_DIR": str(work / "api"),
            "AVATAR_DATABASE_URL": postgres_url,
            "AVATAR_STORAGE_URL": f"s3://{s3.bucket}/bench",
            "AVATAR_STORAGE_ENDPOINT_URL": s3.endpoint_url,
            "AVATAR_STORAGE_ACCESS_KEY_ID": s3.access_key,
            "AVATAR_STORAGE_SECRET_ACCESS_KEY": s3.secret_key,
            "AVATAR_DASK_SCHEDULER": dask.address,
            "AVATAR_ADMIN_EMAIL": "bench@example.org",
            "AVATAR_ADMIN_PASSWORD": "bench-password-1",
            "AVATAR_MAX_ROWS": str(max(args.rows, 1_000_000)),
        }
        (work / "api").mkdir()
        log = open(work / "api" / "server.log", "ab")  # noqa: SIM115
        server = subprocess.Popen(
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
        watch.watch("api server", server.pid)
        watch.watch("benchmark client (SDK)", os.getpid())
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base_url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        watch.start()

        steps: dict[str, float] = {}
        manager = Manager(base_url)
        manager.authenticate("bench@example.org", "bench-password-1")
        runner = manager.create_runner("million", seed=0)
        started = t = time.perf_counter()
        runner.add_table("patients", str(csv))
        steps["upload (streamed, multipart)"] = time.perf_counter() - t
        runner.set_parameters("patients", k=20, ncp=5)
        t = time.perf_counter()
        runner.run()
        steps["create the set and the jobs"] = time.perf_counter() - t
        from avatars.models import JobKind

        for kind, label in (
            (JobKind.standard, "avatarization (standard job)"),
            ("signal_metrics", "signal metrics"),
            ("privacy_metrics", "privacy metrics"),
            (JobKind.report, "report (PDF + HTML)"),
            ("report_pia", "PIA report"),
        ):
            t = time.perf_counter()
            job = runner.wait(kind, timeout=TARGET_SECONDS * 2)
            assert job.status == "finished", (kind, job.status, job.exception)
            steps[f"wait: {label}"] = time.perf_counter() - t
        t = time.perf_counter()
        avatars = runner.shuffled("patients")
        steps["download the avatars"] = time.perf_counter() - t
        total = time.perf_counter() - started
        privacy = runner.privacy_metrics("patients")[0]
        watch.stop()
    finally:
        watch.stop()
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        dask.stop()
        s3.stop()
        postgres.stop()

    print("\nsteps (the jobs run in parallel where they can; waits are sequential):")
    for label, seconds in steps.items():
        print(f"  {label:<36} {seconds:8.1f} s")
    verdict = "ok" if total <= TARGET_SECONDS else "MISSED"
    label = "total, upload to avatars downloaded"
    print(f"  {label:<36} {total:8.1f} s   (target ≤ {TARGET_SECONDS} s) {verdict}")
    print("\npeak resident memory per process:")
    for label, peak in sorted(watch.peaks.items(), key=lambda kv: -kv[1]):
        flag = "" if peak <= TARGET_GB else "  MISSED"
        print(f"  {label:<36} {peak:8.2f} GB{flag}")
    worst = max(watch.peaks.values())
    print(f"  {'largest':<36} {worst:8.2f} GB   (target ≤ {TARGET_GB:g} GB)")
    print(
        f"\nhidden rate {privacy['hidden_rate']:.1f} %, local cloaking {privacy['local_cloaking']}"
    )
    print(f"avatars downloaded: {len(avatars):,} rows")
    if not args.skip_baseline:
        baseline = engine_baseline(csv)
        print(f"\nbaseline, the engine alone in one process: {baseline:.1f} s")
        print(f"platform total ÷ engine alone: {total / baseline:.2f}×")


if __name__ == "__main__":
    main()
