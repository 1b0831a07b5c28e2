"""Tutorial 1 (iris) and the WBCD flow through Manager and Runner, for either SDK.

The same file runs with this project's SDK (Python 3.11, the project's venv) and with
Octopize's official client (its own Python 3.12 venv): it imports only names both SDKs
share. It prints one JSON summary of the results' *shapes* (columns, row counts, metric keys,
statuses) on its last stdout line, which the test compares across SDKs.

Settings come from the environment:

- ``AVATAR_BASE_URL``: the server (``http://127.0.0.1:<port>``)
- ``AVATAR_API_KEY``, or ``FLOW_USERNAME`` and ``FLOW_PASSWORD`` (password login, 1.19)
- ``FLOW_IRIS``, ``FLOW_WBCD``: CSV paths
- ``FLOW_OUT``: a folder for the report
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings

import pandas as pd

from avatars.constants import PlotKind
from avatars.manager import Manager
from avatars.models import JobKind

warnings.simplefilter("ignore")


def shape(df: pd.DataFrame) -> dict:
    return {"columns": [str(c) for c in df.columns], "rows": len(df)}


def metric_keys(metrics: list) -> list:
    first = metrics[0]
    return sorted(k for k in first if k != "metadata")


def main() -> None:
    started = time.monotonic()
    base_url = os.environ["AVATAR_BASE_URL"]
    api_key = os.environ.get("AVATAR_API_KEY")
    out = os.environ.get("FLOW_OUT", ".")
    if api_key:
        manager = Manager(base_url=base_url, api_key=api_key)
    else:
        manager = Manager(base_url=base_url)
        manager.authenticate(os.environ["FLOW_USERNAME"], os.environ["FLOW_PASSWORD"])
    summary: dict = {"health": sorted(manager.get_health())}

    jobs = [JobKind.standard, JobKind.signal_metrics, JobKind.privacy_metrics, JobKind.report]

    iris = pd.read_csv(os.environ["FLOW_IRIS"])
    # The safe path for an identifier column: drop it (the paper avatarized WBCD without its
    # sample number; the platform refuses a table that still has it).
    wbcd = pd.read_csv(os.environ["FLOW_WBCD"]).drop(columns=["Sample_code_number"])

    # Start everything first: the official client polls every 5 s or more, so the jobs
    # should be done by the time results are asked for.
    runners = {}
    for name, df, k in (("iris", iris, 5), ("wbcd", wbcd, 20)):
        runner = manager.create_runner(f"interop_{name}_k{k}")
        runner.add_table(name, df)
        runner.set_parameters(name, k=k)
        runner.run(jobs_to_run=jobs)
        runners[name] = runner
    failing = manager.create_runner("interop_iris_k500")
    failing.add_table("iris", iris)
    failing.set_parameters("iris", k=500)
    failing.run(jobs_to_run=[JobKind.standard])

    for name, runner in runners.items():
        entry: dict = {}
        entry["shuffled"] = shape(runner.shuffled(name))
        entry["unshuffled"] = shape(runner.sensitive_unshuffled(name))
        privacy = runner.privacy_metrics(name)
        signal = runner.signal_metrics(name)
        entry["privacy_count"] = len(privacy)
        entry["privacy_keys"] = metric_keys(privacy)
        entry["privacy_table"] = privacy[0]["metadata"].get("table_name")
        entry["signal_count"] = len(signal)
        entry["signal_keys"] = metric_keys(signal)
        entry["signal_table"] = signal[0]["metadata"].get("table_name")
        entry["hidden_rate_is_number"] = isinstance(privacy[0].get("hidden_rate"), (int, float))
        results = runner.get_all_results()
        entry["all_results"] = {
            "shuffled": {t: shape(df) for t, df in results.shuffled.items()},
            "sensitive_unshuffled": {
                t: shape(df) for t, df in results.sensitive_unshuffled.items()
            },
            "privacy_metrics": {t: len(v) for t, v in results.privacy_metrics.items()},
            "signal_metrics": {t: len(v) for t, v in results.signal_metrics.items()},
            "original_projections": {t: len(df) for t, df in results.original_projections.items()},
            "avatars_projections": {t: len(df) for t, df in results.avatars_projections.items()},
        }
        entry["job_status"] = str(
            getattr(
                runner.get_job(JobKind.standard).status,
                "value",
                runner.get_job(JobKind.standard).status,
            )
        )
        path = os.path.join(out, f"{name}_report.pdf")
        runner.download_report(path)
        with open(path, "rb") as handle:
            entry["report_magic"] = handle.read(5).decode("latin-1")
        # render_plot fetches the figure through figures_metadata (protocol.md §5.5)
        runner.render_plot(name, PlotKind.PROJECTION_2D)
        entry["figures"] = sorted(str(k) for k in results.figures.get(name, {}))
        summary[name] = entry

    try:
        failing.shuffled("iris")
        summary["k500"] = {"raised": False}
    except Exception as exc:  # both SDKs raise a ValueError subclass
        job = failing.get_job(JobKind.standard)
        status = getattr(job.status, "value", job.status)
        summary["k500"] = {
            "raised": isinstance(exc, ValueError),
            "status": str(status),
            "exception": job.exception,
            "message_in_error": job.exception in str(exc),
        }
    summary["seconds"] = round(time.monotonic() - started, 1)
    sys.stdout.write(json.dumps(summary, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
