"""The targets table (method.md §2.0) and MetricValue."""

from __future__ import annotations

import json

import pytest

from avatars.engine.targets import (
    NEW_PRIVACY_TARGETS,
    PRIVACY_TARGETS,
    SIGNAL_TARGETS,
    MetricValue,
    make_metric,
    meets_target,
    parse_target,
)


def test_privacy_targets_are_the_legacy_table():
    expected = {
        "hidden_rate": "> 90",
        "local_cloaking": "> 5",
        "distance_to_closest": "> 0.2",
        "closest_distances_ratio": "> 0.3",
        "column_direct_match_protection": "> 50",
        "categorical_hidden_rate": "> 90",
        "row_direct_match_protection": "> 90",
        "correlation_protection_rate": "> 95",
        "inference_continuous": "> 10",
        "inference_categorical": "> 10",
        "closest_rate": "> 90",
    }
    legacy = {name: spec for name, spec in PRIVACY_TARGETS.items() if name in expected}
    assert {name: spec.target for name, spec in legacy.items()} == expected
    assert all(spec.direction == "higher_is_better" for spec in legacy.values())
    # ours (issue 15): copies of unique records, identifiers, membership against a holdout
    assert set(PRIVACY_TARGETS) - set(expected) == set(NEW_PRIVACY_TARGETS)
    ours = {name: (PRIVACY_TARGETS[name].target, PRIVACY_TARGETS[name].direction)
            for name in NEW_PRIVACY_TARGETS}  # fmt: skip
    assert ours == {
        "unique_copy_share": ("< 1", "lower_is_better"),
        "unique_copy_share_known": ("< 1", "lower_is_better"),
        "identifier_protection": ("> 99", "higher_is_better"),
        "dcr_share": ("< 60", "lower_is_better"),
        "membership_inference_auc": ("< 0.6", "lower_is_better"),
    }
    assert PRIVACY_TARGETS["correlation_protection_rate"].criterion == "linkability"
    assert PRIVACY_TARGETS["inference_categorical"].criterion == "inference"
    assert SIGNAL_TARGETS["hellinger_mean"].direction == "lower_is_better"


@pytest.mark.parametrize(
    ("value", "target", "passed"),
    [
        (93.0, "> 90", True),
        (90.0, "> 90", False),
        (90.0, ">= 90", True),
        (0.1, "< 0.2", True),
        (0.2, "<= 0.2", True),
        (None, "> 90", None),
        (float("nan"), "> 90", None),
        (50.0, None, None),
    ],
)
def test_meets_target(value, target, passed):
    assert meets_target(value, target) is passed


def test_parse_target_rejects_garbage():
    assert parse_target(">= 12.5") == (">=", 12.5)
    with pytest.raises(ValueError):
        parse_target("about 90")


def test_metric_value_is_json_ready():
    metric = make_metric("hidden_rate", 92.5, "desc")
    assert isinstance(metric, MetricValue)
    assert metric.passed is True and metric.unit == "%" and metric.criterion == "singling_out"
    out = metric.to_dict()
    json.dumps(out)
    assert out["target"] == "> 90" and out["provisional"] is False
    assert make_metric("hidden_rate", float("nan"), "d").to_dict()["value"] is None
