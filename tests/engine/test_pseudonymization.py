"""Pseudonymization strategies: what each produces, consistency, keying and determinism."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest

from avatars.engine.errors import InvalidParameterError
from avatars.engine.pseudonymization import (
    PseudonymizationSpec,
    derangement,
    pseudonymize_table,
    pseudonymize_values,
)

EMAILS = pd.Series(
    ["ann@corp.example", "bob@corp.example", "ann@corp.example", None, "cy@corp.example"],
    name="email",
)


def test_hash_is_hmac_sha256_keyed_by_the_secret_not_a_plain_hash():
    out = pseudonymize_values(EMAILS, "HASH_SHA256", seed=0, secret="project-secret")
    expected = hmac.new(b"project-secret", b"ann@corp.example", hashlib.sha256).hexdigest()
    assert out[0] == out[2] == expected
    assert out[0] != hashlib.sha256(b"ann@corp.example").hexdigest()  # no dictionary attack
    assert pd.isna(out[3])
    other = pseudonymize_values(EMAILS, "HASH_SHA256", seed=0, secret="another")
    assert other[0] != out[0]
    # consistent across seeds, columns and tables: multi-table keys stay joinable
    again = pseudonymize_values(
        EMAILS.rename("contact"), "HASH_SHA256", seed=9, secret="project-secret"
    )
    assert again.tolist() == out.tolist()
    # a key read as float (because of a missing value) maps like the same key read as int
    floats = pseudonymize_values(
        pd.Series([7.0, None], name="id"), "HASH_SHA256", seed=0, secret="k"
    )
    ints = pseudonymize_values(pd.Series([7], name="id"), "HASH_SHA256", seed=0, secret="k")
    assert floats[0] == ints[0]


def test_hash_needs_a_secret():
    with pytest.raises(InvalidParameterError, match="pseudonymization_secret"):
        pseudonymize_values(EMAILS, "HASH_SHA256", seed=0)


@pytest.mark.parametrize(
    ("spec", "pattern"),
    [
        ("FAKER:EMAIL", r"[a-z0-9.]+@example\.(org|com|net)"),
        ("UUID4", r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"),
        ("SPECIFIC_ID:EMP-####", r"EMP-\d{4}"),
        ("CONSTANT:REDACTED", r"REDACTED"),
        ("FAKER:PHONE", r".*\d.*"),
        ("FAKER:SSN", r"\d{3}-\d{2}-\d{4}"),
    ],
)
def test_each_strategy_is_consistent_and_keeps_missing_values(spec, pattern):
    out = pseudonymize_values(EMAILS, spec, seed=3)
    assert out[0] == out[2] and pd.isna(out[3])
    assert out.dropna().astype(str).str.fullmatch(pattern).all(), out.tolist()
    if not spec.startswith("CONSTANT"):
        assert out[0] != out[1] != out[4]  # distinct inputs, distinct pseudonyms
    assert pseudonymize_values(EMAILS, spec, seed=3).tolist() == out.tolist()  # deterministic


def test_integer_strategy_numbers_the_distinct_values_in_random_order():
    values = pd.Series([f"k{i}" for i in range(50)] * 2, name="key")
    out = pseudonymize_values(values, "INTEGER", seed=1)
    assert sorted(set(out)) == list(range(1, 51))
    assert out[:50].tolist() == out[50:].tolist()
    assert out[:50].tolist() != list(range(1, 51))  # not order-preserving


def test_inconsistent_strategies_draw_per_row():
    out = pseudonymize_values(EMAILS, {"kind": "UUID4", "consistent": False}, seed=0)
    assert out[0] != out[2]


def test_faker_is_locale_aware_and_large_columns_stay_distinct():
    french = pseudonymize_values(
        pd.Series(range(30), name="name"),
        {"kind": "FAKER", "pii_type": "FULL_NAME", "locale": "fr_FR"},
        seed=0,
    )
    english = pseudonymize_values(pd.Series(range(30), name="name"), "FAKER:FULL_NAME", seed=0)
    assert set(french) != set(english)
    assert any(ch in "".join(french) for ch in "éèçàôî") or set(french).isdisjoint(english)
    many = pd.Series([f"p{i}@x.org" for i in range(5_000)], name="email")
    fakes = pseudonymize_values(many, "FAKER:EMAIL", seed=0)
    assert fakes.nunique() == 5_000  # one person, one address
    with pytest.raises(InvalidParameterError, match="locale"):
        pseudonymize_values(
            EMAILS, {"kind": "FAKER", "pii_type": "EMAIL", "locale": "xx_YY"}, seed=0
        )


def test_the_seed_and_the_column_name_drive_the_randomness():
    a = pseudonymize_values(EMAILS, "UUID4", seed=1)
    assert pseudonymize_values(EMAILS, "UUID4", seed=2)[0] != a[0]
    assert pseudonymize_values(EMAILS.rename("other"), "UUID4", seed=1)[0] != a[0]


def test_specs_from_every_front_end_form():
    text = PseudonymizationSpec.parse("FAKER:EMAIL")
    mapping = PseudonymizationSpec.parse({"kind": "FAKER", "pii_type": "EMAIL"})
    assert text == mapping and text.to_dict()["pii_type"] == "EMAIL"

    class Model:  # the protocol's pydantic strategy objects have model_dump()
        def model_dump(self) -> dict:
            return {"kind": "SPECIFIC_ID", "pattern": "A-##", "letter_case": "upper"}

    assert PseudonymizationSpec.parse(Model()).pattern == "A-##"
    for bad, words in (
        ("ROT13", "strategy among"),
        ("FAKER:COLOUR", "pii_type among"),
        ("UUID4:x", "takes no argument"),
        ("CONSTANT", "needs a value"),
        ("SPECIFIC_ID:ABC", "placeholders"),
        ("SPECIFIC_ID:{{other}}-#", "not supported"),
    ):
        with pytest.raises(InvalidParameterError, match=words):
            PseudonymizationSpec.parse(bad, "c")


def test_a_pattern_too_small_for_the_column_is_an_error():
    with pytest.raises(InvalidParameterError, match="too few distinct"):
        pseudonymize_values(pd.Series(range(30), name="c"), "SPECIFIC_ID:#", seed=0)


def test_pseudonymize_table_replaces_only_the_named_columns():
    table = pd.DataFrame({"email": EMAILS, "age": [30, 40, 50, 60, 70]})
    out = pseudonymize_table(table, {"email": "UUID4"}, seed=0)
    assert out["age"].tolist() == table["age"].tolist()
    assert not set(out["email"].dropna()) & set(table["email"].dropna())


def test_derangements_have_no_fixed_point_and_cover_every_row() -> None:
    rng = np.random.default_rng(0)
    for n in (2, 3, 10, 1000):
        for _ in range(20):
            order = derangement(n, rng)
            assert sorted(order) == list(range(n)) and not np.any(order == np.arange(n))
    assert list(derangement(1, rng)) == [0] and list(derangement(0, rng)) == []


@pytest.mark.parametrize("seed", range(6))
def test_a_pseudonym_never_rides_on_the_avatar_of_its_own_record(seed: int) -> None:
    """Keyed hashes of distinct e-mails: the avatar of row i must not carry row i's digest,
    which whoever holds the secret could compute from the original (a plain shuffle leaves
    about one such avatar per table)."""
    from avatars.engine import avatarize

    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "email": [f"p{i}@example.org" for i in range(120)],
            "age": rng.normal(50, 10, 120),
            "weight": rng.normal(70, 10, 120),
        }
    )
    result = avatarize(
        df,
        k=5,
        seed=seed,
        pseudonymize={"email": "HASH_SHA256"},
        pseudonymization_secret=b"k",
    )
    own = [hmac.new(b"k", e.encode(), hashlib.sha256).hexdigest() for e in df["email"]]
    assert set(result.unshuffled["email"]) == set(own)  # every digest dealt once
    assert not np.any(result.unshuffled["email"].to_numpy() == np.array(own))
