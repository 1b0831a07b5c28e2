"""Linked tables end to end through the platform: 10,000 parents and 100,000 children, every
link method, time and peak memory of the server's processes.

    python benchmarks/multitable_platform.py                  # embedded platform (avatars serve)
    python benchmarks/multitable_platform.py --scaleout       # PostgreSQL + SeaweedFS + Dask
    python benchmarks/multitable_platform.py --parents 1000 --children 10000 --methods \\
        linear_sum_assignment

Tables: ``patient`` (10,000 parents) and ``visit`` (100,000 children, 0 to 100 per patient,
skewed), from ``avatars.engine.multitable.synthetic`` (the hospital level left out), written as
CSV files. For each link method, what a user does with our SDK: upload both tables, declare the
keys and the link, ``set_parameters`` (k = 20 for both, the multi-table advice at these sizes),
run the standard, privacy and signal metrics jobs (and the reports with ``--report``), wait for
them and download both avatar tables. Printed per method: the time of each wait and the total
(upload to avatars downloaded), the peak resident memory of each server process (the API
server and its job workers, or the Dask workers), the children-per-parent KS statistic and the
hidden rates. Targets with ``linear_sum_assignment``: ≤ 5 minutes and ≤ 4 GB.

The embedded platform runs jobs in local worker processes (``AVATAR_WORKERS=2``: the two
metrics jobs run side by side); on the scale-out stack they run on two Dask workers. Wall times
depend on the machine's load (the engine alone: ``benchmarks/multitable.py``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from scaleout_million import MemoryWatch  # noqa: E402

from stack import DaskCluster, LocalPostgres, SeaweedS3, free_port  # noqa: E402

METHODS = (
    "linear_sum_assignment",
    "minimum_distance_assignment",
    "sensitive_original_order_assignment",
)
TARGET_SECONDS = 300.0
TARGET_GB = 4.0
EMAIL, PASSWORD = "bench@example.org", "bench-password-1"


def start_server(work: Path, env: dict[str, str], watch: MemoryWatch) -> tuple[Any, str]:
    port = free_port()
    (work / "api").mkdir(exist_ok=True)
    log = open(work / "api" / "server.log", "ab")  # noqa: SIM115 - owned by the process
    server = subprocess.Popen(
        [sys.executable, "-m", "avatars.cli", "serve", "--port", str(port)],
        env={
            **os.environ,
            "AVATAR_DATA_DIR": str(work / "api"),
            "AVATAR_ADMIN_EMAIL": EMAIL,
            "AVATAR_ADMIN_PASSWORD": PASSWORD,
            **env,
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    watch.watch("api server (+ its job workers)", server.pid)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/api/health", timeout=2).status_code == 200:
                return server, base_url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the server did not start: see {work / 'api' / 'server.log'}")


def one_method(
    base_url: str, method: str, files: dict[str, Path], originals: dict, report: bool
) -> dict[str, Any]:
    from scipy.stats import ks_2samp

    from avatars.manager import Manager
    from avatars.models import JobKind
    from avatars.runner import LinkMethod

    manager = Manager(base_url)
    manager.authenticate(EMAIL, PASSWORD)
    runner = manager.create_runner(f"bench_{method}", seed=0, timeout=3600)
    steps: dict[str, float] = {}
    started = t = time.perf_counter()
    runner.add_table(
        "patient", str(files["patient"]), primary_key="patient_id", individual_level=True
    )
    runner.add_table(
        "visit",
        str(files["visit"]),
        primary_key="visit_id",
        foreign_keys=["patient_id"],
        individual_level=False,
        types={"department": "category", "emergency": "bool"},
    )
    runner.add_link("patient", "patient_id", "visit", "patient_id", method=LinkMethod(method))
    runner.set_parameters("patient", k=20)
    runner.set_parameters("visit", k=20)
    steps["upload"] = time.perf_counter() - t
    jobs = [JobKind.standard, JobKind.signal_metrics, JobKind.privacy_metrics]
    if report:
        jobs.append(JobKind.report)
    runner.run(jobs_to_run=jobs)
    waits: list[tuple[Any, str]] = [
        (JobKind.standard, "standard (avatarize, link, write)"),
        ("signal_metrics", "signal metrics"),
        ("privacy_metrics", "privacy metrics (every type)"),
    ]
    if report:
        waits += [(JobKind.report, "report"), ("report_pia", "PIA report")]
    for kind, label in waits:
        t = time.perf_counter()
        job = runner.wait(kind)
        assert job.status.value == "finished", (kind, job.status, job.exception)
        steps[f"wait: {label}"] = time.perf_counter() - t
    t = time.perf_counter()
    avatars = {name: runner.shuffled(name) for name in ("patient", "visit")}
    steps["download both avatar tables"] = time.perf_counter() - t
    total = time.perf_counter() - started

    def fanout(parent: pd.DataFrame, child: pd.DataFrame) -> np.ndarray:
        rows = pd.Index(parent["patient_id"]).get_indexer(child["patient_id"])
        assert (rows >= 0).all()
        return np.bincount(rows, minlength=len(parent))

    ks = float(
        ks_2samp(
            fanout(originals["patient"], originals["visit"]),
            fanout(avatars["patient"], avatars["visit"]),
        ).statistic
    )
    hidden = {
        f"{d['metadata']['table_name']}/{d['metadata']['computation_type']}"
        + (f"/{d['metadata']['reference']}" if d["metadata"].get("reference") else ""): d[
            "hidden_rate"
        ]
        for name in ("patient", "visit")
        for d in runner.privacy_metrics(name)
    }
    return {"steps": steps, "total": total, "ks": ks, "hidden": hidden}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--parents", type=int, default=10_000)
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--scaleout", action="store_true")
    parser.add_argument("--report", action="store_true", help="run the reports too")
    args = parser.parse_args()

    from avatars.engine.multitable import synthetic_hospital_tables

    work = Path(tempfile.mkdtemp(prefix="avatars-multitable-"))
    data = synthetic_hospital_tables(args.parents, args.children, seed=0)
    originals = {"patient": data["patient"].drop(columns="hospital_id"), "visit": data["visit"]}
    files = {}
    for name, frame in originals.items():
        files[name] = work / f"{name}.csv"
        frame.to_csv(files[name], index=False)
    where = "scale-out stack" if args.scaleout else "embedded platform"
    print(f"{args.parents:,} parents, {args.children:,} children through the {where}")

    watch = MemoryWatch()
    postgres = LocalPostgres() if args.scaleout else None
    s3 = SeaweedS3(work / "seaweedfs") if args.scaleout else None
    dask = DaskCluster(work / "dask") if args.scaleout else None
    server = None
    results: dict[str, dict[str, Any]] = {}
    try:
        env = {"AVATAR_WORKERS": "2"}
        if args.scaleout:
            assert postgres is not None and s3 is not None and dask is not None
            env["AVATAR_DATABASE_URL"] = postgres.start()
            s3.start()
            dask.start(workers=2)
            for name, process in dask.workers.items():
                watch.watch(f"dask {name}", process.pid)
            env.update(
                {
                    "AVATAR_STORAGE_URL": f"s3://{s3.bucket}/bench",
                    "AVATAR_STORAGE_ENDPOINT_URL": s3.endpoint_url,
                    "AVATAR_STORAGE_ACCESS_KEY_ID": s3.access_key,
                    "AVATAR_STORAGE_SECRET_ACCESS_KEY": s3.secret_key,
                    "AVATAR_DASK_SCHEDULER": dask.address,
                }
            )
        server, base_url = start_server(work, env, watch)
        watch.start()
        for method in args.methods.split(","):
            watch.peaks.clear()
            results[method] = one_method(base_url, method, files, originals, args.report)
            results[method]["peaks"] = dict(watch.peaks)
            _print(method, results[method])
    finally:
        watch.stop()
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        if dask is not None:
            dask.stop()
        if s3 is not None:
            s3.stop()
        if postgres is not None:
            postgres.stop()


def _print(method: str, result: dict[str, Any]) -> None:
    print(f"\n{method}")
    for label, seconds in result["steps"].items():
        print(f"  {label:<40} {seconds:8.1f} s")
    lsa = method == "linear_sum_assignment"
    verdict = "" if not lsa else ("  ok" if result["total"] <= TARGET_SECONDS else "  MISSED")
    target = f"   (target ≤ {TARGET_SECONDS:g} s)" if lsa else ""
    label = "total, upload to avatars downloaded"
    print(f"  {label:<40} {result['total']:8.1f} s{target}{verdict}")
    for label, peak in sorted(result["peaks"].items(), key=lambda kv: -kv[1]):
        print(f"  peak RSS {label:<31} {peak:8.2f} GB")
    worst = max(result["peaks"].values()) if result["peaks"] else float("nan")
    verdict = "" if not lsa else ("  ok" if worst <= TARGET_GB else "  MISSED")
    print(f"  {'largest process':<40} {worst:8.2f} GB   (target ≤ {TARGET_GB:g} GB){verdict}")
    print(f"  children-per-parent KS {result['ks']:.4f}")
    for label, rate in result["hidden"].items():
        print(f"  hidden rate {label:<36} {rate:6.2f} %")


if __name__ == "__main__":
    main()
