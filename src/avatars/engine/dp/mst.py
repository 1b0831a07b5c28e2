"""MST: a marginal-based DP synthesizer (McKenna, Miklau & Sheldon, "Winning the NIST
Contest: A scalable and general approach to differentially private synthetic data", 2021).

On a table of categorical codes (continuous columns already binned), with budget ``ε``:

1. **one-way marginals**: the count of every value of every column, with discrete Laplace
   noise (``ε/3`` in all; the whole ``ε`` if the table has one column);
2. **selection** of ``d − 1`` pairs of columns forming a spanning tree, Kruskal-style: in
   each round, among the pairs that join two components, report-noisy-max picks the pair
   whose two-way marginal is worst explained by the one-way marginals (score: the L1
   distance between the true two-way counts and the product of the noisy one-way
   estimates; it moves by at most 2 when one row is replaced); ``ε/3`` over the rounds;
3. **two-way marginals** of the selected pairs, with discrete Laplace noise (``ε/3``);
4. **estimation** (post-processing, :func:`_estimate`): the tree model that agrees with
   every noisy marginal;
5. **sampling** (post-processing): records drawn from the tree, root first, each column
   from its conditional distribution given its parent.

Every noise draw is OpenDP's (:mod:`.opendp_mechanisms`); this module chooses what to
measure, as MST prescribes, and post-processes. Why not ``opendp.extras.mbi.MST`` (OpenDP
0.16) itself: it overspends its own selection budget by a rounding error and fails
("insufficient budget for query") on every table of 9 columns or more that we tried
(opendp/opendp#2789), and it rebuilds each measurement by binary search through the Polars
plugin (90 s for the 683 × 10 WBCD table here). Why not Private-PGM (``mbi``) for step 4: its
general estimator compiles JAX programs for every table (10-20 s per fit here, and 380 MB of
JAX), while MST's measurements form a tree on which the estimation decomposes exactly into
per-column and per-pair steps (:func:`_estimate`). ``benchmarks/dp_utility.py`` compares the
result with SmartNoise-Synth's MST over Private-PGM.

Step 5 uses a seeded generator: for a given fitted model the records are reproducible. The
noise of steps 1-3 comes from OpenDP's cryptographically secure generator and cannot be
seeded, so two runs with the same seed differ (as they must for the guarantee to hold).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from avatars.engine.dp.opendp_mechanisms import Release, noisy_argmax, noisy_counts

#: Maximum change of a selection score when one row is replaced (L1 distance of counts).
SCORE_SENSITIVITY = 2.0


@dataclass
class MSTModel:
    """A fitted MST: the tree of pairs and the model's marginals on them."""

    sizes: list[int]
    edges: list[tuple[int, int]]
    roots: list[tuple[int, np.ndarray]]  # first column of each tree and its distribution
    # parent, child, P(child | parent) as a (|parent|, |child|) matrix, in sampling order
    conditionals: list[tuple[int, int, np.ndarray]]
    epsilon_spent: dict[str, float] = field(default_factory=dict)

    def sample(self, n_rows: int, rng: np.random.Generator) -> np.ndarray:
        """``n_rows`` records of codes (n_rows × columns), drawn from the model."""
        out = np.zeros((n_rows, len(self.sizes)), dtype=np.int64)
        for column, marginal in self.roots:
            out[:, column] = _draw(np.broadcast_to(marginal, (n_rows, marginal.size)), rng)
        for parent, child, conditional in self.conditionals:
            out[:, child] = _draw(conditional[out[:, parent]], rng)
        return out


def fit_mst(
    codes: np.ndarray,
    sizes: list[int],
    epsilon: float,
    rows_per_individual: int = 1,
    progress: Callable[[float, str], None] | None = None,
) -> MSTModel:
    """Fit MST on ``codes`` (n × d integers, column ``j`` in ``[0, sizes[j])``)."""
    report = progress or (lambda fraction, phase: None)
    n, d = codes.shape
    spent: dict[str, float] = {}
    eps_oneway = epsilon if d == 1 else epsilon / 3.0
    eps_select = 0.0 if d == 1 else epsilon / 3.0
    eps_twoway = 0.0 if d == 1 else epsilon / 3.0

    report(0.0, "one-way marginals")
    oneway = []
    for j in range(d):
        release = noisy_counts(codes[:, j], sizes[j], eps_oneway / d, rows_per_individual)
        oneway.append(release)
    spent["one_way_marginals"] = math.fsum(r.epsilon for r in oneway)

    report(0.2, "selection")
    edges, spent["selection"] = _select_tree(
        codes, sizes, [r.value for r in oneway], eps_select, rows_per_individual
    )

    report(0.4, "two-way marginals")
    twoway = []
    for a, b in edges:
        joint = codes[:, a] * sizes[b] + codes[:, b]
        per_edge = eps_twoway / len(edges)
        twoway.append(noisy_counts(joint, sizes[a] * sizes[b], per_edge, rows_per_individual))
    spent["two_way_marginals"] = math.fsum(r.epsilon for r in twoway)

    report(0.5, "estimation")
    model = _estimate(n, sizes, oneway, edges, twoway)
    model.epsilon_spent = spent
    return model


def _select_tree(
    codes: np.ndarray,
    sizes: list[int],
    oneway: list[np.ndarray],
    epsilon: float,
    rows_per_individual: int,
) -> tuple[list[tuple[int, int]], float]:
    """The ``d − 1`` pairs of MST's step 2 and the ε spent (rounds with a single candidate
    pair need no noise and spend nothing)."""
    n, d = codes.shape
    if d < 2:
        return [], 0.0
    shares = [np.clip(v, 0.0, None) for v in oneway]
    shares = [s / s.sum() if s.sum() > 0 else np.full(s.size, 1.0 / s.size) for s in shares]
    pairs = list(itertools.combinations(range(d), 2))
    scores = np.empty(len(pairs))
    for p, (a, b) in enumerate(pairs):
        true = np.bincount(codes[:, a] * sizes[b] + codes[:, b], minlength=sizes[a] * sizes[b])
        estimate = n * np.outer(shares[a], shares[b]).ravel()
        scores[p] = np.abs(true - estimate).sum()
    component = list(range(d))

    def find(x: int) -> int:
        while component[x] != x:
            component[x] = component[component[x]]
            x = component[x]
        return x

    per_round = epsilon / (d - 1)
    chosen: list[tuple[int, int]] = []
    spent = 0.0
    for _ in range(d - 1):
        candidates = [p for p, (a, b) in enumerate(pairs) if find(a) != find(b)]
        if len(candidates) == 1:
            pick = candidates[0]
        else:
            index, loss = noisy_argmax(
                scores[candidates], per_round, SCORE_SENSITIVITY, rows_per_individual
            )
            pick = candidates[index]
            spent += loss
        a, b = pairs[pick]
        chosen.append((a, b))
        component[find(a)] = find(b)
    return chosen, spent


def _estimate(
    n: int,
    sizes: list[int],
    oneway: list[Release],
    edges: list[tuple[int, int]],
    twoway: list[Release],
) -> MSTModel:
    """The tree model that agrees best with every noisy marginal (post-processing).

    MST measures each column once and each tree edge once, so the measurements form a tree
    and the estimation decomposes (the role Private-PGM plays for arbitrary cliques):

    - column ``j``: its one-way measurement and the row (or column) sums of every measured
      pair containing ``j`` are independent noisy measurements of the same counts; their
      inverse-variance weighted mean (a discrete Laplace of scale ``b`` has variance
      ``≈ 2b²``; a sum over ``m`` cells, ``m`` times that) is projected onto
      ``{x ≥ 0, Σx = n}`` (Euclidean projection on the scaled simplex);
    - pair ``(a, b)``: its noisy counts, made non-negative, are raked (iterative
      proportional fitting) to the estimated counts of ``a`` and ``b``, so that the model's
      marginals agree on every shared column;
    - sampling follows the tree: ``P(child | parent)`` is the raked pair's row, normalized.
    """
    variance_one = [2.0 * r.scale**2 for r in oneway]
    variance_two = [2.0 * r.scale**2 for r in twoway]
    counts = []
    for j, size in enumerate(sizes):
        weighted = oneway[j].value / variance_one[j]
        precision = 1.0 / variance_one[j]
        for (a, b), release, variance in zip(edges, twoway, variance_two, strict=True):
            if j not in (a, b):
                continue
            table = release.value.reshape(sizes[a], sizes[b])
            other = sizes[b] if j == a else sizes[a]
            sums = table.sum(axis=1) if j == a else table.sum(axis=0)
            weighted = weighted + sums / (other * variance)
            precision += 1.0 / (other * variance)
        counts.append(_simplex_projection(weighted / precision, float(n)))
        del size
    joints = [
        _rake(release.value.reshape(sizes[a], sizes[b]), counts[a], counts[b])
        for (a, b), release in zip(edges, twoway, strict=True)
    ]
    return _tree_model(sizes, edges, counts, joints)


def _tree_model(
    sizes: list[int],
    edges: list[tuple[int, int]],
    counts: list[np.ndarray],
    joints: list[np.ndarray],
) -> MSTModel:
    """Conditionals along the tree, breadth first from column 0 (and from the first column
    of any other component)."""
    neighbours: dict[int, list[tuple[int, np.ndarray]]] = {j: [] for j in range(len(sizes))}
    for (a, b), joint in zip(edges, joints, strict=True):
        neighbours[a].append((b, joint))
        neighbours[b].append((a, joint.T))
    seen: set[int] = set()
    roots: list[tuple[int, np.ndarray]] = []
    conditionals: list[tuple[int, int, np.ndarray]] = []
    for start in range(len(sizes)):
        if start in seen:
            continue
        seen.add(start)
        roots.append((start, _normalized(counts[start])))
        queue = [start]
        while queue:
            parent = queue.pop(0)
            for child, joint in neighbours[parent]:  # joint: parent × child
                if child in seen:
                    continue
                seen.add(child)
                conditionals.append((parent, child, _normalized(joint)))
                queue.append(child)
    return MSTModel(sizes=list(sizes), edges=list(edges), roots=roots, conditionals=conditionals)


def _simplex_projection(values: np.ndarray, total: float) -> np.ndarray:
    """Euclidean projection of ``values`` on ``{x ≥ 0, Σx = total}`` (Duchi et al. 2008)."""
    ordered = np.sort(values)[::-1]
    cumulative = np.cumsum(ordered) - total
    ranks = np.arange(1, values.size + 1)
    last = np.flatnonzero(ordered - cumulative / ranks > 0)[-1]
    return np.clip(values - cumulative[last] / (last + 1), 0.0, None)


def _rake(
    table: np.ndarray, rows: np.ndarray, columns: np.ndarray, iterations: int = 100
) -> np.ndarray:
    """Iterative proportional fitting of a non-negative table to row and column totals.

    A small floor (a thousandth of a record spread over the cells) keeps every cell
    reachable, so that a row or column the noise zeroed can still take its total."""
    fitted = np.clip(table, 0.0, None) + 1e-3 / table.size
    for _ in range(iterations):
        fitted *= (rows / np.maximum(fitted.sum(axis=1), 1e-300))[:, None]
        fitted *= (columns / np.maximum(fitted.sum(axis=0), 1e-300))[None, :]
        if np.allclose(fitted.sum(axis=1), rows, rtol=1e-6, atol=1e-6):
            break
    return fitted


def _normalized(table: np.ndarray) -> np.ndarray:
    """Rows (or the vector) as probabilities; an all-zero row becomes uniform."""
    table = np.clip(np.asarray(table, dtype=np.float64), 0.0, None)
    if table.ndim == 1:
        total = table.sum()
        return table / total if total > 0 else np.full(table.size, 1.0 / table.size)
    totals = table.sum(axis=1, keepdims=True)
    uniform = np.full(table.shape, 1.0 / table.shape[1])
    return np.where(totals > 0, table / np.where(totals > 0, totals, 1.0), uniform)


def _draw(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One category per row, row ``i`` with the probabilities ``probabilities[i]``."""
    cumulative = np.cumsum(probabilities, axis=1)
    cumulative[:, -1] = 1.0
    u = rng.random((probabilities.shape[0], 1))
    return (cumulative < u).sum(axis=1).astype(np.int64)
