"""Small generated tables of the parameter tests (engine, server, both SDKs): deterministic
for a seed (numpy's PCG64 streams do not change between versions)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def city_table(n: int = 1000, cities: int = 200, seed: int = 0) -> pd.DataFrame:
    """``city`` of 200 modalities (each present, shares uneven) that shifts ``age`` and
    ``income``; ``household_income`` ≥ ``income``."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(cities, 2))
    city = rng.choice(cities, size=n, p=rng.dirichlet(np.full(cities, 2.0)))
    city[:cities] = np.arange(cities)
    age = 45 + 12 * latent[city, 0] + rng.normal(0, 5, n)
    income = 30000 + 9000 * latent[city, 1] + 150 * age + rng.normal(0, 3000, n)
    smoker = np.where(rng.random(n) < 1 / (1 + np.exp(-(age - 45) / 10)), "yes", "no")
    return pd.DataFrame(
        {
            "city": [f"city_{c:03d}" for c in city],
            "age": age.round(1),
            "income": income.round(0),
            "household_income": (income + rng.exponential(15000, n)).round(0),
            "sex": rng.choice(["F", "M"], size=n),
            "smoker": smoker,
        }
    )


def missing_table(n: int = 150, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(10, 2, n)
    df = pd.DataFrame(
        {
            "x1": x1.round(2),
            "x2": (x1 * 0.5 + rng.normal(0, 1, n)).round(2),
            "x3": rng.gamma(2.0, 3.0, n).round(2),
            "group": rng.choice(["a", "b", "c"], size=n),
        }
    )
    for column, rate in (("x2", 0.12), ("x3", 0.2), ("group", 0.08)):
        df.loc[rng.random(n) < rate, column] = np.nan
    return df


def stays_table(patients: int = 60, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(patients):
        t = rng.uniform(0, 100)
        for _ in range(rng.integers(1, 4)):
            t += rng.exponential(20)
            length = rng.exponential(5)
            rows.append(
                {
                    "patient": f"p{p:03d}",
                    "admission": round(t, 2),
                    "discharge": round(t + length, 2),
                    "age": 30 + p % 40,
                }
            )
            t += length
    return pd.DataFrame(rows)


def classes_table(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = {"a": 180, "b": 70, "c": 50}
    label = np.repeat(list(sizes), list(sizes.values()))
    shift = pd.Series(label).map({"a": 0.0, "b": 2.0, "c": -2.0}).to_numpy()
    return pd.DataFrame(
        {
            "u": (rng.normal(0, 1, len(label)) + shift).round(3),
            "v": (rng.normal(0, 1, len(label)) - shift).round(3),
            "w": rng.integers(0, 5, len(label)),
            "label": label,
        }
    )
