"""Multi-table avatarization speed and memory: parents and children, every link method.

    python benchmarks/multitable.py                           # 10,000 parents, 100,000 children
    python benchmarks/multitable.py --parents 1000 --children 10000

Tables: ``patient`` (parents: age, sex, bmi, chronic condition, income) and ``visit``
(children: cost, duration, department, emergency; 0 to 100 per patient, skewed), from
``avatars.engine.multitable.synthetic`` without the hospital level. Each link method runs in a
fresh process (so that its peak resident memory is its own): ``avatarize_tables`` (validation,
enrichment, two avatarizations, the linking), then the multi-table privacy metrics (every
computation type) and signal metrics. Target with ``linear_sum_assignment`` at 10,000 /
100,000: end to end ≤ 5 minutes and ≤ 4 GB. Wall times depend on the machine's load; the CPU
time of the process is printed beside them.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

METHODS = (
    "linear_sum_assignment",
    "minimum_distance_assignment",
    "sensitive_original_order_assignment",
)
TARGET_SECONDS = 300.0
TARGET_GB = 4.0


def child(method: str, parents: int, children: int) -> None:
    """Run one method in this process and print its figures as JSON."""
    from avatars.engine.multitable import (
        Link,
        Table,
        avatarize_tables,
        privacy_metrics_tables,
        signal_metrics_tables,
        synthetic_hospital_tables,
    )
    from avatars.protocol.enums import LinkMethod

    data = synthetic_hospital_tables(parents, children, seed=0)
    patient = data["patient"].drop(columns="hospital_id")
    tables = [Table("patient", patient, "patient_id"), Table("visit", data["visit"], "visit_id")]
    links = [Link("patient", "patient_id", "visit", "patient_id", LinkMethod(method))]
    figures: dict[str, Any] = {}
    cpu_started = time.process_time()
    started = time.perf_counter()
    result = avatarize_tables(tables, links, seed=0)
    figures["avatarize_tables"] = time.perf_counter() - started
    timings = result.metadata["timings_seconds"]
    figures["avatarize_patient"] = timings["avatarize:patient"]
    figures["avatarize_visit"] = timings["avatarize:visit"]
    figures["linking"] = result.links[0].seconds
    figures["solver"] = result.links[0].solver
    figures["peak_rss_gb_avatarization"] = _peak_gb()
    started = time.perf_counter()
    privacy = privacy_metrics_tables(tables, links, result.unshuffled(), seed=0)
    figures["privacy_metrics"] = time.perf_counter() - started
    started = time.perf_counter()
    signal = signal_metrics_tables(tables, links, result.avatars())
    figures["signal_metrics"] = time.perf_counter() - started
    figures["end_to_end"] = (
        figures["avatarize_tables"] + figures["privacy_metrics"] + figures["signal_metrics"]
    )
    figures["peak_rss_gb"] = _peak_gb()
    figures["cpu_seconds"] = time.process_time() - cpu_started
    figures["hidden_rates"] = {
        f"{m.table}/{m.computation_type.value}": m.hidden_rate for m in privacy
    }
    figures["children_per_parent_ks"] = signal.links[0].children_per_parent_ks
    figures["relational_correlation_difference"] = signal.links[0].correlation_difference_mean
    figures["mean_link_distance"] = result.links[0].mean_distance
    print(json.dumps(figures))


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def run(method: str, parents: int, children: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", method]
    command += ["--parents", str(parents), "--children", str(children)]
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--parents", type=int, default=10_000)
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--child", choices=METHODS)
    parser.add_argument("--methods", default=",".join(METHODS))
    args = parser.parse_args()
    if args.child:
        child(args.child, args.parents, args.children)
        return
    print(f"multi-table benchmark: {args.parents:,} parents, {args.children:,} children")
    for method in args.methods.split(","):
        figures = run(method, args.parents, args.children)
        lsa = method == "linear_sum_assignment"
        print(f"\n{method} (solver: {figures['solver']})")

        def line(label: str, value: float, unit: str, target: float | None = None) -> None:
            verdict = "" if target is None else ("  ok" if value <= target else "  MISSED")
            shown = "" if target is None else f"   (target ≤ {target:g} {unit})"
            print(f"  {label:<36} {value:9.2f} {unit}{shown}{verdict}")

        line("avatarize_tables", float(figures["avatarize_tables"]), "s")
        for key in ("avatarize_patient", "avatarize_visit", "linking"):
            line(f"  of which {key}", float(figures[key]), "s")
        line("privacy metrics (all types)", float(figures["privacy_metrics"]), "s")
        line("signal metrics", float(figures["signal_metrics"]), "s")
        line(
            "end to end",
            float(figures["end_to_end"]),
            "s",
            TARGET_SECONDS if lsa else None,
        )
        line("  CPU time of this process (all threads)", figures["cpu_seconds"], "s")
        line(
            "peak memory",
            float(figures["peak_rss_gb"]),
            "GB",
            TARGET_GB if lsa else None,
        )
        print(f"  children per parent KS {figures['children_per_parent_ks']:.4f}")
        print(f"  parent-children |Δρ| mean {figures['relational_correlation_difference']:.4f}")
        print(f"  hidden rates {figures['hidden_rates']}")


if __name__ == "__main__":
    main()
