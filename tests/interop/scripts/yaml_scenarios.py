"""Runner.get_yaml() for a list of scenarios, with either SDK (no server needed).

Both SDKs have ``Runner.upload_file(table_name, data, avatar_data)`` returning the file
names; it is replaced by one that uploads nothing, so the YAML is built from the very same
calls offline. Prints ``{scenario: yaml}`` as JSON, with the ``client_version`` annotation
blanked (the only expected difference).
"""

from __future__ import annotations

import json
import re
import sys
import warnings
from pathlib import Path

import pandas as pd

from avatars.client import ApiClient
from avatars.runner import (
    AdviceType,
    DataRecipient,
    DataSubject,
    ExcludeVariablesMethod,
    ImputeMethod,
    ReportLanguage,
    ReportType,
    Runner,
    SensitivityLevel,
)

warnings.simplefilter("ignore")


def _no_upload(self, table_name, data, avatar_data=None):
    ext = ".csv" if isinstance(data, pd.DataFrame) else Path(data).suffix
    avatar = None if avatar_data is None else f"{table_name}_avatars{ext}"
    return table_name + ext, avatar


Runner.upload_file = _no_upload

IRIS = pd.DataFrame(
    {
        "sepal.length": [5.1, 4.9, 4.7],
        "sepal.width": [3.5, 3.0, 3.2],
        "petal.length": [1.4, 1.4, 1.3],
        "petal.width": [0.2, 0.2, 0.2],
        "variety": ["Setosa", "Setosa", "Virginica"],
    }
)
MIXED = pd.DataFrame(
    {
        "a": [1.0, 2.0],
        "b": [1, 2],
        "c": ["x", "y"],
        "d": [True, False],
        "e": pd.to_datetime(["2020-01-01", "2020-01-02"]),
    }
)


def client() -> ApiClient:
    return ApiClient(base_url="http://127.0.0.1:9/api", api_key="offline")


def scenario_plain() -> Runner:
    runner = Runner(client(), "iris_plain")
    runner.add_table("iris", IRIS)
    return runner


def scenario_k20() -> Runner:
    runner = Runner(client(), "iris_k20")
    runner.add_table("iris", IRIS)
    runner.set_parameters("iris", k=20)
    return runner


def scenario_rich() -> Runner:
    runner = Runner(client(), "rich", seed=42, max_distribution_plots=5)
    runner.add_table("t", MIXED, types={"b": "category"})
    runner.set_parameters(
        "t",
        k=5,
        ncp=3,
        column_weights={"a": 2.0},
        exclude_variable_names=["c"],
        exclude_variable_method=ExcludeVariablesMethod.COORDINATE_SIMILARITY,
        imputation_method=ImputeMethod.KNN,
        imputation_k=3,
        known_variables=["a"],
        target="c",
        quantile_threshold=50,
    )
    return runner


def scenario_excluded_in_metrics() -> Runner:
    runner = Runner(client(), "excl")
    runner.add_table("t", MIXED)
    runner.set_parameters(
        "t",
        k=3,
        exclude_variable_names=["c", "d"],
        imputation_method=ImputeMethod.MEAN,
        imputation_training_fraction=0.5,
        imputation_return_data_imputed=True,
        use_excluded_variables_in_metrics=True,
    )
    return runner


def scenario_update() -> Runner:
    runner = Runner(client(), "upd")
    runner.add_table("iris", IRIS)
    runner.set_parameters("iris", k=10, ncp=2, known_variables=["variety"])
    runner.update_parameters("iris", k=7)
    return runner


def scenario_reports() -> Runner:
    runner = Runner(
        client(),
        "reports",
        pia_data_recipient=DataRecipient.INTERNAL,
        pia_data_subject=DataSubject.PATIENTS,
        pia_sensitivity_level=SensitivityLevel.HIGH,
        report_language=ReportLanguage.FR,
    )
    runner.add_table("iris", IRIS)
    runner.set_parameters("iris", k=20)
    runner.config.create_report(language=ReportLanguage.FR)
    runner.config.create_report(ReportType.PIA, language=ReportLanguage.FR)
    return runner


def scenario_advice() -> Runner:
    runner = Runner(client(), "advice")
    runner.add_table("iris", IRIS)
    runner.config.create_advice(advisor_type=[AdviceType.PARAMETERS])
    return runner


def scenario_two_tables() -> Runner:
    runner = Runner(client(), "two")
    runner.add_table("first", IRIS)
    runner.add_table("second", MIXED, avatar_data=MIXED, individual_level=True)
    runner.set_parameters("first", k=4)
    return runner


def scenario_open_dp() -> Runner:
    runner = Runner(client(), "open_dp")
    runner.add_table("iris", IRIS)
    runner.set_parameters("iris", open_dp_epsilon=1.0, ncp=3)
    return runner


def scenario_fast_dp() -> Runner:
    runner = Runner(client(), "fast_dp")
    runner.add_table("iris", IRIS)
    runner.set_parameters(
        "iris",
        fast_dp_epsilon=2,
        column_weights={"sepal.length": 2.0},
        exclude_variable_names=["variety"],
        exclude_variable_method=ExcludeVariablesMethod.ROW_ORDER,
        imputation_method=ImputeMethod.MEAN,
    )
    return runner


SCENARIOS = {
    name[len("scenario_") :]: fn for name, fn in globals().items() if name.startswith("scenario_")
}


def main() -> None:
    wanted = sys.argv[1:] or list(SCENARIOS)
    out = {}
    for name in wanted:
        text = SCENARIOS[name]().get_yaml()
        out[name] = re.sub(r"client_version: .*", "client_version: X", text)
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
