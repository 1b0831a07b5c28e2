"""Signal metrics (method.md §3): Hellinger distances, correlation differences, scores."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from avatars.engine import (
    InvalidDataError,
    InvalidParameterError,
    SignalMetricsResult,
    UnknownColumnError,
    signal_metrics,
)
from avatars.engine.signal import (
    LEGACY_SIGNAL_FIELDS,
    MAX_CORRELATION_MODALITIES,
    hellinger_categorical,
    hellinger_continuous,
    hellinger_distance,
)


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(size=n)
    return pd.DataFrame(
        {
            "x": x.round(3),
            "y": (2 * x + rng.normal(scale=0.5, size=n)).round(3),
            "count": rng.integers(0, 20, n),
            "group": np.where(x > 0, "high", "low"),
            "colour": rng.choice(["red", "green", "blue"], n),
        }
    )


def test_hellinger_distance_by_hand():
    assert hellinger_distance([1, 0], [0, 1]) == pytest.approx(1.0)
    assert hellinger_distance([3, 1], [6, 2]) == pytest.approx(0.0)  # shares, not counts
    assert hellinger_distance([0.5, 0.5], [1, 0]) == pytest.approx(np.sqrt(1 - np.sqrt(0.5)))
    assert np.isnan(hellinger_distance([0, 0], [1, 0]))


def test_hellinger_categorical_ignores_missing_and_pools_unseen():
    original = np.array([0, 0, 1, 1, -1])
    avatars = np.array([0, 1, 2, 2, -1])  # code 2 = modality unseen in the original
    # p = (.5, .5, 0), q = (.25, .25, .5): sqrt(1 - 2·sqrt(.125))
    assert hellinger_categorical(original, avatars, 2) == pytest.approx(
        np.sqrt(1 - 2 * np.sqrt(0.125))
    )


def test_hellinger_continuous_clips_avatars_to_the_original_range():
    original = np.linspace(0.0, 1.0, 101)
    h, bins = hellinger_continuous(original, original + 10.0)
    # every avatar is clipped into the last bin: H = sqrt(1 − sqrt(share of originals there))
    edges = np.histogram_bin_edges(original, bins="auto")
    last = np.histogram(original, bins=edges)[0][-1] / original.size
    assert bins == len(edges) - 1 and h == pytest.approx(np.sqrt(1 - np.sqrt(last)))
    h_same, _ = hellinger_continuous(original, original.copy())
    assert h_same == pytest.approx(0.0, abs=1e-12)
    h_nan, _ = hellinger_continuous(np.r_[original, np.nan], np.r_[original, np.nan, np.nan])
    assert h_nan == pytest.approx(0.0, abs=1e-12)


def test_identical_tables_are_perfect(table):
    result = signal_metrics(table, table.sample(frac=1.0, random_state=1))  # shuffled copy
    assert isinstance(result, SignalMetricsResult)
    assert result.value("hellinger_mean") == pytest.approx(0.0, abs=1e-12)
    assert result.value("correlation_difference_mean") == pytest.approx(0.0, abs=1e-12)
    assert result.value("hellinger_score") == pytest.approx(100.0)
    assert result.value("correlation_score") == pytest.approx(100.0)
    assert result.metric("hellinger_score").passed is True


def test_disjoint_categories_are_maximally_distant():
    original = pd.DataFrame({"c": ["a", "b"] * 10, "x": np.arange(20.0)})
    avatars = pd.DataFrame({"c": ["z", "y"] * 10, "x": np.arange(20.0)})
    result = signal_metrics(original, avatars)
    row = result.variables.set_index("variable").loc["c"]
    assert row["hellinger"] == pytest.approx(1.0)


def test_result_fields_and_json(table):
    rng = np.random.default_rng(5)
    avatars = table.copy()
    avatars["x"] = (avatars["x"] * 0.8 + rng.normal(scale=0.1, size=len(table))).round(3)
    avatars.loc[::10, "count"] = np.nan
    result = signal_metrics(table, avatars.iloc[:300])  # any number of rows
    out = result.to_dict()
    json.dumps(out)
    for field in LEGACY_SIGNAL_FIELDS:
        assert out[field] is not None
    assert out["targets"]["hellinger_score"] == "> 70"
    assert out["hellinger_score"] == pytest.approx(100 * (1 - out["hellinger_mean"]))
    assert out["correlation_score"] == pytest.approx(100 * (1 - out["correlation_difference_mean"]))
    variables = {v["variable"]: v for v in out["details"]["variables"]}
    assert list(variables) == list(table.columns)
    assert variables["count"]["missing_avatars"] == pytest.approx(100 * 30 / 300)
    assert variables["count"]["missing_original"] == 0.0
    pairs = out["details"]["correlations"]
    assert len(pairs) == out["details"]["n_variable_pairs"] == 10  # 5 variables
    xy = next(p for p in pairs if {p["variable_1"], p["variable_2"]} == {"x", "y"})
    assert xy["original"] == pytest.approx(table["x"].corr(table["y"]), abs=1e-9)
    for metric in result.metrics:
        assert metric.criterion == "utility" and metric.provisional


def test_correlation_difference_by_hand():
    # two numeric columns: the metric is |ρ_orig − ρ_avatar| of the single pair
    rng = np.random.default_rng(2)
    x = rng.normal(size=500)
    original = pd.DataFrame({"a": x, "b": x + rng.normal(scale=0.3, size=500)})
    avatars = pd.DataFrame({"a": x, "b": rng.normal(size=500)})
    result = signal_metrics(original, avatars)
    expected = abs(original["a"].corr(original["b"]) - avatars["a"].corr(avatars["b"]))
    assert result.value("correlation_difference_mean") == pytest.approx(expected, abs=1e-9)


def test_high_cardinality_categoricals_are_capped_in_the_correlation_design():
    rng = np.random.default_rng(3)
    original = pd.DataFrame(
        {"code": rng.integers(0, 200, 2000).astype(str), "x": rng.normal(size=2000)}
    )
    result = signal_metrics(original, original.copy())
    assert result.details["correlation"]["n_design_columns"] == MAX_CORRELATION_MODALITIES + 1


def test_constant_and_identifier_columns_are_compared_on_values():
    original = pd.DataFrame(
        {"k": [1] * 20, "id": [f"r{i}" for i in range(20)], "x": np.arange(20.0)}
    )
    avatars = original.copy()
    avatars["k"] = [1] * 10 + [2] * 10
    result = signal_metrics(original, avatars)
    by_name = result.variables.set_index("variable")
    assert by_name.loc["k", "kind"] == "values"
    assert by_name.loc["k", "hellinger"] == pytest.approx(np.sqrt(1 - np.sqrt(0.5)))
    assert by_name.loc["id", "hellinger"] == pytest.approx(0.0)
    assert result.details["compared_on_raw_values"] == ["k", "id"]


def test_excluded_variables_are_left_out(table):
    result = signal_metrics(table, table, exclude_variables=["colour"])
    assert "colour" not in set(result.variables["variable"])


def test_column_types_override(table):
    result = signal_metrics(table, table, column_types={"count": "category"})
    assert result.variables.set_index("variable").loc["count", "kind"] == "categorical"


def test_progress_is_reported(table):
    calls = []
    signal_metrics(table, table, progress=lambda f, phase: calls.append(f))
    assert calls == sorted(calls) and calls[-1] == 1.0


# -- reference values on the paper's data (method.md §3.1-3.2, numeric-coded columns) ------------
def test_wbcd_paper_avatars(wbcd, wbcd_paper_avatars):
    result = signal_metrics(wbcd, wbcd_paper_avatars)
    assert result.value("hellinger_mean") == pytest.approx(0.030, abs=5e-4)
    assert result.value("hellinger_std") == pytest.approx(0.013, abs=5e-4)
    assert result.value("correlation_difference_mean") == pytest.approx(0.022, abs=5e-4)


def test_aids_paper_avatars():
    from pathlib import Path

    paper = Path(__file__).resolve().parent.parent / "data" / "paper"
    original = pd.read_csv(paper / "aids.csv", sep=";").drop(columns="pidnum")
    avatars = pd.read_csv(paper / "aids_avatars_k20_ncp5_paper.csv")
    result = signal_metrics(original, avatars)
    assert result.value("hellinger_mean") == pytest.approx(0.062, abs=5e-4)
    assert result.value("hellinger_std") == pytest.approx(0.072, abs=5e-4)
    assert result.value("correlation_difference_mean") == pytest.approx(0.032, abs=2e-3)
    assert result.details["compared_on_raw_values"] == ["zprior"]  # constant column


# -- bad input ---------------------------------------------------------------------------------
def test_unknown_columns_are_named(table):
    with pytest.raises(UnknownColumnError, match=r"'exclude_variables'.*'nope'"):
        signal_metrics(table, table, exclude_variables=["nope"])
    with pytest.raises(UnknownColumnError, match=r"'column_types'.*'nope'"):
        signal_metrics(table, table, column_types={"nope": "float"})


def test_mismatched_columns(table):
    with pytest.raises(InvalidDataError, match=r"avatars lacks.*'colour'"):
        signal_metrics(table, table.drop(columns="colour"))
    with pytest.raises(InvalidDataError, match=r"avatars has.*'extra'"):
        signal_metrics(table, table.assign(extra=0))


def test_empty_tables(table):
    with pytest.raises(InvalidDataError, match="empty"):
        signal_metrics(table.iloc[:0], table)
    with pytest.raises(InvalidDataError, match=r"avatars.*empty"):
        signal_metrics(table, table.iloc[:0])


def test_bad_type_and_everything_excluded(table):
    with pytest.raises(InvalidParameterError, match=r"'column_types'.*'x'"):
        signal_metrics(table, table, column_types={"x": "colour"})
    with pytest.raises(InvalidDataError, match="no column"):
        signal_metrics(table, table, exclude_variables=list(table.columns))
