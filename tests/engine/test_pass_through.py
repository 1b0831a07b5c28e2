"""Columns that carry no information — constant, or missing in every row — pass through an
avatarization unchanged, and the metrics leave them out (the bundled AIDS table has one:
zprior, 1 in every row)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from avatars import data
from avatars.engine import (
    InvalidParameterError,
    avatarize,
    privacy_metrics,
    signal_metrics,
)
from cli_runner import avatars as run_avatars

PASSED = [  # in table order
    {"column": "empty", "reason": "all_missing"},
    {"column": "zprior", "reason": "constant"},
]


@pytest.fixture(scope="module")
def aids_as_bundled() -> pd.DataFrame:
    """``avatars.data.load("aids")`` as a newcomer gets it, with an all-missing column added."""
    table = data.load("aids").drop(columns="pidnum")
    table.insert(3, "empty", np.nan)
    return table


@pytest.fixture(scope="module")
def result(aids_as_bundled: pd.DataFrame):
    return avatarize(aids_as_bundled, k=20, seed=0)


def test_the_bundled_aids_table_is_avatarized(aids_as_bundled, result) -> None:
    avatars = result.shuffled
    assert list(avatars.columns) == list(aids_as_bundled.columns)
    assert (avatars["zprior"] == 1).all() and avatars["zprior"].dtype == np.int64
    assert avatars["empty"].isna().all() and avatars["empty"].dtype == np.float64
    assert result.metadata["passed_through"] == PASSED
    # left out of the projection: neither a type nor a missingness indicator of their own
    assert "zprior" not in result.metadata["column_types"]
    assert "is_missing__empty" not in result.metadata["missing_indicators"]


def test_they_do_not_change_the_other_columns(aids_as_bundled, result) -> None:
    without = avatarize(aids_as_bundled.drop(columns=["zprior", "empty"]), k=20, seed=0)
    pd.testing.assert_frame_equal(
        result.unshuffled.drop(columns=["zprior", "empty"]), without.unshuffled
    )


def test_the_metrics_leave_them_out_and_say_so(aids_as_bundled, result) -> None:
    privacy = privacy_metrics(aids_as_bundled, result.unshuffled, seed=0)
    assert privacy.to_dict()["metadata"]["passed_through"] == PASSED
    variables = privacy.details["space"]["variables"]
    assert "zprior" not in variables and "empty" not in variables
    assert "zprior" not in privacy.details["column_direct_match_protection"]
    same = privacy_metrics(
        aids_as_bundled.drop(columns=["zprior", "empty"]),
        result.unshuffled.drop(columns=["zprior", "empty"]),
        seed=0,
    )
    assert privacy.value("hidden_rate") == same.value("hidden_rate")
    signal = signal_metrics(aids_as_bundled, result.shuffled)
    assert signal.to_dict()["metadata"]["passed_through"] == PASSED
    by_name = signal.variables.set_index("variable")
    assert by_name.loc["zprior", "hellinger"] == 0.0  # compared on its values: kept as is
    assert np.isnan(by_name.loc["empty", "hellinger"])  # nothing to compare
    assert signal.value("hellinger_mean") is not None


def test_the_attacker_gains_nothing_from_them(aids_as_bundled, result) -> None:
    privacy = privacy_metrics(
        aids_as_bundled, result.unshuffled, seed=0, known_variables=["age", "zprior"]
    )
    assert privacy.parameters["known_variables"] == ["age"]
    with pytest.raises(InvalidParameterError, match=r"'known_variables'.*'zprior' \(constant\)"):
        privacy_metrics(aids_as_bundled, result.unshuffled, known_variables=["zprior"])
    with pytest.raises(InvalidParameterError, match=r"'target'.*'empty' is missing in every row"):
        privacy_metrics(aids_as_bundled, result.unshuffled, known_variables=["age"], target="empty")


def test_avatars_avatarize_on_the_bundled_aids_csv(tmp_path: Path) -> None:
    source = Path(data.__file__).parent / "aids.csv"
    command = ["avatarize", str(source), "-k", "20",
               "--seed", "1", "-o", "avatars.csv", "--metrics-output", "metrics.json"]  # fmt: skip
    # pidnum is the patients' number: refused until the user says what it is (issue 15)
    refused = run_avatars(*command, cwd=tmp_path)
    assert refused.returncode == 2 and "'pidnum'" in refused.stderr
    out = run_avatars(*command, "--key", "pidnum", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "hidden_rate" in out.stdout
    avatars = pd.read_csv(tmp_path / "avatars.csv")
    assert len(avatars) == 2139 and (avatars["zprior"] == 1).all()
    original = pd.read_csv(source, sep=";")
    assert not set(avatars["pidnum"]) & set(original["pidnum"])  # new keys
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    note = [{"column": "zprior", "reason": "constant"}]
    assert metrics["avatarization"]["passed_through"] == note
    assert metrics["privacy"]["metadata"]["passed_through"] == note
    assert metrics["signal"]["metadata"]["passed_through"] == note
