"""Report speed and memory: the report job's own work on a 50,000-row table (target ≤ 10 s).

    python benchmarks/report_speed.py                 # 50,000 × 16
    python benchmarks/report_speed.py --rows 1000000  # no target; shows how it scales

The table is ``avatars.data.synthetic.synthetic_patients`` (10 numeric, 6 categorical columns,
a few % missing). The avatarization and both metrics run first, in their own process, and are
not timed: their results are handed over as the report job reads them from storage (the
metrics as JSON dicts). A fresh process then times what a report job adds:

- ``prepare``: the figures' data (subsamples, histograms, association matrices), once;
- ``figure_files``: the standard job's ``<table>.<kind>.html`` documents (plotly.js inlined);
- ``pdf``, ``html``, ``pia``: ``report.pdf``, the HTML report, ``<table>.report.pia.docx``.

``imports`` (matplotlib, plotly, reportlab, python-docx) is shown apart: a worker pays it once.
Peak memory is the report process's peak resident set; ``inputs`` is its size once the inputs
are loaded, so the difference is the report's own.
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = {50_000: 10.0}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def setup(rows: int, path: Path) -> None:
    """Avatarize and measure (not timed), then store what a report job would read."""
    from avatars.data.synthetic import synthetic_patients
    from avatars.engine import avatarize
    from avatars.engine.privacy import privacy_metrics
    from avatars.engine.signal import signal_metrics

    table = synthetic_patients(rows, seed=0)
    result = avatarize(table, k=20, ncp=5, seed=0)
    privacy = privacy_metrics(table, result.unshuffled, ncp=5).to_dict()
    signal = signal_metrics(table, result.shuffled).to_dict()
    inputs = {
        "original": table,
        "avatars": result.shuffled,
        "privacy": json.loads(json.dumps(privacy)),
        "signal": json.loads(json.dumps(signal)),
        "avatarization": json.loads(json.dumps(result.metadata)),
        "original_coordinates": result.original_coordinates,
        "avatar_coordinates": result.avatar_coordinates,
        "contributions": result.contributions,
    }
    path.write_bytes(pickle.dumps(inputs))


def report(path: Path) -> None:
    """Time the report job's work on the stored inputs; print the figures as JSON."""
    from datetime import UTC, datetime

    inputs = pickle.loads(path.read_bytes())
    inputs_mb = _rss_mb()
    seconds: dict[str, float] = {}

    started = time.perf_counter()
    import docx  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import plotly.graph_objects  # noqa: F401
    import reportlab.platypus  # noqa: F401

    from avatars.engine.figures import figure_documents, plotly_figures
    from avatars.engine.reports import (
        TableReportInput,
        build_html_report,
        build_pdf_report,
        build_pia_docx,
        prepare_table,
    )

    seconds["imports"] = time.perf_counter() - started
    created = datetime(2026, 1, 1, tzinfo=UTC)
    table = TableReportInput(name="patients", **inputs)

    def timed(name: str, function, *args, **kwargs):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        out = function(*args, **kwargs)
        seconds[name] = time.perf_counter() - t
        return out

    cpu_started = time.process_time()
    prepared = timed("prepare", prepare_table, table)
    assert prepared.figures is not None
    figures = timed("plotly_figures", plotly_figures, prepared.figures)
    files = timed("figure_files", figure_documents, "patients", figures)
    pdf = timed("pdf", build_pdf_report, prepared, created=created)
    html = timed("html", build_html_report, prepared, created=created)
    pia = timed("pia", build_pia_docx, prepared, created=created)
    cpu = time.process_time() - cpu_started
    work = [k for k in seconds if k != "imports"]
    seconds["total"] = sum(seconds[k] for k in work)
    sizes = {
        "pdf_kb": len(pdf) / 1024,
        "html_mb": len(html) / 2**20,
        "pia_kb": len(pia) / 1024,
        "figure_files": len(files),
        "figure_files_mb": sum(len(text) for text in files.values()) / 2**20,
    }
    summary = {"seconds": seconds, "cpu_seconds": cpu, "sizes": sizes}
    print(json.dumps({**summary, "inputs_mb": inputs_mb, "peak_mb": _rss_mb()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--child", choices=["setup", "report"], help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "setup":
        setup(args.rows, args.path)
        return
    if args.child == "report":
        report(args.path)
        return

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inputs.pickle"
        t = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                "setup",
                "--rows",
                str(args.rows),
                "--path",
                str(path),
            ],
            check=True,
        )
        print(f"setup (avatarization + metrics, not timed): {time.perf_counter() - t:.1f} s")
        out = subprocess.run(
            [sys.executable, __file__, "--child", "report", "--path", str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    seconds, sizes = result["seconds"], result["sizes"]
    print(f"report work on {args.rows:,} rows × 16 columns")
    for name, value in seconds.items():
        print(f"  {name:<15} {value:7.2f} s")
    target = TARGET_SECONDS.get(args.rows)
    if target is not None:
        verdict = "OK" if seconds["total"] <= target else "OVER TARGET"
        print(f"  total {seconds['total']:.2f} s vs target {target:.0f} s: {verdict}")
    # CPU time is what the report costs on an idle machine; wall time includes other load
    print(f"  CPU time of the report work {result['cpu_seconds']:.2f} s")
    print(
        f"  peak memory {result['peak_mb']:.0f} MB (inputs loaded: {result['inputs_mb']:.0f} MB, "
        f"report: +{result['peak_mb'] - result['inputs_mb']:.0f} MB)"
    )
    print(
        f"  sizes: report.pdf {sizes['pdf_kb']:.0f} KB, report.html {sizes['html_mb']:.1f} MB, "
        f"PIA {sizes['pia_kb']:.0f} KB, {sizes['figure_files']} figure files "
        f"{sizes['figure_files_mb']:.1f} MB"
    )


if __name__ == "__main__":
    main()
