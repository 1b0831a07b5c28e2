"""Runner.get_yaml() for multi-table and time-series scenarios, with either SDK (no server).

As ``yaml_scenarios.py``: ``upload_file`` is replaced by one that uploads nothing, so the YAML
comes from the very same calls offline; prints ``{scenario: yaml}`` as JSON with the
``client_version`` annotation blanked. Runs in the official clients' venvs (1.20, 1.30) and in
ours: the outputs must be identical.
"""

from __future__ import annotations

import json
import re
import sys
import warnings
from pathlib import Path

import pandas as pd

from avatars.client import ApiClient
from avatars.runner import Runner

try:  # the official client takes these from its YAML package
    from avatar_yaml.models.parameters import AlignmentMethod, ProjectionType
    from avatar_yaml.models.schema import LinkMethod
except ImportError:  # ours exports them from the runner module
    from avatars.runner import AlignmentMethod, LinkMethod, ProjectionType  # type: ignore

warnings.simplefilter("ignore")


def _no_upload(self, table_name, data, avatar_data=None):
    ext = ".csv" if isinstance(data, pd.DataFrame) else Path(data).suffix
    avatar = None if avatar_data is None else f"{table_name}_avatars{ext}"
    return table_name + ext, avatar


Runner.upload_file = _no_upload

PATIENT = pd.DataFrame({"p_id": [0, 1, 2], "gender": ["F", "M", "F"], "age": [1.0, 2.0, 3.0]})
DOCTOR = pd.DataFrame({"d_id": [0, 1], "job": ["a", "b"], "age": [40.5, 50.5]})
VISIT = pd.DataFrame(
    {
        "visit_id": [0, 1, 2],
        "patient_id": [0, 1, 2],
        "doctor_id": [0, 1, 0],
        "exam": ["x", "y", "z"],
    }
)
VANILLA = pd.DataFrame({"id": [0, 1], "age": [30, 40], "income": ["<=50K", ">50K"]})
SERIES1 = pd.DataFrame(
    {"primary_key": [1, 2, 3], "id": [0, 0, 1], "t": [0, 1, 0], "sensor1": [0.1, 0.2, 0.3]}
)
SERIES2 = pd.DataFrame({"id": [0, 1], "t": [0.5, 1.5], "sensor3": [1, 2]})


def client() -> ApiClient:
    try:
        return ApiClient(base_url="http://127.0.0.1:9/api", api_key="offline")
    except TypeError:  # the official client takes no key here
        return ApiClient(base_url="http://127.0.0.1:9/api")


def hospital(runner: Runner) -> Runner:
    runner.add_table("patient", PATIENT, primary_key="p_id", individual_level=True)
    runner.add_table("doctor", DOCTOR, primary_key="d_id")
    runner.add_table(
        "visit",
        VISIT,
        primary_key="visit_id",
        foreign_keys=["patient_id", "doctor_id"],
        individual_level=False,
    )
    return runner


def scenario_patient_doctor_visit() -> Runner:
    runner = hospital(Runner(client(), "pdv", seed=3))
    runner.add_link("patient", "p_id", "visit", "patient_id")
    runner.add_link(
        "doctor", "d_id", "visit", "doctor_id", method=LinkMethod.MINIMUM_DISTANCE_ASSIGNMENT
    )
    runner.set_parameters("patient", k=5, ncp=2)
    runner.set_parameters("doctor", k=3, known_variables=["job"])
    runner.set_parameters("visit", k=4, exclude_variable_names=["exam"])
    return runner


def scenario_independent_tables() -> Runner:
    """Two tables linked to nothing, without keys: each avatarized on its own."""
    runner = Runner(client(), "independent", seed=2)
    runner.add_table("survey", DOCTOR.drop(columns=["d_id"]))
    runner.add_table("patient", PATIENT.drop(columns=["p_id"]))
    runner.set_parameters("survey", k=2)
    runner.set_parameters("patient", k=2, known_variables=["gender"], target="age")
    return runner


def scenario_sensitive_link_deleted_and_added() -> Runner:
    runner = hospital(Runner(client(), "sens"))
    runner.add_link("patient", "p_id", "visit", "patient_id")
    runner.add_link("doctor", "d_id", "visit", "doctor_id")
    runner.delete_link("doctor", "visit")
    runner.add_link(
        "doctor",
        "d_id",
        "visit",
        "doctor_id",
        method=LinkMethod.SENSITIVE_ORIGINAL_ORDER_ASSIGNMENT,
    )
    for name in ("patient", "doctor", "visit"):
        runner.set_parameters(name, k=2 if name == "doctor" else 3)
    return runner


def scenario_sensors() -> Runner:
    runner = Runner(client(), "sensors", seed=7)
    runner.add_table("vanilla", VANILLA, primary_key="id")
    runner.add_table(
        "series1", SERIES1, primary_key="primary_key", foreign_keys=["id"], time_series_time="t"
    )
    runner.add_table("series2", SERIES2, foreign_keys=["id"], time_series_time="t")
    runner.add_link("vanilla", "id", "series1", "id", method=LinkMethod.TIME_SERIES)
    runner.add_link("vanilla", "id", "series2", "id", method=LinkMethod.TIME_SERIES)
    runner.set_parameters("vanilla", k=5)
    runner.set_parameters(
        "series1",
        time_series_nf=3,
        time_series_projection_type=ProjectionType.FPCA,
        time_series_nb_points=10,
        time_series_method=AlignmentMethod.SPECIFIED,
    )
    runner.set_parameters("series2", time_series_nf=2)
    return runner


def scenario_series_variants() -> Runner:
    runner = Runner(client(), "variants")
    runner.add_table("vanilla", VANILLA, primary_key="id")
    runner.add_table("series2", SERIES2, foreign_keys=["id"], time_series_time="t")
    runner.add_link("vanilla", "id", "series2", "id", method=LinkMethod.TIME_SERIES)
    runner.set_parameters("series2", time_series_nb_points=10, exclude_variable_names=["sensor3"])
    return runner


def scenario_series_method_only() -> Runner:
    runner = Runner(client(), "method_only")
    runner.add_table("vanilla", VANILLA, primary_key="id")
    runner.add_table("series2", SERIES2, foreign_keys=["id"], time_series_time="t")
    runner.add_link("vanilla", "id", "series2", "id", method=LinkMethod.TIME_SERIES)
    runner.set_parameters(
        "series2",
        time_series_method=AlignmentMethod.MAX,
        time_series_projection_type=ProjectionType.FLATTEN,
    )
    runner.set_parameters("vanilla", k=3)
    runner.update_parameters("vanilla", k=4)
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
