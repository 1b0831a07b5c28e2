"""Linked tables (patient / doctor / visit) and, with ``FLOW_SERIES=1``, series tables (the
sensors) through Manager and Runner, for either SDK.

Runs unchanged with this project's SDK and with Octopize's official client (1.20, 1.30): it
uses only names both share. Prints one JSON summary of the results' shapes on its last stdout
line (columns, row counts, key integrity, metric documents per table and computation type,
summaries, report), which the test compares across SDKs.

Settings: ``AVATAR_BASE_URL``, ``AVATAR_API_KEY``, ``FLOW_EXAMPLES`` (the folder of the bundled
CSV files), ``FLOW_OUT`` (a folder for the report), ``FLOW_SERIES`` (1: the sensors too).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pandas as pd

from avatars.manager import Manager
from avatars.models import JobKind

try:  # the official client takes these from its YAML package
    from avatar_yaml.models.parameters import AlignmentMethod, ProjectionType
    from avatar_yaml.models.schema import LinkMethod
except ImportError:  # ours exports them from the runner module
    from avatars.runner import AlignmentMethod, LinkMethod, ProjectionType  # type: ignore

warnings.simplefilter("ignore")

JOBS = [JobKind.standard, JobKind.signal_metrics, JobKind.privacy_metrics, JobKind.report]


def shape(df: pd.DataFrame) -> dict:
    return {"columns": [str(c) for c in df.columns], "rows": len(df)}


def documents(metrics: list) -> list:
    return sorted(
        [d["metadata"]["computation_type"], d["metadata"].get("reference") or ""] for d in metrics
    )


def table_summary(runner, name: str, original: pd.DataFrame, keys: dict) -> dict:
    shuffled = runner.shuffled(name)
    unshuffled = runner.sensitive_unshuffled(name)
    privacy = runner.privacy_metrics(name)
    signal = runner.signal_metrics(name)
    entry = {
        "shuffled": shape(shuffled),
        "unshuffled": shape(unshuffled),
        "same_columns_as_original": list(shuffled.columns) == list(original.columns),
        "privacy_documents": documents(privacy),
        "hidden_rate_is_number": all(isinstance(d.get("hidden_rate"), float) for d in privacy),
        "signal_documents": len(signal),
    }
    key = keys.get(name)
    if key is not None:
        entry["key_unique"] = bool(shuffled[key].is_unique)
        entry["no_original_key"] = not (
            set(shuffled[key].astype(str)) & set(original[key].astype(str))
        )
    return entry


def linked(manager: Manager, examples: Path, out: Path) -> dict:
    frames = {n: pd.read_csv(examples / f"{n}.csv") for n in ("patient", "doctor", "visit")}
    runner = manager.create_runner("interop_linked", seed=2)
    runner.add_table("patient", frames["patient"], primary_key="p_id", individual_level=True)
    runner.add_table("doctor", frames["doctor"], primary_key="d_id", individual_level=True)
    runner.add_table(
        "visit",
        frames["visit"],
        primary_key="visit_id",
        foreign_keys=["patient_id", "doctor_id"],
        individual_level=False,
    )
    runner.add_link("patient", "p_id", "visit", "patient_id")
    runner.add_link(
        "doctor", "d_id", "visit", "doctor_id", method=LinkMethod.MINIMUM_DISTANCE_ASSIGNMENT
    )
    runner.set_parameters("patient", k=10)
    runner.set_parameters("doctor", k=10)
    runner.set_parameters("visit", k=13)
    runner.run(jobs_to_run=JOBS)
    keys = {"patient": "p_id", "doctor": "d_id", "visit": "visit_id"}
    summary = {name: table_summary(runner, name, frames[name], keys) for name in frames}
    visit = runner.shuffled("visit")
    summary["integrity"] = {
        fk: bool(visit[fk].isin(runner.shuffled(parent)[key]).all())
        for fk, parent, key in (("patient_id", "patient", "p_id"), ("doctor_id", "doctor", "d_id"))
    }
    privacy_summary = runner.render_privacy_metrics_summary()
    summary["privacy_summary"] = {t: sorted(refs) for t, refs in sorted(privacy_summary.items())}
    signal_summary = runner.render_signal_metrics_summary()
    summary["signal_summary"] = {t: sorted(refs) for t, refs in sorted(signal_summary.items())}
    results = runner.get_all_results()
    summary["all_results"] = {
        "shuffled": sorted(results.shuffled),
        "privacy_metrics": {t: len(d) for t, d in sorted(results.privacy_metrics.items())},
    }
    report = out / "linked_report.pdf"
    runner.download_report(str(report))
    summary["report_magic"] = report.read_bytes()[:5].decode("latin-1")
    status = runner.get_job(JobKind.standard).status
    summary["standard_status"] = str(getattr(status, "value", status))
    return summary


def series(manager: Manager, examples: Path) -> dict:
    names = ("sensors_vanilla", "sensors_timeseries1", "sensors_timeseries2")
    frames = {n: pd.read_csv(examples / f"{n}.csv") for n in names}
    runner = manager.create_runner("interop_series", seed=2)
    runner.add_table("sensors_vanilla", frames["sensors_vanilla"], primary_key="id")
    for name in names[1:]:
        runner.add_table(
            name, frames[name], primary_key="primary_key", foreign_keys=["id"], time_series_time="t"
        )
        runner.add_link("sensors_vanilla", "id", name, "id", method=LinkMethod.TIME_SERIES)
    runner.set_parameters("sensors_vanilla", k=30)
    runner.set_parameters(
        "sensors_timeseries1",
        time_series_nf=3,
        time_series_projection_type=ProjectionType.FPCA,
        time_series_nb_points=30,
        time_series_method=AlignmentMethod.SPECIFIED,
    )
    runner.set_parameters("sensors_timeseries2", time_series_nf=3)
    runner.run(jobs_to_run=JOBS[:3])
    keys = {"sensors_vanilla": "id", "sensors_timeseries1": "primary_key"}
    summary = {name: table_summary(runner, name, frames[name], keys) for name in names}
    vanilla = runner.shuffled("sensors_vanilla")
    summary["integrity"] = {
        name: bool(runner.shuffled(name)["id"].isin(vanilla["id"]).all()) for name in names[1:]
    }
    summary["times_increase"] = {
        name: bool(
            runner.shuffled(name)
            .groupby("id", sort=False)["t"]
            .apply(lambda t: t.is_monotonic_increasing)
            .all()
        )
        for name in names[1:]
    }
    return summary


def links_advice(manager: Manager, examples: Path) -> list:
    """``advise_links()`` (clients that have it): the tables declared with their keys and no
    link; the advised links, applied."""
    frames = {n: pd.read_csv(examples / f"{n}.csv") for n in ("patient", "doctor", "visit")}
    runner = manager.create_runner("interop_links_advice")
    runner.add_table("patient", frames["patient"], primary_key="p_id")
    runner.add_table("doctor", frames["doctor"], primary_key="d_id")
    runner.add_table(
        "visit", frames["visit"], primary_key="visit_id", foreign_keys=["patient_id", "doctor_id"]
    )
    advice = runner.advise_links()
    applied = []  # the links now in the config: dicts in ours, objects in the official one
    for table in runner.config.tables.values():
        for link in table.links or []:
            to = link["to"] if isinstance(link, dict) else link.to
            applied.append(
                [to["table"], to["field"]] if isinstance(to, dict) else [to.table, to.field]
            )
    return [
        sorted(
            [
                a.parent_table,
                a.parent_field,
                a.child_table,
                a.child_field,
                str(a.method),
                a.confidence,
            ]
            for a in advice.links
        ),
        sorted(applied),
        [[k.table, k.field] for k in advice.unlinked_foreign_keys],
    ]


def main() -> None:
    manager = Manager(base_url=os.environ["AVATAR_BASE_URL"], api_key=os.environ["AVATAR_API_KEY"])
    examples = Path(os.environ["FLOW_EXAMPLES"])
    out = Path(os.environ.get("FLOW_OUT", "."))
    summary = {"linked": linked(manager, examples, out)}
    if os.environ.get("FLOW_SERIES") == "1":
        summary["series"] = series(manager, examples)
    if os.environ.get("FLOW_LINKS_ADVICE") == "1":
        summary["links_advice"] = links_advice(manager, examples)
    print(json.dumps(summary, sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
