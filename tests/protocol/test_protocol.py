"""The protocol package: enum aliases, result names that round-trip, parameter ranges with one
wording, bounded YAML."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avatars.protocol.documents import ResourceSetError, parse_resource_set
from avatars.protocol.enums import ColumnType, ResultKind, Results
from avatars.protocol.errors import ParameterError, validate_parameters
from avatars.protocol.parameters import (
    AvatarizationFastDPParameters,
    AvatarizationOpenDPParameters,
    AvatarizationParameters,
    InterRecordRangeDifferenceParameters,
    RelativeDifferenceParameters,
)
from avatars.protocol.results import (
    escape_table_name,
    table_of_tabular_file,
    tabular_file_name,
    unescape_table_name,
)

# Names built from the pieces that make escaping hard: escapes, their bodies, underscores.
TRICKY = st.lists(
    st.sampled_from([*"_./&+xdo", "_dot_", "_underscore_", "_plus_", "dot_", "underscore_"]),
    max_size=12,
).map("".join)


def test_official_and_engine_spellings_are_the_same_members() -> None:
    assert ColumnType.FLOAT is ColumnType.NUMERIC
    assert Results.SHUFFLED is ResultKind.shuffled
    assert [t.value for t in ColumnType] == [
        "int",
        "bool",
        "category",
        "float",
        "datetime",
        "datetime_tz",
    ]


@pytest.mark.parametrize(
    ("name", "escaped"),
    [
        ("iris", "iris"),
        ("iris.v2", "iris_dot_v2"),
        ("my_table", "my_table"),
        ("a/b&c+d", "a_slash_b_ampersand_c_plus_d"),
    ],
)
def test_names_the_official_client_reads_are_unchanged(name: str, escaped: str) -> None:
    assert escape_table_name(name) == escaped


def test_a_name_that_looks_escaped_round_trips() -> None:
    assert escape_table_name("a_dot_b") != escape_table_name("a.b")
    assert unescape_table_name(escape_table_name("a_dot_b")) == "a_dot_b"


# 1,000 names, half of them built from the escapes' own pieces (TRICKY), the rest any text
# (3,000 took up to a minute on a loaded 2-core machine).
@settings(max_examples=1000)
@given(st.one_of(TRICKY, st.text(max_size=20)))
def test_every_table_name_round_trips_through_its_file_names(name: str) -> None:
    assert unescape_table_name(escape_table_name(name)) == name
    assert "/" not in escape_table_name(name)
    if name:
        url = "https://h/api/access?url=s3://b/p/" + tabular_file_name(name, ResultKind.shuffled)
        assert table_of_tabular_file(ResultKind.shuffled, url) == name
        assert table_of_tabular_file(ResultKind.unshuffled, url) is None


@pytest.mark.parametrize(
    ("model", "values", "message"),
    [
        (
            AvatarizationParameters,
            {"k": 1},
            "k: Input should be greater than or equal to 2 (got 1)",
        ),
        (AvatarizationParameters, {"k": 5, "ncp": 0}, "ncp: Input should be greater than or equal"),
        (AvatarizationParameters, {"k": 5, "column_weights": {"Age": 0}}, "column_weights.Age"),
        (
            AvatarizationParameters,
            {"k": 5, "imputation": {"training_fraction": 2}},
            "imputation.training_fraction",
        ),
        (AvatarizationOpenDPParameters, {"epsilon": 0}, "epsilon: expected a number in (0, 1000]"),
        (AvatarizationFastDPParameters, {"epsilon": 1e9}, "no privacy), got 1000000000.0"),
        (AvatarizationFastDPParameters, {"epsilon": 1, "mechanism": "laplace"}, "mechanism"),
        (
            AvatarizationParameters,
            {"k": 5, "data_augmentation": {"augmentation_strategy": "minority"}},
            "target_column is required",
        ),
    ],
)
def test_out_of_range_parameters_name_the_field(model: type, values: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_parameters(model, values)


def test_processors_are_told_apart_by_their_fields() -> None:
    params = AvatarizationParameters.model_validate(
        {
            "k": 5,
            "avatarization_processors_parameters": [
                {"id_variable": "id", "target_start_variable": "s", "target_end_variable": "e"},
                {"target": "t", "references": ["a", "b"]},
            ],
        }
    )
    kinds = [type(p) for p in params.avatarization_processors_parameters or []]
    assert kinds == [InterRecordRangeDifferenceParameters, RelativeDifferenceParameters]
    dumped = params.model_dump(exclude_none=True)["avatarization_processors_parameters"]
    assert dumped[1] == {"target": "t", "references": ["a", "b"]}  # no type tag, as the client


SCHEMA = """kind: AvatarSchema
metadata: {name: schema}
spec:
  tables: [{name: t, data: {volume: input, file: t.csv}}]
"""


def test_k_and_epsilon_are_exclusive_per_table() -> None:
    text = (
        SCHEMA
        + """---
kind: AvatarParameters
metadata: {name: standard}
spec:
  schema: schema
  avatarization: {t: {k: 5}}
  avatarization_open_dp: {t: {epsilon: 1.0}}
"""
    )
    with pytest.raises(ResourceSetError, match="k and epsilon are exclusive"):
        parse_resource_set(text)


def test_deep_yaml_is_refused_before_it_is_built() -> None:
    with pytest.raises(ResourceSetError, match="nests more than 64 levels"):
        parse_resource_set("spec: " + "[" * 10_000)
