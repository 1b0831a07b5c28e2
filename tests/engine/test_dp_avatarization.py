"""AvatarOpenDP and AvatarFastDP on the paper's tables: they complete, their signal improves
as ε grows, the metrics of every run apply, and the accounting says what is covered."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from avatars.engine import privacy_metrics, read_table, signal_metrics
from avatars.engine.dp import (
    DPAvatarizationResult,
    avatarize_fast_dp,
    avatarize_open_dp,
    check_privacy_model,
)
from avatars.engine.errors import InvalidDataError, InvalidParameterError

opendp = pytest.importorskip("opendp")

PAPER = Path(__file__).resolve().parent.parent / "data" / "paper"


def hellinger_mean(original: pd.DataFrame, result: DPAvatarizationResult, types) -> float:
    return signal_metrics(original, result.shuffled, column_types=types).details["hellinger"][
        "mean"
    ]


@pytest.fixture(scope="module")
def aids_na() -> pd.DataFrame:
    """AIDS as users read it: ';'-separated, NA for missing (cd496), the id dropped."""
    return read_table(PAPER / "aids.csv").drop(columns=["pidnum"])


# -- acceptance: both variants complete, signal improves with ε ---------------------------------
@pytest.mark.parametrize("dataset", ["wbcd", "aids"])
def test_open_dp_completes_and_signal_improves_with_epsilon(request, dataset):
    if dataset == "wbcd":
        table = request.getfixturevalue("wbcd")
        types = {c: "category" for c in table.columns}
    else:
        table = request.getfixturevalue("aids_na")
        types = {c: "category" for c in request.getfixturevalue("aids_types") if c in table}
    low = avatarize_open_dp(table, epsilon=1.0, seed=0, column_types=types)
    high = avatarize_open_dp(table, epsilon=100.0, seed=0, column_types=types)
    for result in (low, high):
        assert list(result.shuffled.columns) == list(table.columns)
        assert len(result.shuffled) == len(result.unshuffled) == len(table)
        assert result.accounting is not None and result.accounting.end_to_end
        assert result.accounting.epsilon_spent <= result.accounting.epsilon
    assert hellinger_mean(table, high, types) < hellinger_mean(table, low, types)


@pytest.mark.parametrize("dataset", ["wbcd", "aids"])
def test_fast_dp_completes_and_signal_improves_with_epsilon(request, dataset):
    """With the ``gmm`` mechanism on categorical columns (no DP marginals: the model alone
    carries ε); ``gaussian`` and ``histogram`` on continuous columns below."""
    if dataset == "wbcd":
        table = request.getfixturevalue("wbcd")
        types = {c: "category" for c in table.columns}
    else:
        table = request.getfixturevalue("aids_na")
        types = {c: "category" for c in request.getfixturevalue("aids_types") if c in table}
    hellinger = {}
    for epsilon in (1.0, 100.0):
        values = []
        for seed in range(3):
            result = avatarize_fast_dp(
                table, epsilon=epsilon, seed=seed, column_types=types, mechanism="gmm"
            )
            assert len(result.shuffled) == len(table)
            values.append(hellinger_mean(table, result, types))
        hellinger[epsilon] = np.mean(values)
    assert hellinger[100.0] < hellinger[1.0], hellinger


@pytest.mark.parametrize("mechanism", ["gaussian", "gmm", "histogram"])
def test_every_fast_dp_mechanism_completes_with_missing_values(aids_na, mechanism):
    result = avatarize_fast_dp(aids_na, epsilon=1.0, seed=1, mechanism=mechanism)
    assert result.shuffled["cd496"].isna().mean() == pytest.approx(
        aids_na["cd496"].isna().mean(), abs=0.1
    )
    assert result.metadata["parameters"]["mechanism"] == mechanism


def test_open_dp_keeps_missing_values_as_their_own_modality(aids_na):
    result = avatarize_open_dp(aids_na, epsilon=10.0, seed=0)
    share = aids_na["cd496"].isna().mean()
    assert result.shuffled["cd496"].isna().mean() == pytest.approx(share, abs=0.08)
    imputed = avatarize_open_dp(
        aids_na, epsilon=10.0, seed=0, imputation={"method": "median", "return_data_imputed": True}
    )
    assert not imputed.shuffled.isna().any().any()


# -- metrics as for every run ----------------------------------------------------------------
def test_dp_avatars_go_through_the_privacy_and_signal_metrics(wbcd):
    types = {c: "category" for c in wbcd.columns}
    for result in (
        avatarize_open_dp(wbcd, epsilon=1.0, seed=0, column_types=types),
        avatarize_fast_dp(wbcd, epsilon=1.0, seed=0, column_types=types, ncp=2),
    ):
        metrics = privacy_metrics(wbcd, result.unshuffled, column_types=types, ncp=2).to_dict()
        for name in ("hidden_rate", "local_cloaking", "distance_to_closest"):
            assert metrics[name] is not None
        assert "none" in result.metadata["metrics_pairing"]
        assert signal_metrics(wbcd, result.shuffled, column_types=types).metrics


# -- accounting ------------------------------------------------------------------------------
def test_open_dp_accounting_per_step(aids_na):
    result = avatarize_open_dp(aids_na, epsilon=2.0, preprocess_budget_ratio=0.25, seed=0)
    budget = result.metadata["differential_privacy"]
    steps = {s["step"]: s for s in budget["steps"]}
    assert budget["variant"] == "open_dp" and budget["end_to_end"] is True
    assert steps["bounds"]["epsilon"] == pytest.approx(0.5, rel=1e-6)
    synthesizer = sum(
        steps[s]["epsilon"] for s in ("one_way_marginals", "selection", "two_way_marginals")
    )
    assert synthesizer == pytest.approx(1.5, rel=1e-6)
    assert budget["epsilon_spent"] <= 2.0
    assert all(s["covered"] for s in budget["steps"])
    assert budget["unit_of_privacy"] == "one row of the table (one individual)"
    assert "the number of rows" in budget["not_covered"]
    assert "ε = 2" in budget["statement"]
    # every continuous column got DP bounds with its share of the preprocessing budget
    assert set(result.metadata["dp_bounds"]) >= {"age", "wtkg", "cd496"}


def test_open_dp_without_continuous_columns_spends_everything_on_the_synthesizer(wbcd):
    types = {c: "category" for c in wbcd.columns}
    result = avatarize_open_dp(wbcd, epsilon=1.0, seed=0, column_types=types)
    steps = {s.name: s for s in result.accounting.steps}
    assert "bounds" not in steps
    assert result.accounting.epsilon_spent == pytest.approx(1.0, rel=1e-6)


def test_fast_dp_says_plainly_that_it_is_not_end_to_end(wbcd):
    result = avatarize_fast_dp(wbcd, epsilon=3.0, seed=0)
    budget = result.metadata["differential_privacy"]
    assert budget["end_to_end"] is False
    assert "NOT differentially private end to end" in budget["statement"]
    covered = {s["step"]: s["covered"] for s in budget["steps"]}
    assert covered == {
        "projection": False,
        "latent_bounds": False,
        "latent_model": True,
        "marginals": True,
        "reconstruction": False,
    }
    spent = {s["step"]: s["epsilon"] for s in budget["steps"] if s["epsilon"]}
    assert spent == {"latent_model": 1.5, "marginals": 1.5}
    assert budget["epsilon_spent"] == 3.0


def test_fast_dp_gaussian_and_histogram_follow_epsilon(wbcd, aids_na):
    """The reconstruction error of the latent model used to hide the release's noise (the
    mean Hellinger distance of ``gaussian`` was 0.27 on WBCD at any ε); the DP marginals of
    the continuous columns now carry ε to the avatars' distributions."""
    for table in (wbcd, aids_na):
        for mechanism in ("gaussian", "histogram"):
            low, high = (
                hellinger_mean(
                    table, avatarize_fast_dp(table, epsilon=e, seed=0, mechanism=mechanism), None
                )
                for e in (1.0, 100.0)
            )
            assert high < 0.6 * low, (mechanism, low, high)


def test_excluded_variables_end_the_end_to_end_guarantee(wbcd):
    result = avatarize_open_dp(wbcd, epsilon=1.0, seed=0, exclude_variables=["Class"])
    assert result.accounting.end_to_end is False
    assert result.shuffled["Class"].isin(wbcd["Class"]).all()
    fast = avatarize_fast_dp(
        wbcd,
        epsilon=1.0,
        seed=0,
        exclude_variables=["Class"],
        exclude_method="coordinate_similarity",
    )
    assert any("'Class'" in entry for entry in fast.accounting.not_covered)


def test_multi_row_individuals_are_named_and_cost_more_noise(wbcd):
    result = avatarize_open_dp(
        wbcd, epsilon=1.0, seed=0, rows_per_individual=3, unit="one patient and their 3 visits"
    )
    assert result.accounting.unit_of_privacy == "one patient and their 3 visits"
    assert result.accounting.rows_per_individual == 3
    assert result.accounting.epsilon_spent <= 1.0


# -- determinism -----------------------------------------------------------------------------
def test_fast_dp_is_reproducible_byte_for_byte(aids_na):
    first = avatarize_fast_dp(aids_na, epsilon=1.0, seed=5, mechanism="gmm")
    second = avatarize_fast_dp(aids_na, epsilon=1.0, seed=5, mechanism="gmm")
    assert first.shuffled.to_csv().encode() == second.shuffled.to_csv().encode()
    other = avatarize_fast_dp(aids_na, epsilon=1.0, seed=6, mechanism="gmm")
    assert not first.shuffled.equals(other.shuffled)


def test_open_dp_noise_is_not_seeded(wbcd):
    """OpenDP draws its noise from a CSPRNG on purpose: the same seed gives other avatars."""
    first = avatarize_open_dp(wbcd, epsilon=100.0, seed=5)
    second = avatarize_open_dp(wbcd, epsilon=100.0, seed=5)
    assert "not seedable" in first.accounting.noise_source
    assert first.metadata["dp_bounds"] is not None
    assert not first.shuffled.equals(second.shuffled)


# -- augmentation and declared categories ------------------------------------------------------
def test_augmentation_draws_more_rows_from_the_model(wbcd):
    types = {c: "category" for c in wbcd.columns}
    doubled = avatarize_fast_dp(
        wbcd,
        epsilon=5.0,
        seed=0,
        column_types=types,
        data_augmentation={"augmentation_strategy": 2.0},
    )
    assert len(doubled.shuffled) == 2 * len(wbcd) and len(doubled.unshuffled) == len(wbcd)
    balanced = avatarize_open_dp(
        wbcd,
        epsilon=5.0,
        seed=0,
        column_types=types,
        data_augmentation={"augmentation_strategy": "minority", "target_column": "Class"},
    )
    counts = balanced.shuffled["Class"].value_counts()
    assert counts.min() >= 0.95 * counts.max()
    with pytest.raises(InvalidParameterError, match="should_anonymize_original_table"):
        avatarize_open_dp(
            wbcd,
            epsilon=1.0,
            data_augmentation={
                "augmentation_strategy": 2.0,
                "should_anonymize_original_table": False,
            },
        )


def test_declared_categories_are_the_only_labels(wbcd):
    table = wbcd.assign(Class=wbcd["Class"].map({2: "benign", 4: "malignant"}))
    result = avatarize_open_dp(
        table, epsilon=1.0, seed=0, categories={"Class": ["benign", "malignant", "unknown"]}
    )
    assert set(result.shuffled["Class"]) <= {"benign", "malignant", "unknown"}
    assert not any("'Class'" in entry for entry in result.accounting.not_covered)
    with pytest.raises(InvalidDataError, match=r"Class.*declared categories"):
        avatarize_open_dp(table, epsilon=1.0, categories={"Class": ["benign"]})


# -- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize("epsilon", [0, -1.0, 1001.0, math.inf, math.nan, "1", True, None])
def test_epsilon_out_of_range_is_refused(wbcd, epsilon):
    for avatarize in (avatarize_open_dp, avatarize_fast_dp):
        with pytest.raises(InvalidParameterError, match=r"'epsilon'.*\(0, 1000\]"):
            avatarize(wbcd, epsilon=epsilon)


def test_k_and_epsilon_are_exclusive():
    with pytest.raises(InvalidParameterError, match="k and epsilon are exclusive"):
        check_privacy_model(k=20, epsilon=1.0)
    with pytest.raises(InvalidParameterError, match="give k"):
        check_privacy_model()
    assert check_privacy_model(k=20) == "k"
    assert check_privacy_model(epsilon=1.0) == "epsilon"


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"preprocess_budget_ratio": 1.0}, "preprocess_budget_ratio"),
        ({"preprocess_budget_ratio": 0}, "preprocess_budget_ratio"),
        ({"n_bins": 1}, "n_bins"),
        ({"categories": {"nope": [1]}}, "nope"),
        ({"exclude_method": "closest"}, "exclude_method"),
    ],
)
def test_open_dp_bad_parameters_are_named(wbcd, parameters, message):
    with pytest.raises(InvalidParameterError, match=message):
        avatarize_open_dp(wbcd, epsilon=1.0, **parameters)


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"mechanism": "laplace"}, "mechanism.*gaussian, gmm, histogram"),
        ({"gmm_n_components": 0}, "gmm_n_components"),
        ({"histogram_n_bins": 1}, "histogram_n_bins"),
        ({"bounds_percentile": 50}, "bounds_percentile"),
        ({"ncp": 500}, "ncp"),
    ],
)
def test_fast_dp_bad_parameters_are_named(wbcd, parameters, message):
    with pytest.raises(InvalidParameterError, match=message):
        avatarize_fast_dp(wbcd, epsilon=1.0, **parameters)
