"""The OpenDP measurements that AvatarOpenDP spends its budget on.

Two primitives, both built from OpenDP's own measurements (``opendp`` ≥ 0.16, Rust core,
noise from a cryptographically secure generator that cannot be seeded, by design):

- :func:`noisy_counts`: a histogram of integer codes (``make_count_by_categories``) released
  with discrete Laplace noise (``then_laplace``);
- :func:`noisy_argmax`: report-noisy-max (``make_noisy_max``) over a vector of scores.

Each primitive is given the privacy loss it may spend and the distance between neighbouring
inputs; it builds the measurement, asks OpenDP's privacy map for the loss it actually has,
and returns it with the release, so that the caller's accounting holds OpenDP's numbers, not
ours. Neighbouring tables differ in one individual's rows (``rows_per_individual`` rows
replaced): in OpenDP's terms a symmetric distance of ``2 × rows_per_individual``.

OpenDP's contrib features are enabled only inside these functions' measurements (the
library asks callers to opt in to components whose proofs are under review).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from avatars.engine.errors import AvatarsEngineError

#: Slack on the noise scale so that OpenDP's (conservatively rounded) privacy map stays
#: within the loss we asked for.
SCALE_SLACK = 1.0 + 1e-9


class MissingDPDependencyError(AvatarsEngineError):
    """AvatarOpenDP needs the optional ``dp`` dependencies."""


def import_opendp() -> Any:
    """``opendp.prelude`` with contrib features on, or a clear error naming the extra."""
    try:
        import opendp.prelude as dp
    except ImportError:  # pragma: no cover - depends on the installation
        raise MissingDPDependencyError(
            "AvatarOpenDP needs OpenDP and private-pgm: pip install 'avatars[dp]'"
        ) from None
    dp.enable_features("contrib")
    return dp


@dataclass(frozen=True)
class Release:
    """A DP release and the privacy loss (ε) that OpenDP's map gives for it."""

    value: np.ndarray
    epsilon: float
    scale: float


def symmetric_distance(rows_per_individual: int) -> int:
    """Neighbouring tables as OpenDP's symmetric distance: replacing ``m`` rows removes
    ``m`` and adds ``m``."""
    return 2 * rows_per_individual


def counts_measurement(
    n_categories: int, epsilon: float, rows_per_individual: int = 1
) -> tuple[Any, float, float]:
    """The OpenDP measurement behind :func:`noisy_counts`: ``(measurement, ε from OpenDP's
    map, noise scale)``. The measurement takes a list of codes and returns noisy counts."""
    dp = import_opendp()
    d_in = symmetric_distance(rows_per_individual)
    histogram = dp.t.make_count_by_categories(
        dp.vector_domain(dp.atom_domain(T=dp.i64)),
        dp.symmetric_distance(),
        categories=list(range(n_categories)),
        null_category=False,
        MO=dp.L1Distance[dp.i64],
    )
    scale = float(histogram.map(d_in)) / epsilon * SCALE_SLACK
    measurement = histogram >> dp.m.then_laplace(scale=scale)
    spent = float(measurement.map(d_in))
    _check_spent(spent, epsilon, "noisy counts")
    return measurement, spent, scale


def noisy_counts(
    codes: np.ndarray, n_categories: int, epsilon: float, rows_per_individual: int = 1
) -> Release:
    """Counts of ``codes`` (integers in ``[0, n_categories)``) with discrete Laplace noise.

    The histogram moves by at most ``2m`` in L1 norm between neighbours (``m`` rows each
    leave one cell and enter another), so the scale is ``2m / ε`` and OpenDP's map confirms
    the loss.
    """
    measurement, spent, scale = counts_measurement(n_categories, epsilon, rows_per_individual)
    released = measurement(np.asarray(codes, dtype=np.int64).tolist())
    return Release(np.asarray(released, dtype=np.float64), spent, scale)


def noisy_argmax(
    scores: Sequence[float] | np.ndarray,
    epsilon: float,
    sensitivity: float,
    rows_per_individual: int = 1,
) -> tuple[int, float]:
    """Index of the (noisily) largest score, and the ε spent.

    ``sensitivity``: how much one score can move when one row is replaced; with ``m`` rows
    per individual it is multiplied by ``m``.
    """
    dp = import_opendp()
    d_in = float(sensitivity * rows_per_individual)
    domain = dp.vector_domain(dp.atom_domain(T=float, nan=False))
    metric = dp.linf_distance(T=float, monotonic=False)

    def make(scale: float) -> Any:
        return dp.m.make_noisy_max(domain, metric, dp.max_divergence(), scale=scale)

    # the map is linear in 1/scale: one probe gives the scale for ε
    scale = float(make(1.0).map(d_in)) / epsilon * SCALE_SLACK
    measurement = make(scale)
    spent = float(measurement.map(d_in))
    _check_spent(spent, epsilon, "noisy argmax")
    return int(measurement([float(s) for s in scores])), spent


def _check_spent(spent: float, allowed: float, what: str) -> None:
    if not math.isfinite(spent) or spent > allowed:
        raise RuntimeError(f"{what}: OpenDP's privacy map gives ε = {spent} > {allowed}")
