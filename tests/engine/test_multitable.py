"""Multi-table avatarization end to end: the bundled patient/doctor/visit tables (a child with
two parents) and a generated hospital → patient → visit schema (fan-out up to 100)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from avatars.engine.multitable import (
    Link,
    MultiTableResult,
    SchemaError,
    Table,
    TableParameters,
    advise_tables,
    avatarize_tables,
    privacy_metrics_tables,
    signal_metrics_tables,
    synthetic_hospital_schema,
)
from avatars.protocol.enums import ComputationType, LinkMethod

EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "examples"


def bundled(
    method: LinkMethod = LinkMethod.LINEAR_SUM_ASSIGNMENT,
) -> tuple[list[Table], list[Link]]:
    tables = [
        Table("patient", pd.read_csv(EXAMPLES / "patient.csv"), "p_id"),
        Table("doctor", pd.read_csv(EXAMPLES / "doctor.csv"), "d_id"),
        Table("visit", pd.read_csv(EXAMPLES / "visit.csv"), "visit_id"),
    ]
    links = [
        Link("patient", "p_id", "visit", "patient_id", method),
        Link("doctor", "d_id", "visit", "doctor_id", method),
    ]
    return tables, links


@pytest.fixture(scope="module")
def example() -> tuple[list[Table], list[Link], MultiTableResult]:
    tables, links = bundled()
    return tables, links, avatarize_tables(tables, links, seed=0)


@pytest.fixture(scope="module")
def hospital() -> tuple[list[Table], list[Link], MultiTableResult]:
    tables, links = synthetic_hospital_schema(1500, 7500, n_hospitals=50, seed=0)
    return tables, links, avatarize_tables(tables, links, seed=0)


def check_keys(tables: list[Table], links: list[Link], result: MultiTableResult) -> None:
    """100 % referential integrity, new unique keys, none of them an original key value."""
    original_values = {
        str(v)
        for table in tables
        for column in [table.primary_key] + [k.foreign_key for k in links if k.child == table.name]
        for v in table.data[column]
    }
    for table in tables:
        avatars = result.tables[table.name].avatars
        assert list(avatars.columns) == list(table.data.columns)
        assert len(avatars) == len(table.data)
        keys = avatars[table.primary_key]
        assert keys.is_unique and keys.notna().all()
        assert not set(keys.astype(str)) & original_values
    for link in links:
        parent_keys = set(result.tables[link.parent].avatars[link.parent_key])
        child_keys = result.tables[link.child].avatars[link.foreign_key]
        assert child_keys.isin(parent_keys).all()  # referential integrity 100 %
        assert not set(child_keys.astype(str)) & original_values


def children_per_parent(parent: pd.DataFrame, child: pd.DataFrame, link: Link) -> np.ndarray:
    counts = child[link.foreign_key].value_counts()
    return counts.reindex(parent[link.parent_key], fill_value=0).to_numpy()


# -- the bundled tables: a visit has a patient and a doctor ------------------------------------
def test_bundled_tables_keys(example: tuple[list[Table], list[Link], MultiTableResult]) -> None:
    tables, links, result = example
    check_keys(tables, links, result)
    assert not result.keeps_original_association and not result.warnings
    assert [r.solver for r in result.links] == ["dense", "dense"]


def test_no_row_order_leak(example: tuple[list[Table], list[Link], MultiTableResult]) -> None:
    """Neither the deliverable's row order nor the order of the new keys follows the originals'
    rows (whose order follows their keys)."""
    tables, _, result = example
    for table in tables:
        avatars = result.tables[table.name]
        n = len(table.data)
        position = pd.Index(avatars.avatars[table.primary_key]).get_indexer(
            avatars.unshuffled[table.primary_key]
        )
        assert sorted(position) == list(range(n))  # the same rows, shuffled
        assert abs(spearmanr(np.arange(n), position).statistic) < 0.2
        key_rank = avatars.unshuffled[table.primary_key].rank().to_numpy()
        assert abs(spearmanr(np.arange(n), key_rank).statistic) < 0.2


def test_bundled_tables_privacy_and_signal(
    example: tuple[list[Table], list[Link], MultiTableResult],
) -> None:
    tables, links, result = example
    privacy = privacy_metrics_tables(tables, links, result.unshuffled(), seed=0)
    seen = {(m.table, m.computation_type, m.reference): m for m in privacy}
    assert set(seen) == {
        ("doctor", ComputationType.standalone, None),
        ("doctor", ComputationType.to_top_enriched, None),
        ("patient", ComputationType.standalone, None),
        ("patient", ComputationType.to_top_enriched, None),
        ("visit", ComputationType.to_bottom_id_propagated, "doctor"),
        ("visit", ComputationType.to_bottom_id_propagated, "patient"),
        ("visit", ComputationType.full_enriched, "doctor"),
        ("visit", ComputationType.full_enriched, "patient"),
    }
    for table in ("patient", "doctor"):  # advised parameters: k = 10
        assert seen[(table, ComputationType.standalone, None)].hidden_rate >= 90
    for reference in ("patient", "doctor"):
        visits = seen[("visit", ComputationType.to_bottom_id_propagated, reference)]
        assert visits.individual_hidden_rate is not None and visits.individual_hidden_rate >= 90
        document = visits.to_dict()
        assert document["metadata"]["computation_type"] == "to_bottom_id_propagated"
        assert document["metadata"]["reference"] == reference
        assert document["hidden_rate"] == visits.individual_hidden_rate
    signal = signal_metrics_tables(tables, links, result.avatars())
    assert set(signal.tables) == {"patient", "doctor", "visit"}
    for relation in signal.links:
        assert relation.children_per_parent_ks <= 0.1
        assert relation.correlation_difference_mean is not None
        assert relation.correlation_difference_mean < 0.2
    assert signal.to_dict()["links"][0]["children_per_parent"]["original"]["mean"] == 300 / 130


def test_one_seed_gives_byte_identical_outputs_whatever_the_input_order() -> None:
    tables, links = bundled(LinkMethod.MINIMUM_DISTANCE_ASSIGNMENT)
    first = avatarize_tables(tables, links, seed=7)
    again = avatarize_tables(list(reversed(tables)), list(reversed(links)), seed=7)
    other = avatarize_tables(tables, links, seed=8)
    for name in ("patient", "doctor", "visit"):
        csv = first.tables[name].avatars.to_csv(index=False).encode()
        assert csv == again.tables[name].avatars.to_csv(index=False).encode()
        assert csv != other.tables[name].avatars.to_csv(index=False).encode()


def test_every_link_method_keeps_integrity() -> None:
    for method in LinkMethod:
        if method == LinkMethod.TIME_SERIES:
            continue
        tables, links = bundled(method)
        result = avatarize_tables(tables, links, seed=1)
        check_keys(tables, links, result)
        for link in links:
            original = children_per_parent(
                tables[["patient", "doctor"].index(link.parent)].data, tables[2].data, link
            )
            avatars = children_per_parent(
                result.tables[link.parent].avatars, result.tables["visit"].avatars, link
            )
            assert avatars.sum() == original.sum()


def test_the_sensitive_link_keeps_the_original_pairing_and_says_so() -> None:
    tables, links = bundled(LinkMethod.SENSITIVE_ORIGINAL_ORDER_ASSIGNMENT)
    result = avatarize_tables(tables, links, seed=0)
    assert result.keeps_original_association
    assert result.metadata["keeps_original_association"] is True
    assert len(result.warnings) == 2 and all("HIGH PRIVACY BREACH" in w for w in result.warnings)
    visit = tables[2].data
    for link, parent in zip(links, tables[:2], strict=True):
        # avatar visit i belongs to the avatar of original visit i's patient / doctor
        original_rows = pd.Index(parent.data[link.parent_key]).get_indexer(visit[link.foreign_key])
        avatar_parents = result.tables[link.parent].unshuffled[link.parent_key].to_numpy()
        expected = avatar_parents[original_rows]
        assert np.array_equal(result.tables["visit"].unshuffled[link.foreign_key], expected)


def test_advice_per_table() -> None:
    tables, links = bundled()
    advice = advise_tables(tables, links)
    assert {name: a["k"] for name, a in advice.items()} == {
        "doctor": 10,
        "patient": 10,
        "visit": 13,
    }


# -- the generated schema: hospital → patient → visit, fan-out up to 100 ----------------------
def test_generated_schema_fan_out(
    hospital: tuple[list[Table], list[Link], MultiTableResult],
) -> None:
    tables, links, _ = hospital
    by_name = {t.name: t.data for t in tables}
    for link in links:
        counts = children_per_parent(by_name[link.parent], by_name[link.child], link)
        assert counts.max() <= 100
        assert counts.max() >= 50  # large families exist
    # visits are listed patient by patient (each patient's visits in one run of rows), as in a
    # real extract: the originals' row order follows their keys
    visit_patients = by_name["visit"]["patient_id"]
    runs = int((visit_patients != visit_patients.shift()).sum())
    assert runs == visit_patients.nunique()


def test_generated_schema_keys_and_fan_out_kept(
    hospital: tuple[list[Table], list[Link], MultiTableResult],
) -> None:
    tables, links, result = hospital
    check_keys(tables, links, result)
    by_name = {t.name: t.data for t in tables}
    signal = signal_metrics_tables(tables, links, result.avatars())
    for link, relation in zip(links, signal.links, strict=True):
        original = children_per_parent(by_name[link.parent], by_name[link.child], link)
        avatars = children_per_parent(
            result.tables[link.parent].avatars, result.tables[link.child].avatars, link
        )
        assert relation.children_per_parent_ks <= 0.1
        assert avatars.max() < original.max()  # the largest family is not released as it is
        # the avatar parents are not their originals' families: few children sit under the
        # avatar of their own original parent
        own = pd.Index(by_name[link.parent][link.parent_key]).get_indexer(
            by_name[link.child][link.foreign_key]
        )
        attached = pd.Index(result.tables[link.parent].unshuffled[link.parent_key]).get_indexer(
            result.tables[link.child].unshuffled[link.foreign_key]
        )
        assert np.mean(own == attached) < 0.1


def test_generated_schema_privacy(
    hospital: tuple[list[Table], list[Link], MultiTableResult],
) -> None:
    tables, links, result = hospital
    privacy = privacy_metrics_tables(
        tables,
        links,
        result.unshuffled(),
        seed=0,
        computation_types=[ComputationType.standalone, ComputationType.to_bottom_id_propagated],
    )
    rates = {(m.table, m.computation_type.value): m.hidden_rate for m in privacy}
    assert set(rates) == {
        ("hospital", "standalone"),
        ("patient", "standalone"),
        ("visit", "to_bottom_id_propagated"),
    }
    assert all(rate is not None and rate >= 90 for rate in rates.values()), rates


def test_datetimes_booleans_missing_values_and_exclusions() -> None:
    tables, links = bundled()
    rng = np.random.default_rng(0)
    patient, doctor, visit = (t.data.copy() for t in tables)
    visit["date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        rng.integers(0, 365, len(visit)), unit="D"
    )
    doctor["since"] = pd.Timestamp("2000-01-01") + pd.to_timedelta(
        rng.integers(0, 7000, len(doctor)), unit="D"
    )
    patient["smoker"] = rng.random(len(patient)) < 0.3
    patient.loc[rng.random(len(patient)) < 0.1, "weight"] = np.nan
    excluded = TableParameters(exclude_variables=["height"], exclude_method="row_order")
    tables = [
        Table("patient", patient, "p_id", parameters=excluded),
        Table("doctor", doctor, "d_id"),
        Table("visit", visit, "visit_id"),
    ]
    result = avatarize_tables(tables, links, seed=0)
    check_keys(tables, links, result)
    assert result.tables["visit"].avatars["date"].dtype == visit["date"].dtype
    assert result.tables["patient"].avatars["smoker"].dtype == bool
    assert result.tables["patient"].avatars["weight"].isna().any()
    # row_order re-attaches excluded values to their own avatars: SENSITIVE, and said so
    assert result.warnings == [
        "table 'patient': excluded variable(s) 'height' are re-attached by row order "
        "(SENSITIVE: each avatar carries its original's values; use coordinate_similarity "
        "to avoid it)"
    ]
    assert not any(c.endswith("::height") for c in result.tables["visit"].enrichment_columns)
    privacy = privacy_metrics_tables(tables, links, result.unshuffled(), seed=0)
    assert all(m.hidden_rate is not None for m in privacy)


# -- independent tables: no link uses them, avatarized on their own ---------------------------
def independent_tables() -> tuple[list[Table], list[Link]]:
    """Patients and their visits (linked), doctors with their key but no link, and a keyless
    survey table."""
    rng = np.random.default_rng(3)
    survey = pd.DataFrame(
        {"score": rng.normal(50, 10, 80).round(1), "answer": rng.choice(["yes", "no"], 80)}
    )
    visit = pd.read_csv(EXAMPLES / "visit.csv").drop(columns=["doctor_id"])
    tables = [
        Table("patient", pd.read_csv(EXAMPLES / "patient.csv"), "p_id"),
        Table("visit", visit, "visit_id"),
        Table("doctor", pd.read_csv(EXAMPLES / "doctor.csv"), "d_id"),
        Table("survey", survey),
    ]
    return tables, [Link("patient", "p_id", "visit", "patient_id")]


def test_two_independent_tables_without_keys() -> None:
    rng = np.random.default_rng(0)
    first = pd.DataFrame({"x": rng.normal(size=60), "y": rng.choice(list("abc"), 60)})
    second = pd.DataFrame({"u": rng.normal(size=40), "v": rng.integers(0, 9, 40)})
    tables = [Table("first", first), Table("second", second, parameters=TableParameters(k=5))]
    result = avatarize_tables(tables, [], seed=0)
    assert not result.links and not result.warnings
    for table in tables:
        avatar = result.tables[table.name]
        assert list(avatar.avatars.columns) == list(table.data.columns)
        assert len(avatar.avatars) == len(avatar.unshuffled) == len(table.data)
        assert avatar.enrichment_columns == []  # avatarized on its own rows
        assert list(avatar.avatarization.unshuffled.columns) == list(table.data.columns)
        # the deliverable is the unshuffled avatars in another order
        assert not avatar.avatars.equals(avatar.unshuffled)
        ordered = avatar.avatars.sort_values(list(table.data.columns)).reset_index(drop=True)
        assert ordered.equals(
            avatar.unshuffled.sort_values(list(table.data.columns)).reset_index(drop=True)
        )
    assert result.metadata["tables"]["first"]["k"] == 6  # the single-table advice: 0.75·√60
    privacy = privacy_metrics_tables(tables, [], result.unshuffled(), seed=0)
    assert {(m.table, m.computation_type) for m in privacy} == {
        ("first", ComputationType.standalone),
        ("second", ComputationType.standalone),
    }
    assert set(signal_metrics_tables(tables, [], result.avatars()).tables) == {"first", "second"}


def test_independent_tables_beside_a_linked_pair() -> None:
    tables, links = independent_tables()
    result = avatarize_tables(tables, links, seed=0)
    linked = [t for t in tables if t.name in ("patient", "visit")]
    check_keys(linked, links, result)
    assert [r.link for r in result.links] == links
    assert result.tables["doctor"].enrichment_columns == []
    assert result.tables["survey"].enrichment_columns == []
    assert result.tables["patient"].enrichment_columns  # the linked ones are enriched
    # the independent table with a key: new pseudonymous keys, none an original key value
    originals = {
        str(v)
        for table, column in (
            ("patient", "p_id"),
            ("visit", "visit_id"),
            ("visit", "patient_id"),
            ("doctor", "d_id"),
        )
        for v in tables[["patient", "visit", "doctor"].index(table)].data[column]
    }
    doctor = result.tables["doctor"]
    keys = doctor.avatars["d_id"]
    assert keys.is_unique and keys.notna().all()
    assert not set(keys.astype(str)) & originals
    # shuffled: the deliverable's row order does not follow the unshuffled (original) order
    position = pd.Index(keys).get_indexer(doctor.unshuffled["d_id"])
    assert sorted(position) == list(range(len(keys)))
    assert abs(spearmanr(np.arange(len(keys)), position).statistic) < 0.3
    privacy = privacy_metrics_tables(tables, links, result.unshuffled(), seed=0)
    types = {(m.table, m.computation_type) for m in privacy}
    assert ("doctor", ComputationType.standalone) in types
    assert ("survey", ComputationType.standalone) in types
    assert ("doctor", ComputationType.to_top_enriched) not in types
    assert ("patient", ComputationType.to_top_enriched) in types
    signal = signal_metrics_tables(tables, links, result.avatars())
    assert set(signal.tables) == {"patient", "visit", "doctor", "survey"}
    assert len(signal.links) == 1


def test_independent_tables_same_seed_same_bytes() -> None:
    tables, links = independent_tables()
    first = avatarize_tables(tables, links, seed=5)
    again = avatarize_tables(list(reversed(tables)), links, seed=5)
    other = avatarize_tables(tables, links, seed=6)
    for name in ("patient", "visit", "doctor", "survey"):
        csv = first.tables[name].avatars.to_csv(index=False).encode()
        assert csv == again.tables[name].avatars.to_csv(index=False).encode()
        assert csv != other.tables[name].avatars.to_csv(index=False).encode()


def test_the_attackers_knowledge_is_measured_on_its_table(
    example: tuple[list[Table], list[Link], MultiTableResult],
) -> None:
    """A table's ``known_variables`` and ``target`` (the privacy document's attacker) give its
    computations the linkability and inference metrics; the other tables are measured as
    before. Unknown columns are refused, naming table and column."""
    tables, links, result = example
    knowledge = {
        "patient": TableParameters(
            known_variables=["gender", "age"], target="weight", quantile_threshold=10
        ),
        # a table whose rows are not persons (measured per person too)
        "visit": TableParameters(known_variables=["day_visit"], target="exam"),
    }
    attacked = [
        Table(t.name, t.data, t.primary_key, parameters=knowledge[t.name])
        if t.name in knowledge
        else t
        for t in tables
    ]
    privacy = privacy_metrics_tables(attacked, links, result.unshuffled(), seed=0)
    names: dict[str, set[str]] = {}
    for m in privacy:
        names.setdefault(m.table, set()).update(row["name"] for row in m.to_dict()["metrics"])
    assert {"correlation_protection_rate", "inference_continuous"} <= names["patient"]
    assert {"correlation_protection_rate", "inference_categorical"} <= names["visit"]
    assert not {"correlation_protection_rate", "inference_continuous"} & names["doctor"]
    unknown = [
        Table(t.name, t.data, t.primary_key, parameters=TableParameters(known_variables=["zip"]))
        if t.name == "doctor"
        else t
        for t in tables
    ]
    with pytest.raises(SchemaError, match=r"known_variables names an unknown column") as caught:
        privacy_metrics_tables(unknown, links, result.unshuffled(), seed=0)
    assert any(p.table == "doctor" and p.column == "zip" for p in caught.value.problems)


def test_a_holdout_measures_membership_on_its_table(
    example: tuple[list[Table], list[Link], MultiTableResult],
) -> None:
    """A table's holdout (persons the avatarization did not see) adds the DCR share and the
    membership-inference AUC to its standalone computation; a table whose rows are not persons
    cannot take one, nor can a holdout without the table's columns (named)."""
    tables, links, result = example
    doctors = next(t for t in tables if t.name == "doctor")
    rng = np.random.default_rng(1)
    holdout = doctors.data.sample(20, random_state=0).assign(
        age=lambda d: d["age"] + rng.normal(0, 1, len(d))
    )
    with_holdout = [
        Table(t.name, t.data, t.primary_key, holdout=holdout) if t.name == "doctor" else t
        for t in tables
    ]
    privacy = privacy_metrics_tables(with_holdout, links, result.unshuffled(), seed=0)
    measured = {
        (m.table, m.computation_type): {row["name"] for row in m.to_dict()["metrics"]}
        for m in privacy
    }
    membership = {"dcr_share", "membership_inference_auc"}
    assert membership <= measured[("doctor", ComputationType.standalone)]
    assert not membership & measured[("doctor", ComputationType.to_top_enriched)]
    assert not membership & measured[("patient", ComputationType.standalone)]

    visits = next(t for t in tables if t.name == "visit")
    refused = [
        Table(t.name, t.data, t.primary_key, holdout=visits.data.head(10))
        if t.name == "visit"
        else Table(t.name, t.data, t.primary_key, holdout=holdout[["d_id"]])
        if t.name == "doctor"
        else t
        for t in tables
    ]
    with pytest.raises(SchemaError) as caught:
        privacy_metrics_tables(refused, links, result.unshuffled(), seed=0)
    problems = {p.table: str(p) for p in caught.value.problems}
    assert "only a table whose rows are persons" in problems["visit"]
    assert "the holdout lacks the table's column(s) 'job', 'age'" in problems["doctor"]
