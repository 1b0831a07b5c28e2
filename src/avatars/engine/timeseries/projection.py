"""Curves on the common grid as a few numbers per individual, and back (method.md §6.2).

Functional PCA (``fpca``). The curves ``x_i(g)`` of one series variable, sampled on the grid
``g_1..g_m`` of [0, 1], have the mean ``μ(g) = (1/n) Σ_i x_i(g)`` and the covariance operator
``(Cf)(s) = ∫ c(s, t) f(t) dt``, ``c(s, t) = (1/n) Σ_i (x_i(s) − μ(s))(x_i(t) − μ(t))``. Its
eigenfunctions ``φ_k`` (``∫ φ_k φ_l = δ_kl``, eigenvalues ``λ_1 ≥ λ_2 ≥ …``) are the principal
modes of variation; the scores ``ξ_ik = ∫ (x_i − μ) φ_k`` are uncorrelated with variance
``λ_k``, and ``x_i ≈ μ + Σ_{k ≤ nf} ξ_ik φ_k`` is the best ``nf``-term approximation in L²
(Ramsay & Silverman, *Functional Data Analysis*, 2nd ed. 2005, §8.2 and §8.4.2 for the
discretization). With quadrature weights ``w_j`` (trapezoidal rule on the grid, ``Σ w_j = 1``)
the integrals become sums and the eigenproblem a symmetric one::

    A = (X − μ) W^½            (n × m, W = diag(w))
    (AᵀA / n) u_k = λ_k u_k    (m × m, eigh)
    φ_k = W^−½ u_k ,   ξ_ik = (A u_k)_i = Σ_j w_j (x_ij − μ_j) φ_k(g_j)

scikit-fda's ``FPCA`` on an ``FDataGrid`` solves the same discretized problem with Simpson
weights: given those weights, this code reproduces scikit-fda 0.10.1's components and scores to
1e-14 (checked on ``sensors_timeseries2.csv``, 50 points, 5 components). We keep the
trapezoidal rule, whose weights are all equal inside the grid (Simpson's alternate 4/3 and 2/3,
which weights every other grid point twice as much in the covariance); on that table the
explained variance ratios differ from scikit-fda's by at most 3e-4 and the first three scores
by at most 4 % of their standard deviation. The FPCA is ours rather than a dependency because
scikit-fda 0.10 brings matplotlib, numba, fdasrsf, dcor, findiff, multimethod and rdata (and
fails to import with multimethod 2), because ``AᵀA`` is accumulated over row chunks here
(memory ``O(chunk × m + m²)`` whatever the number of individuals), and because the sign of each
component is fixed (largest |φ_k| value positive), which makes scores reproducible across runs
and machines. Components with ``λ_k ≤ 10⁻¹⁰ λ_1`` carry only rounding noise and are dropped
(``nf`` is lowered to the rank; the metadata says so).

Flattening (``flatten``). The ``m`` grid values themselves are the features: nothing is lost
beyond the resampling, but the individual table gets ``m`` columns per variable.

Both are fitted on the individuals whose curve is observed (no NaN); the others get missing
scores, which the avatarization imputes like any missing value.

Residual noise (ours). An FPCA reconstruction keeps the ``nf`` smooth modes and drops the rest,
mostly point-to-point measurement noise: rebuilt curves are smoother than the originals (lower
pointwise spread, higher lag-1 autocorrelation). :meth:`CurveProjection.residual_noise` draws
that part from a population model instead: the residuals ``r_i = x_i − x̂_i`` of the originals
have a pointwise standard deviation ``σ_r(g_j)`` and, once divided by it, a lag-1
autocorrelation ``ρ`` (pooled over individuals and grid steps); the noise is
``σ_r(g_j) e_j`` with ``e`` a stationary AR(1) process of unit variance,
``e_0 = z_0``, ``e_j = ρ e_{j−1} + √(1 − ρ²) z_j``, ``z`` i.i.d. N(0, 1). It carries only
these population statistics — no individual's residual — so it adds no link to any original.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avatars.protocol.enums import ProjectionType

#: Rows per chunk when accumulating ``AᵀA``.
CHUNK_ROWS = 50_000

#: Components whose eigenvalue is below this fraction of the largest are dropped.
RANK_TOLERANCE = 1e-10


def trapezoid_weights(grid: np.ndarray) -> np.ndarray:
    """Quadrature weights of the trapezoidal rule on ``grid`` (they sum to its length)."""
    gaps = np.diff(grid)
    weights = np.zeros_like(grid)
    weights[:-1] += gaps / 2
    weights[1:] += gaps / 2
    return weights


@dataclass
class CurveProjection:
    """A fitted FPCA (or flattening) of one series variable's curves on a grid.

    ``components`` ``(nf, m)``: the eigenfunctions ``φ_k`` on the grid for the FPCA, the
    identity for flattening; ``eigenvalues``: the variance of each feature; ``total_variance``:
    ``Σ λ`` over all components (the explained ratios' denominator).
    """

    kind: ProjectionType
    grid: np.ndarray
    weights: np.ndarray  # quadrature weights (FPCA) or ones (flatten)
    mean: np.ndarray  # (m,)
    components: np.ndarray  # (nf, m)
    eigenvalues: np.ndarray  # (nf,)
    total_variance: float
    requested: int  # nf as asked (FPCA) or m (flatten)
    residual_std: np.ndarray | None = None  # σ_r(g) (FPCA), None for flatten
    residual_autocorrelation: float = 0.0  # ρ

    @classmethod
    def fit(
        cls, curves: np.ndarray, grid: np.ndarray, kind: ProjectionType, nf: int
    ) -> CurveProjection:
        """Fit on ``curves`` ``(n, m)``; rows with a NaN are left out of the fit."""
        complete = curves[~np.isnan(curves).any(axis=1)]
        m = len(grid)
        mean = complete.mean(axis=0) if len(complete) else np.zeros(m)
        if kind == ProjectionType.FLATTEN:
            variances = complete.var(axis=0) if len(complete) else np.zeros(m)
            return cls(
                kind, grid, np.ones(m), mean, np.eye(m), variances, float(variances.sum()), m
            )
        weights = trapezoid_weights(grid)
        root = np.sqrt(weights)
        gram = np.zeros((m, m))
        for start in range(0, len(complete), CHUNK_ROWS):
            block = (complete[start : start + CHUNK_ROWS] - mean) * root
            gram += block.T @ block
        eigenvalues, vectors = np.linalg.eigh(gram / max(1, len(complete)))
        order = np.argsort(eigenvalues)[::-1]
        eigenvalues, vectors = np.clip(eigenvalues[order], 0.0, None), vectors[:, order]
        top = float(eigenvalues[0]) if eigenvalues.size else 0.0
        rank = int(np.sum(eigenvalues > RANK_TOLERANCE * top)) if top > 0 else 0
        kept = min(nf, rank)
        functions = (vectors[:, :kept] / root[:, None]).T  # φ_k on the grid, one per row
        pivots = np.argmax(np.abs(functions), axis=1)
        signs = np.sign(functions[np.arange(kept), pivots])
        signs[signs == 0] = 1.0
        fitted = cls(
            kind,
            grid,
            weights,
            mean,
            functions * signs[:, None],
            eigenvalues[:kept],
            float(eigenvalues.sum()),
            nf,
        )
        fitted.residual_std, fitted.residual_autocorrelation = fitted._residual_model(complete)
        return fitted

    def _residual_model(self, complete: np.ndarray) -> tuple[np.ndarray, float]:
        """``σ_r(g_j)`` and ``ρ`` of the module docstring, accumulated over row chunks."""
        m = len(self.grid)
        squares = np.zeros(m)
        products = np.zeros(max(0, m - 1))
        for start in range(0, len(complete), CHUNK_ROWS):
            block = complete[start : start + CHUNK_ROWS]
            residuals = block - self.inverse_transform(self.transform(block))
            squares += np.sum(residuals * residuals, axis=0)
            products += np.sum(residuals[:, 1:] * residuals[:, :-1], axis=0)
        n = max(1, len(complete))
        std = np.sqrt(squares / n)
        # what an exact model leaves is rounding noise, not measurement noise: none is drawn
        std[std <= RANK_TOLERANCE * np.sqrt(max(self.total_variance, 0.0))] = 0.0
        scale = std[1:] * std[:-1]
        tiny = 1e-12 * max(float(std.max(initial=0.0)) ** 2, np.finfo(float).tiny)
        usable = scale > tiny
        if not usable.any():
            return std, 0.0
        rho = float(np.mean(products[usable] / n / scale[usable]))
        return std, float(np.clip(rho, -0.99, 0.99))

    def residual_noise(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws ``(n, m)`` of the residual noise model (zeros for flatten)."""
        m = len(self.grid)
        if self.residual_std is None or not self.residual_std.any():
            return np.zeros((n, m))
        rho = self.residual_autocorrelation
        innovations = rng.standard_normal((n, m))
        noise = np.empty((n, m))
        noise[:, 0] = innovations[:, 0]
        scale = np.sqrt(1.0 - rho * rho)
        for j in range(1, m):  # m steps over all rows at once
            noise[:, j] = rho * noise[:, j - 1] + scale * innovations[:, j]
        return noise * self.residual_std

    @property
    def n_features(self) -> int:
        return int(self.components.shape[0])

    @property
    def explained_variance_ratio(self) -> np.ndarray:
        if self.total_variance <= 0:
            return np.zeros(self.n_features)
        return self.eigenvalues / self.total_variance

    def transform(self, curves: np.ndarray) -> np.ndarray:
        """Features ``(n, nf)`` of ``curves`` ``(n, m)``: scores ``ξ`` (FPCA) or the values
        (flatten); NaN for a curve with a NaN."""
        if self.kind == ProjectionType.FLATTEN:
            return curves.copy()
        out = ((curves - self.mean) * self.weights) @ self.components.T
        out[np.isnan(curves).any(axis=1)] = np.nan
        return out

    def inverse_transform(self, features: np.ndarray) -> np.ndarray:
        """Curves ``μ + Σ_k ξ_k φ_k`` (FPCA) or the values (flatten) from features ``(n, nf)``."""
        if self.kind == ProjectionType.FLATTEN:
            return features.copy()
        return self.mean + features @ self.components
