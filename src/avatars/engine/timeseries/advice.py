"""Advised parameters for avatarizing individuals with their series (method.md §6.7, ours).

The rules, so that a user can check them:

- ``nb_points`` per series table: the median series length, within [10, 200] (and at least
  the advised ``nf``). A finer grid than the typical series adds interpolated points, not
  information; 200 points keep a daily cycle over months and bound the FPCA's m × m problem.
- ``nf`` per series table: the number of leading FPCA components of which each explains at
  least :data:`MIN_COMPONENT_SHARE` (1 %) of its variable's variance, the largest over the
  table's variables, within [1, 10]. Components past that are mostly measurement noise: with
  them the avatars would carry noise that an attacker could match, and no shape.
- ``k``: the smallest of :data:`K_CANDIDATES` (below the number of individuals) whose hidden
  rate, measured by avatarizing the joined table with these ``nf`` and ``nb_points``, reaches
  the target (90 %) plus a margin of :data:`HIDDEN_RATE_MARGIN` points, found by bisection
  (the hidden rate grows with k). Series make individuals far more distinct than a few
  columns do, so the single-table rule (``0.75 √n`` within [5, 20]) is often too small: on
  the generated set of ``synthetic.py`` (1,000 individuals) k = 20 hides 88 % of them and
  k = 50 about 92 %. The search runs on a random subsample of at most
  :data:`SEARCH_INDIVIDUALS` individuals: the hidden rate depends on k much more than on the
  number of individuals, but it drops a little as they grow, which the margin absorbs
  (measured on the generated set of 10,000 individuals × 200 points: advised k = 60, whose
  hidden rate is 93.3 % on the 2,000-individual sample and 91.3 % on all 10,000).
- ``ncp``: 5, the documented default (fewer when the joined table has fewer dimensions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from avatars.engine.avatarization import avatarize
from avatars.engine.imputation import ImputationParameters
from avatars.engine.privacy import privacy_metrics
from avatars.engine.schema import ColumnType
from avatars.engine.timeseries.alignment import align
from avatars.engine.timeseries.data import SeriesTable, read_series
from avatars.engine.timeseries.features import SeriesEncoder, SeriesParameters
from avatars.engine.timeseries.projection import CurveProjection
from avatars.protocol.enums import AlignmentMethod, ProjectionType

#: A component is advised while it explains at least this share of its variable's variance.
MIN_COMPONENT_SHARE = 0.01
MAX_ADVISED_NF = 10
MIN_ADVISED_POINTS = 10
MAX_ADVISED_POINTS = 200
#: Values of k tried by the hidden-rate search.
K_CANDIDATES = (5, 10, 15, 20, 30, 40, 50, 60, 75, 100, 125, 150, 200, 300, 500)
TARGET_HIDDEN_RATE = 90.0
HIDDEN_RATE_MARGIN = 2.0
SEARCH_INDIVIDUALS = 2_000


def advise_time_series(
    individuals: pd.DataFrame,
    series_tables: Sequence[SeriesTable],
    *,
    individual_key: str,
    seed: int = 0,
    column_types: Mapping[str, str | ColumnType] | None = None,
    imputation: ImputationParameters | Mapping[str, Any] | None = None,
    target_hidden_rate: float = TARGET_HIDDEN_RATE,
) -> dict[str, Any]:
    """Advised ``k``, ``ncp`` and, per series table, ``nb_points`` and ``nf`` (module docstring).

    Returns ``{"k", "ncp", "series": {table: {"projection_type", "nf", "nb_points", "method"}},
    "hidden_rate", "search": [{"k", "hidden_rate"}, ...], "search_individuals"}`` (hidden rates
    measured on the search sample), JSON-ready.
    """
    keys = pd.Index(individuals[individual_key])
    series_advice = {spec.name: advise_grid(spec, keys) for spec in series_tables}
    sample = _sample(len(individuals), seed)
    sample_individuals = individuals.iloc[sample].reset_index(drop=True)
    sample_keys = set(sample_individuals[individual_key])
    sample_tables = [
        SeriesTable(
            spec.name,
            spec.data[spec.data[spec.individual_key].isin(sample_keys)],
            spec.individual_key,
            spec.time,
            spec.primary_key,
        )
        for spec in series_tables
    ]
    parameters = {
        name: SeriesParameters(nf=a["nf"], nb_points=a["nb_points"])
        for name, a in series_advice.items()
    }
    encoder = SeriesEncoder.fit(sample_individuals[individual_key], sample_tables, parameters)
    joined = pd.concat(
        [sample_individuals.drop(columns=[individual_key]), encoder.features], axis=1
    )
    search = _HiddenRateSearch(
        joined,
        seed=seed,
        column_types={**encoder.column_types, **(column_types or {})},
        column_weights=encoder.column_weights,
        imputation=imputation,
    )
    k = search.smallest_k(target_hidden_rate + HIDDEN_RATE_MARGIN)
    return {
        "k": k,
        "ncp": search.ncp[k],
        "series": series_advice,
        "hidden_rate": search.measured[k],
        "search": [{"k": c, "hidden_rate": search.measured[c]} for c in sorted(search.measured)],
        "search_individuals": len(joined),
    }


def advise_grid(spec: SeriesTable, keys: pd.Index) -> dict[str, Any]:
    """``nb_points`` and ``nf`` of one series table (module docstring)."""
    data = read_series(spec, keys)
    lengths = data.lengths[data.lengths > 0]
    nb_points = int(np.clip(np.rint(np.median(lengths)), MIN_ADVISED_POINTS, MAX_ADVISED_POINTS))
    aligned = align(data, nb_points)
    nf = 1
    for v in range(len(data.variables)):
        projection = CurveProjection.fit(
            aligned.curves[:, v, :], aligned.grid, ProjectionType.FPCA, nb_points
        )
        strong = projection.explained_variance_ratio >= MIN_COMPONENT_SHARE
        nf = max(nf, int(np.sum(np.cumprod(strong))))  # the leading run of strong components
    return {
        "projection_type": ProjectionType.FPCA.value,
        "nf": min(nf, MAX_ADVISED_NF, nb_points),
        "nb_points": nb_points,
        "method": AlignmentMethod.SPECIFIED.value,
    }


def _sample(n: int, seed: int) -> np.ndarray:
    if n <= SEARCH_INDIVIDUALS:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, SEARCH_INDIVIDUALS, replace=False))


class _HiddenRateSearch:
    """Hidden rates of the joined table avatarized with candidate values of k (memoized)."""

    def __init__(
        self,
        joined: pd.DataFrame,
        *,
        seed: int,
        column_types: Mapping[str, str | ColumnType],
        column_weights: Mapping[str, float],
        imputation: ImputationParameters | Mapping[str, Any] | None,
    ) -> None:
        self.joined = joined
        self.seed = seed
        self.options: dict[str, Any] = {
            "column_types": column_types,
            "column_weights": column_weights,
            "imputation": imputation,
        }
        self.measured: dict[int, float] = {}
        self.ncp: dict[int, int] = {}

    def hidden_rate(self, k: int) -> float:
        if k not in self.measured:
            result = avatarize(self.joined, k=k, seed=self.seed, **self.options)
            ncp = int(result.metadata["parameters"]["ncp"])
            metrics = privacy_metrics(
                self.joined, result.unshuffled, ncp=ncp, seed=self.seed, **self.options
            )
            self.measured[k] = float(metrics.value("hidden_rate") or 0.0)
            self.ncp[k] = ncp
        return self.measured[k]

    def smallest_k(self, goal: float) -> int:
        """The first of :data:`K_CANDIDATES` (below the number of rows) whose hidden rate
        reaches ``goal``, by bisection; the last candidate if none does."""
        n = len(self.joined)
        candidates = [k for k in K_CANDIDATES if k < n] or [max(2, n - 1)]
        low, high = 0, len(candidates) - 1
        while low < high:
            middle = (low + high) // 2
            if self.hidden_rate(candidates[middle]) >= goal:
                high = middle
            else:
                low = middle + 1
        self.hidden_rate(candidates[low])
        return candidates[low]
