"""Privacy metrics on small cases whose answer is known by construction (method.md §2)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from avatars.engine import MetricValue, PrivacyMetricsResult, privacy_metrics
from avatars.engine import privacy as P
from avatars.engine.neighbors import build_tree, nearest_lowest_index, nearest_lowest_label
from avatars.engine.privacy import (
    LEGACY_PRIVACY_FIELDS,
    PrivacyStreams,
    closest_rate,
    dcr_nndr,
    hidden_flags,
    local_cloaking,
    nearest_avatar,
)
from avatars.engine.targets import PRIVACY_TARGETS


# -- brute force references ------------------------------------------------------------------
def _brute(original: np.ndarray, avatars: np.ndarray):
    """Hidden (lowest index), hidden strict and LC from the full distance matrix."""
    d = np.sqrt(((original[:, None, :] - avatars[None, :, :]) ** 2).sum(-1))
    own = np.diag(d)
    atol = P.tie_tolerance(original, avatars)
    nearest = d.min(axis=1)
    lowest = np.array([np.flatnonzero(d[i] <= nearest[i] + atol).min() for i in range(len(d))])
    hidden = lowest != np.arange(len(d))
    strict = nearest < own - atol
    lc = (d <= own[:, None] + atol).sum(axis=1) - 1
    return hidden, strict, lc


def _brute_dcr(original: np.ndarray, synthetic: np.ndarray):
    d = np.sort(np.sqrt(((synthetic[:, None, :] - original[None, :, :]) ** 2).sum(-1)), axis=1)
    nndr = np.where(d[:, 1] == 0, 1.0, d[:, 0] / np.where(d[:, 1] == 0, 1.0, d[:, 1]))
    return d[:, 0], nndr


@pytest.mark.parametrize("trial", range(12))
def test_array_metrics_match_brute_force_with_ties(trial):
    """Integer coordinates: many exact ties and duplicates, the hard case for tie rules."""
    rng = np.random.default_rng(trial)
    n, dim = int(rng.integers(5, 250)), int(rng.integers(1, 4))
    if trial % 3 == 0:
        original = rng.normal(size=(n, dim))
        avatars = original + rng.normal(scale=0.5, size=(n, dim))
    else:
        original = rng.integers(0, 4, size=(n, dim)).astype(float)
        avatars = rng.integers(0, 4, size=(n, dim)).astype(float)
    keys = P._row_keys(avatars, np.zeros((n, 0), dtype=np.int32))
    hidden_ref, strict_ref, lc_ref = _brute(original, avatars)
    for avatar_keys in (None, keys):
        hidden, strict = hidden_flags(original, avatars, avatar_keys=avatar_keys)
        np.testing.assert_array_equal(hidden, hidden_ref)
        np.testing.assert_array_equal(strict, strict_ref)
        np.testing.assert_array_equal(
            local_cloaking(original, avatars, avatar_keys=avatar_keys), lc_ref
        )
    for cap in (1, 3, 10, 50):  # capped counts are exact below the cap
        capped = local_cloaking(original, avatars, cap=cap, seed=trial, avatar_keys=keys)
        np.testing.assert_array_equal(capped, np.minimum(lc_ref, cap))
    dcr, nndr = dcr_nndr(original, avatars)
    dcr_ref, nndr_ref = _brute_dcr(original, avatars)
    np.testing.assert_allclose(dcr, dcr_ref, atol=1e-12)
    np.testing.assert_allclose(nndr, nndr_ref, atol=1e-12)


def test_lowest_index_tie_rule_by_hand():
    # two originals, two avatars both midway: every distance is 5
    original = np.array([[0.0], [10.0]])
    avatars = np.array([[5.0], [5.0]])
    best, distance = nearest_avatar(original, avatars)
    np.testing.assert_array_equal(best, [0, 0])  # ties go to the lowest index
    np.testing.assert_allclose(distance, [5.0, 5.0])
    hidden, strict = hidden_flags(original, avatars)
    np.testing.assert_array_equal(hidden, [False, True])  # record 1's avatar loses the tie
    np.testing.assert_array_equal(strict, [False, False])  # nobody is strictly closer
    np.testing.assert_array_equal(local_cloaking(original, avatars), [1, 1])  # ties count


def test_ties_wider_than_the_scan_are_resolved():
    # 100 identical avatars, the query equidistant from all: lowest label wins whatever the probe
    points = np.zeros((100, 2))
    tree = build_tree(points)
    labels = np.arange(100)[::-1].copy()
    best, _ = nearest_lowest_label(tree, np.array([[1.0, 1.0]]), labels, atol=1e-9, probe=2)
    assert best[0] == 0
    best_ref, _ = nearest_lowest_index(tree, np.array([[1.0, 1.0]]), atol=1e-9, probe=2)
    assert best_ref[0] == 0
    # an original with 300 avatars tied at distance 0, its own among them
    original = np.zeros((301, 1))
    original[300] = 50.0
    avatars = np.zeros((301, 1))
    hidden, strict = hidden_flags(original, avatars)
    assert not hidden[0] and hidden[1:].all()  # only avatar 0 wins the tie at 0
    assert not strict.any()
    np.testing.assert_array_equal(local_cloaking(original, avatars)[:300], 300)


def test_dcr_nndr_by_hand():
    original = np.array([[0.0], [1.0], [3.0]])
    synthetic = np.array([[0.5], [3.0], [10.0]])
    dcr, nndr = dcr_nndr(original, synthetic)
    np.testing.assert_allclose(dcr, [0.5, 0.0, 7.0])
    np.testing.assert_allclose(nndr, [1.0, 0.0, 7.0 / 9.0])
    # the two closest originals are identical (d2 = 0): NNDR = 1 (the paper's convention)
    dcr, nndr = dcr_nndr(np.array([[0.0], [0.0], [5.0]]), np.array([[0.0]]))
    np.testing.assert_allclose([dcr[0], nndr[0]], [0.0, 1.0])


def test_closest_rate_by_hand():
    dcr = np.array([0.0, 0.05, 0.5, 0.01])
    nndr = np.array([0.1, 0.9, 0.1, 0.2])
    reference = np.linspace(0.0, 1.0, 101)  # 10th percentile = 0.1
    rate, at_risk, tau = closest_rate(
        dcr, nndr, reference, quantile_threshold=10, ratio_threshold=0.3
    )
    assert tau == pytest.approx(0.1)
    np.testing.assert_array_equal(at_risk, [True, False, False, True])
    assert rate == pytest.approx(50.0)


# -- privacy_metrics on tables ---------------------------------------------------------------
@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 120
    return pd.DataFrame(
        {
            "age": rng.integers(20, 80, n),
            "weight": rng.normal(70, 10, n).round(2),
            "height": rng.normal(170, 8, n).round(1),
            "group": rng.choice(["a", "b", "c"], n),
        }
    )


def test_avatars_equal_to_originals_are_not_protected(table):
    result = privacy_metrics(table, table.copy(), ncp=3)
    assert result.value("hidden_rate") == 0.0
    assert result.value("local_cloaking") == 0.0
    assert result.details["hidden_rate"]["hidden_rate_strict"] == 0.0
    assert result.value("distance_to_closest") == 0.0
    assert result.value("row_direct_match_protection") == 0.0
    assert (result.local_cloaking == 0).all()
    assert (result.distance_to_closest == 0).all()
    assert result.details["local_cloaking"]["share_zero"] == 100.0
    assert result.details["row_direct_match_protection"]["n_avatars_equal_to_their_original"] == 120
    assert not result.metric("hidden_rate").passed


def _clusters(n_per: int = 30, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    centers = [0.0, 100.0, 200.0]
    frames = []
    for c in centers:
        frames.append(
            pd.DataFrame(
                {
                    "x": c + rng.normal(size=n_per),
                    "y": c + rng.normal(size=n_per),
                    "z": c + rng.normal(size=n_per),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_avatars_moved_to_another_cluster_are_all_hidden():
    original = _clusters()
    n_per = 30
    # avatar of record i (cluster c) is the record at the same position in cluster c + 1
    source = (np.arange(90) + n_per) % 90
    avatars = original.iloc[source].reset_index(drop=True)
    result = privacy_metrics(original, avatars, ncp=3)
    assert result.value("hidden_rate") == 100.0
    assert result.details["hidden_rate"]["hidden_rate_strict"] == 100.0
    # at least the 30 avatars sitting in the record's own cluster are closer than its own
    assert result.local_cloaking.min() >= n_per
    # every avatar is an exact copy of an original row (another one's)
    assert result.value("row_direct_match_protection") == 0.0
    assert result.details["row_direct_match_protection"]["n_avatars_equal_to_their_original"] == 0


def test_result_fields_targets_and_json(table):
    rng = np.random.default_rng(3)
    avatars = table.copy()
    avatars["weight"] = (avatars["weight"] + rng.normal(0, 3, len(table))).round(2)
    avatars["age"] = (avatars["age"] + rng.integers(-3, 4, len(table))).astype(int)
    result = privacy_metrics(
        table,
        avatars,
        known_variables=["age", "group"],
        target="weight",
        categorical_hidden_rate_variables=["group"],
    )
    assert isinstance(result, PrivacyMetricsResult)
    names = {m.name for m in result.metrics}
    # the legacy metrics, and ours (issue 15): copies of unique records (all columns, known
    # variables) and identifier protection (None here: the table has no identifier column)
    new = {"unique_copy_share", "unique_copy_share_known", "identifier_protection"}
    assert names == (set(LEGACY_PRIVACY_FIELDS) - {"inference_categorical"}) | new
    assert result.value("identifier_protection") is None
    assert result.metric("unique_copy_share").direction == "lower_is_better"
    for metric in result.metrics:
        assert isinstance(metric, MetricValue)
        if metric.name in new:
            continue
        spec = PRIVACY_TARGETS[metric.name]
        assert metric.target == spec.target and metric.direction == "higher_is_better"
        assert metric.criterion in ("singling_out", "linkability", "inference")
        assert metric.description and metric.passed in (True, False)
    provisional = {m.name for m in result.metrics if m.provisional}
    assert provisional == {
        "closest_rate",
        "column_direct_match_protection",
        "row_direct_match_protection",
        "categorical_hidden_rate",
        "correlation_protection_rate",
        "inference_continuous",
    }
    out = result.to_dict()
    json.dumps(out)  # serialisable
    for field in LEGACY_PRIVACY_FIELDS:
        assert field in out
    assert out["inference_categorical"] is None
    assert out["targets"]["hidden_rate"] == "> 90"
    assert "records" not in out  # per-record arrays stay out by default
    assert len(out["metrics"]) == len(result.metrics)
    lc = out["details"]["local_cloaking"]
    assert {"median", "q05", "q95", "share_zero", "histogram", "empty_rate"} <= set(lc)
    assert {"median", "q05", "q95"} <= set(out["details"]["distance_to_closest"])
    assert "hidden_rate_strict" in out["details"]["hidden_rate"]
    small = result.to_dict(records_limit=1000)
    assert len(small["records"]["local_cloaking"]) == len(table)
    json.dumps(small)


def test_only_computable_metrics_are_reported(table):
    result = privacy_metrics(table, table.sample(frac=1.0, random_state=0).reset_index(drop=True))
    out = result.to_dict()
    for field in (
        "categorical_hidden_rate",
        "correlation_protection_rate",
        "inference_continuous",
        "inference_categorical",
    ):
        assert out[field] is None and result.metric(field) is None
    assert out["hidden_rate"] is not None and out["closest_rate"] is not None


def test_categorical_hidden_rate_follows_the_lowest_index_rule(table):
    # avatars = originals: original i is hidden iff a lower-index record has its modality
    result = privacy_metrics(table, table.copy(), categorical_hidden_rate_variables=["group"])
    first = ~table["group"].duplicated().to_numpy()
    np.testing.assert_array_equal(result.categorical_hidden, ~first)
    assert result.value("categorical_hidden_rate") == pytest.approx(100.0 * (1 - first.mean()))


def test_correlation_protection_rate_by_hand():
    # known values −1900, …, 2000 (mean 50): ±5 % of the mean (2.5) never reaches a neighbour
    n = 40
    original = pd.DataFrame(
        {
            "k1": (np.arange(1, n + 1) - 20) * 100,
            "k2": np.where(np.arange(n) < 20, "u", "v"),
            "other": np.random.default_rng(0).normal(size=n),
        }
    )
    original.loc[1, "k1"] = original.loc[0, "k1"]  # rows 0 and 1 share (k1, "u"): not unique
    result = privacy_metrics(original, original.copy(), known_variables=["k1", "k2"])
    details = result.details["correlation_protection_rate"]
    assert details["n_unique_combinations"] == n - 2
    assert details["n_matched_by_one_avatar"] == n - 2
    # hidden rate 0 here, so every uniquely matched record is exposed
    assert result.value("hidden_rate") == 0.0
    assert result.value("correlation_protection_rate") == pytest.approx(100 * (1 - (n - 2) / n))
    # avatars shifted by 10 % of the mean: nobody matches any more
    shifted = original.copy()
    shifted["k1"] = shifted["k1"] + 5
    result = privacy_metrics(original, shifted, known_variables=["k1", "k2"])
    assert result.details["correlation_protection_rate"]["n_matched_by_one_avatar"] == 0
    assert result.value("correlation_protection_rate") == 100.0


def test_inference_from_a_copy_is_perfect(table):
    result = privacy_metrics(
        table, table.copy(), known_variables=["age", "weight", "height"], target="group"
    )
    assert result.value("inference_categorical") == 0.0
    assert result.details["inference"]["accuracy"] == 100.0
    confusion = np.array(
        result.details["inference"]["confusion_matrix"]["rows_true_columns_guessed"]
    )
    assert confusion.trace() == len(table)
    result = privacy_metrics(table, table.copy(), known_variables=["age", "group"], target="weight")
    # ties between records sharing (age, group) may pick another weight: only check the range
    assert 0.0 <= result.value("inference_continuous") <= 200.0
    result = privacy_metrics(
        table, table.copy(), known_variables=["age", "weight", "group"], target="height"
    )
    assert result.value("inference_continuous") == 0.0
    assert result.details["inference"]["r2"] == 1.0


def test_column_direct_match_protection_by_hand():
    original = pd.DataFrame(
        {
            "code": ["a", "b", "c", "c", "d", "d", "e", "e", "f", "f"],  # a, b unique
            "x": [1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.5],  # all unique
        }
    )
    avatars = pd.DataFrame(
        {
            "code": ["a", "a", "c", "c", "d", "d", "e", "e", "f", "f"],  # 2 copies of 'a'
            # one copy; the others differ at the original's precision (1 decimal)
            "x": [1.5, 2.7, 3.7, 4.7, 5.7, 6.7, 7.7, 8.7, 9.7, 10.7],
        }
    )
    result = privacy_metrics(original, avatars, ncp=2)
    per_column = result.details["column_direct_match_protection"]
    assert per_column == {"code": pytest.approx(80.0), "x": pytest.approx(90.0)}
    assert result.value("column_direct_match_protection") == pytest.approx(80.0)


def test_missing_values_are_imputed_in_the_metric_space(table):
    with_na = table.copy()
    with_na.loc[::7, "weight"] = np.nan
    avatars = with_na.sample(frac=1.0, random_state=2).reset_index(drop=True)
    result = privacy_metrics(with_na, avatars, seed=5)
    assert 0.0 <= result.value("hidden_rate") <= 100.0
    json.dumps(result.to_dict())


def test_each_random_step_draws_from_its_own_stream():
    """The random steps draw from independent streams of the run's seed (PrivacyStreams): the
    local cloaking subsamples once used the categorical hidden rate's seed."""
    seen = set()
    for seed in range(100):
        streams = PrivacyStreams.from_seed(seed).to_dict()
        assert len(set(streams.values())) == 5, seed  # five different streams per run
        seen.update(streams.values())
    assert len(seen) == 500  # and other ones for another seed
    # the categorical hidden rate's imputation samples (training_fraction): its result depends
    # on the stream it draws from, which must be its own and no other step's
    rng = np.random.default_rng(0)
    variables = [f"v{i}" for i in range(5)]
    original = pd.DataFrame({v: rng.choice(list("pqrstu"), 200) for v in variables})
    avatars = original.copy()
    for column in ("v0", "v1"):
        avatars.loc[rng.random(200) < 0.3, column] = None
    imputation = {"method": "fast_knn", "training_fraction": 0.2}
    result = privacy_metrics(
        original,
        avatars,
        seed=3,
        imputation=imputation,
        categorical_hidden_rate_variables=variables,
    )
    streams = result.details["random_streams"]
    assert streams == PrivacyStreams.from_seed(3).to_dict()
    own, _ = P._categorical_hidden(
        original, avatars, variables, imputation, streams["categorical_hidden_rate"]
    )
    np.testing.assert_array_equal(result.categorical_hidden, own)
    for step in ("metric_space", "local_cloaking", "inference", "membership"):
        other, _ = P._categorical_hidden(original, avatars, variables, imputation, streams[step])
        assert (other != own).any(), f"the categorical hidden rate draws like {step}"


def test_same_seed_same_result(table):
    with_na = table.copy()
    with_na.loc[::5, "height"] = np.nan
    avatars = with_na.sample(frac=1.0, random_state=4).reset_index(drop=True)
    kwargs = dict(known_variables=["age"], target="group", seed=11)
    first = privacy_metrics(with_na, avatars, **kwargs).to_dict(records_limit=10_000)
    second = privacy_metrics(with_na, avatars, **kwargs).to_dict(records_limit=10_000)
    for out in (first, second):
        out["details"].pop("timings_seconds")
    assert first == second


def test_excluded_variables_are_left_out(table):
    avatars = table.copy()
    avatars["group"] = "z"  # would change matches if it were used
    result = privacy_metrics(table, avatars, exclude_variables=["group"])
    assert result.details["space"]["variables"] == ["age", "weight", "height"]
    assert "group" not in result.details["column_direct_match_protection"]
    assert result.value("row_direct_match_protection") == 0.0


def test_progress_is_reported(table):
    calls = []
    privacy_metrics(table, table.copy(), progress=lambda f, phase: calls.append((f, phase)))
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0


def test_local_cloaking_median_stays_exact_when_most_values_exceed_the_cap(monkeypatch):
    # every avatar at the centre of the cloud: the own avatar is as far as everybody else's
    rng = np.random.default_rng(0)
    original = pd.DataFrame({"x": rng.normal(size=400), "y": rng.normal(size=400)})
    avatars = original.copy()
    avatars["x"] = avatars["x"] * 0.01 + rng.normal(scale=1e-4, size=400)
    avatars["y"] = avatars["y"] * 0.01 + rng.normal(scale=1e-4, size=400)
    exact = privacy_metrics(original, avatars, ncp=2)
    assert exact.details["local_cloaking"]["n_at_least_exact_below"] == 0
    monkeypatch.setattr(P, "LC_MIN_CAP", 20)
    monkeypatch.setattr(P, "LC_COUNT_BUDGET", 0)
    capped = privacy_metrics(original, avatars, ncp=2)
    assert capped.value("local_cloaking") == exact.value("local_cloaking") > 20
    np.testing.assert_array_equal(capped.local_cloaking, exact.local_cloaking)


def test_local_cloaking_cap_reports_at_least(monkeypatch):
    original = _clusters(n_per=60)
    rng = np.random.default_rng(1)
    avatars = original + rng.normal(scale=0.05, size=original.shape)  # near their own record
    far = np.arange(0, 180, 9)  # … except 20 whose avatar sits in another cluster
    avatars.iloc[far] = original.iloc[(far + 60) % 180].to_numpy()
    exact = privacy_metrics(original, avatars, ncp=3)
    assert exact.value("local_cloaking") < 5 and (exact.local_cloaking[far] >= 60).all()
    monkeypatch.setattr(P, "LC_MIN_CAP", 5)
    monkeypatch.setattr(P, "LC_COUNT_BUDGET", 0)
    capped = privacy_metrics(original, avatars, ncp=3)
    np.testing.assert_array_equal(capped.local_cloaking, np.minimum(exact.local_cloaking, 5))
    assert capped.value("local_cloaking") == exact.value("local_cloaking")
    details = capped.details["local_cloaking"]
    assert details["exact_below"] == 5
    assert details["n_at_least_exact_below"] == int((exact.local_cloaking >= 5).sum())


def test_bounded_memory_at_scale():
    """50,000 rows finish without any n × n or n × (large k) matrix (not timed).

    tracemalloc sees numpy's allocations: the peak stays a few times the table's own size
    (36 MiB measured; a single 50,000 × 200 float matrix would be 76 MiB, an n × n one 19 GiB).
    50,000 rather than 200,000 rows: the same matrices are caught, in a sixth of the time
    (84 MiB measured at 200,000 rows, against 305 MiB for one 200,000 × 200 matrix).
    """
    import tracemalloc

    rng = np.random.default_rng(0)
    n = 50_000
    latent = rng.normal(size=(n, 2))
    original = pd.DataFrame(
        {
            "a": latent[:, 0] + rng.normal(scale=0.3, size=n),
            "b": latent[:, 1] + rng.normal(scale=0.3, size=n),
            "c": (latent @ [1.0, -1.0]).round(1),
            "g": np.where(latent[:, 0] > 0, "p", "q"),
        }
    )
    avatars = original.copy()
    avatars[["a", "b"]] = 0.8 * avatars[["a", "b"]] + rng.normal(scale=0.2, size=(n, 2))
    tracemalloc.start()
    try:
        result = privacy_metrics(original, avatars, ncp=3)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 0.0 < result.value("hidden_rate") <= 100.0
    assert len(result.local_cloaking) == n
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MiB"
