"""What a table's YAML says about its identifying columns, as the engine's arguments
(``avatars.server.jobs.privacy``) — in process, no server."""

from __future__ import annotations

import pytest

from avatars.engine.errors import IdentifierColumnsError
from avatars.protocol.parameters import AvatarizationParameters
from avatars.protocol.schema import Table
from avatars.server.jobs import privacy


def _table(columns: list[dict]) -> Table:
    return Table.model_validate({"name": "patients", "columns": columns})


def test_columns_become_keys_pseudonyms_drops_and_declared_variables() -> None:
    table = _table(
        [
            {"field": "patient_id", "primary_key": True},
            {"field": "doctor_id", "identifier": True},
            {"field": "email", "pseudonymization": {"kind": "FAKER", "pii_type": "EMAIL"}},
            {"field": "phone", "pseudonymization_strategy": "HASH_SHA256"},
            {"field": "notes", "drop": True},
            {"field": "height_mm", "identifier": False},
        ]
    )
    choices = privacy.table_treatments(table, None)
    assert choices.keys == ["patient_id", "doctor_id"]
    assert set(choices.pseudonymize) == {"email", "phone"} and choices.hashed
    assert choices.drop == ["notes"] and choices.not_identifiers == ["height_mm"]
    assert choices.not_avatarized() == ["patient_id", "doctor_id", "email", "phone"]
    arguments = choices.avatarize_arguments(b"k")
    assert arguments["keys"] == ["patient_id", "doctor_id"]
    assert arguments["pseudonymization_secret"] == b"k"
    assert arguments["exclude_variables"] is None and arguments["exclude_methods"] is None


@pytest.mark.parametrize(
    ("block", "default", "chosen"),
    [
        # the official client's default: refused for identifiers by the engine
        ({"variable_names": ["id"], "replacement_strategy": "row_order"}, ["id"], {}),
        # named by our SDK
        (
            {
                "variable_names": ["id"],
                "replacement_strategy": "row_order",
                "explicit_replacement_strategy": True,
            },
            [],
            {"id": "row_order"},
        ),
        # never a default: a choice by itself
        (
            {"variable_names": ["id"], "replacement_strategy": "coordinate_similarity"},
            [],
            {"id": "coordinate_similarity"},
        ),
    ],
)
def test_only_an_explicit_method_may_re_attach_an_identifier(
    block: dict, default: list[str], chosen: dict[str, str]
) -> None:
    params = AvatarizationParameters.model_validate({"k": 5, "exclude_variables": block})
    choices = privacy.table_treatments(_table([]), params)
    assert choices.exclude == default and choices.exclude_methods == chosen


def test_the_refusal_names_the_platforms_ways() -> None:
    error = IdentifierColumnsError(
        [{"column": "patient_id", "kind": "integer_sequence", "evidence": "1 to 10"}]
    )
    message = privacy.identifier_choices(error, "patients")
    assert message.startswith("table 'patients': column 'patient_id' identifies individuals")
    for words in (
        "drop: true",
        "primary_key='patient_id'",
        "pseudonymized_columns={'patient_id': ...}",
        "explicit_replacement_strategy: true",
        "identifier: false",
    ):
        assert words in message
