"""Every bad input gets an AvatarsEngineError that names the parameter or the column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from avatars.engine import (
    AvatarsEngineError,
    InvalidDataError,
    InvalidParameterError,
    UnknownColumnError,
    avatarize,
)


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "age": rng.integers(20, 80, 60),
            "weight": rng.normal(70, 10, 60).round(1),
            "group": rng.choice(["a", "b", "c"], 60),
        }
    )


def test_every_engine_error_is_a_value_error():
    assert issubclass(AvatarsEngineError, ValueError)
    for cls in (InvalidDataError, InvalidParameterError, UnknownColumnError):
        assert issubclass(cls, AvatarsEngineError)


@pytest.mark.parametrize("k", [0, 1, -3])
def test_k_below_two(table, k):
    with pytest.raises(InvalidParameterError, match=rf"'k'.*k={k} for a table of 60 rows"):
        avatarize(table, k=k)


@pytest.mark.parametrize("k", [60, 500])
def test_k_not_below_the_number_of_rows(table, k):
    with pytest.raises(InvalidParameterError) as info:
        avatarize(table, k=k)
    assert info.value.parameter == "k"
    assert str(k) in str(info.value) and "60 rows" in str(info.value)


@pytest.mark.parametrize("k", [2.5, "20", None, True])
def test_k_not_an_integer(table, k):
    with pytest.raises(InvalidParameterError, match=r"'k'"):
        avatarize(table, k=k)


@pytest.mark.parametrize("ncp", [0, -1, 6, 100])
def test_ncp_out_of_range(table, ncp):
    # 2 continuous columns + 3 modalities: the FAMD has 4 dimensions of rank
    with pytest.raises(InvalidParameterError, match=r"'ncp'.*between 1 and 4"):
        avatarize(table, k=5, ncp=ncp)


@pytest.mark.parametrize(
    ("parameter", "kwargs"),
    [
        ("column_types", {"column_types": {"nope": "float"}}),
        ("column_weights", {"column_weights": {"nope": 2.0}}),
        ("exclude_variables", {"exclude_variables": ["age", "nope"]}),
    ],
)
def test_unknown_columns_in_any_parameter(table, parameter, kwargs):
    with pytest.raises(UnknownColumnError) as info:
        avatarize(table, k=5, **kwargs)
    assert info.value.parameter == parameter
    assert "'nope'" in str(info.value) and "'age'" in str(info.value)


def test_unknown_column_type(table):
    with pytest.raises(InvalidParameterError, match=r"column_types.*'group'.*'text'"):
        avatarize(table, k=5, column_types={"group": "text"})


@pytest.mark.parametrize("weight", [0, -1.0, float("nan"), float("inf"), "heavy"])
def test_bad_column_weight(table, weight):
    with pytest.raises(InvalidParameterError, match=r"column_weights.*'age'"):
        avatarize(table, k=5, column_weights={"age": weight})


def test_bad_imputation(table):
    with pytest.raises(InvalidParameterError, match=r"imputation.method.*fast_knn"):
        avatarize(table, k=5, imputation={"method": "magic"})
    with pytest.raises(InvalidParameterError, match=r"imputation.k"):
        avatarize(table, k=5, imputation={"k": 0})
    with pytest.raises(InvalidParameterError, match=r"imputation.training_fraction"):
        avatarize(table, k=5, imputation={"training_fraction": 1.5})
    with pytest.raises(InvalidParameterError, match=r"imputation.*unknown field.*'neighbours'"):
        avatarize(table, k=5, imputation={"neighbours": 3})


def test_bad_exclude_method_and_assignment(table):
    with pytest.raises(InvalidParameterError, match=r"exclude_method.*row_order"):
        avatarize(table, k=5, exclude_variables=["age"], exclude_method="alphabetical")
    with pytest.raises(InvalidParameterError, match=r"categorical_assignment"):
        avatarize(table, k=5, categorical_assignment="vote")


def test_excluding_every_column(table):
    with pytest.raises(InvalidParameterError, match=r"exclude_variables.*every column"):
        avatarize(table, k=5, exclude_variables=list(table.columns))


def test_bad_seed(table):
    with pytest.raises(InvalidParameterError, match=r"'seed'"):
        avatarize(table, k=5, seed=-1)


def test_empty_table():
    with pytest.raises(InvalidDataError, match=r"empty"):
        avatarize(pd.DataFrame({"a": [], "b": []}), k=2)
    with pytest.raises(InvalidDataError, match=r"no columns"):
        avatarize(pd.DataFrame(index=range(10)), k=2)
    with pytest.raises(InvalidDataError, match=r"DataFrame"):
        avatarize([[1, 2], [3, 4]], k=2)  # type: ignore[arg-type]


def test_constant_and_all_missing_columns_pass_through_but_not_alone(table):
    """They carry no information: avatarize passes them through (tests/engine/
    test_pass_through.py); a table of nothing else has nothing to avatarize."""
    nothing = table[[]].assign(site="Rennes", empty=np.nan, group=table["group"])
    with pytest.raises(InvalidDataError) as info:
        avatarize(nothing, k=5, exclude_variables=["group"])
    message = str(info.value)
    assert "nothing to avatarize" in message
    assert "'site' (constant)" in message and "'empty' (all missing)" in message


def test_infinite_values(table):
    table = table.astype({"weight": float})
    table.loc[3, "weight"] = np.inf
    with pytest.raises(InvalidDataError, match=r"column 'weight'.*infinite"):
        avatarize(table, k=5)


def test_id_like_column(table):
    table = table.assign(patient=[f"P{i:03d}" for i in range(60)])
    with pytest.raises(InvalidDataError, match=r"column 'patient'.*identifier"):
        avatarize(table, k=5)


def test_non_numeric_values_in_a_numeric_column(table):
    table = table.astype({"weight": object})
    table.loc[7, "weight"] = "heavy"
    with pytest.raises(InvalidDataError, match=r"column 'weight'.*'heavy'"):
        avatarize(table, k=5, column_types={"weight": "float"})


def test_duplicated_and_non_text_column_names():
    with pytest.raises(InvalidDataError, match=r"duplicated column name.*'a'"):
        avatarize(pd.DataFrame([[1, 2, 3]] * 10, columns=["a", "a", "b"]), k=2)
    with pytest.raises(InvalidDataError, match=r"column names must be strings"):
        avatarize(pd.DataFrame([[1.0, 2.0]] * 10), k=2)


def test_input_is_not_modified(table):
    before = table.copy()
    avatarize(table, k=5, seed=0, exclude_variables=["group"])
    pd.testing.assert_frame_equal(table, before)
