"""Exact nearest-neighbour queries in the projected space, in bounded-memory chunks.

Everything here is exact (KD-trees from scipy, queried ``CHUNK_ROWS`` points at a time with all
cores): no truncated neighbour lists, no approximate index, and never an n × n matrix. Used by
the avatarization (the k nearest *other* records, method.md §1.7) and by the privacy metrics
(nearest avatar with the paper's lowest-index tie rule, counts within a radius).

Floating point and ties: two identical records can get coordinates that differ in the last
bits (BLAS computes rows of a matrix product along different paths), so distances are
compared with a tolerance ``atol`` (absolute, relative to the spread of the coordinates) when
deciding ties.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

#: Query points per chunk: memory stays O(CHUNK_ROWS × k) whatever the table size.
CHUNK_ROWS = 65_536

#: Relative tolerance for distance ties (scaled by the coordinates' root mean square norm).
TIE_TOLERANCE = 1e-9


def tie_tolerance(*coordinate_sets: np.ndarray) -> float:
    """An absolute distance below which two distances are considered equal."""
    sq = [float(np.mean(np.sum(c * c, axis=1))) for c in coordinate_sets if c.size]
    scale = float(np.sqrt(max(sq))) if sq else 1.0
    return TIE_TOLERANCE * max(scale, 1e-300)


def build_tree(points: np.ndarray) -> cKDTree:
    # balanced_tree=False builds much faster on large inputs; queries stay exact.
    return cKDTree(np.ascontiguousarray(points, dtype=np.float64), balanced_tree=False)


def nearest_other_neighbors(
    coordinates: np.ndarray, k: int, *, tree: cKDTree | None = None, workers: int = -1
) -> tuple[np.ndarray, np.ndarray]:
    """For every record, its ``k`` nearest records other than itself (Euclidean).

    Returns ``(distances, indices)``, both ``(n, k)``, sorted by distance. A record's exact
    duplicates are ordinary neighbours at distance 0.
    """
    n = coordinates.shape[0]
    if not 1 <= k < n:
        raise ValueError(f"k must be in [1, n-1], got k={k} for n={n}")
    tree = tree or build_tree(coordinates)
    distances = np.empty((n, k))
    indices = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, CHUNK_ROWS):
        stop = min(n, start + CHUNK_ROWS)
        d, idx = tree.query(coordinates[start:stop], k=k + 1, workers=workers)
        d, idx = d.reshape(stop - start, k + 1), idx.reshape(stop - start, k + 1)
        own = np.arange(start, stop)[:, None]
        is_self = idx == own
        # Drop the record itself; when a tie at distance 0 pushed it out of the k + 1
        # returned, drop the farthest instead (the remaining k are still nearest).
        drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
        keep = np.ones_like(is_self)
        keep[np.arange(stop - start), drop] = False
        distances[start:stop] = d[keep].reshape(stop - start, k)
        indices[start:stop] = idx[keep].reshape(stop - start, k)
    return distances, indices


def nearest_lowest_index(
    tree: cKDTree, queries: np.ndarray, *, atol: float, workers: int = -1, probe: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """The nearest tree point of each query; among equidistant points (within ``atol``), the
    one with the lowest index — the rule of the paper's faiss-based code (method.md §2.1).

    Returns ``(indices, distances)``.
    """
    n = queries.shape[0]
    n_points = tree.n
    probe = min(probe, n_points)
    best = np.empty(n, dtype=np.int64)
    best_d = np.empty(n)
    for start in range(0, n, CHUNK_ROWS):
        stop = min(n, start + CHUNK_ROWS)
        d, idx = tree.query(queries[start:stop], k=probe, workers=workers)
        d, idx = d.reshape(stop - start, probe), idx.reshape(stop - start, probe)
        tied = d <= d[:, :1] + atol
        masked = np.where(tied, idx, np.iinfo(np.int64).max)
        best[start:stop] = masked.min(axis=1)
        best_d[start:stop] = d[:, 0]
        # All `probe` neighbours tied: more may be tied beyond them; ask the tree for all.
        if probe < n_points:
            overflow = np.flatnonzero(tied[:, -1])
            for row in overflow:
                members = tree.query_ball_point(queries[start + row], r=d[row, 0] + atol)
                best[start + row] = min(members)
    return best, best_d


def count_within(
    tree: cKDTree, queries: np.ndarray, radii: np.ndarray, *, atol: float, workers: int = -1
) -> np.ndarray:
    """How many tree points lie at distance ≤ ``radii[i]`` (+ ``atol``) of each query."""
    n = queries.shape[0]
    counts = np.empty(n, dtype=np.int64)
    for start in range(0, n, CHUNK_ROWS):
        stop = min(n, start + CHUNK_ROWS)
        counts[start:stop] = tree.query_ball_point(
            queries[start:stop], r=radii[start:stop] + atol, return_length=True, workers=workers
        )
    return counts


def nearest_lowest_label(
    tree: cKDTree,
    queries: np.ndarray,
    labels: np.ndarray,
    *,
    atol: float,
    workers: int = -1,
    probe: int = 8,
    max_block: int = 4_000_000,
) -> tuple[np.ndarray, np.ndarray]:
    """The nearest tree point of each query; among equidistant points (within ``atol``), the one
    with the lowest ``labels`` value. Returns ``(labels of the chosen points, distances)``.

    With ``labels = arange(tree.n)`` this is :func:`nearest_lowest_index`. It exists for trees
    built on *deduplicated* points: a point standing for several identical records carries the
    lowest index among them, so the paper's lowest-index rule (method.md §2.1) holds while the
    tree stays small on discrete data. Queries whose ``probe`` nearest points are all tied are
    asked again with ``k`` widened eightfold, in blocks of at most ``max_block`` distances, until
    the tie is closed or every point has been seen: no per-query Python loop.
    """
    labels = np.asarray(labels, dtype=np.int64)
    n = queries.shape[0]
    n_points = tree.n
    probe = max(1, min(probe, n_points))
    sentinel = np.iinfo(np.int64).max
    best = np.empty(n, dtype=np.int64)
    best_d = np.empty(n)

    def query(rows: np.ndarray | slice, k: int) -> tuple[np.ndarray, np.ndarray]:
        d, idx = tree.query(queries[rows], k=k, workers=workers)
        m = len(d) if np.ndim(d) else 1
        return np.reshape(d, (m, k)), np.reshape(idx, (m, k))

    for start in range(0, n, CHUNK_ROWS):
        stop = min(n, start + CHUNK_ROWS)
        d, idx = query(slice(start, stop), probe)
        tied = d <= d[:, :1] + atol
        best[start:stop] = np.where(tied, labels[idx], sentinel).min(axis=1)
        best_d[start:stop] = d[:, 0]
        overflow = np.flatnonzero(tied[:, -1]) + start if probe < n_points else np.empty(0, int)
        k = probe
        while overflow.size and k < n_points:
            k = min(n_points, 8 * k)
            block = max(1, max_block // k)
            unresolved = []
            for b in range(0, overflow.size, block):
                rows = overflow[b : b + block]
                d2, idx2 = query(rows, k)
                tied2 = d2 <= d2[:, :1] + atol
                best[rows] = np.where(tied2, labels[idx2], sentinel).min(axis=1)
                if k < n_points:
                    unresolved.append(rows[tied2[:, -1]])
            overflow = np.concatenate(unresolved) if unresolved else np.empty(0, int)
    return best, best_d
