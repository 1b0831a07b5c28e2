"""Differentially private avatarization through Manager and Runner, for either SDK (issue 20).

The paper's WBCD (without its sample number, an identifier the platform refuses) and AIDS
(without its patient number) with ``set_parameters(table, open_dp_epsilon=ε)`` and
``fast_dp_epsilon=ε`` at ε = 1 and 100: eight runs started together, then their avatars,
signal and privacy metrics read back. Prints one JSON summary on its last stdout line.

Settings from the environment: ``AVATAR_BASE_URL``, ``AVATAR_API_KEY``, ``FLOW_WBCD``,
``FLOW_AIDS`` (the paper's CSV files), ``FLOW_OUT`` (a folder for one report).
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings

import pandas as pd

from avatars.manager import Manager
from avatars.models import JobKind

warnings.simplefilter("ignore")

VARIANTS = ("open_dp_epsilon", "fast_dp_epsilon")
EPSILONS = (1.0, 100.0)


def main() -> None:
    started = time.monotonic()
    manager = Manager(base_url=os.environ["AVATAR_BASE_URL"], api_key=os.environ["AVATAR_API_KEY"])
    tables = {
        "wbcd": pd.read_csv(os.environ["FLOW_WBCD"]).drop(columns=["Sample_code_number"]),
        "aids": pd.read_csv(os.environ["FLOW_AIDS"], sep=";").drop(columns=["pidnum"]),
    }
    jobs = [JobKind.standard, JobKind.signal_metrics, JobKind.privacy_metrics]
    runners = {}
    for name, df in tables.items():
        for variant in VARIANTS:
            for epsilon in EPSILONS:
                runner = manager.create_runner(f"dp_{name}_{variant}_{epsilon:g}", seed=0)
                runner.add_table(name, df)
                runner.set_parameters(name, **{variant: epsilon})
                # the report of one FastDP run (it must say the run is not end-to-end DP)
                report = name == "wbcd" and variant == "fast_dp_epsilon" and epsilon == 1.0
                runner.run(jobs_to_run=[*jobs, JobKind.report] if report else jobs)
                runners[name, variant, epsilon] = runner
    summary: dict = {"runs": {}}
    for (name, variant, epsilon), runner in runners.items():
        shuffled = runner.shuffled(name)
        signal = runner.signal_metrics(name)[0]
        privacy = runner.privacy_metrics(name)[0]
        job = runner.get_job(JobKind.standard)
        note = privacy["metadata"].get("differential_privacy") or {}
        summary["runs"][f"{name} {variant} {epsilon:g}"] = {
            "rows": len(shuffled),
            "columns": [str(c) for c in shuffled.columns],
            "status": str(getattr(job.status, "value", job.status)),
            "warning": job.exception or "",
            "hellinger_mean": signal["hellinger_mean"],
            "hidden_rate_is_number": isinstance(privacy.get("hidden_rate"), (int, float)),
            "variant": note.get("variant"),
            "epsilon": note.get("epsilon"),
            "end_to_end": note.get("end_to_end"),
            "signal_note": (signal["metadata"].get("differential_privacy") or {}).get("variant"),
        }
        if (name, variant, epsilon) == ("wbcd", "fast_dp_epsilon", 1.0):
            path = os.path.join(os.environ.get("FLOW_OUT", "."), "dp_report.pdf")
            runner.download_report(path)
            summary["report"] = path
    summary["rows"] = {name: len(df) for name, df in tables.items()}
    summary["seconds"] = round(time.monotonic() - started, 1)
    sys.stdout.write(json.dumps(summary, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
