"""The parameter advisor and the per-column summary of the advice job."""

from __future__ import annotations

import json

import pandas as pd

from avatars.engine import advise_parameters, avatarize, table_summary


def test_advice_for_the_paper_tables_is_the_papers_k(wbcd, aids):
    for table in (wbcd, aids):
        advice = advise_parameters(table)
        assert advice["k"] == 20 and advice["ncp"] == 5
        json.dumps(advice)  # the advice job writes it as JSON
    # AIDS has missing values (cd496): exact knn on a table of this size
    assert advise_parameters(aids)["imputation"]["method"] == "knn"


def test_small_tables_get_fewer_neighbours_and_the_advice_runs(iris):
    advice = advise_parameters(iris)
    assert 5 <= advice["k"] < 20
    result = avatarize(iris, k=advice["k"], ncp=advice["ncp"], seed=0)
    assert len(result.shuffled) == len(iris)


def test_summary_flags_what_a_user_should_look_at():
    table = pd.DataFrame(
        {
            "id": [f"P{i}" for i in range(40)],
            "site": ["Rennes"] * 40,
            "income": [1000.0] * 38 + [90_000.0, 120_000.0],
            "group": ["a"] * 37 + ["b"] * 3,
            "score": [float(i % 7) if i % 5 else None for i in range(40)],
        }
    )
    stats = {s["variable"]: s for s in table_summary(table)}
    assert stats["id"]["probable_id"] and not stats["group"]["probable_id"]
    assert stats["id"]["identifier"] == "unique_text" and stats["group"]["identifier"] is None
    assert stats["site"]["is_constant"]
    assert stats["income"]["is_skewed"]
    assert stats["group"]["has_rare_modalities"]
    assert stats["score"]["n_missing"] == 8 and stats["score"]["missing_share"] == 0.2
    assert pd.DataFrame(table_summary(table)).shape == (5, len(stats["id"]))
