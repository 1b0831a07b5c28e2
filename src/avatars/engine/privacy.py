"""Privacy metrics of an avatarization (method.md §2): ``privacy_metrics``.

Every metric compares the original table with its **unshuffled** avatars (row ``i`` is the
avatar of original ``i``) in a common space (method.md §2.0): both tables typed like the
original, imputed, and projected with the FAMD/PCA/MCA fitted on the originals
(:class:`~avatars.engine.metric_space.MetricSpace`; no missingness indicators, as in the paper's
``SecurityMetrics``); the first ``ncp`` coordinates are used (default ``min(5, rank)``).
Notation: ``c_i`` the coordinates of original ``i``, ``a_j`` those of avatar ``j``, ``n`` rows.

Singling out (§2.1-2.8)

- hidden rate (§2.1) ``100 · (1/n) Σ_i 1[nn(i) ≠ i]``, ``nn(i) = argmin_j ‖c_i − a_j‖`` with the
  paper's tie rule: among equidistant avatars the **lowest index** wins (faiss ``IndexFlatL2``).
  The strict variant counts ``i`` hidden only if another avatar is *strictly* closer.
- local cloaking (§2.2) ``LC_i = #{j ≠ i : ‖c_i − a_j‖ ≤ ‖c_i − a_i‖}`` (ties count), counted
  exactly (no truncated neighbour list); reported value: the median, always exact. Per-record
  values are exact below ``max(100, 2·10⁷ / n)`` — every value on tables up to ~4,500 rows —
  and larger ones are reported as that bound ("at least"), because records whose own avatar is
  far reach much of the avatar cloud and counting them all is quadratic (see local_cloaking).
- distance to closest (§2.3) ``DCR(s) = min_x ‖s − x‖`` and closest distances ratio (§2.4)
  ``NNDR(s) = d₁(s) / d₂(s)`` (1 when ``d₂ = 0``) per avatar, over the originals; reported: medians.
- closest rate (§2.5, provisional), column and row direct match protection (§2.6, §2.8,
  provisional), categorical hidden rate (§2.7, provisional).

Linkability and inference (need ``known_variables``; §2.9-2.10, provisional).

Reproduction (tests/engine/test_privacy_paper.py): our projection reproduces saiph's full-SVD
coordinates. On WBCD (``wbcd.csv`` without its id) against the paper's avatars with ``Class``
categorical and the 9 scores numeric — a FAMD, exactly what the paper's metric code did — with
``ncp = 2``: hidden rate 92.68 % and local cloaking median 24, the paper's "93 %" and "24".
Typing every column categorical (the MCA used to *generate* the avatars) gives 90.48 % / 13 with
an exact SVD; saiph's randomized SVD for ``nf = 2`` lands at 92.7-93.6 % there only as an
artefact of its approximation, so the FAMD typing is the reproduction setting (method.md §5.4).
DCR/NNDR of the paper's round-0 split (method.md §2.3) match its stored vectors to float32
precision: WBCD with ``ncp = rank``; AIDS in the full standardized space. With ``ncp = rank``,
8 AIDS avatars differ: they break exact dependencies of the originals (``treat = 1[arms ≠ 0]``,
``str2 = 1[strat ≠ 1]``), so part of them lies outside the span of the originals' axes, which
the projection (``rank`` axes) drops while saiph's full SVD keeps zero-variance axes.

Distances within ``atol`` (:func:`~avatars.engine.neighbors.tie_tolerance`, 1e-9 relative) are
ties, and are reported as 0 when they are that close to 0: identical records get coordinates
that differ in the last bits.

Memory and speed: KD-trees queried in bounded chunks (:mod:`avatars.engine.neighbors`), never an
n × n (or n × k-large) matrix; the trees on the originals and on the avatars are built once and
shared by the metrics, queries run in KD-tree leaf order (:class:`_Frame`), and BLAS runs on one
thread (:func:`single_threaded_blas`). Measured on 2 busy cores, 16 mixed columns: 50,000 rows
~2 s of privacy metrics, 1,000,000 rows ~40 s (avatarization excluded).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from threadpoolctl import threadpool_limits

from avatars.engine.errors import InvalidDataError, InvalidParameterError
from avatars.engine.imputation import ImputationParameters, impute
from avatars.engine.metric_space import MetricSpace
from avatars.engine.neighbors import (
    CHUNK_ROWS,
    count_within,
    nearest_lowest_label,
    nearest_other_neighbors,
    tie_tolerance,
)
from avatars.engine.preprocessing import (
    EncodedTable,
    TableEncoder,
    check_columns_exist,
    validate_table,
)
from avatars.engine.projection import Projection
from avatars.engine.schema import ColumnType
from avatars.engine.targets import MetricValue, make_metric

ProgressCallback = Callable[[float, str], None]
F = TypeVar("F", bound=Callable[..., Any])


def single_threaded_blas(function: F) -> F:
    """Run ``function`` with one BLAS thread. The metrics' matrix products are small chunked
    Gram and projection products: a multi-threaded OpenBLAS only spins on them, and makes them
    several times slower on a busy machine (measured: signal metrics of 50,000 rows 1.7 s with
    2 BLAS threads, 0.44 s with 1, on 2 loaded cores). KD-tree queries keep their own workers."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with threadpool_limits(limits=1, user_api="blas"):
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


#: Closest rate: percentile of the originals' nearest-other-original distances used as the
#: "too close" threshold τ when ``quantile_threshold`` is None (our choice; method.md §2.5 [U]).
DEFAULT_QUANTILE_THRESHOLD = 5

#: Correlation protection rate: a known numeric matches if |a − x| < 5 % of its mean (§2.9).
CPR_RELATIVE_TOLERANCE = 0.05

#: Inference metrics: dimensions of the projection of the avatars' known variables (§2.10).
INFERENCE_MAX_NCP = 5

#: Categorical hidden rate: most one-hot columns the projection of the listed variables may have.
MAX_CATEGORICAL_DIMENSIONS = 2000

#: Local cloaking histogram in ``details``: one bin per value 0..LC_HISTOGRAM_BINS-1, then "more".
LC_HISTOGRAM_BINS = 100

#: Confusion matrices are reported when the categorical target has at most this many modalities.
MAX_CONFUSION_MODALITIES = 50


# =====================================================================================
# results
# =====================================================================================
@dataclass
class PrivacyMetricsResult:
    """What :func:`privacy_metrics` returns.

    Per-record arrays: ``hidden`` / ``hidden_strict`` (bool) and ``local_cloaking`` (int; values
    at ``details["local_cloaking"]["exact_below"]`` mean "at least that", see the module
    docstring) per original record; ``distance_to_closest``, ``closest_distances_ratio`` and
    ``closest_at_risk`` per avatar; ``categorical_hidden`` when that metric was asked for. They
    stay out of :meth:`to_dict` unless asked for (``records_limit``): the JSON holds summaries.
    """

    metrics: list[MetricValue]
    details: dict[str, Any]
    parameters: dict[str, Any]
    hidden: np.ndarray
    hidden_strict: np.ndarray
    local_cloaking: np.ndarray
    distance_to_closest: np.ndarray
    closest_distances_ratio: np.ndarray
    closest_at_risk: np.ndarray
    categorical_hidden: np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def metric(self, name: str) -> MetricValue | None:
        """The metric called ``name``, or None when it was not computed."""
        return next((m for m in self.metrics if m.name == name), None)

    def value(self, name: str) -> float | None:
        found = self.metric(name)
        return None if found is None else found.value

    def to_dict(self, *, records_limit: int = 0) -> dict[str, Any]:
        """A JSON-serialisable dict (the server's ``<table>.privacy.json``).

        Flat legacy fields (``hidden_rate``, ``local_cloaking``, … ``closest_rate``; None when
        not computable) as the official clients read them, plus ``metrics`` (one dict per
        :class:`MetricValue`), ``targets`` (name → target), ``passed``, ``details`` and
        ``parameters``. Per-record arrays are added under ``records`` only when the table has
        at most ``records_limit`` rows (default 0: never).
        """
        out: dict[str, Any] = {name: self.value(name) for name in LEGACY_PRIVACY_FIELDS}
        out["metrics"] = [m.to_dict() for m in self.metrics]
        out["targets"] = {m.name: m.target for m in self.metrics}
        out["passed"] = {m.name: m.passed for m in self.metrics}
        out["details"] = _jsonable(self.details)
        out["parameters"] = _jsonable(self.parameters)
        out["metadata"] = _jsonable(self.metadata)
        if len(self.hidden) <= records_limit:
            records: dict[str, Any] = {
                "hidden": self.hidden,
                "hidden_strict": self.hidden_strict,
                "local_cloaking": self.local_cloaking,
                "distance_to_closest": self.distance_to_closest,
                "closest_distances_ratio": self.closest_distances_ratio,
                "closest_at_risk": self.closest_at_risk,
            }
            if self.categorical_hidden is not None:
                records["categorical_hidden"] = self.categorical_hidden
            out["records"] = _jsonable(records)
        return out


#: The legacy ``PrivacyMetrics`` fields, in the clients' order (method.md §2.0).
LEGACY_PRIVACY_FIELDS = (
    "hidden_rate",
    "local_cloaking",
    "distance_to_closest",
    "closest_distances_ratio",
    "column_direct_match_protection",
    "categorical_hidden_rate",
    "row_direct_match_protection",
    "correlation_protection_rate",
    "inference_continuous",
    "inference_categorical",
    "closest_rate",
)


# =====================================================================================
# array-level metrics (pure functions on coordinates)
# =====================================================================================
def nearest_avatar(
    original_coordinates: np.ndarray,
    avatar_coordinates: np.ndarray,
    *,
    atol: float | None = None,
    avatar_keys: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """For each original, the index of its nearest avatar and the distance to it (§2.1).

    Ties (distances within ``atol``) go to the lowest avatar index, the rule of the paper's
    faiss-based code. ``avatar_keys`` (one key per avatar, equal for identical records, e.g.
    a row hash of the encoded values) lets the search run on distinct avatars only — essential
    on discrete data, where thousands of avatars can tie.
    """
    if atol is None:
        atol = tie_tolerance(original_coordinates, avatar_coordinates)
    index = _AvatarIndex.build(avatar_coordinates, avatar_keys, atol)
    best, distance = nearest_lowest_label(
        index.tree, original_coordinates, index.point_labels, atol=atol
    )
    return best, _snap_zero(distance, atol)


def hidden_flags(
    original_coordinates: np.ndarray,
    avatar_coordinates: np.ndarray,
    *,
    atol: float | None = None,
    avatar_keys: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Which originals are hidden (§2.1): ``(lowest-index rule, strict rule)``, both bool (n,).

    ``hidden[i] = nn(i) ≠ i`` where ``nn`` takes the lowest index among equidistant avatars —
    a record whose own avatar ties with a lower-index avatar is hidden (the paper's rule).
    ``hidden_strict[i]``: some other avatar is *strictly* closer than ``i``'s own avatar (ties
    count as found). On WBCD the strict rule gives 57.7 %, lowest-index 92.7 % (method.md §2.1).
    ``avatar_keys``: see :func:`nearest_avatar`.
    """
    _check_paired(original_coordinates, avatar_coordinates)
    if atol is None:
        atol = tie_tolerance(original_coordinates, avatar_coordinates)
    frame = _Frame.of(original_coordinates, avatar_coordinates, avatar_keys)
    index = _AvatarIndex.build(frame.avatars, frame.keys, atol, labels=frame.order)
    scan = _scan_nearest(index, frame.originals, frame.own, atol)
    hidden, strict = _finish_hidden(
        scan, index, frame.originals, frame.own, atol, query_labels=frame.order
    )
    return frame.restore(hidden), frame.restore(strict)


def local_cloaking(
    original_coordinates: np.ndarray,
    avatar_coordinates: np.ndarray,
    *,
    atol: float | None = None,
    avatar_keys: np.ndarray | None = None,
    cap: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """``LC_i = #{j ≠ i : ‖c_i − a_j‖ ≤ ‖c_i − a_i‖}`` for every original (§2.2), int (n,).

    The number of *other* avatars at least as close to original ``i`` as its own avatar, ties
    counted (the semantics of the paper's ``get_counts``), computed exactly: no truncated
    neighbour list (the paper's code only searched the 4,000 nearest points). ``LC_i = 0``: the
    own avatar is the unique nearest.

    ``cap``: values ≥ ``cap`` are returned as ``cap`` ("at least cap"); None counts every value
    exactly. Counting is a k = 16 scan (on distinct avatars when ``avatar_keys`` shows many
    duplicates), then, for the records it leaves open, ball counts on nested random subsamples
    of the avatars (1/2ⁱ of them, coarsest first; a subsample count is an exact lower bound, so
    a record is capped only when proven ≥ cap) and finally on all avatars: the work per record
    is O(min(LC_i, cap)), not O(LC_i) — peripheral records whose ball covers much of the cloud
    would otherwise make the total quadratic. ``seed`` draws the subsamples; the result does
    not depend on it.
    """
    _check_paired(original_coordinates, avatar_coordinates)
    if atol is None:
        atol = tie_tolerance(original_coordinates, avatar_coordinates)
    frame = _Frame.of(original_coordinates, avatar_coordinates, avatar_keys)
    index = _AvatarIndex.build(frame.avatars, frame.keys, atol, labels=frame.order)
    scan = _scan_nearest(index, frame.originals, frame.own, atol)
    lc = _finish_local_cloaking(scan, frame.originals, frame.avatars, frame.own, atol, cap, seed)
    return frame.restore(lc)


#: The scan behind the hidden rate and local cloaking asks for this many nearest avatars.
SCAN_NEIGHBOURS = 16

#: Local cloaking in privacy_metrics: per-record values are exact below
#: ``max(LC_MIN_CAP, LC_COUNT_BUDGET // n)`` (every value up to ~4,500 rows), see local_cloaking.
LC_MIN_CAP = 100
LC_COUNT_BUDGET = 20_000_000

#: Search distinct avatars (with multiplicities) when more than this share are duplicates.
DUPLICATE_SHARE = 0.1


@dataclass
class _AvatarIndex:
    """The avatars as a KD-tree: every avatar, or — when many are identical — one point per
    group of identical avatars, labelled with the group's lowest index (so the lowest-index tie
    rule is unchanged) and weighted by the group's size (so counts are unchanged). Trees over
    many identical points have unsplittable leaves that every nearby query scans in full."""

    tree: cKDTree
    labels: np.ndarray | None  # None: point j is avatar j
    weights: np.ndarray | None  # None: every point counts once

    @property
    def point_labels(self) -> np.ndarray:
        return np.arange(self.tree.n) if self.labels is None else self.labels

    @classmethod
    def build(
        cls,
        avatar_coordinates: np.ndarray,
        keys: np.ndarray | None,
        atol: float,
        labels: np.ndarray | None = None,
    ) -> _AvatarIndex:
        """``labels``: the avatars' indices in the caller's numbering (default: positions)."""
        grouped = None if keys is None else _group_identical(avatar_coordinates, keys, atol, labels)
        if grouped is None:
            return cls(_balanced_tree(avatar_coordinates), labels, None)
        points, weights = grouped
        point_labels = points if labels is None else labels[points]
        return cls(_balanced_tree(avatar_coordinates[points]), point_labels, weights)


@dataclass
class _Scan:
    best: np.ndarray  # lowest-index nearest avatar among the scanned neighbours
    best_distance: np.ndarray
    tie_overflow: np.ndarray  # rows whose scanned neighbours were all tied: best unsure
    local_cloaking: np.ndarray  # exact LC_i, or -1 where the scan could not close the count
    last_distance: np.ndarray  # distance of the k-th scanned point
    k: int


def _scan_nearest(
    index: _AvatarIndex,
    queries: np.ndarray,
    own: np.ndarray,
    atol: float,
    k: int = SCAN_NEIGHBOURS,
) -> _Scan:
    """One k-nearest query of every original among the avatars: the nearest avatar with the
    lowest-index rule (when the tie closes within k) and ``LC_i`` (when the k-th neighbour lies
    beyond the own-avatar distance)."""
    tree = index.tree
    n = queries.shape[0]
    k = max(1, min(k, tree.n))
    best = np.empty(n, dtype=np.int64)
    best_d = np.empty(n)
    overflow = np.zeros(n, dtype=bool)
    lc = np.full(n, -1, dtype=np.int64)
    last_d = np.empty(n)
    sentinel = np.iinfo(np.int64).max
    for start in range(0, n, CHUNK_ROWS):
        stop = min(n, start + CHUNK_ROWS)
        d, idx = tree.query(queries[start:stop], k=k, workers=-1)
        d, idx = d.reshape(stop - start, k), idx.reshape(stop - start, k)
        labels = idx if index.labels is None else index.labels[idx]
        tied = d <= d[:, :1] + atol
        best[start:stop] = np.where(tied, labels, sentinel).min(axis=1)
        best_d[start:stop] = d[:, 0]
        last_d[start:stop] = d[:, -1]
        within = d <= own[start:stop, None] + atol
        if k < tree.n:
            overflow[start:stop] = tied[:, -1]
            closed = ~within[:, -1]
        else:
            closed = np.ones(stop - start, dtype=bool)
        counts = (
            within.sum(axis=1)
            if index.weights is None
            else np.where(within, index.weights[idx], 0).sum(axis=1)
        )
        lc[start:stop] = np.where(closed, counts - 1, -1)
    return _Scan(best, best_d, overflow, lc, last_d, k)


def _finish_hidden(
    scan: _Scan,
    index: _AvatarIndex,
    original_coordinates: np.ndarray,
    own: np.ndarray,
    atol: float,
    query_labels: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``query_labels``: each original's index in the caller's numbering (that of the avatar
    labels): an original is hidden when its nearest avatar's label differs from its own."""
    best = scan.best.copy()
    rows = np.flatnonzero(scan.tie_overflow)
    if rows.size:  # ties wider than the scan: widen the search for those rows
        best[rows], _ = nearest_lowest_label(
            index.tree, original_coordinates[rows], index.point_labels, atol=atol
        )
    own_labels = np.arange(len(best)) if query_labels is None else query_labels
    hidden = best != own_labels
    strict = scan.best_distance < own - atol
    return hidden, strict


def _finish_local_cloaking(
    scan: _Scan,
    original_coordinates: np.ndarray,
    avatar_coordinates: np.ndarray,
    own: np.ndarray,
    atol: float,
    cap: int | None,
    seed: int,
    only: np.ndarray | None = None,
) -> np.ndarray:
    """Close the local cloaking counts the scan left open (``-1``), see :func:`local_cloaking`.

    Levels: nested random subsamples of n/2, n/4, … (> cap) avatars, coarsest first, then all
    of them. A row enters at the level where its expected count, ``k · (r/d_k)^dim`` scaled by
    the sample's share (``r`` own-avatar distance, ``d_k`` the k-th scanned distance, a volume
    ratio), is about ``2 · cap``: rows with few avatars within ``r`` are counted once on all
    avatars, far-reaching rows are proven ≥ cap on a small sample. The estimate only steers the
    work; counts and the "≥ cap" proofs are exact. ``only``: rows to recount (default: open).
    """
    lc = scan.local_cloaking.copy()
    open_rows = np.flatnonzero(lc < 0) if only is None else np.asarray(only)
    n_avatars = len(avatar_coordinates)
    sizes: list[int] = []
    if cap is not None:
        size = n_avatars // 2
        while size > cap:
            sizes.append(size)
            size //= 2
        sizes.reverse()
    sizes.append(n_avatars)
    if not open_rows.size:
        return lc if cap is None else np.minimum(lc, cap)
    dim = original_coordinates.shape[1]
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        ratio = own[open_rows] / scan.last_distance[open_rows]
        estimate = scan.k * np.where(np.isfinite(ratio), ratio, np.inf) ** dim
        wanted = n_avatars * 2.0 * (cap or 0) / estimate
    entry = np.minimum(np.searchsorted(np.array(sizes), wanted), len(sizes) - 1)
    entry[~np.isfinite(wanted)] = 0
    still = np.ones(open_rows.size, dtype=bool)
    order = np.random.default_rng(seed).permutation(n_avatars) if len(sizes) > 1 else None
    for level, size in enumerate(sizes):
        active = np.flatnonzero(still & (entry <= level))
        if not active.size:
            continue
        rows = open_rows[active]
        if size < n_avatars:
            assert order is not None and cap is not None
            sub = _balanced_tree(avatar_coordinates[np.sort(order[:size])])
            counts = count_within(sub, original_coordinates[rows], own[rows], atol=atol)
            proven = counts - 1 >= cap  # own avatar possibly in the sample: LC ≥ counts − 1
            lc[rows[proven]] = cap
            still[active[proven]] = False
        else:
            tree = _balanced_tree(avatar_coordinates)
            counts = count_within(tree, original_coordinates[rows], own[rows], atol=atol)
            lc[rows] = np.maximum(counts - 1, 0)
            still[active] = False
    return lc if cap is None else np.minimum(lc, cap)


@dataclass
class _Frame:
    """Originals and avatars permuted together into the leaf order of a KD-tree on the
    originals, so that chunked queries touch nearby tree nodes one after another: at a
    million rows this makes the k-nearest and ball queries ~3× faster (cache locality). Row
    ``k`` of the frame is original ``order[k]`` and its own avatar; :meth:`restore` puts
    per-record results back in the callers' order, and the lowest-index tie rule works on
    the original indices (``order`` as labels)."""

    order: np.ndarray
    originals: np.ndarray
    avatars: np.ndarray
    keys: np.ndarray | None
    own: np.ndarray  # ‖c_i − a_i‖ in frame order

    @classmethod
    def of(
        cls, originals: np.ndarray, avatars: np.ndarray, keys: np.ndarray | None = None
    ) -> _Frame:
        order = np.asarray(cKDTree(originals).indices, dtype=np.int64)
        o = np.ascontiguousarray(originals[order])
        a = np.ascontiguousarray(avatars[order])
        return cls(order, o, a, None if keys is None else keys[order], paired_distances(o, a))

    def restore(self, values: np.ndarray) -> np.ndarray:
        out = np.empty_like(values)
        out[self.order] = values
        return out


def _balanced_tree(points: np.ndarray) -> cKDTree:
    """A balanced KD-tree: its queries run ~3× faster than on ``build_tree``'s unbalanced one,
    for a build cost that is small next to the metrics' many queries."""
    return cKDTree(np.ascontiguousarray(points, dtype=np.float64))


def dcr_nndr(
    original_coordinates: np.ndarray,
    synthetic_coordinates: np.ndarray,
    *,
    atol: float | None = None,
    tree: cKDTree | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Distance to closest record and nearest-neighbour distance ratio of each synthetic record.

    ``DCR(s) = d₁(s)`` and ``NNDR(s) = d₁(s) / d₂(s)`` with ``d₁ ≤ d₂`` the two smallest
    Euclidean distances from ``s`` to the originals; ``NNDR = 1`` when ``d₂ = 0``
    (method.md §2.3-2.4, the paper's ``dcr_nndr.py``). Distances within ``atol`` of 0 are 0.
    Rows need not be paired: any synthetic set (or held-out originals) against any originals.
    """
    if original_coordinates.shape[0] < 2:
        raise InvalidDataError("the distance ratio needs at least 2 original records")
    if atol is None:
        atol = tie_tolerance(original_coordinates, synthetic_coordinates)
    tree = tree if tree is not None else _balanced_tree(original_coordinates)
    n = synthetic_coordinates.shape[0]
    d1 = np.empty(n)
    d2 = np.empty(n)
    for start in range(0, n, CHUNK_ROWS):
        stop = min(n, start + CHUNK_ROWS)
        d, _ = tree.query(synthetic_coordinates[start:stop], k=2, workers=-1)
        d1[start:stop], d2[start:stop] = d[:, 0], d[:, 1]
    d1, d2 = _snap_zero(d1, atol), _snap_zero(d2, atol)
    with np.errstate(divide="ignore", invalid="ignore"):
        nndr = np.where(d2 > 0, d1 / np.where(d2 > 0, d2, 1.0), 1.0)
    return d1, nndr


def closest_rate(
    dcr: np.ndarray,
    nndr: np.ndarray,
    original_nearest_distances: np.ndarray,
    *,
    quantile_threshold: float = DEFAULT_QUANTILE_THRESHOLD,
    ratio_threshold: float = 0.3,
) -> tuple[float, np.ndarray, float]:
    """Closest rate (method.md §2.5, **provisional** [I]): ``(rate in %, at_risk, τ)``.

    ``τ = percentile_q({min_{l≠i} ‖c_i − c_l‖})`` over the originals (``q = quantile_threshold``
    in [0, 100]); avatar ``s`` is at risk iff ``DCR(s) < τ`` and ``NNDR(s) < ratio_threshold``
    — closer to an original than most originals are to each other, *and* that original is
    isolated. ``closest_rate = 100 · (1 − share at risk)``.
    """
    tau = float(np.percentile(original_nearest_distances, quantile_threshold))
    at_risk = (dcr < tau) & (nndr < ratio_threshold)
    return 100.0 * (1.0 - float(np.mean(at_risk))), at_risk, tau


def paired_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``‖a_i − b_i‖`` row by row, in chunks."""
    n = a.shape[0]
    out = np.empty(n)
    for start in range(0, n, CHUNK_ROWS):
        stop = min(n, start + CHUNK_ROWS)
        diff = a[start:stop] - b[start:stop]
        out[start:stop] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return out


# =====================================================================================
# the public entry point
# =====================================================================================
@single_threaded_blas
def privacy_metrics(
    original: pd.DataFrame,
    unshuffled_avatars: pd.DataFrame,
    *,
    ncp: int | None = None,
    seed: int | None = None,
    column_types: Mapping[str, str | ColumnType] | None = None,
    column_weights: Mapping[str, float] | None = None,
    imputation: ImputationParameters | Mapping[str, Any] | None = None,
    known_variables: Sequence[str] | None = None,
    target: str | None = None,
    quantile_threshold: float | None = None,
    closest_rate_ratio_threshold: float = 0.3,
    categorical_hidden_rate_variables: Sequence[str] | None = None,
    exclude_variables: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
) -> PrivacyMetricsResult:
    """Privacy metrics of ``unshuffled_avatars`` (row ``i`` = avatar of ``original`` row ``i``).

    Parameters
    ----------
    original, unshuffled_avatars
        The original table and its avatars, same columns and same number of rows. The avatars
        must be *unshuffled*: the metrics use the link between row ``i`` and avatar ``i``.
    ncp
        Dimensions of the metric space, ``1 ≤ ncp ≤ rank``; default ``min(5, rank)`` (§2.0).
        Use the avatarization's ``ncp``; a larger value measures DCR/NNDR closer to the full
        space (the paper's DCR/NNDR comparison used all components, ``ncp = rank``).
    seed
        Seed of the random steps (imputation sampling); None means 0, so results are
        reproducible either way.
    column_types, column_weights, imputation, exclude_variables
        As for the avatarization; excluded variables are left out of every metric.
    known_variables, target
        The attacker's knowledge: ``known_variables`` enables the correlation protection rate;
        with ``target`` (a column not among them) the inference metrics.
    quantile_threshold
        Closest rate: percentile (0-100) of the originals' nearest-other-original distances
        below which an avatar is "too close"; default 5 (our choice, method.md §2.5 [U]).
    closest_rate_ratio_threshold
        Closest rate: NNDR below which a too-close avatar is also "too isolated" (0-1).
    categorical_hidden_rate_variables
        Columns for the categorical hidden rate (treated as categorical); default: not computed.
    progress
        Called as ``progress(fraction, phase)``.
    """
    started = time.perf_counter()
    timings: dict[str, float] = {}
    report = progress or (lambda fraction, phase: None)
    validate_table(original)
    _check_table(unshuffled_avatars, "unshuffled_avatars")
    avatars = _align_columns(original, unshuffled_avatars, "unshuffled_avatars")
    if len(avatars) != len(original):
        raise InvalidDataError(
            f"unshuffled_avatars has {len(avatars)} rows but the original has {len(original)}: "
            "privacy metrics need the unshuffled avatars, one per original record"
        )
    if len(original) < 2:
        raise InvalidDataError("privacy metrics need at least 2 records")
    exclude = check_columns_exist("exclude_variables", exclude_variables, original)
    known = _check_variable_list("known_variables", known_variables, original, exclude)
    chr_vars = _check_variable_list(
        "categorical_hidden_rate_variables", categorical_hidden_rate_variables, original, exclude
    )
    if target is not None:
        if not isinstance(target, str):
            raise InvalidParameterError("target", f"expected a column name, got {target!r}")
        check_columns_exist("target", [target], original)
        if not known:
            raise InvalidParameterError(
                "target", "needs known_variables (the columns the attacker already knows)"
            )
        if target in known:
            raise InvalidParameterError(
                "target", f"column '{target}' cannot also be one of the known_variables"
            )
        if target in exclude:
            raise InvalidParameterError("target", f"column '{target}' is in exclude_variables")
    quantile = _check_number(
        "quantile_threshold",
        DEFAULT_QUANTILE_THRESHOLD if quantile_threshold is None else quantile_threshold,
        0.0,
        100.0,
    )
    ratio = _check_number("closest_rate_ratio_threshold", closest_rate_ratio_threshold, 0.0, 1.0)
    seed = _check_seed(seed)
    streams = np.random.SeedSequence(seed).spawn(4)
    seeds = [int(s.generate_state(1)[0]) for s in streams]

    # -- the metric space ---------------------------------------------------------------
    report(0.0, "projection")
    t = time.perf_counter()
    space = MetricSpace.fit(
        original,
        avatars,
        ncp=ncp,
        column_types=column_types,
        column_weights=column_weights,
        imputation=imputation,
        exclude_variables=exclude,
        seed=seeds[0],
    )
    orig_c, avat_c = space.original_coordinates, space.avatar_coordinates
    atol = tie_tolerance(orig_c, avat_c)
    n = len(original)
    timings["metric_space"] = time.perf_counter() - t

    # -- singling out: hidden rate, local cloaking -----------------------------------------
    report(0.25, "hidden rate and local cloaking")
    t = time.perf_counter()
    keys = _row_keys(space.avatars.continuous, space.avatars.codes)
    frame = _Frame.of(orig_c, avat_c, keys)
    o, a, own = frame.originals, frame.avatars, frame.own
    index = _AvatarIndex.build(a, frame.keys, atol, labels=frame.order)
    scan = _scan_nearest(index, o, own, atol)
    hidden, hidden_strict = _finish_hidden(scan, index, o, own, atol, query_labels=frame.order)
    del index
    timings["hidden_rate"] = time.perf_counter() - t
    report(0.35, "local cloaking")
    t = time.perf_counter()
    lc_cap = max(LC_MIN_CAP, LC_COUNT_BUDGET // n)
    lc = _finish_local_cloaking(scan, o, a, own, atol, lc_cap, seeds[1])
    if lc_cap < n - 1 and np.median(lc) >= lc_cap:  # the median must be exact: count it all
        capped = np.flatnonzero(lc >= lc_cap)
        exact = _finish_local_cloaking(scan, o, a, own, atol, None, 0, only=capped)
        lc[capped] = exact[capped]
        lc_cap = n - 1
    n_capped = int(np.sum(lc >= lc_cap)) if lc_cap < n - 1 else 0
    del scan
    timings["local_cloaking"] = time.perf_counter() - t

    # -- DCR, NNDR, closest rate (one tree on the originals) --------------------------------
    report(0.5, "distance to closest")
    t = time.perf_counter()
    original_tree = _balanced_tree(o)
    dcr, nndr = dcr_nndr(o, a, atol=atol, tree=original_tree)
    nearest_other, _ = nearest_other_neighbors(o, 1, tree=original_tree)
    nearest_other = _snap_zero(nearest_other[:, 0], atol)
    rate, at_risk, tau = closest_rate(
        dcr, nndr, nearest_other, quantile_threshold=quantile, ratio_threshold=ratio
    )
    # the paper's empty rate: no other avatar (LC) and no other original (RC) within the
    # own-avatar distance; RC_i = 0 exactly when the nearest other original is farther
    empty = (lc == 0) & (nearest_other > own + atol)
    del original_tree
    hidden, hidden_strict, lc = (
        frame.restore(hidden),
        frame.restore(hidden_strict),
        frame.restore(lc),
    )
    dcr, nndr, at_risk = frame.restore(dcr), frame.restore(nndr), frame.restore(at_risk)
    nearest_other, empty = frame.restore(nearest_other), frame.restore(empty)
    del frame, o, a
    timings["distance_to_closest"] = time.perf_counter() - t

    # -- direct matches on values ---------------------------------------------------------
    report(0.65, "direct matches")
    t = time.perf_counter()
    keep = [c for c in original.columns if c not in exclude]
    raw_o = space.encoder.encode(original[keep])
    raw_a = space.encoder.encode(avatars[keep])
    column_protection = _column_direct_match(raw_o, raw_a, space.encoder)
    row_matches, own_row_matches = _row_direct_matches(raw_o, raw_a, space.encoder)
    del raw_o, raw_a
    timings["direct_match"] = time.perf_counter() - t

    hr = 100.0 * float(np.mean(hidden))
    details: dict[str, Any] = {
        "space": {
            "projection": space.projection.kind.value,
            "ncp": space.ncp,
            "rank": space.projection.rank,
            "explained_variance_ratio": space.projection.explained_variance_ratio[
                : space.ncp
            ].tolist(),
            "n_original": n,
            "n_avatars": len(avatars),
            "variables": keep,
            "tie_tolerance": atol,
        },
        "hidden_rate": {
            "tie_rule": "lowest_index",
            "value": hr,
            "hidden_rate_strict": 100.0 * float(np.mean(hidden_strict)),
            "n_hidden": int(hidden.sum()),
        },
        "local_cloaking": {
            **_summary(lc),
            "share_zero": 100.0 * float(np.mean(lc == 0)),
            "histogram": _histogram(lc, LC_HISTOGRAM_BINS),
            "empty_rate": 100.0 * float(np.mean(empty)),
            "exact_below": lc_cap if n_capped else None,
            "n_at_least_exact_below": n_capped,
        },
        "distance_to_closest": {**_summary(dcr), "share_zero": 100.0 * float(np.mean(dcr == 0))},
        "closest_distances_ratio": {
            **_summary(nndr),
            "share_below_threshold": 100.0 * float(np.mean(nndr < ratio)),
        },
        "closest_rate": {
            "quantile_threshold": quantile,
            "ratio_threshold": ratio,
            "distance_threshold": tau,
            "n_at_risk": int(at_risk.sum()),
            "original_nearest_distance": _summary(nearest_other),
        },
        "column_direct_match_protection": column_protection,
        "row_direct_match_protection": {
            "n_avatars_equal_to_an_original": row_matches,
            "n_avatars_equal_to_their_original": own_row_matches,
        },
    }
    col_values = [v for v in column_protection.values() if v is not None]
    metrics = [
        make_metric(
            "hidden_rate",
            hr,
            "Share of individuals for whom an attacker who picks the closest avatar picks the "
            "wrong one.",
        ),
        make_metric(
            "local_cloaking",
            float(np.median(lc)),
            "Typical number of other avatars at least as close to an individual as their own "
            "avatar (median).",
        ),
        make_metric(
            "distance_to_closest",
            float(np.median(dcr)),
            "Typical distance from an avatar to the closest original individual (median, "
            "metric space).",
        ),
        make_metric(
            "closest_distances_ratio",
            float(np.median(nndr)),
            "Typical ratio of an avatar's closest to second-closest original distance (median); "
            "near 1, the closest individual does not stand out.",
        ),
        make_metric(
            "closest_rate",
            rate,
            "Share of avatars that are not both very close to an original and isolated from the "
            "other originals.",
            provisional=True,
        ),
        make_metric(
            "column_direct_match_protection",
            min(col_values) if col_values else None,
            "Worst column: share of avatar values that do not copy a value unique to one "
            "individual.",
            provisional=True,
        ),
        make_metric(
            "row_direct_match_protection",
            100.0 * (1.0 - row_matches / len(avatars)),
            "Share of avatars that are not an exact copy of an original record.",
            provisional=True,
        ),
    ]

    # -- categorical hidden rate -----------------------------------------------------------
    categorical_hidden = None
    if chr_vars:
        report(0.75, "categorical hidden rate")
        t = time.perf_counter()
        categorical_hidden, chr_details = _categorical_hidden(
            original, avatars, chr_vars, imputation, seeds[1]
        )
        chr_value = 100.0 * float(np.mean(categorical_hidden))
        details["categorical_hidden_rate"] = {**chr_details, "value": chr_value}
        metrics.append(
            make_metric(
                "categorical_hidden_rate",
                chr_value,
                "Hidden rate when the attacker compares only the listed categorical variables.",
                provisional=True,
            )
        )
        timings["categorical_hidden_rate"] = time.perf_counter() - t

    # -- linkability and inference -----------------------------------------------------------
    if known:
        report(0.85, "correlation protection rate")
        t = time.perf_counter()
        cpr, cpr_details = _correlation_protection(space, known, hr)
        details["correlation_protection_rate"] = cpr_details
        metrics.append(
            make_metric(
                "correlation_protection_rate",
                cpr,
                "Share of individuals who cannot be re-identified by matching the variables an "
                "attacker knows to a single avatar.",
                provisional=True,
            )
        )
        timings["correlation_protection_rate"] = time.perf_counter() - t
    if known and target is not None:
        report(0.9, "inference")
        t = time.perf_counter()
        name, value, inf_details = _inference(
            original, avatars, space, known, target, imputation, seeds[3]
        )
        details["inference"] = inf_details
        description = (
            "Error (%, symmetric relative) of an attacker who guesses the target from the "
            "avatar closest to what they know."
            if name == "inference_continuous"
            else "Share of wrong guesses of an attacker who infers the target from the avatar "
            "closest to what they know."
        )
        metrics.append(make_metric(name, value, description, provisional=True))
        timings["inference"] = time.perf_counter() - t

    timings["total"] = time.perf_counter() - started
    details["timings_seconds"] = {k: round(v, 4) for k, v in timings.items()}
    report(1.0, "done")
    parameters = {
        "ncp": space.ncp,
        "seed": seed,
        "column_types": {c: t.value for c, t in space.encoder.column_types.items()},
        "column_weights": dict(column_weights or {}),
        "imputation": _imputation_dict(imputation),
        "known_variables": known,
        "target": target,
        "quantile_threshold": quantile,
        "closest_rate_ratio_threshold": ratio,
        "categorical_hidden_rate_variables": chr_vars,
        "exclude_variables": exclude,
    }
    return PrivacyMetricsResult(
        metrics=metrics,
        details=details,
        parameters=parameters,
        hidden=hidden,
        hidden_strict=hidden_strict,
        local_cloaking=lc,
        distance_to_closest=dcr,
        closest_distances_ratio=nndr,
        closest_at_risk=at_risk,
        categorical_hidden=categorical_hidden,
    )


# =====================================================================================
# provisional metrics
# =====================================================================================
def _column_direct_match(
    raw_o: EncodedTable, raw_a: EncodedTable, encoder: TableEncoder
) -> dict[str, float | None]:
    """Column direct match protection per column (method.md §2.6, **provisional** [I]).

    For each column, ``100 · (1 − share of avatar values equal to a value that exactly one
    original record has)``: exact match for categoricals and integers, equality after rounding
    to the column's usual number of decimals for floats; missing values never match. The
    reported metric is the minimum over columns.
    """
    n_avatars = raw_a.n_rows
    out: dict[str, float | None] = {}
    for j, column in enumerate(raw_o.continuous_names):
        decimals = encoder.formats[column].decimals
        xo, xa = raw_o.continuous[:, j], raw_a.continuous[:, j]
        if decimals is not None:
            xo, xa = np.round(xo, decimals), np.round(xa, decimals)
        values, counts = np.unique(xo[~np.isnan(xo)], return_counts=True)
        singles = values[counts == 1]
        matches = int(np.isin(xa, singles).sum()) if singles.size else 0
        out[column] = 100.0 * (1.0 - matches / n_avatars)
    for j, column in enumerate(raw_o.categorical_names):
        co, ca = raw_o.codes[:, j], raw_a.codes[:, j]
        m = len(encoder.categories[column])
        counts = np.bincount(co[co >= 0], minlength=m)
        single = counts == 1
        matches = int(single[ca[ca >= 0]].sum())
        out[column] = 100.0 * (1.0 - matches / n_avatars)
    return {c: out[c] for c in encoder.columns if c in out}


def _row_direct_matches(
    raw_o: EncodedTable, raw_a: EncodedTable, encoder: TableEncoder
) -> tuple[int, int]:
    """Row direct match protection counts (method.md §2.8, **provisional** [I]):
    ``(#avatars identical to some original row, #avatars identical to their own original)``.

    Rows are compared on every (non-excluded) column, floats rounded as in
    :func:`_column_direct_match`, a missing value equal only to a missing value. Identity is
    tested through 64-bit row hashes (a false match has probability ~n²/2⁶⁴).
    The metric is ``100 · (1 − #matches / n)``.
    """
    hashes = []
    for raw in (raw_o, raw_a):
        cont = raw.continuous.copy()
        for j, column in enumerate(raw.continuous_names):
            decimals = encoder.formats[column].decimals
            if decimals is not None:
                cont[:, j] = np.round(cont[:, j], decimals)
        hashes.append(_row_keys(cont, raw.codes))
    h_o, h_a = hashes
    matches = int(np.isin(h_a, h_o).sum())
    own = int(np.sum(h_a == h_o)) if len(h_a) == len(h_o) else 0
    return matches, own


def _categorical_hidden(
    original: pd.DataFrame,
    avatars: pd.DataFrame,
    variables: list[str],
    imputation: ImputationParameters | Mapping[str, Any] | None,
    seed: int,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Categorical hidden rate (method.md §2.7, **provisional** [I]).

    The hidden rate of §2.1 (lowest-index tie rule) in the projection — an MCA, every listed
    variable being treated as categorical — of ``variables`` only, fitted on the originals and
    keeping **all** its axes, so that distances compare the records' full categorical profiles.
    """
    n_modalities = sum(
        max(original[v].nunique(dropna=True), avatars[v].nunique(dropna=True)) for v in variables
    )
    if n_modalities > MAX_CATEGORICAL_DIMENSIONS:
        raise InvalidParameterError(
            "categorical_hidden_rate_variables",
            f"the listed columns have {n_modalities} modalities in all (at most "
            f"{MAX_CATEGORICAL_DIMENSIONS}); list categorical columns with fewer values",
        )
    space = MetricSpace.fit(
        original[variables],
        avatars[variables],
        column_types={v: ColumnType.CATEGORY for v in variables},
        imputation=imputation,
        seed=seed,
        parameter_prefix="categorical_hidden_rate_variables: ",
    )
    orig_c = space.projection.transform(space.original)
    avat_c = space.projection.transform(space.avatars)
    keys = _row_keys(np.empty((len(avatars), 0)), space.avatars.codes)
    hidden, strict = hidden_flags(orig_c, avat_c, avatar_keys=keys)
    return hidden, {
        "variables": variables,
        "projection": space.projection.kind.value,
        "dimensions": int(orig_c.shape[1]),
        "strict": 100.0 * float(np.mean(strict)),
    }


def _correlation_protection(
    space: MetricSpace, known: list[str], hidden_rate_value: float
) -> tuple[float, dict[str, Any]]:
    """Correlation protection rate (method.md §2.9, the 2021 research code; **provisional**:
    whether the platform kept this exact form is unknown).

    Among originals whose combination of ``known`` values is unique in the original table,
    ``n₂`` counts those matched by exactly one avatar — categoricals equal, numerics within
    ``|a − x| < 0.05 · |mean(x)|`` (exact equality when the mean is 0); with ``HR`` the hidden
    rate and ``N`` the number of originals: ``CPR = 100 · (1 − round(n₂ · (1 − HR/100)) / N)``.
    Values are those of the metric space (missing values imputed).
    """
    cont_names, cat_names = space.original.continuous_names, space.original.categorical_names
    ci = [cont_names.index(v) for v in known if v in cont_names]
    qi = [cat_names.index(v) for v in known if v in cat_names]
    xo, xa = space.original.continuous[:, ci], space.avatars.continuous[:, ci]
    qo, qa = space.original.codes[:, qi], space.avatars.codes[:, qi]
    n = space.original.n_rows

    keys = pd.Series(_row_keys(xo, qo))
    unique_rows = np.flatnonzero(~keys.duplicated(keep=False).to_numpy())

    # L∞ box query: numerics scaled so the tolerance is 1, categories spaced 3 apart
    tolerance = CPR_RELATIVE_TOLERANCE * np.abs(xo.mean(axis=0)) if ci else np.zeros(0)
    blocks_o, blocks_a = [], []
    for j in range(len(ci)):
        if tolerance[j] > 0:
            blocks_o.append(xo[:, j] / tolerance[j])
            blocks_a.append(xa[:, j] / tolerance[j])
        else:  # mean 0: the ±5 % band is empty; require equality
            codes, _ = pd.factorize(np.concatenate([xo[:, j], xa[:, j]]))
            blocks_o.append(3.0 * codes[:n])
            blocks_a.append(3.0 * codes[n:])
    for j in range(len(qi)):
        blocks_o.append(3.0 * qo[:, j])
        blocks_a.append(3.0 * qa[:, j])
    points_o = np.column_stack(blocks_o)[unique_rows]
    points_a = np.column_stack(blocks_a)
    n_single = 0
    if unique_rows.size:
        tree = cKDTree(points_a, balanced_tree=False)
        radius = np.nextafter(1.0, 0.0)  # strict inequality |a − x| < tolerance
        for start in range(0, unique_rows.size, CHUNK_ROWS):
            counts = tree.query_ball_point(
                points_o[start : start + CHUNK_ROWS],
                r=radius,
                p=np.inf,
                return_length=True,
                workers=-1,
            )
            n_single += int(np.sum(counts == 1))
    exposed = round(n_single * (1.0 - hidden_rate_value / 100.0))
    value = 100.0 * (1.0 - exposed / n)
    return value, {
        "value": value,
        "known_variables": known,
        "n_unique_combinations": int(unique_rows.size),
        "n_matched_by_one_avatar": n_single,
        "n_exposed": int(exposed),
        "relative_tolerance": CPR_RELATIVE_TOLERANCE,
    }


def _inference(
    original: pd.DataFrame,
    avatars: pd.DataFrame,
    space: MetricSpace,
    known: list[str],
    target: str,
    imputation: ImputationParameters | Mapping[str, Any] | None,
    seed: int,
) -> tuple[str, float | None, dict[str, Any]]:
    """Inference metrics (method.md §2.10, the 2021 research code; **provisional** reading of
    the platform fields).

    A projection is fitted on the *avatars'* known variables (``ncp = min(5, |known|, rank)``),
    the originals' known variables are projected into it, and each original takes the target
    value of its nearest avatar (lowest index on ties). Continuous target: R², MSE and
    ``SMAPE = mean(200 · |ŷ − y| / (|y| + |ŷ|))`` (0 when both are 0; range 0-200) —
    ``inference_continuous`` is the SMAPE. Categorical target: accuracy and confusion matrix —
    ``inference_categorical = 100 − accuracy`` (% wrong guesses). Higher is safer for both.
    Rows where the original's or the guessed avatar's target is missing are left out.
    """
    types = {v: space.encoder.column_types[v] for v in known}
    try:
        encoder = TableEncoder.fit(avatars[known], types)
    except InvalidDataError as exc:
        raise InvalidDataError(
            f"inference metrics project the avatars' known_variables, which fails: {exc}"
        ) from None
    encoder.missing_columns = []
    n_modalities = encoder.n_modalities()
    params = ImputationParameters.parse(imputation)
    streams = np.random.SeedSequence(seed).spawn(2)
    avat, _ = impute(
        encoder.encode(avatars[known]), params, np.random.default_rng(streams[0]), n_modalities
    )
    orig, _ = impute(
        encoder.encode(original[known]), params, np.random.default_rng(streams[1]), n_modalities
    )
    projection = Projection.fit(avat, n_modalities)
    ncp = max(1, min(INFERENCE_MAX_NCP, len(known), projection.rank))
    avat_c = projection.transform(avat, ncp)
    orig_c = projection.transform(orig, ncp)
    guess, _ = nearest_avatar(orig_c, avat_c, avatar_keys=_row_keys(avat.continuous, avat.codes))
    observed = original[target].isna().to_numpy() | avatars[target].isna().to_numpy()[guess]
    rows = np.flatnonzero(~observed)
    details: dict[str, Any] = {
        "known_variables": known,
        "target": target,
        "ncp": ncp,
        "n_evaluated": int(rows.size),
    }
    if space.encoder.column_types[target].is_continuous:
        j = space.original.continuous_names.index(target)
        y = space.original.continuous[rows, j]
        y_hat = space.avatars.continuous[guess[rows], j]
        if rows.size == 0:
            return "inference_continuous", None, details
        denominator = np.abs(y) + np.abs(y_hat)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(denominator > 0, 200.0 * np.abs(y_hat - y) / denominator, 0.0)
        smape = float(np.mean(terms))
        mse = float(np.mean((y_hat - y) ** 2))
        ss_tot = float(np.sum((y - y.mean()) ** 2))
        r2 = 1.0 - float(np.sum((y_hat - y) ** 2)) / ss_tot if ss_tot > 0 else None
        details.update({"target_type": "continuous", "smape": smape, "mse": mse, "r2": r2})
        return "inference_continuous", smape, details
    j = space.original.categorical_names.index(target)
    y = space.original.codes[rows, j]
    y_hat = space.avatars.codes[guess[rows], j]
    if rows.size == 0:
        return "inference_categorical", None, details
    accuracy = 100.0 * float(np.mean(y == y_hat))
    labels = space.encoder.categories[target]
    details.update({"target_type": "categorical", "accuracy": accuracy})
    if len(labels) <= MAX_CONFUSION_MODALITIES:
        m = len(labels)
        confusion = np.zeros((m, m), dtype=np.int64)
        np.add.at(confusion, (y, y_hat), 1)
        details["confusion_matrix"] = {
            "labels": [str(v) for v in labels],
            "rows_true_columns_guessed": confusion.tolist(),
        }
    return "inference_categorical", 100.0 - accuracy, details


# =====================================================================================
# helpers
# =====================================================================================
def _row_keys(continuous: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """A 64-bit hash per row of (continuous, codes): equal rows get equal keys."""
    columns: dict[str, np.ndarray] = {}
    for j in range(continuous.shape[1]):
        columns[f"c{j}"] = continuous[:, j]
    for j in range(codes.shape[1]):
        columns[f"q{j}"] = codes[:, j]
    if not columns:
        return np.zeros(max(continuous.shape[0], codes.shape[0]), dtype=np.uint64)
    frame = pd.DataFrame(columns, copy=False)
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def _group_identical(
    coordinates: np.ndarray,
    keys: np.ndarray,
    atol: float,
    labels: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Groups of identical records (equal ``keys``): ``(position of the member with the lowest
    label in each group, group sizes)``, or None when fewer than :data:`DUPLICATE_SHARE` of the
    records are duplicates. ``labels`` default to positions. A record farther than ``atol``
    from its group's representative (a hash collision) stays on its own."""
    n = len(keys)
    group, uniques = pd.factorize(pd.Series(keys))
    if len(uniques) > (1.0 - DUPLICATE_SHARE) * n:
        return None
    lab = np.arange(n) if labels is None else np.asarray(labels)
    by_group = np.lexsort((lab, group))  # grouped, lowest label first within each group
    starts = np.r_[0, np.flatnonzero(np.diff(group[by_group])) + 1]
    representative = by_group[starts][group]
    moved = np.flatnonzero(representative != np.arange(n))
    for start in range(0, moved.size, CHUNK_ROWS):
        rows = moved[start : start + CHUNK_ROWS]
        gap = paired_distances(coordinates[rows], coordinates[representative[rows]])
        representative[rows[gap > atol]] = rows[gap > atol]
    points, weights = np.unique(representative, return_counts=True)
    return points, weights


def _snap_zero(distances: np.ndarray, atol: float) -> np.ndarray:
    return np.where(distances <= atol, 0.0, distances)


def _summary(values: np.ndarray) -> dict[str, float]:
    values = np.asarray(values, dtype=np.float64)
    q = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {
        "mean": float(values.mean()),
        "median": float(q[2]),
        "q05": float(q[0]),
        "q25": float(q[1]),
        "q75": float(q[3]),
        "q95": float(q[4]),
        "min": float(values.min()),
        "max": float(values.max()),
    }


def _histogram(values: np.ndarray, bins: int) -> dict[str, Any]:
    counts = np.bincount(np.minimum(values, bins), minlength=bins + 1)
    return {"counts": counts[:bins].tolist(), f"{bins}_or_more": int(counts[bins])}


def _check_table(df: object, parameter: str) -> None:
    try:
        validate_table(df)
    except InvalidDataError as exc:
        raise InvalidDataError(f"{parameter}: {exc}") from None


def _align_columns(original: pd.DataFrame, other: pd.DataFrame, parameter: str) -> pd.DataFrame:
    missing = [c for c in original.columns if c not in other.columns]
    extra = [c for c in other.columns if c not in original.columns]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"lacks column(s) {', '.join(map(repr, missing))} of the original")
        if extra:
            parts.append(f"has column(s) {', '.join(map(repr, extra))} that the original lacks")
        raise InvalidDataError(f"{parameter} {' and '.join(parts)}")
    return other[list(original.columns)].reset_index(drop=True)


def _check_variable_list(
    parameter: str, names: Sequence[str] | None, df: pd.DataFrame, exclude: list[str]
) -> list[str]:
    if names is None:
        return []
    if isinstance(names, str):
        raise InvalidParameterError(parameter, f"expected a list of column names, got {names!r}")
    names = check_columns_exist(parameter, list(names), df)
    if len(set(names)) != len(names):
        raise InvalidParameterError(parameter, "lists a column twice")
    excluded = [c for c in names if c in exclude]
    if excluded:
        raise InvalidParameterError(
            parameter, f"column(s) {', '.join(map(repr, excluded))} are in exclude_variables"
        )
    return names


def _check_number(parameter: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InvalidParameterError(parameter, f"expected a number, got {value!r}")
    number = float(value)
    if not low <= number <= high:
        raise InvalidParameterError(parameter, f"must be between {low:g} and {high:g}, got {value}")
    return number


def _check_seed(seed: object) -> int:
    if seed is None:
        return 0
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise InvalidParameterError("seed", f"expected an integer ≥ 0, got {seed!r}")
    return int(seed)


def _check_paired(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise InvalidDataError(
            f"paired coordinates expected (one avatar per original), got {a.shape} and {b.shape}"
        )


def _imputation_dict(
    imputation: ImputationParameters | Mapping[str, Any] | None,
) -> dict[str, Any]:
    params = ImputationParameters.parse(imputation)
    return {
        "method": params.method.value,
        "k": params.k,
        "training_fraction": params.training_fraction,
    }


def _jsonable(value: Any) -> Any:
    """Numpy scalars and arrays → Python numbers and lists; NaN/inf → None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        number = float(value)
        return None if np.isnan(number) or np.isinf(number) else number
    return value
