"""Every avatarization parameter and server-side processor through Manager and Runner, for
either SDK (this project's, or Octopize's client 1.30): one small run per parameter or
strategy, then a JSON summary on the last stdout line of what each run's results show (counts,
booleans, rounded metrics), which the test checks and compares across SDKs.

Settings: ``AVATAR_BASE_URL``, ``AVATAR_API_KEY``, ``FLOW_TABLES`` (the folder of the CSV
files ``tests/interop/test_parameters_official.py`` writes), ``FLOW_EPL`` (the bundled
``epl.csv``), ``FLOW_ONLY`` (comma-separated scenario names; default all).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from avatar_yaml.models.parameters import (
    AugmentationStrategy,
    InterRecordRangeDifferenceParameters,
    RelativeDifferenceParameters,
)
from avatars.manager import Manager
from avatars.models import JobKind
from avatars.runner import ExcludeVariablesMethod, ImputeMethod

warnings.simplefilter("ignore")

STANDARD = [JobKind.standard]
WITH_PRIVACY = [JobKind.standard, JobKind.privacy_metrics]
WITH_METRICS = [JobKind.standard, JobKind.privacy_metrics, JobKind.signal_metrics]
TABLES = Path(os.environ.get("FLOW_TABLES", "."))


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(TABLES / f"{name}.csv")


def run(manager: Manager, name: str, table: str, df: pd.DataFrame, jobs, types=None, **params):
    runner = manager.create_runner(f"params_{name}", seed=7)
    runner.add_table(table, df, types=types or {})
    runner.set_parameters(table, **params)
    runner.run(jobs_to_run=jobs)
    return runner


def privacy_summary(documents: list) -> dict:
    out = {}
    for document in documents:
        ctype = document["metadata"]["computation_type"]
        out[ctype] = {
            "hidden_rate": round(float(document["hidden_rate"]), 1),
            "local_cloaking": document.get("local_cloaking"),
        }
    return out


def missing_counts(df: pd.DataFrame) -> dict:
    return {str(c): int(n) for c, n in df.isna().sum().items() if n}


# -- scenarios --------------------------------------------------------------------------------


def imputation(manager: Manager) -> dict:
    df = read("missing")
    out = {"original_missing": missing_counts(df)}
    for method in ImputeMethod:
        for imputed in (False, True):
            if imputed and method != ImputeMethod.KNN:
                continue  # return_data_imputed once is enough
            runner = run(
                manager,
                f"impute_{method.value}_{int(imputed)}",
                "missing",
                df,
                STANDARD,
                types={"group": "category"},
                k=5,
                imputation_method=method,
                imputation_k=3,
                imputation_training_fraction=0.8,
                imputation_return_data_imputed=imputed or None,
            )
            out[f"{method.value}{'_imputed' if imputed else ''}"] = missing_counts(
                runner.shuffled("missing")
            )
    return out


def exclusion(manager: Manager) -> dict:
    df = read("missing").dropna()
    out = {}
    for method, in_metrics in (
        (ExcludeVariablesMethod.ROW_ORDER, True),
        (ExcludeVariablesMethod.COORDINATE_SIMILARITY, False),
    ):
        runner = run(
            manager,
            f"exclude_{method.value}",
            "excl",
            df,
            WITH_PRIVACY,
            types={"group": "category"},
            k=5,
            exclude_variable_names=["group"],
            exclude_variable_method=method,
            use_excluded_variables_in_metrics=in_metrics,
        )
        avatars = runner.sensitive_unshuffled("excl")
        privacy = runner.privacy_metrics("excl")[0]
        variables = (privacy.get("details") or {}).get("space", {}).get("variables", [])
        out[method.value] = {
            "rows": len(avatars),
            "group_equals_original_row": bool(
                (
                    avatars["group"].astype(str).to_numpy() == df["group"].astype(str).to_numpy()
                ).all()
            ),
            "group_values_are_original": bool(avatars["group"].isin(set(df["group"])).all()),
            "group_in_metrics": "group" in variables,
        }
    return out


def weights_and_metrics(manager: Manager) -> dict:
    df = read("missing").dropna()
    out = {}
    for weight in (None, 50.0):
        runner = run(
            manager,
            f"weights_{weight}",
            "w",
            df,
            WITH_METRICS,
            types={"group": "category"},
            k=5,
            ncp=3,
            column_weights={"x1": weight} if weight else None,
            known_variables=["x1", "x2"],
            target="group",
            quantile_threshold=10,
        )
        avatars = runner.sensitive_unshuffled("w")
        privacy = runner.privacy_metrics("w")[0]
        out[str(weight)] = {
            "x1_mean_abs_gap": round(float((avatars["x1"] - df["x1"].to_numpy()).abs().mean()), 4),
            "ncp": (privacy.get("details") or {}).get("space", {}).get("ncp"),
            "has_inference": privacy.get("inference_continuous") is not None
            or privacy.get("inference_categorical") is not None,
            "has_correlation_protection": privacy.get("correlation_protection_rate") is not None,
            "signal_documents": len(runner.signal_metrics("w")),
        }
    return out


def categorical_reduction(manager: Manager) -> dict:
    df = read("cities")
    out = {}
    for reduced in (False, True):
        processors = (
            [RelativeDifferenceParameters(target="household_income", references=["income"])]
            if reduced
            else None
        )
        runner = run(
            manager,
            f"cities_{int(reduced)}",
            "cities",
            df,
            WITH_METRICS,
            types={"city": "category", "sex": "category", "smoker": "category"},
            k=10,
            use_categorical_reduction=reduced or None,
            processors=processors,
        )
        avatars = runner.shuffled("cities")
        privacy = runner.privacy_metrics("cities")[0]
        signal = runner.signal_metrics("cities")[0]
        out[str(reduced)] = {
            "rows": len(avatars),
            "cities_are_real": bool(avatars["city"].isin(set(df["city"])).all()),
            "hidden_rate": round(float(privacy["hidden_rate"]), 1),
            "local_cloaking": privacy["local_cloaking"],
            "hellinger_mean": round(float(signal["hellinger_mean"]), 4),
            "household_at_least_income": bool(
                (avatars["household_income"] >= avatars["income"] - 1e-9).all()
            ),
        }
    return out


def epl(manager: Manager) -> dict:
    df = pd.read_csv(os.environ["FLOW_EPL"])
    runner = run(
        manager,
        "epl",
        "epl",
        df,
        WITH_METRICS,
        k=10,
        processors=[
            RelativeDifferenceParameters(
                target="appearances", references=["appearances_home", "appearances_away"]
            )
        ],
    )
    avatars = runner.shuffled("epl")
    dates = pd.to_datetime(avatars["career_start_date"], errors="coerce")
    total = avatars["appearances_home"] + avatars["appearances_away"]
    return {
        "rows": len(avatars),
        "columns": list(map(str, avatars.columns)) == list(df.columns),
        "career_start_dates": bool(dates.notna().all()),
        "career_start_in_range": bool(
            dates.min() >= pd.to_datetime(df["career_start_date"]).min()
            and dates.max() <= pd.to_datetime(df["career_start_date"]).max()
        ),
        "appearances_is_the_sum": bool((avatars["appearances"] == total).all()),
        "privacy_documents": len(runner.privacy_metrics("epl")),
        "signal_documents": len(runner.signal_metrics("epl")),
    }


def inter_record(manager: Manager) -> dict:
    df = read("stays")
    runner = run(
        manager,
        "stays",
        "stays",
        df,
        STANDARD,
        types={"patient": "category"},
        k=5,
        processors=[
            InterRecordRangeDifferenceParameters(
                id_variable="patient",
                target_start_variable="admission",
                target_end_variable="discharge",
            )
        ],
    )
    avatars = runner.sensitive_unshuffled("stays")
    ordered_ok = True
    for _, group in avatars.groupby("patient", sort=False):
        starts, ends = group["admission"].to_numpy(), group["discharge"].to_numpy()
        ordered_ok &= bool((starts[1:] >= ends[:-1] - 1e-9).all())
    return {
        "rows": len(avatars),
        "columns": list(map(str, avatars.columns)) == list(df.columns),
        "end_after_start": bool((avatars["discharge"] >= avatars["admission"] - 1e-9).all()),
        "stays_do_not_overlap": ordered_ok,
    }


def augmentation(manager: Manager) -> dict:
    df = read("classes")
    counts = df["label"].value_counts().to_dict()
    out: dict = {"original": {str(k): int(v) for k, v in counts.items()}, "rows": len(df)}
    cases = {
        "multiplier": ({"data_augmentation_strategy": 2.0}, WITH_PRIVACY),
        "minority": (
            {
                "data_augmentation_strategy": AugmentationStrategy.minority,
                "data_augmentation_target_column": "label",
            },
            WITH_METRICS,
        ),
        "not_majority_originals_kept": (
            {
                "data_augmentation_strategy": AugmentationStrategy.not_majority,
                "data_augmentation_target_column": "label",
                "data_augmentation_should_anonymize_original_table": False,
            },
            STANDARD,
        ),
        "ratios": (
            {
                "data_augmentation_strategy": {"b": 2.0, "c": 1.5},
                "data_augmentation_target_column": "label",
            },
            STANDARD,
        ),
    }
    for name, (params, jobs) in cases.items():
        runner = run(
            manager, f"aug_{name}", "classes", df, jobs, types={"label": "category"}, k=5, **params
        )
        avatars = runner.shuffled("classes")
        entry = {
            "rows": len(avatars),
            "counts": {str(k): int(v) for k, v in avatars["label"].value_counts().items()},
            "original_rows_kept": int(avatars.merge(df.drop_duplicates(), how="inner").shape[0]),
        }
        if JobKind.privacy_metrics in jobs:
            entry["privacy"] = privacy_summary(runner.privacy_metrics("classes"))
        out[name] = entry
    return out


SCENARIOS: dict[str, Callable[[Manager], dict]] = {
    "imputation": imputation,
    "exclusion": exclusion,
    "weights_and_metrics": weights_and_metrics,
    "categorical_reduction": categorical_reduction,
    "epl": epl,
    "inter_record": inter_record,
    "augmentation": augmentation,
}


def main() -> None:
    manager = Manager(base_url=os.environ["AVATAR_BASE_URL"], api_key=os.environ["AVATAR_API_KEY"])
    only = [s for s in os.environ.get("FLOW_ONLY", "").split(",") if s]
    summary = {
        name: scenario(manager) for name, scenario in SCENARIOS.items() if not only or name in only
    }
    print(json.dumps(summary, sort_keys=True, default=str))


if __name__ == "__main__":
    main()
