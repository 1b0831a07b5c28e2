"""The resource-set YAML: protocol.md §4.2's captured example, and round trips."""

from __future__ import annotations

import pandas as pd
import pytest

from avatars.constants import ColumnType, ReportType
from avatars.resource_set import parse_resource_set
from avatars.runner import Runner
from avatars.runner_config import RunnerConfig

# protocol.md §4.2: the body of PUT /api/resources/iris_k20 captured from client 1.20.0.
CAPTURED_1_20 = """kind: AvatarMetadata
metadata:
  name: avatar-metadata-iris_k20
spec:
  display_name: iris_k20
  pia_metadata:
    datarecipient: unknown
    data_type: unknown
    datasubject: unknown
    sensitivity_level: Undefined
annotations:
  client_type: python
  client_version: 1.20.0

---
kind: AvatarSchema
metadata:
  name: schema
spec:
  tables:
  - name: iris
    data:
      volume: input
      file: iris.csv
    columns:
    - field: sepal.length
      type: float
    - field: sepal.width
      type: float
    - field: petal.length
      type: float
    - field: petal.width
      type: float
    - field: variety
      type: category

---
kind: AvatarSchema
metadata:
  name: schema_avatarized
spec:
  tables:
  - name: iris
    avatars_data:
      auto: true
  schema_ref: schema

---
kind: AvatarParameters
metadata:
  name: standard
spec:
  schema: schema
  avatarization:
    iris:
      k: 20
  results:
    volume: results
    path: standard

---
kind: AvatarPrivacyMetricsParameters
metadata:
  name: privacy_metrics
spec:
  schema: schema_avatarized
  avatarization_ref: standard
  results:
    volume: results
    path: privacy_metrics

---
kind: AvatarSignalMetricsParameters
metadata:
  name: signal_metrics
spec:
  schema: schema_avatarized
  avatarization_ref: standard
  results:
    volume: results
    path: signal_metrics

---
kind: AvatarReportParameters
metadata:
  name: report
spec:
  report_type: basic
  output_format: pdf
  language: en
  results:
    volume: results
    path: report

---
kind: AvatarReportParameters
metadata:
  name: report_pia
spec:
  report_type: pia
  output_format: docx
  language: en
  results:
    volume: results
    path: report_pia
"""


def _iris_config() -> RunnerConfig:
    frame = pd.DataFrame(
        {
            "sepal.length": [5.1],
            "sepal.width": [3.5],
            "petal.length": [1.4],
            "petal.width": [0.2],
            "variety": ["Setosa"],
        }
    )
    config = RunnerConfig(
        "iris_k20", annotations={"client_type": "python", "client_version": "1.20.0"}
    )
    config.add_table("iris", "iris.csv", types=Runner._get_types(frame, {}))
    config.avatarization["iris"] = {"k": 20}
    config.privacy_metrics_created = config.signal_metrics_created = True
    config.create_report(ReportType.BASIC)
    config.create_report(ReportType.PIA)
    return config


def test_yaml_matches_the_captured_official_body() -> None:
    assert _iris_config().get_yaml() == CAPTURED_1_20


def test_yaml_is_a_valid_resource_set() -> None:
    resources = parse_resource_set(_iris_config().get_yaml())
    assert resources.display_name == "iris_k20"
    assert [d.name for d in resources] == [
        "avatar-metadata-iris_k20",
        "schema",
        "schema_avatarized",
        "standard",
        "privacy_metrics",
        "signal_metrics",
        "report",
        "report_pia",
    ]


def test_round_trip_through_from_yaml() -> None:
    text = CAPTURED_1_20
    assert RunnerConfig.from_yaml(text).get_yaml() == text


def test_column_types_from_dtypes() -> None:
    frame = pd.DataFrame(
        {
            "f": [1.5],
            "i": [1],
            "b": [True],
            "d": pd.to_datetime(["2020-01-01"]),
            "tz": pd.to_datetime(["2020-01-01"], utc=True),
            "s": ["x"],
            "n": pd.array([1], dtype="Int64"),
        }
    )
    types = Runner._get_types(frame, {"i": ColumnType.CATEGORY})
    assert {k: v.value for k, v in types.items()} == {
        "f": "float",
        "i": "category",
        "b": "bool",
        "d": "datetime",
        "tz": "datetime_tz",
        "s": "category",
        "n": "int",
    }


def test_differential_privacy_yaml_round_trips() -> None:
    text = CAPTURED_1_20.replace(
        "  avatarization:\n    iris:\n      k: 20\n",
        "  avatarization_open_dp:\n    iris:\n      epsilon: 1.0\n",
    )
    assert text != CAPTURED_1_20
    config = RunnerConfig.from_yaml(text)
    assert config.avatarization_open_dp == {"iris": {"epsilon": 1.0}}
    assert "avatarization_open_dp:\n    iris:\n      epsilon: 1.0\n" in config.get_yaml()


def test_a_zero_seed_is_written_so_the_run_replays() -> None:
    config = RunnerConfig("demo", seed=0)
    config.add_table("iris", "iris.csv", types={"a": "float"})
    config.avatarization["iris"] = {"k": 5}
    standard = next(d for d in config.documents() if d["metadata"]["name"] == "standard")
    assert standard["spec"]["seed"] == 0


def test_privacy_choices_in_the_yaml_and_back() -> None:
    """Pseudonymized columns as the official client 1.30 writes them, a holdout table, advice
    targets, and the marker of an explicit row_order: written, valid, and read back."""
    from avatars import FakeDataStrategy, HashSha256Strategy, PiiType
    from avatars.runner_config import exclude_block, pseudonymization_parameters

    config = _iris_config()
    config.tables["iris"].holdout_file = "iris_holdout.csv"
    strategies = pseudonymization_parameters(
        {
            "variety": FakeDataStrategy(pii_type=PiiType.FULL_NAME),
            "sepal.width": HashSha256Strategy(),
            "petal.width": "UUID4",
            "new": "CONSTANT:REDACTED",
        }
    )
    assert strategies is not None
    assert strategies["variety"] == {
        "kind": "FAKER",
        "pii_type": "FULL_NAME",
        "consistent": True,
        "high_variability": False,
    }
    config.tables["iris"].set_pseudonymization(strategies)
    config.create_advice(targets={"hidden_rate": 90, "dcr_share": "< 55"})
    config.avatarization["iris"]["exclude_variables"] = exclude_block(["petal.length"], "row_order")
    text = config.get_yaml()
    resources = parse_resource_set(text)
    table = resources.schema("schema").spec.tables[0]  # type: ignore[union-attr]
    assert table.holdout_data is not None and table.holdout_data.file == "iris_holdout.csv"
    assert table.column("sepal.width").strategy().kind == "HASH_SHA256"  # type: ignore[union-attr]
    assert table.column("new").strategy().value == "REDACTED"  # type: ignore[union-attr]
    advice = resources.get("advice_parameters", ["AvatarAdviceParameters"])
    assert advice.spec.advice.targets == {"hidden_rate": 90, "dcr_share": "< 55"}  # type: ignore[union-attr]
    exclude = resources.parameters("standard").spec.avatarization["iris"].exclude_variables  # type: ignore[union-attr]
    assert exclude.explicit_replacement_strategy is True
    assert RunnerConfig.from_yaml(text).get_yaml() == text


def test_only_a_named_row_order_is_marked_explicit() -> None:
    from avatars.runner_config import exclude_block

    assert exclude_block(["a"], None) == {
        "variable_names": ["a"],
        "replacement_strategy": "row_order",
    }
    assert exclude_block(["a"], "coordinate_similarity") == {
        "variable_names": ["a"],
        "replacement_strategy": "coordinate_similarity",
    }  # a choice by itself: the official client's YAML, unchanged
    assert exclude_block(["a"], "row_order")["explicit_replacement_strategy"] is True  # type: ignore[index]


def test_bad_pseudonymization_strategies_are_named() -> None:
    from avatars.runner_config import pseudonymization_parameters

    with pytest.raises(ValueError, match=r"pseudonymized_columns\['email'\]: .*pii_type"):
        pseudonymization_parameters({"email": {"kind": "FAKER", "pii_type": "SHOE_SIZE"}})
    with pytest.raises(ValueError, match=r"pseudonymized_columns\['id'\]"):
        pseudonymization_parameters({"id": "MD5"})
    with pytest.raises(ValueError, match="UUID4 takes no argument"):
        pseudonymization_parameters({"id": "UUID4:x"})
    with pytest.raises(ValueError, match=r"expected \{column: strategy\}"):
        pseudonymization_parameters(["email"])
