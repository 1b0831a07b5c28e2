"""Series onto a common grid and back (method.md §6.2): alignment and unalignment.

Alignment. Individual ``i`` has points ``(t_i1 < … < t_in_i, x_i1 … x_in_i)``. Its time is
normalized to its own window, ``u = (t − t_i1) / (t_in_i − t_i1)`` ∈ [0, 1], and every series
variable is resampled at the ``m`` grid points ``g_j = j / (m − 1)`` by linear interpolation
between the observed points of that variable (missing values skipped; before the first and
after the last observed point the nearest observed value is kept). An individual with no
observed value of a variable gets a missing curve for it. Each individual's *time frame* is
kept apart: its number of points ``n_i``, its start ``t_i1`` and its duration
``d_i = t_in_i − t_i1``. (Not the mean step ``d_i / (n_i − 1)``: weighted means of lengths and
of steps can make a duration far outside the originals' — 50 points a week apart and 200 a day
apart give 125 points 4 days apart —, while weighted means of lengths and of durations stay
within theirs.)

The grid length ``m`` (``nb_points``) is given (``specified``) or derived from the lengths
``n_i`` (``max``, ``min``, ``mean`` rounded half to even), capped at :data:`MAX_GRID_POINTS`
when derived. Resampling a long series on a shorter grid keeps its values at the grid points
(no low-pass filter: the projection's first components are smooth anyway).

Unalignment. An avatar has a curve on the grid and a time frame ``(n, start, duration)`` drawn
by the avatarization from its neighbours' frames (never its original's own). With ``uniform``
its series has ``n`` points at ``start + duration·j/(n − 1)``, ``j = 0..n−1``, whose values
interpolate the curve at ``j / (n − 1)``; with ``skip`` it keeps the ``m`` grid values, at
times ``start + duration·g_j``. Both are our reading of the platform's ``UnalignmentMethod``
(method.md §6.2 [U]).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avatars.engine.errors import InvalidParameterError
from avatars.engine.timeseries.data import SeriesData
from avatars.protocol.enums import AlignmentMethod, UnalignmentMethod

#: A grid derived from the lengths (max, min, mean) has at most this many points.
MAX_GRID_POINTS = 1_000

#: A specified grid has at most this many points (the projection's Gram matrix is m × m).
MAX_SPECIFIED_POINTS = 5_000


@dataclass
class AlignedSeries:
    """Every individual's series on the common grid, and its time frame.

    ``curves[i, v]`` is variable ``v`` of individual ``i`` on the grid (all NaN when the
    individual has no observed value of it); ``n_points``, ``start`` and ``duration`` are NaN
    for an individual without series.
    """

    grid: np.ndarray  # (m,) in [0, 1]
    curves: np.ndarray  # (n_individuals, n_variables, m)
    n_points: np.ndarray  # (n_individuals,)
    start: np.ndarray
    duration: np.ndarray


def grid_length(
    lengths: np.ndarray, method: AlignmentMethod, nb_points: int | None
) -> tuple[int, bool]:
    """The grid's number of points, and whether a derived value was capped.

    ``lengths``: the individuals' numbers of points (individuals without series left out).
    """
    if method == AlignmentMethod.SPECIFIED:
        if nb_points is None:
            raise InvalidParameterError(
                "nb_points", "is required with the 'specified' alignment method"
            )
        return nb_points, False
    present = lengths[lengths > 0]
    if method == AlignmentMethod.MAX:
        derived = int(present.max())
    elif method == AlignmentMethod.MIN:
        derived = int(present.min())
    else:
        derived = int(np.rint(present.mean()))
    derived = max(2, derived)
    return min(derived, MAX_GRID_POINTS), derived > MAX_GRID_POINTS


def align(data: SeriesData, nb_points: int) -> AlignedSeries:
    """Resample every individual's series on ``nb_points`` grid points (module docstring)."""
    n, m = data.n_individuals, nb_points
    grid = np.linspace(0.0, 1.0, m)
    lengths = data.lengths
    has_series = lengths > 0
    first = data.offsets[:-1]
    last = data.offsets[1:] - 1
    start = np.full(n, np.nan)
    end = np.full(n, np.nan)
    start[has_series] = data.times[first[has_series]]
    end[has_series] = data.times[last[has_series]]
    n_points = np.where(has_series, lengths, np.nan).astype(np.float64)
    owner = data.owner()
    u = (data.times - start[owner]) / (end - start)[owner]
    curves = np.full((n, len(data.variables), m), np.nan)
    for v in range(len(data.variables)):
        curves[:, v, :] = _resample(owner, u, data.values[:, v], n, grid)
    return AlignedSeries(
        grid=grid, curves=curves, n_points=n_points, start=start, duration=end - start
    )


def _resample(
    owner: np.ndarray, u: np.ndarray, values: np.ndarray, n: int, grid: np.ndarray
) -> np.ndarray:
    """Piecewise-linear interpolation of every individual's observed points at ``grid``, in one
    ``numpy.interp`` call: individual ``i``'s abscissae are shifted to ``[2i, 2i + 1]`` (its
    window never touches another's), and each query is clipped to the individual's first and
    last *observed* abscissa, so that it never interpolates towards a neighbouring block."""
    observed = ~np.isnan(values)
    who, x, y = owner[observed], u[observed], values[observed]
    out = np.full((n, len(grid)), np.nan)
    if who.size == 0:
        return out
    shifted = 2.0 * who + x
    counts = np.bincount(who, minlength=n)
    present = np.flatnonzero(counts)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    low = shifted[bounds[present]]
    high = shifted[bounds[present + 1] - 1]
    queries = 2.0 * present[:, None] + grid[None, :]
    queries = np.clip(queries, low[:, None], high[:, None])
    out[present] = np.interp(queries.ravel(), shifted, y).reshape(len(present), len(grid))
    return out


@dataclass
class UnalignedSeries:
    """Avatar series as long arrays: the avatar (row of the avatar table), time, values."""

    owner: np.ndarray  # (n_rows,) int64
    times: np.ndarray  # (n_rows,) float64
    values: np.ndarray  # (n_rows, n_variables)


def unalign(
    curves: np.ndarray,
    n_points: np.ndarray,
    start: np.ndarray,
    duration: np.ndarray,
    method: UnalignmentMethod,
    *,
    time_quantum: float | None = None,
) -> UnalignedSeries:
    """Map avatar curves back to timestamps (module docstring).

    ``curves`` ``(n, n_variables, m)``; ``n_points``, ``start``, ``duration`` ``(n,)``, with
    ``n_points`` NaN for an avatar without series (it gets no row). ``time_quantum`` (1 for
    integer times, the resolution for datetimes): times are rounded to multiples of it and
    pushed forward where rounding would repeat one (``t_j ≥ t_{j−1} + quantum``).
    """
    n, n_variables, m = curves.shape
    has_series = ~np.isnan(n_points)
    if method == UnalignmentMethod.SKIP:
        lengths = np.where(has_series, m, 0).astype(np.int64)
    else:
        lengths = np.where(has_series, np.maximum(2, np.rint(np.nan_to_num(n_points))), 0)
        lengths = lengths.astype(np.int64)
    owner = np.repeat(np.arange(n), lengths)
    position = np.arange(owner.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    fraction = position / np.maximum(lengths[owner] - 1, 1)  # j / (length − 1) ∈ [0, 1]
    times = start[owner] + duration[owner] * fraction
    if time_quantum is not None:
        ticks = _strictly_increasing_integers(np.rint(times / time_quantum), position)
        times = ticks * time_quantum
    values = np.empty((owner.size, n_variables))
    if method == UnalignmentMethod.SKIP:
        for v in range(n_variables):
            values[:, v] = curves[owner, v, position]
    else:
        cell = np.clip(fraction * (m - 1), 0.0, m - 1.0)
        left = np.minimum(np.floor(cell).astype(np.int64), m - 2)
        weight = cell - left
        for v in range(n_variables):
            a = curves[owner, v, left]
            b = curves[owner, v, left + 1]
            values[:, v] = a + weight * (b - a)
    return UnalignedSeries(owner=owner, times=times, values=values)


def _strictly_increasing_integers(times: np.ndarray, position: np.ndarray) -> np.ndarray:
    """``t_j ← max(t_j, t_{j−1} + 1)`` within each series: ``t_j − j`` made non-decreasing by
    one running maximum over all series, each lifted above the previous by a constant."""
    if times.size == 0:
        return times
    shifted = times - position
    series = np.cumsum(position == 0) - 1
    lift = float(shifted.max() - shifted.min()) + 1.0
    running = np.maximum.accumulate(shifted + lift * series) - lift * series
    return running + position
