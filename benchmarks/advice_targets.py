"""Advice with targets on 50,000 rows, and what the membership metrics cost.

    python benchmarks/advice_targets.py               # 50,000 × 16 (target: advice ≤ 60 s)
    python benchmarks/advice_targets.py --rows 200000
    python benchmarks/advice_targets.py --platform    # also through the embedded platform

The table is ``avatars.data.synthetic.synthetic_patients`` (10 numeric, 6 categorical columns,
a few % missing). Scenarios, each in a fresh process:

- ``advise``: ``advise_parameters(table, targets={"hidden_rate": 90})`` — the search on its
  sample (``SEARCH_MAX_ROWS``), every trial an avatarization plus the privacy and signal
  metrics; then with ``dcr_share < 60`` too (a part of the sample held out);
- ``membership``: the privacy metrics of a 50,000-row avatarization (k = 20) without a holdout,
  then with a 10,000-row and a 50,000-row holdout: the DCR share and the membership-inference
  AUC add a projection of the holdout and four nearest-neighbour queries;
- ``platform`` (with ``--platform``): the same through ``avatars serve`` and our SDK, as a
  user does it — upload the table with a 10,000-row ``holdout_data``, the advice job with
  targets ``hidden_rate > 90`` and ``dcr_share < 60`` (``Runner.advise_parameters(table,
  targets=...)``), then the standard and privacy metrics jobs with the advised parameters; the
  time of each wait, from the job's creation to its result.

Through the platform (``--platform``, load average ~20 on 2 cores): the advice job with both
targets 60.5 s from the request to the advice read back (k = 60, ncp = 2, met; a given holdout
makes the search avatarize 6,000 sampled rows per trial where a split leaves 4,200, and the job
reads the 50,000 rows and the holdout first; the engine call alone with that holdout: 41 s,
16 trials) — at the 60 s target on a loaded machine; the
standard and privacy metrics jobs 16 s together (hidden rate 99.1 %, DCR share 50.3 %, AUC
0.497; verdict fail on other targets).

Measured in the engine (2 cores shared with other runs, load average ~17): advice with a
hidden-rate target 36 s (12 trials on 6,000 sampled rows), with a DCR share target too 42 s (15
trials on 4,200 rows, 1,800 held out); on a quieter machine 26 s and 28 s (23 s and 28 s again
at load ~20 on 2026-12-07). Privacy metrics of 50,000 rows 8.7 s
without a holdout; the membership step adds 2.3 s with a 10,000-row holdout, 3.9 s with a
50,000-row one (DCR share 59.4 % and 62.3 %, AUC 0.580 and 0.582, k = 20).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_ADVICE_SECONDS = 60.0


def child(scenario: str, rows: int) -> None:
    from avatars.data.synthetic import synthetic_patients
    from avatars.engine import advise_parameters, avatarize, privacy_metrics

    table = synthetic_patients(rows, seed=0)
    out: dict[str, object] = {}
    if scenario == "advise":
        for label, targets in (
            ("hidden_rate", {"hidden_rate": 90}),
            ("hidden_rate+dcr_share", {"hidden_rate": 90, "dcr_share": 60}),
        ):
            started = time.perf_counter()
            advice = advise_parameters(table, targets=targets, seed=0)
            search = advice["search"]
            out[label] = {
                "seconds": time.perf_counter() - started,
                "k": advice["k"],
                "ncp": advice["ncp"],
                "met": search["met"],
                "trials": len(search["trials"]),
                "rows_searched": search["rows_searched"],
                "measured": {n: search["measured"].get(n) for n in targets},
            }
    else:
        result = avatarize(table, k=20, seed=0)
        started = time.perf_counter()
        base = privacy_metrics(table, result.unshuffled, seed=0)
        out["without_holdout"] = time.perf_counter() - started
        for size in (10_000, rows):
            holdout = synthetic_patients(size, seed=1)
            started = time.perf_counter()
            measured = privacy_metrics(table, result.unshuffled, seed=0, holdout=holdout)
            out[f"holdout_{size}"] = {
                "seconds": time.perf_counter() - started,
                "membership_step": measured.details["timings_seconds"]["membership"],
                "dcr_share": measured.value("dcr_share"),
                "membership_inference_auc": measured.value("membership_inference_auc"),
            }
        out["hidden_rate"] = base.value("hidden_rate")
    print(json.dumps(out))


def platform(rows: int) -> dict:
    """The advice job with targets and the membership metrics through the embedded platform."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from multitable_platform import EMAIL, PASSWORD, start_server
    from scaleout_million import MemoryWatch

    from avatars.data.synthetic import synthetic_patients
    from avatars.manager import Manager
    from avatars.models import JobKind

    work = Path(tempfile.mkdtemp(prefix="avatars-advice-"))
    server, base_url = start_server(work, {"AVATAR_WORKERS": "2"}, MemoryWatch())
    out: dict[str, object] = {}
    try:
        manager = Manager(base_url)
        manager.authenticate(EMAIL, PASSWORD)
        runner = manager.create_runner("bench_advice", seed=0, timeout=3600)
        runner.add_table(
            "patients",
            synthetic_patients(rows, seed=0),
            holdout_data=synthetic_patients(10_000, seed=1),
        )
        started = time.perf_counter()
        runner.advise_parameters("patients", targets={"hidden_rate": 90, "dcr_share": 60})
        out["advice_seconds"] = time.perf_counter() - started
        search = runner.advice("patients")["search"]
        out["advice"] = {key: search[key] for key in ("k", "ncp", "met", "rows_searched")}
        started = time.perf_counter()
        runner.run(jobs_to_run=[JobKind.standard, JobKind.privacy_metrics])
        runner.wait(JobKind.standard)
        out["standard_seconds"] = time.perf_counter() - started
        privacy = runner.privacy_metrics("patients")[0]
        out["jobs_seconds"] = time.perf_counter() - started
        out["measured"] = {
            m["name"]: m["value"]
            for m in privacy["metrics"]
            if m["name"] in ("hidden_rate", "dcr_share", "membership_inference_auc")
        }
        out["verdict"] = privacy["verdict"]["status"]
    finally:
        server.terminate()
        server.wait(timeout=60)
    return out


def run(scenario: str, rows: int) -> dict:
    command = [sys.executable, __file__, "--child", scenario, "--rows", str(rows)]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--child", choices=["advise", "membership"])
    parser.add_argument("--platform", action="store_true", help="also through avatars serve")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows)
        return
    print(f"advice and membership benchmark: {args.rows:,} rows × 16 columns")
    advice = run("advise", args.rows)
    for label, figures in advice.items():
        verdict = "ok" if figures["seconds"] <= TARGET_ADVICE_SECONDS else "MISSED"
        print(
            f"  advice, targets {label:<22} {figures['seconds']:6.1f} s "
            f"(target ≤ {TARGET_ADVICE_SECONDS:g} s) {verdict}: k={figures['k']}, "
            f"ncp={figures['ncp']}, met={figures['met']}, {figures['trials']} trials on "
            f"{figures['rows_searched']:,} rows, measured {figures['measured']}"
        )
    membership = run("membership", args.rows)
    print(f"  privacy metrics without a holdout       {membership['without_holdout']:6.2f} s")
    for key, figures in membership.items():
        if key.startswith("holdout_"):
            size = int(key.split("_")[1])
            print(
                f"  with a {size:,}-row holdout{'':<{14 - len(f'{size:,}')}}"
                f"{figures['seconds']:6.2f} s (membership step {figures['membership_step']:.2f} "
                f"s): DCR share {figures['dcr_share']:.1f} %, "
                f"AUC {figures['membership_inference_auc']:.3f}"
            )
    if args.platform:
        figures = platform(args.rows)
        verdict = "ok" if figures["advice_seconds"] <= TARGET_ADVICE_SECONDS else "MISSED"
        print(
            f"  platform: advice job with targets       {figures['advice_seconds']:6.1f} s "
            f"(target ≤ {TARGET_ADVICE_SECONDS:g} s) {verdict}: {figures['advice']}"
        )
        print(
            f"  platform: standard job {figures['standard_seconds']:.1f} s, with the privacy "
            f"metrics job (10,000-row holdout) {figures['jobs_seconds']:.1f} s: "
            f"{figures['measured']}, verdict {figures['verdict']}"
        )


if __name__ == "__main__":
    main()
