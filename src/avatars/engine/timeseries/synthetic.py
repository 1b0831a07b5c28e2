"""A seeded set of individuals with series of known seasonal shapes (tests and benchmark).

Each individual has ``age`` (20-80), ``sex`` (F/M), ``group`` (A 50 %, B 30 %, C 20 %) and
``bmi`` (N(25, 4)), and is followed over about a year: ``n_i`` points (uniform in
``[min_points, max_points]``) from a start day uniform in [0, 60), over a duration uniform in
[335, 395] days, regularly spaced with a jitter of ±30 % of a step (times in days, 3 decimals).
With ``u`` the fraction of the individual's window elapsed (0 to 1) and ``z`` standard normal
draws per individual, its series are::

    temperature = 36.8 + 0.02 (age − 50)/10 + a_i sin(2π u) + N(0, 0.1²)       (°C)
        a_i = (0.3, 0.5, 0.7 for groups A, B, C) · (1 + 0.2 z)
    steps       = 9000 − 40 (age − 50) + 800 z + 2000 sin(4π u + φ_i) + N(0, 600²)
        φ_i ~ N(0, 0.3²)                                                        (per day)
    weight      = 2.89 bmi_i + b_i u + 1.5 cos(2π u) + N(0, 0.4²)               (kg)
        b_i ~ N(0, 2²)

so the mean curves are known (``36.8 + …  + E[a] sin 2πu`` …), the variables have very different
scales, and the individual table carries part of the series' signal (age, group, bmi). A share
``missing_share`` of each variable's values is missing, at random points.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Mean seasonal amplitude of the temperature by group.
TEMPERATURE_AMPLITUDE = {"A": 0.3, "B": 0.5, "C": 0.7}


def generate_seasonal_series(
    n_individuals: int = 1_000,
    *,
    min_points: int = 50,
    max_points: int = 200,
    missing_share: float = 0.02,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(individuals, series)``: the individual table (key ``patient_id``) and one series
    table (``obs_id``, ``patient_id``, ``day``, ``temperature``, ``steps``, ``weight``), rows
    by individual then time. The same arguments give the same tables."""
    if not 2 <= min_points <= max_points:
        raise ValueError(f"need 2 ≤ min_points ≤ max_points, got {min_points}, {max_points}")
    rng = np.random.default_rng(seed)
    n = n_individuals
    age = rng.integers(20, 81, n)
    sex = rng.choice(np.array(["F", "M"]), n)
    group = rng.choice(np.array(["A", "B", "C"]), n, p=[0.5, 0.3, 0.2])
    bmi = np.round(rng.normal(25.0, 4.0, n), 1)
    individuals = pd.DataFrame(
        {
            "patient_id": np.arange(n, dtype=np.int64),
            "age": age,
            "sex": pd.Categorical(sex),
            "group": pd.Categorical(group),
            "bmi": bmi,
        }
    )
    lengths = rng.integers(min_points, max_points + 1, n)
    owner = np.repeat(np.arange(n), lengths)
    position = np.arange(owner.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    steps = 1.0 / (lengths - 1)
    jitter = rng.uniform(-0.3, 0.3, owner.size) * steps[owner]
    u = position * steps[owner]
    interior = (position > 0) & (position < lengths[owner] - 1)
    u = np.where(interior, u + jitter, u)
    start = rng.uniform(0.0, 60.0, n)
    duration = rng.uniform(335.0, 395.0, n)
    day = np.round(start[owner] + duration[owner] * u, 3)
    amplitude = np.vectorize(TEMPERATURE_AMPLITUDE.get)(group) * (1 + 0.2 * rng.standard_normal(n))
    level = 9000.0 - 40.0 * (age - 50) + 800.0 * rng.standard_normal(n)
    phase = rng.normal(0.0, 0.3, n)
    slope = rng.normal(0.0, 2.0, n)
    size = owner.size
    temperature = (
        36.8
        + 0.002 * (age[owner] - 50)
        + amplitude[owner] * np.sin(2 * np.pi * u)
        + rng.normal(0.0, 0.1, size)
    )
    steps_per_day = (
        level[owner] + 2000.0 * np.sin(4 * np.pi * u + phase[owner]) + rng.normal(0.0, 600.0, size)
    )
    weight = (
        2.89 * bmi[owner]
        + slope[owner] * u
        + 1.5 * np.cos(2 * np.pi * u)
        + rng.normal(0.0, 0.4, size)
    )
    values = {
        "temperature": np.round(temperature, 2),
        "steps": np.round(steps_per_day, 0),
        "weight": np.round(weight, 1),
    }
    for name in values:
        values[name][rng.random(size) < missing_share] = np.nan
    series = pd.DataFrame(
        {
            "obs_id": np.arange(size, dtype=np.int64),
            "patient_id": owner.astype(np.int64),
            "day": day,
            **values,
        }
    )
    return individuals, series
