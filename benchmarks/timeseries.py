"""Time-series avatarization: speed and memory on individuals with long series.

    python benchmarks/timeseries.py                      # 10,000 individuals × 200 points × 3
    python benchmarks/timeseries.py --projection flatten # the grid values instead of the FPCA
    python benchmarks/timeseries.py --individuals 1000 --points 50

Target (issue 18): the engine's run — series features, avatarization of the joined table,
series rebuilt — in ≤ 2 minutes for 10,000 individuals × 200 points × 3 variables, on this
machine (2 shared cores). The data are ``generate_seasonal_series`` (every series of exactly
``--points`` points, one series table of three variables: 2,000,000 rows at the default size).
Each scenario runs in a fresh process so that its peak resident memory is its own; "input"
is the resident memory once the tables are built, before the engine starts.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

TARGETS = {10_000: {"engine": 120.0}}


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def child(scenario: str, individuals: int, points: int, k: int, nf: int, projection: str) -> None:
    """Run one scenario in this process and print its figures as JSON."""
    from avatars.engine.timeseries import (
        SeriesTable,
        avatarize_time_series,
        generate_seasonal_series,
        series_figure_data,
        time_series_privacy_metrics,
        time_series_signal_metrics,
    )

    people, series = generate_seasonal_series(
        individuals, min_points=points, max_points=points, seed=0
    )
    table = SeriesTable("obs", series, "patient_id", "day", "obs_id")
    figures: dict[str, float] = {"rows": float(len(series)), "input_rss_gb": _rss_gb()}
    started = time.perf_counter()
    result = avatarize_time_series(
        people,
        [table],
        individual_key="patient_id",
        k=k,
        seed=0,
        series_parameters={"obs": {"nf": nf, "projection_type": projection}},
    )
    figures["engine"] = time.perf_counter() - started
    timings = result.avatarization.metadata["timings_seconds"]
    figures["avatarize"] = timings["total"]
    figures["features_and_series"] = figures["engine"] - timings["total"]
    figures["columns"] = float(result.original_joined.shape[1])
    if scenario == "full":
        started = time.perf_counter()
        privacy = time_series_privacy_metrics(result, seed=0)
        figures["privacy_metrics"] = time.perf_counter() - started
        started = time.perf_counter()
        signal = time_series_signal_metrics([table], result)["obs"]
        figures["signal_metrics"] = time.perf_counter() - started
        started = time.perf_counter()
        series_figure_data(table, result.series["obs"], signal)
        figures["figure_data"] = time.perf_counter() - started
        figures["hidden_rate"] = privacy.value("hidden_rate") or float("nan")
        figures["local_cloaking"] = privacy.value("local_cloaking") or float("nan")
        figures["mean_curve_error"] = signal.value("mean_curve_error") or float("nan")
        figures["autocorrelation_difference"] = signal.value("autocorrelation_difference") or float(
            "nan"
        )
    figures["peak_rss_gb"] = _rss_gb()
    print(json.dumps(figures))


def run(scenario: str, args: argparse.Namespace) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", scenario]
    command += ["--individuals", str(args.individuals), "--points", str(args.points)]
    command += ["--k", str(args.k), "--nf", str(args.nf), "--projection", args.projection]
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--individuals", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--nf", type=int, default=5)
    parser.add_argument("--projection", choices=["fpca", "flatten"], default="fpca")
    parser.add_argument("--child", choices=["engine", "full"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args.individuals, args.points, args.k, args.nf, args.projection)
        return

    targets = TARGETS.get(args.individuals, {}) if args.points == 200 else {}
    print(
        f"time-series benchmark: {args.individuals:,} individuals × {args.points} points × 3 "
        f"variables, {args.projection}, nf={args.nf}, k={args.k}"
    )
    engine = run("engine", args)
    full = run("full", args)

    def line(label: str, value: float, unit: str, target: float | None = None) -> None:
        verdict = "" if target is None else ("  ok" if value <= target else "  MISSED")
        shown = "" if target is None else f"   (target ≤ {target:g} {unit})"
        print(f"  {label:<44} {value:9.2f} {unit}{shown}{verdict}")

    print(
        f"  {int(engine['rows']):,} series rows; joined table of {int(engine['columns'])} columns"
    )
    line("engine: features + avatarization + series", engine["engine"], "s", targets.get("engine"))
    line("  of which avatarization of the joined table", engine["avatarize"], "s")
    line("  of which series features and rebuilding", engine["features_and_series"], "s")
    line("privacy metrics (joined table)", full["privacy_metrics"], "s")
    line("series signal metrics", full["signal_metrics"], "s")
    line("series figure data", full["figure_data"], "s")
    line("resident memory with the input tables", engine["input_rss_gb"], "GB")
    line("peak memory, engine", engine["peak_rss_gb"], "GB")
    line("peak memory, with metrics", full["peak_rss_gb"], "GB")
    print(
        f"  hidden rate {full['hidden_rate']:.1f} %, local cloaking median "
        f"{full['local_cloaking']:g}, mean curve error {full['mean_curve_error']:.3f} sd, "
        f"autocorrelation difference {full['autocorrelation_difference']:.3f}"
    )


if __name__ == "__main__":
    main()
