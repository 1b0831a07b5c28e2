"""A synthetic three-level schema, hospital → patient → visit, of any size (tests, benchmarks).

- ``hospital`` (individual level: it has no parent): ``hospital_id`` (text ``"H0001"``…),
  ``region`` (4), ``beds``, ``teaching`` (bool), ``rating``;
- ``patient`` (individual level): ``patient_id`` (int), ``hospital_id``, ``age``, ``sex``,
  ``bmi``, ``chronic`` (none / diabetes / cardio / respiratory), ``income``;
- ``visit``: ``visit_id`` (int), ``patient_id``, ``cost``, ``duration`` (minutes),
  ``department`` (5), ``emergency`` (bool).

Relations carry signal, so that the relational metrics have something to keep: larger
hospitals have more patients; teaching hospitals older and more chronic patients; older and
chronic patients more visits (fan-out 0 to ``max_fanout``, skewed); a visit's cost follows
its patient's age and condition. Fan-outs are drawn from gamma-distributed rates and
apportioned so that the totals are exactly ``n_patients`` and ``n_visits``, each at most
``max_fanout``. Visits are listed patient by patient (as in a real extract): their row order
follows the original keys, which the avatars must not reveal. Deterministic for a given seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from avatars.engine import InvalidParameterError
from avatars.engine.multitable.schema import Link, Table, TableParameters

REGIONS = np.array(["north", "south", "east", "west"])
CONDITIONS = np.array(["none", "diabetes", "cardio", "respiratory"])
DEPARTMENTS = np.array(["general", "cardiology", "pneumology", "endocrinology", "emergency"])


def synthetic_hospital_tables(
    n_patients: int = 1_000,
    n_visits: int = 10_000,
    *,
    n_hospitals: int | None = None,
    max_fanout: int = 100,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """``{"hospital": ..., "patient": ..., "visit": ...}`` (see the module docstring).

    ``n_hospitals`` defaults to ``n_patients // 40`` (at least 2).
    """
    if n_hospitals is None:
        n_hospitals = max(2, n_patients // 40)
    if n_patients > n_hospitals * max_fanout or n_visits > n_patients * max_fanout:
        raise InvalidParameterError(
            "max_fanout", f"{max_fanout} children per parent cannot hold these totals"
        )
    rng = np.random.default_rng(seed)

    # hospitals
    beds = np.clip(rng.lognormal(5.5, 0.5, n_hospitals), 40, 2000).round().astype(int)
    teaching = rng.random(n_hospitals) < 0.3 + 0.3 * (beds > np.median(beds))
    hospital = pd.DataFrame(
        {
            "hospital_id": [f"H{i + 1:04d}" for i in range(n_hospitals)],
            "region": REGIONS[rng.integers(0, len(REGIONS), n_hospitals)],
            "beds": beds,
            "teaching": teaching,
            "rating": np.clip(3.2 + 0.5 * teaching + rng.normal(0, 0.6, n_hospitals), 1, 5).round(
                1
            ),
        }
    )

    # patients: more in larger hospitals
    rate = rng.gamma(2.0, 1.0, n_hospitals) * beds / beds.mean()
    per_hospital = _fanout(rate, n_patients, max_fanout, minimum=1)
    home = np.repeat(np.arange(n_hospitals), per_hospital)
    older = teaching[home]
    age = np.clip(rng.normal(52 + 8 * older, 16), 18, 99).round().astype(int)
    condition_logits = np.column_stack(
        [
            np.full(n_patients, 1.2),
            0.02 * (age - 50) + 0.4 * older,
            0.03 * (age - 50),
            0.01 * (age - 50) - 0.2,
        ]
    )
    condition = _categorical(rng, condition_logits)
    sex = np.where(rng.random(n_patients) < 0.5, "F", "M")
    bmi = (25 + 2.5 * (condition == 1) + rng.normal(0, 3.5, n_patients)).round(1)
    income = np.exp(
        10.3
        + 0.3 * (hospital["region"].to_numpy()[home] == "west")
        + rng.normal(0, 0.45, n_patients)
    ).round(-2)
    patient_ids = rng.permutation(n_patients) + 100_000
    patient = pd.DataFrame(
        {
            "patient_id": patient_ids,
            "hospital_id": hospital["hospital_id"].to_numpy()[home],
            "age": age,
            "sex": sex,
            "bmi": bmi,
            "chronic": CONDITIONS[condition],
            "income": income,
        }
    )

    # visits: more for older and chronic patients
    frailty = np.exp(0.02 * (age - 50) + 0.7 * (condition > 0))
    per_patient = _fanout(rng.gamma(1.2, 1.0, n_patients) * frailty, n_visits, max_fanout, 0)
    owner = np.repeat(np.arange(n_patients), per_patient)
    own_condition = condition[owner]
    department_logits = np.column_stack(
        [
            np.full(n_visits, 1.0),
            1.5 * (own_condition == 2),
            1.5 * (own_condition == 3),
            1.5 * (own_condition == 1),
            np.full(n_visits, -0.5),
        ]
    )
    department = _categorical(rng, department_logits)
    emergency = rng.random(n_visits) < np.where(department == 4, 0.9, 0.08)
    cost = np.exp(
        4.5
        + 0.012 * (age[owner] - 50)
        + 0.4 * (own_condition > 0)
        + 0.6 * emergency
        + rng.normal(0, 0.35, n_visits)
    ).round(2)
    duration = np.clip(rng.normal(25 + 20 * emergency + 0.2 * (age[owner] - 50), 8), 5, 240)
    visit = pd.DataFrame(
        {
            "visit_id": np.arange(n_visits) + 5_000_000,
            "patient_id": patient_ids[owner],
            "cost": cost,
            "duration": duration.round().astype(int),
            "department": DEPARTMENTS[department],
            "emergency": emergency,
        }
    )
    return {"hospital": hospital, "patient": patient, "visit": visit}


def synthetic_hospital_schema(
    n_patients: int = 1_000,
    n_visits: int = 10_000,
    *,
    n_hospitals: int | None = None,
    max_fanout: int = 100,
    seed: int = 0,
    parameters: dict[str, TableParameters] | None = None,
) -> tuple[list[Table], list[Link]]:
    """The tables of :func:`synthetic_hospital_tables` as :class:`Table` and :class:`Link`
    (patient and hospital individual level, both links ``linear_sum_assignment``)."""
    data = synthetic_hospital_tables(
        n_patients, n_visits, n_hospitals=n_hospitals, max_fanout=max_fanout, seed=seed
    )
    parameters = parameters or {}
    tables = [
        Table(
            "hospital",
            data["hospital"],
            "hospital_id",
            True,
            parameters.get("hospital", TableParameters()),
        ),
        Table(
            "patient",
            data["patient"],
            "patient_id",
            True,
            parameters.get("patient", TableParameters()),
        ),
        Table(
            "visit", data["visit"], "visit_id", False, parameters.get("visit", TableParameters())
        ),
    ]
    links = [
        Link("hospital", "hospital_id", "patient", "hospital_id"),
        Link("patient", "patient_id", "visit", "patient_id"),
    ]
    return tables, links


def _categorical(rng: np.random.Generator, logits: np.ndarray) -> np.ndarray:
    """One draw per row from softmax(logits)."""
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    cumulative = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    return (cumulative < rng.random((len(logits), 1))).sum(axis=1)


def _fanout(rate: np.ndarray, total: int, cap: int, minimum: int) -> np.ndarray:
    """Integers ≥ ``minimum`` and ≤ ``cap``, proportional to ``rate``, adding up to ``total``."""
    n = len(rate)
    counts = np.full(n, minimum, dtype=np.int64)
    left = total - counts.sum()
    while left > 0:
        room = counts < cap
        share = np.where(room, rate, 0.0)
        quota = share / share.sum() * left
        add = np.minimum(np.floor(quota).astype(np.int64), cap - counts)
        if add.sum() == 0:  # the rest, one each, to the largest remainders with room
            order = np.lexsort((np.arange(n), -(quota - np.floor(quota))))
            add[order[room[order]][:left]] = 1
        counts += add
        left = total - counts.sum()
    return counts
