"""Differentially private bounds and bins of continuous columns (AvatarOpenDP's preprocessing).

A marginal-based synthesizer works on categories: every continuous column is cut into bins.
Where the bins go must not be read from the data without budget (the minimum and maximum of a
column are one individual's values), so the bounds come from a DP release:

1. a fixed grid of magnitude cells, chosen before seeing the data: ``0`` (``|x| < 2^-10``),
   then ``[2^e, 2^(e+1))`` and its mirror ``(−2^(e+1), −2^e]`` for ``e = −10 … 39``, and two
   outer cells beyond ``±2^40`` (about 1.1e12: datetimes are seconds since 1970, ~1.7e9);
   a missing value has its own cell so that every row counts once;
2. the cell counts released with discrete Laplace noise (:func:`noisy_counts`, OpenDP), ``ε``
   per column;
3. post-processing only: the bounds are the outer edges of the lowest and the highest cell
   whose noisy count exceeds ``τ = b · ln(cells / β)`` (``b`` the noise scale, ``β = 0.1``: an
   empty cell passes with probability below about 5 % over the whole grid); when no cell
   passes, the cell with the largest noisy count. This is SmartNoise's ``approx_bounds`` idea
   (a histogram of powers of two), with OpenDP's exact discrete noise.

The bins are then ``n_bins`` equal-width intervals between the bounds (integers: integer
edges, and one bin per value when the range holds at most ``2 · n_bins`` values). Values
outside the bounds fall in the outer bins (clamping): the synthesizer never sees a value,
only a bin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from avatars.engine.dp.opendp_mechanisms import noisy_counts

MIN_EXPONENT = -10
MAX_EXPONENT = 40
#: An integer column whose DP range holds at most this many values per bin gets one bin
#: per value (at most ``2 · n_bins`` bins).
INTEGER_VALUES_PER_BIN_LIMIT = 2

#: Probability budget of a false cell in the bounds' threshold (see the module docstring).
BOUNDS_FAILURE = 0.1


def magnitude_edges() -> np.ndarray:
    """Sorted edges of the magnitude grid: ``−2^40 … −2^-10, 2^-10 … 2^40``."""
    positive = np.ldexp(1.0, np.arange(MIN_EXPONENT, MAX_EXPONENT + 1))
    return np.concatenate([-positive[::-1], positive])


def magnitude_cells(values: np.ndarray) -> tuple[np.ndarray, int]:
    """The cell of every value (missing: the last cell) and the number of cells."""
    edges = magnitude_edges()
    cells = np.searchsorted(edges, values, side="right")
    n_value_cells = len(edges) + 1
    cells = np.where(np.isnan(values), n_value_cells, cells)
    return cells.astype(np.int64), n_value_cells + 1


def _cell_interval(cell: int) -> tuple[float, float]:
    """The interval of a value cell; the zero cell is ``[0, 0]`` (it holds ``|x| < 2^-10``),
    the outer cells are clamped to twice the outermost edge."""
    edges = magnitude_edges()
    zero = len(edges) // 2  # the cell between −2^-10 and 2^-10
    if cell == zero:
        return 0.0, 0.0
    left = edges[cell - 1] if cell > 0 else 2.0 * edges[0]
    right = edges[cell] if cell < len(edges) else 2.0 * edges[-1]
    return float(left), float(right)


@dataclass(frozen=True)
class DPBounds:
    low: float
    high: float
    epsilon: float
    noise_scale: float


def private_bounds(values: np.ndarray, epsilon: float, rows_per_individual: int = 1) -> DPBounds:
    """DP lower and upper bounds of a column (NaN = missing), spending ``epsilon``."""
    cells, n_cells = magnitude_cells(values)
    release = noisy_counts(cells, n_cells, epsilon, rows_per_individual)
    counts = release.value[:-1]  # the missing cell says nothing about the range
    threshold = release.scale * math.log(n_cells / BOUNDS_FAILURE)
    passing = np.flatnonzero(counts > threshold)
    if passing.size == 0:
        passing = np.array([int(np.argmax(counts))])
    low = _cell_interval(int(passing[0]))[0]
    high = _cell_interval(int(passing[-1]))[1]
    return DPBounds(low=low, high=high, epsilon=release.epsilon, noise_scale=release.scale)


@dataclass(frozen=True)
class Bins:
    """Left-open bins of a continuous column: bin ``k`` holds ``edges[k] < x ≤ edges[k+1]``.

    Floats: ``edges[0]`` is the lower bound and bin 0 also holds it. Integers: every edge is
    an integer and ``edges[0]`` is one below the lower bound, so bin ``k`` holds the integers
    ``edges[k] + 1 … edges[k+1]``. Values below the first edge fall in the first bin, values
    above the last in the last (clamping).
    """

    edges: np.ndarray
    integer: bool

    @property
    def n_bins(self) -> int:
        return max(1, len(self.edges) - 1)

    @property
    def cuts(self) -> np.ndarray:
        return self.edges[1:-1]

    def assign(self, values: np.ndarray) -> np.ndarray:
        """Bin of each value (NaN: ``-1``)."""
        out = np.searchsorted(self.cuts, values, side="left").astype(np.int64)
        out[np.isnan(values)] = -1
        return out

    def sample(self, bins: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A value drawn uniformly in each bin (integers: among the integers of the bin)."""
        if len(self.edges) == 1:
            return np.full(bins.shape, float(self.edges[0]))
        lower = self.edges[bins]
        upper = self.edges[bins + 1]
        if self.integer:
            return np.floor(lower + 1 + rng.random(bins.shape) * (upper - lower))
        return lower + rng.random(bins.shape) * (upper - lower)


def equal_width_bins(low: float, high: float, n_bins: int, integer: bool) -> Bins:
    """``n_bins`` equal-width bins between the bounds; integers: integer edges, and one bin
    per value when the range holds at most ``2 · n_bins`` values."""
    if integer:
        low, high = math.floor(low), max(math.ceil(high), math.floor(low))
        if high - low + 1 <= INTEGER_VALUES_PER_BIN_LIMIT * n_bins:
            # a small integer range (counts, scores, codes): one bin per value, so that
            # equal-width edges do not merge neighbouring values
            return Bins(edges=np.arange(low - 1, high + 1, dtype=np.float64), integer=True)
        edges = np.unique(np.floor(np.linspace(low - 1, high, n_bins + 1)))
        return Bins(edges=edges.astype(np.float64), integer=True)
    if high <= low:
        return Bins(edges=np.array([float(low)]), integer=False)
    return Bins(edges=np.linspace(low, high, n_bins + 1), integer=False)
