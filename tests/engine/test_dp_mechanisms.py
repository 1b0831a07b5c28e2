"""The DP mechanisms keep their promise: an empirical privacy-loss test on a toy query.

Design. A mechanism M is ε-DP when, for neighbouring tables D and D' (here: the same rows
but one, moved from cell 0 to cell 1, "replace one") and every event E,
P[M(D) ∈ E] ≤ e^ε · P[M(D') ∈ E]. We release the toy query (the counts of 3 cells, 30/20/0
rows) many times on D and on D' and look at the event E = {count₀ ≥ 30 and count₁ ≤ 20}
(the noise on cell 0 is ≥ 0 and on cell 1 ≤ 0 under D). For a Laplace mechanism calibrated
to ε this event is *tight*: its log-ratio is exactly ε (each cell contributes ε/2), so the
test can see a violation as well as a success. With N releases per table, Clopper-Pearson
intervals (99.9 % each side) give a lower confidence bound L and an upper bound U of
log(P_D[E] / P_D'[E]):

- privacy: L ≤ ε (no significant evidence of a loss above ε); the reverse event too;
- calibration: U ≥ ε (the test could see a loss of ε: it is not vacuous);
- power: the same test flags a mechanism calibrated to 2ε but claimed as ε (L > ε).

Expected values at ε = 1 (discrete Laplace of scale 2/ε): P_D[E] = 0.388, P_D'[E] = 0.143;
with N = 5000 the bounds are about ±0.15 around the log-ratio 1.0, and a 2ε mechanism has
log-ratio 2.0 (L ≈ 1.8). Runtime: a few seconds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import beta

pytest.importorskip("opendp")

from avatars.engine.dp.latent import histogram_counts
from avatars.engine.dp.opendp_mechanisms import counts_measurement, noisy_argmax

EPSILON = 1.0
TRIALS = 5000
CONFIDENCE = 0.999
D = np.array([0] * 30 + [1] * 20)  # 3 cells: 30, 20, 0
D_PRIME = np.array([0] * 29 + [1] * 21)  # one row moved from cell 0 to cell 1


def clopper_pearson(successes: int, trials: int) -> tuple[float, float]:
    alpha = 1.0 - CONFIDENCE
    low = beta.ppf(alpha, successes, trials - successes + 1) if successes else 0.0
    high = beta.ppf(1 - alpha, successes + 1, trials - successes) if successes < trials else 1.0
    return float(low), float(high)


def log_ratio_bounds(hits_d: int, hits_d_prime: int, trials: int) -> tuple[float, float]:
    """Confidence bounds (L, U) of log(P_D[E] / P_D'[E])."""
    low_d, high_d = clopper_pearson(hits_d, trials)
    low_p, high_p = clopper_pearson(hits_d_prime, trials)
    lower = math.log(max(low_d, 1e-300) / high_p)
    upper = math.log(high_d / max(low_p, 1e-300))
    return lower, upper


def tight_event(counts: np.ndarray) -> bool:
    return counts[0] >= 30 and counts[1] <= 20


def reverse_event(counts: np.ndarray) -> bool:
    """The mirror event, tight in the other direction (D' more likely than D)."""
    return counts[0] <= 29 and counts[1] >= 21


def release_hits(claimed_epsilon: float, event) -> tuple[int, int]:
    measurement, spent, _ = counts_measurement(3, claimed_epsilon)
    assert spent <= claimed_epsilon
    on_d = sum(event(np.asarray(measurement(D.tolist()))) for _ in range(TRIALS))
    on_d_prime = sum(event(np.asarray(measurement(D_PRIME.tolist()))) for _ in range(TRIALS))
    return on_d, on_d_prime


def test_opendp_counts_stay_within_epsilon_and_the_test_can_see_it():
    hits_d, hits_p = release_hits(EPSILON, tight_event)
    lower, upper = log_ratio_bounds(hits_d, hits_p, TRIALS)
    assert lower <= EPSILON, (lower, hits_d, hits_p)
    assert upper >= EPSILON, (upper, hits_d, hits_p)  # tight: the loss ε is within reach
    back_p, back_d = release_hits(EPSILON, reverse_event)
    assert log_ratio_bounds(back_d, back_p, TRIALS)[0] <= EPSILON


def test_a_mechanism_spending_twice_its_claim_is_caught():
    hits_d, hits_p = release_hits(2 * EPSILON, tight_event)  # calibrated to 2ε …
    lower, _ = log_ratio_bounds(hits_d, hits_p, TRIALS)
    assert lower > EPSILON, (lower, hits_d, hits_p)  # … caught when claimed as ε


def test_fastdp_histogram_release_stays_within_epsilon():
    """The same test on FastDP's histogram mechanism (continuous Laplace, numpy): one latent
    dimension, 10 bins, 30 points in bin 0 and 20 in bin 9 under D, one moved under D'."""
    points_d = np.array([-0.95] * 30 + [0.95] * 20)[:, None]
    points_p = np.array([-0.95] * 29 + [0.95] * 21)[:, None]
    rng = np.random.default_rng(7)
    trials = 10_000

    def hits(points: np.ndarray, claimed: float) -> int:
        releases = [histogram_counts(points, claimed, rng, 1, 10)[0] for _ in range(trials)]
        return sum(bool(c[0] >= 30 and c[9] <= 20) for c in releases)

    honest = log_ratio_bounds(hits(points_d, EPSILON), hits(points_p, EPSILON), trials)
    assert honest[0] <= EPSILON <= honest[1], honest
    broken = log_ratio_bounds(hits(points_d, 2 * EPSILON), hits(points_p, 2 * EPSILON), trials)
    assert broken[0] > EPSILON, broken


def test_noisy_argmax_prefers_the_best_score_and_spends_what_it_says():
    index, spent = noisy_argmax([0.0, 0.0, 1e6], epsilon=1.0, sensitivity=2.0)
    assert index == 2
    assert 0.99 <= spent <= 1.0
