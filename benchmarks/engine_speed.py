"""Engine speed and memory: avatarization, then avatarization plus every metric.

    python benchmarks/engine_speed.py                 # 50,000 × 16 (targets: ≤ 3 s, ≤ 10 s, ≤ 1 GB)
    python benchmarks/engine_speed.py --rows 1000000  # targets: ≤ 120 s, metrics ≤ 300 s, ≤ 6 GB

The table is ``avatars.data.synthetic.synthetic_patients`` (10 numeric, 6 categorical columns,
a few % missing). Each scenario runs in a fresh process so that its peak resident memory is
its own. The floor is one plain exact k-nearest-neighbour query (scipy cKDTree, all cores) on
the same projected coordinates: the avatarization cannot be cheaper than the neighbour search
it needs, and "avatarization ÷ floor" says how much the rest of the method costs on top.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

TARGETS = {
    50_000: {"avatarize": 3.0, "full": 10.0, "memory_gb": 1.0},
    1_000_000: {"avatarize": 120.0, "metrics": 300.0, "memory_gb": 6.0},
}


def child(scenario: str, rows: int, k: int, ncp: int) -> None:
    """Run one scenario in this process and print its figures as JSON."""
    import numpy as np

    from avatars.data.synthetic import synthetic_patients

    table = synthetic_patients(rows, seed=0)
    figures: dict[str, float] = {}
    if scenario == "floor":
        from scipy.spatial import cKDTree

        from avatars.engine.imputation import ImputationParameters, impute
        from avatars.engine.preprocessing import TableEncoder
        from avatars.engine.projection import Projection

        encoder = TableEncoder.fit(table)
        encoded, _ = impute(
            encoder.encode(table),
            ImputationParameters(method="mean"),
            np.random.default_rng(0),
            encoder.n_modalities(),
        )
        coordinates = Projection.fit(encoded, encoder.n_modalities()).transform(encoded, ncp)
        started = time.perf_counter()
        tree = cKDTree(coordinates, balanced_tree=False)
        tree.query(coordinates, k=k + 1, workers=-1)
        figures["knn_query"] = time.perf_counter() - started
    else:
        from avatars.engine import avatarize

        started = time.perf_counter()
        result = avatarize(table, k=k, ncp=ncp, seed=0)
        figures["avatarize"] = time.perf_counter() - started
        figures.update({f"phase_{k_}": v for k_, v in result.metadata["timings_seconds"].items()})
        if scenario == "full":
            from avatars.engine import privacy_metrics, signal_metrics

            started = time.perf_counter()
            privacy = privacy_metrics(table, result.unshuffled, ncp=ncp, seed=0)
            figures["privacy_metrics"] = time.perf_counter() - started
            started = time.perf_counter()
            signal_metrics(table, result.shuffled)
            figures["signal_metrics"] = time.perf_counter() - started
            figures["metrics"] = figures["privacy_metrics"] + figures["signal_metrics"]
            figures["full"] = figures["avatarize"] + figures["metrics"]
            values = privacy.to_dict()
            figures["hidden_rate"] = values.get("hidden_rate")
            figures["local_cloaking"] = values.get("local_cloaking")
    figures["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(json.dumps(figures))


def run(scenario: str, rows: int, k: int, ncp: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", scenario, "--rows", str(rows), "--k", str(k)]
    command += ["--ncp", str(ncp)]
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--ncp", type=int, default=5)
    parser.add_argument("--child", choices=["floor", "avatarize", "full"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows, args.k, args.ncp)
        return

    targets = TARGETS.get(args.rows, {})
    print(f"engine benchmark: {args.rows:,} rows × 16 columns, k={args.k}, ncp={args.ncp}")
    floor = run("floor", args.rows, args.k, args.ncp)
    avatar = run("avatarize", args.rows, args.k, args.ncp)
    full = run("full", args.rows, args.k, args.ncp)

    def line(label: str, value: float, unit: str, target: float | None = None) -> None:
        verdict = "" if target is None else ("  ok" if value <= target else "  MISSED")
        shown = "" if target is None else f"   (target ≤ {target:g} {unit})"
        print(f"  {label:<38} {value:9.2f} {unit}{shown}{verdict}")

    line("floor: one exact kNN query (k+1)", floor["knn_query"], "s")
    line("avatarization", avatar["avatarize"], "s", targets.get("avatarize"))
    for phase in ("preprocessing", "projection", "neighbors", "avatars", "formatting"):
        line(f"  of which {phase}", avatar[f"phase_{phase}"], "s")
    line("avatarization ÷ floor", avatar["avatarize"] / floor["knn_query"], "×")
    line("privacy metrics", full["privacy_metrics"], "s")
    line("signal metrics", full["signal_metrics"], "s")
    line("all metrics", full["metrics"], "s", targets.get("metrics"))
    line("avatarization + all metrics", full["full"], "s", targets.get("full"))
    memory_target = targets.get("memory_gb")
    line("peak memory, avatarization", avatar["peak_rss_gb"], "GB", memory_target)
    line("peak memory, with metrics", full["peak_rss_gb"], "GB", memory_target)
    print(
        f"  hidden rate {full['hidden_rate']:.1f} %, "
        f"local cloaking median {full['local_cloaking']:g}"
    )


if __name__ == "__main__":
    main()
