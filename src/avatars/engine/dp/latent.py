"""FastDP's mechanisms: a DP model of points in a box, released with the Laplace mechanism.

The input is the projected records ``u`` (n × D), clipped to a box and rescaled to
``[−1, 1]^D``; the number of rows is public (neighbouring tables have the same size and
differ in the rows of one individual: ``m`` points replaced). Each mechanism releases noisy
sums — never a point — and turns them into a model to sample from:

- ``gaussian``: the sums ``Σu`` (L1 sensitivity ``2mD``: each coordinate moves by at most 2)
  and ``Σuuᵀ`` on and above the diagonal (``mD²``: a square moves by at most 1, a product
  by at most 2), ``ε/2`` each; mean and covariance follow, the covariance projected on the
  positive semi-definite matrices. Sampling: a multivariate normal.
- ``histogram``: per dimension, counts in ``histogram_n_bins`` equal-width bins of
  ``[−1, 1]`` (``2m`` per dimension, ``2mD`` in all, one Laplace release). The projected
  coordinates are uncorrelated by construction (principal axes), which the product of the
  marginals keeps. Sampling: a bin per dimension, then uniformly within it.
- ``gmm``: DP-EM (Park, Foulds, Chaudhuri & Welling, "DP-EM: Differentially private
  expectation maximization", AISTATS 2017) with ``gmm_n_components`` components and
  :data:`GMM_ITERATIONS` iterations of ``ε / iterations`` each: the E-step uses the previous
  (already private) parameters; the M-step releases, per component, the weighted count,
  sums and second moments in one Laplace release. A row's responsibilities sum to 1, so its
  contributions over all components are bounded by those of one point:
  ``2m · (1 + D + D(D+1)/2)``. The start is data-independent (means drawn in the box from the
  seed, covariance ``0.25·I``).

Noise comes from numpy's generator seeded by the run's seed: FastDP is reproducible, and
(being not end-to-end DP anyway) does not claim resistance to floating-point attacks on the
Laplace mechanism (Mironov 2012), unlike OpenDP's discrete noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avatars.protocol.enums import FastDPMechanism

#: DP-EM iterations of the ``gmm`` mechanism (each spends ``ε / GMM_ITERATIONS``).
GMM_ITERATIONS = 5

#: Smallest variance kept along an axis of a released covariance (in the ``[−1, 1]`` box).
VARIANCE_FLOOR = 1e-4


@dataclass
class LatentModel:
    """A released model of points in ``[−1, 1]^D`` to draw from."""

    mechanism: FastDPMechanism
    weights: np.ndarray  # (K,) mixture weights (gaussian: [1.0])
    means: np.ndarray  # (K, D)
    covariances: np.ndarray  # (K, D, D)
    histograms: np.ndarray | None = None  # histogram: (D, bins) probabilities

    def sample(self, n_rows: int, rng: np.random.Generator) -> np.ndarray:
        if self.histograms is not None:
            return _sample_histograms(self.histograms, n_rows, rng)
        dimensions = self.means.shape[1]
        component = rng.choice(len(self.weights), size=n_rows, p=self.weights)
        out = np.empty((n_rows, dimensions))
        for k in range(len(self.weights)):
            rows = np.flatnonzero(component == k)
            if rows.size:
                out[rows] = rng.multivariate_normal(
                    self.means[k], self.covariances[k], size=rows.size, method="eigh"
                )
        return out


def fit_latent(
    points: np.ndarray,
    mechanism: FastDPMechanism,
    epsilon: float,
    rng: np.random.Generator,
    *,
    rows_per_individual: int = 1,
    n_components: int = 5,
    n_bins: int = 10,
) -> LatentModel:
    """Release a model of ``points`` (already in ``[−1, 1]^D``) with ``epsilon``."""
    if mechanism == FastDPMechanism.GAUSSIAN:
        return _gaussian(points, epsilon, rng, rows_per_individual)
    if mechanism == FastDPMechanism.HISTOGRAM:
        return _histogram(points, epsilon, rng, rows_per_individual, n_bins)
    return _gmm(points, epsilon, rng, rows_per_individual, n_components)


def laplace(
    values: np.ndarray, sensitivity: float, epsilon: float, rng: np.random.Generator
) -> np.ndarray:
    """The Laplace mechanism: ``values + Lap(sensitivity / ε)`` per entry (Dwork et al. 2006)."""
    return values + rng.laplace(0.0, sensitivity / epsilon, size=np.shape(values))


def _upper(matrix: np.ndarray) -> np.ndarray:
    """Entries on and above the diagonal (of the last two axes)."""
    rows, columns = np.triu_indices(matrix.shape[-1])
    return matrix[..., rows, columns]


def _symmetric(upper: np.ndarray, dimensions: int) -> np.ndarray:
    rows, columns = np.triu_indices(dimensions)
    out = np.zeros((*upper.shape[:-1], dimensions, dimensions))
    out[..., rows, columns] = upper
    out[..., columns, rows] = upper
    return out


def _nearest_covariance(matrix: np.ndarray) -> np.ndarray:
    """The symmetric matrix with eigenvalues clipped to ``[VARIANCE_FLOOR, 1]`` (a
    variance in the ``[−1, 1]`` box is at most 1)."""
    symmetric = (matrix + matrix.T) / 2.0
    values, vectors = np.linalg.eigh(symmetric)
    return (vectors * np.clip(values, VARIANCE_FLOOR, 1.0)) @ vectors.T


def _gaussian(points: np.ndarray, epsilon: float, rng: np.random.Generator, m: int) -> LatentModel:
    n, d = points.shape
    sums = laplace(points.sum(axis=0), 2.0 * m * d, epsilon / 2.0, rng)
    squares = laplace(_upper(points.T @ points), float(m * d * d), epsilon / 2.0, rng)
    mean = np.clip(sums / n, -1.0, 1.0)
    covariance = _symmetric(squares / n, d) - np.outer(mean, mean)
    return LatentModel(
        FastDPMechanism.GAUSSIAN,
        weights=np.ones(1),
        means=mean[None, :],
        covariances=_nearest_covariance(covariance)[None, :, :],
    )


def histogram_counts(
    points: np.ndarray, epsilon: float, rng: np.random.Generator, m: int, n_bins: int
) -> np.ndarray:
    """The ``histogram`` mechanism's release: per dimension, the counts of ``n_bins``
    equal-width bins of ``[−1, 1]`` with Laplace noise (L1 sensitivity ``2mD``)."""
    d = points.shape[1]
    bins = np.clip(((points + 1.0) / 2.0 * n_bins).astype(np.int64), 0, n_bins - 1)
    counts = np.stack([np.bincount(bins[:, j], minlength=n_bins) for j in range(d)])
    return laplace(counts.astype(np.float64), 2.0 * m * d, epsilon, rng)


def _histogram(
    points: np.ndarray, epsilon: float, rng: np.random.Generator, m: int, n_bins: int
) -> LatentModel:
    d = points.shape[1]
    noisy = np.clip(histogram_counts(points, epsilon, rng, m, n_bins), 0.0, None)
    totals = noisy.sum(axis=1, keepdims=True)
    probabilities = np.where(totals > 0, noisy / np.where(totals > 0, totals, 1.0), 1.0 / n_bins)
    return LatentModel(
        FastDPMechanism.HISTOGRAM,
        weights=np.ones(1),
        means=np.zeros((0, d)),
        covariances=np.zeros((0, d, d)),
        histograms=probabilities,
    )


def _sample_histograms(
    probabilities: np.ndarray, n_rows: int, rng: np.random.Generator
) -> np.ndarray:
    d, n_bins = probabilities.shape
    out = np.empty((n_rows, d))
    for j in range(d):
        bins = rng.choice(n_bins, size=n_rows, p=probabilities[j])
        out[:, j] = -1.0 + (bins + rng.random(n_rows)) * (2.0 / n_bins)
    return out


def _gmm(
    points: np.ndarray, epsilon: float, rng: np.random.Generator, m: int, n_components: int
) -> LatentModel:
    d = points.shape[1]
    k = n_components
    weights = np.full(k, 1.0 / k)
    means = rng.uniform(-0.5, 0.5, size=(k, d))
    covariances = np.repeat(0.25 * np.eye(d)[None, :, :], k, axis=0)
    n_upper = d * (d + 1) // 2
    sensitivity = 2.0 * m * (1.0 + d + n_upper)
    per_iteration = epsilon / GMM_ITERATIONS
    # a component whose noisy weight falls below this is reset (its statistics are noise)
    min_count = max(1.0, 2.0 * sensitivity / per_iteration)
    for _ in range(GMM_ITERATIONS):
        responsibilities = _responsibilities(points, weights, means, covariances)
        counts = responsibilities.sum(axis=0)
        sums = responsibilities.T @ points
        outer = np.einsum("nk,nd,ne->kde", responsibilities, points, points)
        released = laplace(
            np.concatenate([counts, sums.ravel(), _upper(outer).ravel()]),
            sensitivity,
            per_iteration,
            rng,
        )
        noisy_counts = released[:k]
        noisy_sums = released[k : k + k * d].reshape(k, d)
        noisy_outer = _symmetric(released[k + k * d :].reshape(k, n_upper), d)
        alive = noisy_counts > min_count
        if not alive.any():
            alive[int(np.argmax(noisy_counts))] = True
        safe = np.where(alive, noisy_counts, 1.0)
        weights = np.where(alive, noisy_counts, 0.0)
        weights = weights / weights.sum()
        for c in range(k):
            if not alive[c]:
                continue
            means[c] = np.clip(noisy_sums[c] / safe[c], -1.0, 1.0)
            covariances[c] = _nearest_covariance(
                noisy_outer[c] / safe[c] - np.outer(means[c], means[c])
            )
    return LatentModel(FastDPMechanism.GMM, weights, means, covariances)


def _responsibilities(
    points: np.ndarray, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray
) -> np.ndarray:
    """``P(component | point)`` under the current (already released) parameters."""
    n, d = points.shape
    log_density = np.full((n, len(weights)), -np.inf)
    for c, weight in enumerate(weights):
        if weight <= 0:
            continue
        values, vectors = np.linalg.eigh(covariances[c])
        values = np.clip(values, VARIANCE_FLOOR, None)
        centred = (points - means[c]) @ vectors
        mahalanobis = np.sum(centred**2 / values, axis=1)
        log_density[:, c] = np.log(weight) - 0.5 * (
            mahalanobis + np.sum(np.log(values)) + d * np.log(2 * np.pi)
        )
    log_density -= log_density.max(axis=1, keepdims=True)
    density = np.exp(log_density)
    return density / density.sum(axis=1, keepdims=True)
