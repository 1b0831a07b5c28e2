"""Honest metrics and verdicts: exact copies of unique records, membership with a holdout, and
a verdict that never says "pass" when a target is missed."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from avatars.engine import avatarize, privacy_metrics
from avatars.engine.metric_rows import MetricRow, privacy_verdict
from avatars.engine.privacy import dcr_share, membership_auc


def test_the_breast_cancer_finding_exact_copies_fail_the_verdict(wbcd):
    """WBCD without its sample number, k = 20: most avatars are identical to an original row
    (scores 1-10 are coarse), many of them to a record only one patient has."""
    result = avatarize(wbcd, k=20, seed=1)
    privacy = privacy_metrics(wbcd, result.unshuffled, seed=1)
    copies = privacy.details["row_direct_match_protection"]["n_avatars_equal_to_an_original"]
    assert copies / len(wbcd) > 0.5  # "58 % of avatars are identical to an original row"
    unique = privacy.details["unique_copy_share"]
    assert unique["n_avatars_copying_a_unique_original"] > 0.01 * len(wbcd)
    assert privacy.value("unique_copy_share") == pytest.approx(
        100 * unique["n_avatars_copying_a_unique_original"] / len(wbcd)
    )
    assert privacy.metric("unique_copy_share").passed is False
    verdict = privacy.verdict()
    assert verdict.status == "fail"
    summary = verdict.summary()
    assert summary.startswith("Fail:") and "Copies of unique records" in summary
    assert "(target < 1)" in summary
    assert any("copy records that only one individual has" in c for c in verdict.changes())
    french = verdict.summary("fr")
    assert french.startswith("Non conforme") and "Copies d'enregistrements uniques" in french
    # the JSON result carries the verdict
    document = privacy.to_dict()
    json.dumps(document)
    assert document["verdict"]["status"] == "fail"
    assert "unique_copy_share" in [f["name"] for f in document["verdict"]["failed"]]


def test_copies_on_the_known_variables(aids):
    result = avatarize(aids, k=20, seed=0)
    privacy = privacy_metrics(aids, result.unshuffled, seed=0, known_variables=["age", "gender"])
    known = privacy.metric("unique_copy_share_known")
    assert known is not None and known.criterion == "linkability"
    details = privacy.details["unique_copy_share_known"]
    assert details["variables"] == ["age", "gender"]
    assert known.value == pytest.approx(
        100 * details["n_avatars_copying_a_unique_original"] / len(aids)
    )
    # continuous columns are never copied whole: no unique record is reproduced
    assert privacy.value("unique_copy_share") == 0.0


def test_unique_copy_share_counts_only_unique_records():
    original = pd.DataFrame(
        {"a": [1, 1, 1, 2, 3, 4, 5, 6], "b": ["x", "x", "x", "y", "y", "z", "z", "w"]}
    )
    avatars = pd.DataFrame(  # 3 copies of the common (1, x), 1 copy of the unique (2, y)
        {"a": [1, 1, 1, 2, 9, 9, 9, 9], "b": ["x", "x", "x", "y", "y", "y", "y", "y"]}
    )
    privacy = privacy_metrics(original, avatars, seed=0)
    assert privacy.value("unique_copy_share") == pytest.approx(100 / 8)
    assert privacy.value("row_direct_match_protection") == pytest.approx(100 * (1 - 4 / 8))


# -- membership --------------------------------------------------------------------------------
def _population(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n, 2))
    return pd.DataFrame(
        {
            "x": latent[:, 0],
            "y": latent[:, 0] + 0.5 * latent[:, 1],
            "z": rng.standard_normal(n),
            "group": np.where(latent[:, 1] > 0, "a", "b"),
        }
    ).round(4)


def test_membership_separates_copies_from_new_records():
    training, holdout = _population(600, 1), _population(600, 2)
    # "avatars" that are the training records themselves: every one is closest to training
    leaky = privacy_metrics(training, training, seed=0, holdout=holdout)
    assert leaky.value("dcr_share") == pytest.approx(100.0)
    assert leaky.value("membership_inference_auc") == pytest.approx(1.0)
    assert leaky.metric("dcr_share").passed is False
    assert "membership_inference_auc" in [r.name for r in leaky.verdict().failed]
    # "avatars" drawn from the population, independent of the training records: no leak
    fresh = privacy_metrics(training, _population(600, 3), seed=0, holdout=holdout)
    assert 43 < fresh.value("dcr_share") < 57
    assert 0.44 < fresh.value("membership_inference_auc") < 0.56
    details = fresh.details["dcr_share"]
    assert details["n_holdout"] == 600 and details["ncp"] == fresh.parameters["ncp"]


def test_unequal_sizes_are_put_on_the_equal_size_scale():
    training, holdout = _population(1_500, 4), _population(300, 5)
    # avatars independent of the training records: an avatar's nearest record is a training
    # one 5 times in 6 (1,500 against 300), which is no leak: 50 % on the equal-size scale
    fresh = privacy_metrics(training, _population(1_500, 6), seed=0, holdout=holdout)
    assert 78 < fresh.details["dcr_share"]["observed_share"] < 88
    assert fresh.details["dcr_share"]["no_leak_share"] == pytest.approx(100 * 1_500 / 1_800)
    assert 42 < fresh.value("dcr_share") < 58
    result = avatarize(training, k=10, seed=0)
    privacy = privacy_metrics(training, result.unshuffled, seed=0, holdout=holdout)
    assert 50 <= privacy.value("dcr_share") <= 100
    assert privacy.metric("membership_inference_auc").criterion == "inference"
    again = privacy_metrics(training, result.unshuffled, seed=0, holdout=holdout)
    assert again.value("dcr_share") == privacy.value("dcr_share")  # seeded samples


def test_array_level_membership_functions():
    rng = np.random.default_rng(0)
    train, hold = rng.standard_normal((200, 3)), rng.standard_normal((200, 3))
    share, d_train, d_hold = dcr_share(train, hold, train + 1e-3)
    assert share == 100.0 and (d_train < d_hold).all()
    half, _, _ = dcr_share(train, train, train)  # every distance tied: half of each
    assert half == 50.0
    auc, _, _ = membership_auc(train, hold, train)
    assert auc == 1.0
    auc_ties, _, _ = membership_auc(train, train, train)
    assert auc_ties == 0.5  # identical candidates: ties count half


def test_a_holdout_must_have_the_originals_columns():
    table = _population(50, 0)
    with pytest.raises(ValueError, match=r"holdout lacks column\(s\) 'z'"):
        privacy_metrics(table, table, holdout=table.drop(columns="z"))


# -- the verdict -------------------------------------------------------------------------------
def _row(name: str, value: float, target: str, passed: bool | None) -> MetricRow:
    return MetricRow(
        name, value, "%", "higher_is_better", target, passed, False, "singling_out", ""
    )


def test_no_pass_when_any_target_is_missed():
    rows = [_row("hidden_rate", 95, "> 90", True), _row("closest_rate", 85, "> 90", False)]
    verdict = privacy_verdict(rows)
    assert verdict.status == "fail"
    assert verdict.summary() == (
        "Fail: 1 of 2 privacy targets are missed: Closest rate 85.00\u00a0% (target > 90). "
        "Met: Hidden rate."
    )
    assert privacy_verdict(rows[:1]).status == "pass"
    assert privacy_verdict(rows[:1]).summary().startswith("Pass: all 1 privacy targets are met")
    assert privacy_verdict([]).status == "unknown"
    # a warning that the avatars carry the originals' identifiers fails a passing table
    warned = privacy_verdict(
        rows[:1], [{"code": "identifier_original_order", "columns": ["id"], "message": "m"}]
    )
    assert warned.status == "fail" and "re-identification key" in warned.summary()
    assert "drop the identifier columns" in warned.changes()[0]


def test_the_verdict_of_a_json_result_reads_its_warnings():
    document = {
        "metrics": [
            {"name": "hidden_rate", "value": 95.0, "target": "> 90", "passed": True, "unit": "%"}
        ],
        "metadata": {"warnings": [{"code": "original_order", "columns": ["c"], "message": "m"}]},
    }
    verdict = privacy_verdict(document)
    assert verdict.status == "pass"  # re-attached ordinary columns: said, not failed
    assert "keep the original association" in verdict.summary()
    assert "gardent le lien" in verdict.summary("fr")
