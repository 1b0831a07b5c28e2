"""Attaching avatar children to avatar parents: capacitated assignment in a shared space.

Each avatar parent ``p`` receives exactly ``capacity[p]`` children (its avatar number of
children, :func:`apportion`-ed so that the capacities add up to the number of children), and
each child goes to one parent. Children and parents are points of one space (the parent's
projection, see :mod:`avatars.engine.multitable.avatarization`); the cost of giving child
``i`` to parent ``p`` is their Euclidean distance ``‖x_i − y_p‖``.

Expanding every parent into ``capacity[p]`` identical *slots* turns the problem into a square
assignment (children × slots), solved by:

- :func:`linear_sum_assignment` (``LinkMethod.LINEAR_SUM_ASSIGNMENT``): minimum total
  distance. Up to :data:`DENSE_MAX` children exactly, with ``scipy.optimize.linear_sum_assignment``
  on the dense cost matrix. Above, by blocks: start from the greedy solution, then
  :data:`REFINE_PASSES` times cut the current (child, slot) pairs into blocks of at most
  :data:`BLOCK_MAX` pairs (recursive balanced bisection of the pairs' midpoints along a
  principal axis, a different one at each pass) and re-solve every block exactly (dense, its
  children against the slots they hold). Each re-solve keeps the block's current pairing
  available, so the total distance never increases. Memory O(n + BLOCK_MAX²); time
  O(n · BLOCK_MAX² · passes) in the worst case, about linear in n in practice.
- :func:`greedy_assignment` (``LinkMethod.MINIMUM_DISTANCE_ASSIGNMENT``): candidate pairs
  (each child's :data:`CANDIDATE_PARENTS` nearest parents with room) by increasing distance;
  a pair is taken when the child is free and the parent has room; children left over look
  again among the parents that still have room. O(n log n).

Why not one sparse assignment for large tables (each child's nearest parents as candidate
edges, ``scipy.sparse.csgraph.min_weight_full_bipartite_matching``, O(n·k) memory)? Measured
(wall time on 2 heavily loaded cores): on random points it is fast up to a few thousand
children (4,863 children: 0.8 s, +0.2 % of the exact optimum) but grows steeply (20,286:
24 s; 100,912: 912 s), and on real avatar coordinates — many children per parent, near-equal
costs — one block of 3,000 children did not finish in 100 s where the dense solver took 21 s.
The dense solver itself jumps from 0.1 s (750 children) to 0.6 s (1,500) and 21 s (3,000) on
that data. Small blocks solved densely are fast and predictable.

Quality and cost on that data (12,000 avatar visits to 2,400 avatar patients; total distance,
CPU seconds): greedy 6,194; blocks of ≤ 1,000 after 2 / 4 passes 5,397 / 5,324 (2.5 / 5.3 s);
blocks of ≤ 500 after 2 / 4 / 6 passes 5,441 / 5,354 / 5,322 (0.9 / 1.7 / 2.7 s); blocks of
≤ 250 after 8 passes 5,338 (1.4 s); blocks of ≤ 2,000 after 8 passes 5,276, the best we
reached. The default (≤ 500, 6 passes) is within 1 % of it at half the cost of ≤ 1,000 × 4.
A median split of children and slots from scratch (instead of the greedy start) was worse
than greedy after one pass (6,523).

Determinism: no randomness here; callers pass children in a random order of their own so that
ties never follow the originals' row order.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment as dense_assignment
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from avatars.engine import InvalidParameterError

#: Children up to which one exact dense assignment runs (a DENSE_MAX² float64 matrix, 8 MB).
DENSE_MAX = 1_000

#: Largest block re-solved exactly (dense) by the block-wise assignment.
BLOCK_MAX = 500

#: Nearest parents each child considers in the greedy assignment (then any parent with room).
CANDIDATE_PARENTS = 8

#: Passes of the block-wise assignment, each along another principal axis.
REFINE_PASSES = 6


def apportion(values: np.ndarray, total: int, order: np.ndarray) -> np.ndarray:
    """Non-negative integers proportional to ``values`` that add up to ``total``.

    Largest remainders (Hamilton): ``floor(v · total / Σv)``, then one more for the largest
    fractional parts; ties go in ``order`` (a random permutation from the caller). All-zero
    values share ``total`` evenly.
    """
    v = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0), 0, None)
    if total < 0:
        raise InvalidParameterError("total", f"expected a count ≥ 0, got {total}")
    s = float(v.sum())
    if s == 0:
        v = np.ones_like(v)
        s = float(v.size)
    quota = v * (total / s)
    base = np.floor(quota).astype(np.int64)
    left = int(total - base.sum())
    if left:
        remainder = quota - base
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        chosen = np.lexsort((rank, -remainder))[:left]
        base[chosen] += 1
    return base


def microaggregated_counts(counts: np.ndarray, group: int) -> np.ndarray:
    """The sorted ``counts`` with each run of ``group`` consecutive values replaced by their
    mean (the last run absorbs a remainder shorter than ``group``): univariate
    microaggregation (Defays & Nanopoulos 1993; Domingo-Ferrer & Mateo-Sanz 2002). The
    values add up to the same total; none is a count that fewer than ``group`` parents share
    as a mean, so a unique extreme fan-out is never released as it is."""
    ordered = np.sort(np.asarray(counts, dtype=np.float64))
    n = len(ordered)
    group = max(1, min(int(group), n))
    starts = np.arange(0, n, group)
    if len(starts) > 1 and n - starts[-1] < group:
        starts = starts[:-1]
    ends = np.append(starts[1:], n)
    sums = np.add.reduceat(ordered, starts)
    return np.repeat(sums / (ends - starts), ends - starts)


def capacities(
    avatar_scores: np.ndarray, original_counts: np.ndarray, group: int, order: np.ndarray
) -> np.ndarray:
    """How many children each avatar parent receives.

    The avatar parents are ranked by ``avatar_scores`` (their avatarized number of children;
    ties in ``order``, a random permutation from the caller) and the r-th receives the r-th
    smallest of the original counts microaggregated by ``group``
    (:func:`microaggregated_counts`), then rounded to integers adding up to the original
    total by :func:`apportion`. Who is a large family comes from the avatars; the fan-out
    distribution is the original one up to the microaggregation (averaging neighbours' counts
    alone contracts it: KS 0.16 on the synthetic schema, against ≤ 0.02 this way).
    """
    scores = np.nan_to_num(np.asarray(avatar_scores, dtype=np.float64), nan=0.0)
    n = len(scores)
    if len(original_counts) != n:
        raise InvalidParameterError("avatar_scores", "expected one score per original parent")
    rank_of_tie = np.empty(n, dtype=np.int64)
    rank_of_tie[order] = np.arange(n)
    by_score = np.lexsort((rank_of_tie, scores))
    targets = np.empty(n)
    targets[by_score] = microaggregated_counts(original_counts, group)
    # rounding up goes to the higher ranked first: capacities never decrease along the ranking
    return apportion(targets, int(np.sum(original_counts)), by_score[::-1])


def _slot_owner(capacity: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(capacity)), capacity)


def _check(children: np.ndarray, parents: np.ndarray, capacity: np.ndarray) -> None:
    if children.ndim != 2 or parents.ndim != 2 or children.shape[1] != parents.shape[1]:
        raise InvalidParameterError(
            "coordinates", f"children {children.shape} and parents {parents.shape} differ"
        )
    if capacity.shape != (len(parents),) or (capacity < 0).any():
        raise InvalidParameterError("capacity", "expected one count ≥ 0 per parent")
    if int(capacity.sum()) != len(children):
        raise InvalidParameterError(
            "capacity",
            f"the capacities add up to {int(capacity.sum())}, not to the {len(children)} children",
        )


# =====================================================================================
# minimum distance (greedy)
# =====================================================================================
def greedy_assignment(
    children: np.ndarray,
    parents: np.ndarray,
    capacity: np.ndarray,
    *,
    candidates: int = CANDIDATE_PARENTS,
) -> np.ndarray:
    """The parent of each child, taking the closest (child, parent) pairs first."""
    children = np.asarray(children, dtype=np.float64)
    parents = np.asarray(parents, dtype=np.float64)
    capacity = np.asarray(capacity, dtype=np.int64)
    _check(children, parents, capacity)
    assigned, _, _ = _greedy(children, parents, capacity, candidates)
    return assigned


def _nearest(
    points: np.ndarray, queries: np.ndarray, among: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Distances and indices (into ``points``) of each query's ``k`` nearest ``points[among]``."""
    k = max(1, min(k, len(among)))
    d, idx = cKDTree(points[among]).query(queries, k=k, workers=-1)
    d = np.asarray(d, dtype=np.float64).reshape(len(queries), k)
    idx = np.asarray(idx, dtype=np.int64).reshape(len(queries), k)
    return d, among[idx]


def _greedy(
    children: np.ndarray, parents: np.ndarray, capacity: np.ndarray, candidates: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy assignment, and the candidate lists it started from (distances, parents)."""
    n = len(children)
    room = capacity.copy()
    assigned = np.full(n, -1, dtype=np.int64)
    open_parents = np.flatnonzero(room > 0)
    if n == 0:
        empty = np.empty((0, 1))
        return assigned, empty, empty.astype(np.int64)
    first_d, first_p = _nearest(parents, children, open_parents, candidates)
    d, p, pending = first_d, first_p, np.arange(n)
    while True:
        k = d.shape[1]
        rows = np.repeat(pending, k)
        order = np.lexsort((p.ravel(), rows, d.ravel()))  # by distance, then child, then parent
        for child, parent in zip(rows[order].tolist(), p.ravel()[order].tolist(), strict=True):
            if assigned[child] < 0 and room[parent] > 0:
                assigned[child] = parent
                room[parent] -= 1
        pending = np.flatnonzero(assigned < 0)
        if pending.size == 0:
            return assigned, first_d, first_p
        # the closest pending pair among parents with room is always taken: this terminates
        d, p = _nearest(parents, children[pending], np.flatnonzero(room > 0), candidates)


# =====================================================================================
# linear sum assignment
# =====================================================================================
def linear_sum_assignment(
    children: np.ndarray,
    parents: np.ndarray,
    capacity: np.ndarray,
    *,
    dense_max: int = DENSE_MAX,
    block_max: int = BLOCK_MAX,
    refine_passes: int = REFINE_PASSES,
) -> tuple[np.ndarray, str]:
    """The parent of each child minimizing the total distance, and the solver used
    (``"dense"`` exact, or ``"blockwise"``; see the module docstring)."""
    children = np.asarray(children, dtype=np.float64)
    parents = np.asarray(parents, dtype=np.float64)
    capacity = np.asarray(capacity, dtype=np.int64)
    _check(children, parents, capacity)
    n = len(children)
    if n <= dense_max:
        return _dense(children, parents, capacity), "dense"
    slots = _slot_owner(capacity)
    slot_points = parents[slots]
    # start from the greedy solution, as concrete slots
    greedy, _, _ = _greedy(children, parents, capacity, CANDIDATE_PARENTS)
    start = np.concatenate([[0], np.cumsum(capacity)])
    order = np.argsort(greedy, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - start[greedy[order]]
    pairs = start[greedy] + rank  # the slot of each child
    for refine in range(refine_passes):
        middle = 0.5 * (children + slot_points[pairs])
        cut = _bisect(middle, middle, np.arange(n), np.arange(n), block_max, axis=refine)
        for block_children, _ in cut:
            block_slots = pairs[block_children]
            pairs[block_children] = _solve_block(
                children, parents, slots, block_children, block_slots
            )
    return slots[pairs], "blockwise"


def _dense(children: np.ndarray, parents: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    slots = _slot_owner(capacity)
    distance = cdist(children, parents)[:, slots]
    rows, columns = dense_assignment(distance)
    assigned = np.empty(len(children), dtype=np.int64)
    assigned[rows] = slots[columns]
    return assigned


def _bisect(
    a: np.ndarray,
    b: np.ndarray,
    a_rows: np.ndarray,
    b_rows: np.ndarray,
    block_max: int,
    axis: int,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Blocks of equal numbers of ``a`` and ``b`` points: split both at their medians along
    the principal axis of their union (the ``axis``-th one at the first cut, the first one
    below), until blocks hold at most ``block_max`` points of each."""
    blocks: list[tuple[np.ndarray, np.ndarray]] = []
    stack = [(a_rows, b_rows, axis)]
    while stack:
        rows_a, rows_b, which = stack.pop()
        m = len(rows_a)
        if m <= block_max:
            blocks.append((rows_a, rows_b))
            continue
        union = np.vstack([a[rows_a], b[rows_b]])
        centered = union - union.mean(axis=0)
        _, vectors = np.linalg.eigh(centered.T @ centered)
        direction = vectors[:, -1 - (which % vectors.shape[1])]
        order_a = np.argsort(a[rows_a] @ direction, kind="stable")
        order_b = np.argsort(b[rows_b] @ direction, kind="stable")
        half = m // 2
        stack.append((rows_a[order_a[half:]], rows_b[order_b[half:]], 0))
        stack.append((rows_a[order_a[:half]], rows_b[order_b[:half]], 0))
    return blocks


def _solve_block(
    children: np.ndarray,
    parents: np.ndarray,
    slots: np.ndarray,
    block_children: np.ndarray,
    block_slots: np.ndarray,
) -> np.ndarray:
    """The slot (among ``block_slots``) of each of ``block_children``, minimum total cost."""
    owners, local_owner, capacity = np.unique(
        slots[block_slots], return_inverse=True, return_counts=True
    )
    points = children[block_children]
    local = _dense(points, parents[owners], capacity)
    # give each child a concrete slot of its parent: the parent's slots in block order
    by_owner = block_slots[np.argsort(local_owner, kind="stable")]
    start = np.concatenate([[0], np.cumsum(capacity)])
    order = np.argsort(local, kind="stable")
    rank = np.empty(len(local), dtype=np.int64)
    rank[order] = np.arange(len(local)) - start[local[order]]
    return by_owner[start[local] + rank]
