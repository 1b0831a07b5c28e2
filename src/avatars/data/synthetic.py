"""A synthetic 'patients' table of any size, for benchmarks and demos at scale.

Ten numeric and six categorical columns driven by three latent factors (health, socio-economic
status, age), so that the columns are correlated as in real data (e.g. blood pressures), with
skewed (income, glucose) and count (length of stay, visits) variables and a few percent of
missing values in ``cholesterol`` and ``smoker``. Deterministic for a given ``seed``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

REGIONS = np.array(["north", "south", "east", "west", "center", "overseas", "capital", "islands"])
DIAGNOSES = np.array([f"DX{i:02d}" for i in range(12)])
BLOOD_TYPES = np.array(["O+", "A+", "B+", "AB+", "O-", "A-", "B-", "AB-"])
BLOOD_SHARES = np.array([0.36, 0.34, 0.09, 0.03, 0.06, 0.06, 0.04, 0.02])


def synthetic_patients(n: int = 50_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n, 3))
    ses = latent[:, 1]
    age = np.clip(50 + 15 * latent[:, 2] + rng.normal(0, 3, n), 18, 95).round()
    sex = np.where(rng.random(n) < 0.52, "F", "M")
    health = 0.6 * latent[:, 0] + 0.3 * latent[:, 2] - 0.2 * ses
    bmi = (26 + 4 * health + rng.normal(0, 2, n) + np.where(sex == "M", 0.8, 0)).round(1)
    sbp = (120 + 0.4 * (age - 50) + 8 * health + rng.normal(0, 8, n)).round()
    dbp = (0.55 * sbp + 10 + rng.normal(0, 5, n)).round()
    cholesterol = (190 + 20 * health + 0.3 * (age - 50) + rng.normal(0, 20, n)).round()
    glucose = np.exp(np.log(95) + 0.12 * health + rng.normal(0, 0.1, n)).round(1)
    heart_rate = (72 + 4 * health + rng.normal(0, 8, n)).round()
    income = np.exp(10.5 + 0.5 * ses + rng.normal(0, 0.4, n)).round(-2)
    length_of_stay = rng.poisson(np.exp(0.5 + 0.35 * health + 0.01 * (age - 50)))
    visits = rng.negative_binomial(3, 1 / (1 + np.exp(0.3 * health + 0.5)))
    smoker = np.where(
        rng.random(n) < 1 / (1 + np.exp(1.2 + 0.6 * ses - 0.3 * latent[:, 0])), "yes", "no"
    )
    region = REGIONS[np.clip(np.abs(ses * 2.5 + rng.normal(0, 1.5, n)).astype(int), 0, 7)]
    dx = np.clip(np.floor((health + 2.5) / 5 * 12 + rng.normal(0, 1.2, n)).astype(int), 0, 11)
    insurance = np.select(
        [ses > 1, ses > 0, ses > -1], ["private_plus", "private", "public"], "none"
    )
    blood = rng.choice(BLOOD_TYPES, n, p=BLOOD_SHARES)
    df = pd.DataFrame(
        {
            "age": age.astype(int),
            "bmi": bmi,
            "sbp": sbp.astype(int),
            "dbp": dbp.astype(int),
            "cholesterol": cholesterol,
            "glucose": glucose,
            "heart_rate": heart_rate.astype(int),
            "income": income,
            "length_of_stay": length_of_stay.astype(int),
            "n_visits": visits.astype(int),
            "sex": sex,
            "smoker": smoker.astype(object),
            "region": region,
            "diagnosis": DIAGNOSES[dx],
            "insurance": insurance,
            "blood_type": blood,
        }
    )
    df.loc[rng.random(n) < 0.03, "cholesterol"] = np.nan
    df.loc[rng.random(n) < 0.02, "smoker"] = None
    return df
