"""privacy_metrics rejects bad input with an AvatarsEngineError naming the parameter or column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from avatars.engine import (
    AvatarsEngineError,
    InvalidDataError,
    InvalidParameterError,
    UnknownColumnError,
    privacy_metrics,
)


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "age": rng.integers(20, 80, 50),
            "weight": rng.normal(70, 10, 50).round(1),
            "group": rng.choice(["a", "b", "c"], 50),
        }
    )


@pytest.mark.parametrize(
    "parameter",
    [
        "known_variables",
        "categorical_hidden_rate_variables",
        "exclude_variables",
    ],
)
def test_unknown_column_in_a_list_parameter(table, parameter):
    with pytest.raises(UnknownColumnError, match=rf"'{parameter}'.*'nope'") as info:
        privacy_metrics(table, table, **{parameter: ["age", "nope"]})
    assert info.value.parameter == parameter
    assert info.value.columns == ["nope"]


def test_unknown_target(table):
    with pytest.raises(UnknownColumnError, match=r"'target'.*'nope'"):
        privacy_metrics(table, table, known_variables=["age"], target="nope")


@pytest.mark.parametrize("parameter", ["column_types", "column_weights"])
def test_unknown_column_in_a_mapping_parameter(table, parameter):
    value = {"nope": "float"} if parameter == "column_types" else {"nope": 2.0}
    with pytest.raises(UnknownColumnError, match=rf"'{parameter}'.*'nope'"):
        privacy_metrics(table, table, **{parameter: value})


def test_target_without_known_variables(table):
    with pytest.raises(InvalidParameterError, match=r"'target'.*known_variables"):
        privacy_metrics(table, table, target="group")


def test_target_among_known_variables(table):
    with pytest.raises(InvalidParameterError, match=r"'target'.*'group'"):
        privacy_metrics(table, table, known_variables=["age", "group"], target="group")


def test_known_variable_that_is_excluded(table):
    with pytest.raises(InvalidParameterError, match=r"'known_variables'.*'group'.*exclude"):
        privacy_metrics(table, table, known_variables=["group"], exclude_variables=["group"])


def test_known_variables_given_as_a_string(table):
    with pytest.raises(InvalidParameterError, match=r"'known_variables'.*list"):
        privacy_metrics(table, table, known_variables="age")


def test_avatars_lacking_a_column(table):
    with pytest.raises(InvalidDataError, match=r"unshuffled_avatars lacks.*'weight'"):
        privacy_metrics(table, table.drop(columns="weight"))


def test_avatars_with_an_extra_column(table):
    with pytest.raises(InvalidDataError, match=r"unshuffled_avatars has.*'extra'"):
        privacy_metrics(table, table.assign(extra=1))


def test_avatars_with_another_number_of_rows(table):
    with pytest.raises(InvalidDataError, match=r"unshuffled_avatars has 49 rows.*50"):
        privacy_metrics(table, table.iloc[:49])


@pytest.mark.parametrize("which", ["original", "avatars"])
def test_empty_table(table, which):
    empty = table.iloc[:0]
    args = (empty, table) if which == "original" else (table, empty)
    with pytest.raises(InvalidDataError, match="empty"):
        privacy_metrics(*args)


def test_not_a_dataframe(table):
    with pytest.raises(InvalidDataError, match="DataFrame"):
        privacy_metrics(table.to_numpy(), table)
    with pytest.raises(InvalidDataError, match=r"unshuffled_avatars.*DataFrame"):
        privacy_metrics(table, [1, 2, 3])


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("quantile_threshold", 150),
        ("quantile_threshold", -1),
        ("quantile_threshold", "5"),
        ("closest_rate_ratio_threshold", 1.5),
        ("closest_rate_ratio_threshold", None),
        ("seed", -3),
        ("seed", 1.5),
        ("ncp", 99),
        ("ncp", 0),
    ],
)
def test_out_of_range_parameters(table, parameter, value):
    with pytest.raises(InvalidParameterError, match=rf"'{parameter}'") as info:
        privacy_metrics(table, table, **{parameter: value})
    assert info.value.parameter == parameter


def test_bad_column_type_names_the_column(table):
    with pytest.raises(InvalidParameterError, match=r"'column_types'.*'age'.*'colour'"):
        privacy_metrics(table, table, column_types={"age": "colour"})


def test_every_error_is_in_the_engine_family(table):
    with pytest.raises(AvatarsEngineError):
        privacy_metrics(table, table, known_variables=["nope"])
    with pytest.raises(ValueError):  # the family derives from ValueError
        privacy_metrics(table, table.iloc[:10])
