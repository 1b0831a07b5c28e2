"""Privacy metrics of an avatarization (method.md §2): ``privacy_metrics``.

Every metric compares the original table with its **unshuffled** avatars (row ``i`` is the
avatar of original ``i``) in a common space (method.md §2.0): both tables typed like the
original, imputed, and projected with the FAMD/PCA/MCA fitted on the originals
(:class:`~avatars.engine.metric_space.MetricSpace`; no missingness indicators, as in the paper's
``SecurityMetrics``); the first ``ncp`` coordinates are used (default ``min(5, rank)``).
Notation: ``c_i`` the coordinates of original ``i``, ``a_j`` those of avatar ``j``, ``n`` rows.
Columns that carry no information — constant, or missing in every row — are left out of the
space and of every metric (the avatarization passes them through unchanged) and listed in
``metadata["passed_through"]`` (absent when there are none).

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

Exact copies and identifiers (ours, issue 15): the unique-record copy share — avatars identical
to an original record that is unique in the original data, on every compared column and on the
``known_variables`` — and the identifier protection — avatars that carry their own original's
value of an identifier column (:mod:`avatars.engine.identifiers`), measured on the tables as
given, excluded columns included. With a ``holdout`` (records of the same population that the
avatarization did not see): the DCR share and a distance-based membership-inference AUC
(:func:`dcr_share`, :func:`membership_auc`), in the metric space.

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

Randomness: one ``seed`` (0 when None), split by :class:`PrivacyStreams` into independent
streams, one per random step — the metric space's imputation, the categorical hidden rate's
imputation, the local cloaking subsamples and the inference imputation — so that no two steps
share random numbers. The same seed and inputs give the same metrics.

Layout: :func:`privacy_metrics` checks its inputs once (:func:`_check_request`), fits the metric
space once, runs the neighbour searches of §2.1-2.5 on one shared frame (:func:`_singling_out`)
and asks one function per metric family for its metrics and details (the ``_…_section``
functions, each with its formula and source).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from scipy.stats import rankdata

from avatars.engine.categorical_reduction import reduction_summary
from avatars.engine.common import (
    ProgressCallback,
    Steps,
    align_columns,
    check_table,
    jsonable,
    single_threaded_blas,
)
from avatars.engine.errors import AvatarsEngineError, InvalidDataError, InvalidParameterError
from avatars.engine.identifiers import IdentifierFinding, detect_identifiers, normalised_text
from avatars.engine.imputation import ImputationParameters, impute
from avatars.engine.metric_rows import PrivacyVerdict, merge_warnings, privacy_verdict
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
    passed_through,
    passed_through_note,
    validate_table,
)
from avatars.engine.projection import Projection
from avatars.engine.schema import ColumnType
from avatars.engine.targets import MetricValue, make_metric

__all__ = [
    "LEGACY_PRIVACY_FIELDS",
    "PrivacyMetricsResult",
    "PrivacyStreams",
    "closest_rate",
    "dcr_nndr",
    "dcr_share",
    "hidden_flags",
    "local_cloaking",
    "membership_auc",
    "nearest_avatar",
    "paired_distances",
    "privacy_metrics",
    "single_threaded_blas",
    "tie_tolerance",
]


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

    def verdict(self) -> PrivacyVerdict:
        """What passed, what did not and what to change (:func:`privacy_verdict`)."""
        return privacy_verdict(
            [m.to_dict() for m in self.metrics], self.metadata.get("warnings") or []
        )

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
        out["details"] = jsonable(self.details)
        out["parameters"] = jsonable(self.parameters)
        out["metadata"] = jsonable(self.metadata)
        out["verdict"] = self.verdict().to_dict()
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
            out["records"] = jsonable(records)
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


def dcr_share(
    training_coordinates: np.ndarray,
    holdout_coordinates: np.ndarray,
    avatar_coordinates: np.ndarray,
    *,
    atol: float | None = None,
) -> tuple[float, np.ndarray, np.ndarray]:
    """DCR share (%) of the avatars between training and holdout; returns it with ``d_T`` and
    ``d_H``, each avatar's distance to its nearest training / holdout record.

    Observed share ``O = mean_s (1[d_T(s) < d_H(s)] + ½ · 1[d_T(s) = d_H(s)])`` (ties within
    ``atol`` count half). If the avatars were no closer to the records they were made from than
    to new records of the same population, an avatar's nearest record would be a training one
    with probability ``B = n_T / (n_T + n_H)`` (every record exchangeable); the reported share is
    ``O`` on the equal-size scale, ``100 · r / (1 + r)`` with the odds ratio
    ``r = [O / (1 − O)] / [B / (1 − B)]``: 50 % means no closer to training than to new records,
    100 % every avatar closest to a training record; equal sizes give ``O`` itself. Comparing
    every record, rather than a training subsample of the holdout's size, keeps the measure
    honest: a subsample drops most of the records an avatar was made from, and a 10,000-row
    holdout then made a 50,000-row avatarization look 8 points safer (54 % instead of 62 %).
    Source: MOSTLY AI's QA report ("DCR share", 50 % ideal with equal sizes), sdmetrics'
    ``DCROverfittingProtection`` (which reports ``1 − max(0, 2·(share − ½))``).
    """
    if atol is None:
        atol = tie_tolerance(training_coordinates, avatar_coordinates)
    d_train = _nearest_distances(training_coordinates, avatar_coordinates)
    d_holdout = _nearest_distances(holdout_coordinates, avatar_coordinates)
    closer = d_train < d_holdout - atol
    tied = np.abs(d_train - d_holdout) <= atol
    observed = float(np.mean(closer + 0.5 * tied))
    n_t, n_h = len(training_coordinates), len(holdout_coordinates)
    return 100.0 * _equal_size_share(observed, n_t / (n_t + n_h)), d_train, d_holdout


def _equal_size_share(observed: float, baseline: float) -> float:
    """``observed`` (a share whose no-leak value is ``baseline``) on the scale where the no-leak
    value is ½: the odds ratio ``r`` of observed to baseline, as ``r / (1 + r)``."""
    if observed >= 1.0:
        return 1.0
    if observed <= 0.0:
        return 0.0
    ratio = (observed / (1.0 - observed)) / (baseline / (1.0 - baseline))
    return ratio / (1.0 + ratio)


def membership_auc(
    member_coordinates: np.ndarray,
    non_member_coordinates: np.ndarray,
    avatar_coordinates: np.ndarray,
) -> tuple[float, np.ndarray, np.ndarray]:
    """AUC of a distance-based membership-inference attack; returns it with each candidate's
    distance to its nearest avatar (members', non-members').

    The attacker holds candidate records and the avatars, and calls a candidate a member of
    the avatarized data when it is close to an avatar (score ``−min_s ‖x − s‖``). The AUC is
    the probability that a random member scores higher than a random non-member, ties
    counting half (Mann-Whitney U / (m₁·m₀)): 0.5 is a coin toss, 1 a perfect attack. Source:
    the distance-to-closest-record attacks of Chen et al. 2020 (GAN-Leaks, "full black-box")
    and anonymeter's premise that an attack is measured against a control set (Giomi et al.
    2023); here the control is the holdout.
    """
    d_members = _nearest_distances(avatar_coordinates, member_coordinates)
    d_others = _nearest_distances(avatar_coordinates, non_member_coordinates)
    m1, m0 = len(d_members), len(d_others)
    ranks = rankdata(np.concatenate([-d_members, -d_others]))  # higher score, higher rank
    u = float(ranks[:m1].sum()) - m1 * (m1 + 1) / 2.0
    return u / (m1 * m0), d_members, d_others


def _nearest_distances(points: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Distance of each query to its nearest point (KD-tree, bounded chunks)."""
    tree = _balanced_tree(points)
    out = np.empty(len(queries))
    for start in range(0, len(queries), CHUNK_ROWS):
        stop = min(len(queries), start + CHUNK_ROWS)
        out[start:stop], _ = tree.query(queries[start:stop], k=1, workers=-1)
    return out


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
# randomness
# =====================================================================================
@dataclass(frozen=True)
class PrivacyStreams:
    """The seeds of the random steps of one :func:`privacy_metrics` run.

    Independent streams spawned from the run's seed (``numpy.random.SeedSequence(seed)
    .spawn(4)``, child ``i`` → ``generate_state(1)[0]``), so that no two steps draw the same
    random numbers and a step that draws more or fewer of them leaves the others unchanged:

    - ``metric_space`` (child 0): imputation of the originals and of the avatars in the metric
      space (:class:`~avatars.engine.metric_space.MetricSpace`, which spawns one stream per table);
    - ``categorical_hidden_rate`` (child 1): imputation in the categorical hidden rate's space;
    - ``local_cloaking`` (child 2): the nested random subsamples of the avatars that bound the
      local cloaking counts (the counts themselves do not depend on it);
    - ``inference`` (child 3): imputation of the known variables for the inference metrics;
    - ``membership`` (child 4): the holdout's imputation.

    Imputation draws only when it samples (``training_fraction`` < 1, or fast_knn on a large
    table); the other steps draw always. ``details["random_streams"]`` reports the seeds.
    """

    metric_space: int
    categorical_hidden_rate: int
    local_cloaking: int
    inference: int
    membership: int

    @classmethod
    def from_seed(cls, seed: int) -> PrivacyStreams:
        # spawn(n) gives child i the same seed whatever n: adding a stream changes no other
        children = np.random.SeedSequence(seed).spawn(5)
        metric_space, categorical, cloaking, inference, membership = (
            int(child.generate_state(1)[0]) for child in children
        )
        return cls(metric_space, categorical, cloaking, inference, membership)

    def to_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


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
    holdout: pd.DataFrame | None = None,
    warnings: Sequence[Mapping[str, Any]] | None = None,
    not_identifiers: Sequence[str] | None = None,
    categorical_reduction: bool = False,
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
        Seed of the random steps (:class:`PrivacyStreams`); None means 0, so results are
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
    holdout
        Records of the same population that the avatarization did not see, with the
        original's columns: enables the DCR share and the membership-inference AUC.
    warnings
        The avatarization's ``metadata["warnings"]``: repeated in this result's metadata (with
        what the metrics measure themselves) and in its verdict.
    not_identifiers
        Columns that :func:`~avatars.engine.identifiers.detect_identifiers` flags but that are
        variables (the avatarization's ``not_identifiers``). Every other identifier column is
        left out of the metric space (listed in ``details["space"]["identifiers_left_out"]``)
        and measured by ``identifier_protection`` instead.
    categorical_reduction
        ``use_categorical_reduction``: the metric space reduces categorical variables of many
        modalities as the avatarization does (:mod:`avatars.engine.categorical_reduction`).
    progress
        Called as ``progress(fraction, phase)``.
    """
    # Long by its docstring and one step block per metric family; each family's mathematics is
    # in its own _..._section function.
    steps = Steps(progress)
    request = _check_request(
        original,
        unshuffled_avatars,
        exclude_variables=exclude_variables,
        known_variables=known_variables,
        target=target,
        categorical_hidden_rate_variables=categorical_hidden_rate_variables,
        quantile_threshold=quantile_threshold,
        ratio_threshold=closest_rate_ratio_threshold,
        seed=seed,
        column_types=column_types,
        not_identifiers=not_identifiers,
    )
    if holdout is not None:
        check_table(holdout, "holdout")
        request.holdout = align_columns(original, holdout, "holdout")
        if len(request.holdout) < 2:
            raise InvalidDataError("holdout: the membership metrics need at least 2 records")
    avatars = request.avatars
    streams = PrivacyStreams.from_seed(request.seed)
    with steps.step(0.0, "projection", "metric_space"):
        space = MetricSpace.fit(
            original,
            avatars,
            ncp=ncp,
            column_types=column_types,
            column_weights=column_weights,
            imputation=imputation,
            exclude_variables=request.left_out,
            seed=streams.metric_space,
            categorical_reduction=categorical_reduction,
        )
    singling = _singling_out(space, steps, streams.local_cloaking)
    keep = [c for c in original.columns if c not in request.left_out]
    closest, at_risk = _closest_rate_section(singling, request.quantile, request.ratio)
    sections = [
        _hidden_rate_section(singling),
        _local_cloaking_section(singling),
        _dcr_nndr_section(singling, request.ratio),
        closest,
    ]
    with steps.step(0.65, "direct matches", "direct_match"):
        raw_o, raw_a = space.encoder.encode(original[keep]), space.encoder.encode(avatars[keep])
        sections.append(_direct_match_section(raw_o, raw_a, space.encoder))
        sections.append(_unique_copy_section(raw_o, raw_a, space.encoder, request.known))
        del raw_o, raw_a
    with steps.step(0.7, "identifiers", "identifiers"):
        identifier_section, measured = _identifier_section(
            original, avatars, request.identifiers, request.passed_through, request.exclude
        )
        sections.append(identifier_section)
    if request.holdout is not None:
        with steps.step(0.72, "membership", "membership"):
            sections.append(_membership_section(space, request.holdout, streams.membership))
    categorical_hidden = None
    if request.categorical_variables:
        with steps.step(0.75, "categorical hidden rate", "categorical_hidden_rate"):
            section, categorical_hidden = _categorical_hidden_rate_section(
                original, request, imputation, streams.categorical_hidden_rate
            )
            sections.append(section)
    if request.known:
        with steps.step(0.85, "correlation protection rate", "correlation_protection_rate"):
            hidden_rate = 100.0 * float(np.mean(singling.hidden))
            sections.append(_correlation_protection_section(space, request.known, hidden_rate))
    if request.known and request.target is not None:
        with steps.step(0.9, "inference", "inference"):
            section = _inference_section(original, request, space, imputation, streams.inference)
            sections.append(section)
    details: dict[str, Any] = {
        "space": _space_details(space, singling, keep, len(avatars), request.identifiers_left_out)
    }
    for section in sections:
        details.update(section.details)
    details["random_streams"] = streams.to_dict()
    details["timings_seconds"] = steps.seconds()
    steps.report(1.0, "done")
    return PrivacyMetricsResult(
        metrics=[metric for section in sections for metric in section.metrics],
        details=details,
        parameters=_parameters(request, space, column_weights, imputation),
        hidden=singling.hidden,
        hidden_strict=singling.hidden_strict,
        local_cloaking=singling.local_cloaking,
        distance_to_closest=singling.distance_to_closest,
        closest_distances_ratio=singling.closest_distances_ratio,
        closest_at_risk=at_risk,
        categorical_hidden=categorical_hidden,
        metadata=_result_metadata(request, warnings, measured),
    )


# -- the request: inputs checked once ----------------------------------------------------------
@dataclass
class _Request:
    """The inputs of :func:`privacy_metrics`, checked (errors name the parameter)."""

    avatars: pd.DataFrame  # the avatars, with the original's columns in its order
    exclude: list[str]
    known: list[str]
    categorical_variables: list[str]
    target: str | None
    quantile: float
    ratio: float
    seed: int
    passed_through: list[dict[str, str]]  # constant or all-missing columns, left out
    identifiers: list[IdentifierFinding] = field(default_factory=list)  # excluded ones too
    holdout: pd.DataFrame | None = None  # with the original's columns in its order

    @property
    def identifiers_left_out(self) -> list[str]:
        """Identifier columns that were not excluded: left out of the space all the same."""
        return [f.column for f in self.identifiers if f.column not in self.exclude]

    @property
    def left_out(self) -> list[str]:
        """The columns outside the metric space: excluded ones, passed-through ones, then the
        identifier columns (an identifier is not a variable: in the space, new keys or
        pseudonyms far from the original values would make every avatar look hidden)."""
        passed = [entry["column"] for entry in self.passed_through]
        return [*self.exclude, *passed, *self.identifiers_left_out]


def _check_request(
    original: pd.DataFrame,
    unshuffled_avatars: pd.DataFrame,
    *,
    exclude_variables: Sequence[str] | None,
    known_variables: Sequence[str] | None,
    target: str | None,
    categorical_hidden_rate_variables: Sequence[str] | None,
    quantile_threshold: float | None,
    ratio_threshold: float,
    seed: int | None,
    column_types: Mapping[str, str | ColumnType] | None = None,
    not_identifiers: Sequence[str] | None = None,
) -> _Request:
    validate_table(original)
    check_table(unshuffled_avatars, "unshuffled_avatars")
    avatars = align_columns(original, unshuffled_avatars, "unshuffled_avatars")
    if len(avatars) != len(original):
        raise InvalidDataError(
            f"unshuffled_avatars has {len(avatars)} rows but the original has {len(original)}: "
            "privacy metrics need the unshuffled avatars, one per original record"
        )
    if len(original) < 2:
        raise InvalidDataError("privacy metrics need at least 2 records")
    exclude = check_columns_exist("exclude_variables", exclude_variables, original)
    passed = passed_through(original, [c for c in original.columns if c not in exclude])
    identifiers = _identifiers(original, column_types, not_identifiers, passed)
    found = {f.column for f in identifiers} - set(exclude)
    if len(exclude) + len(passed) + len(found) == original.shape[1]:
        raise InvalidDataError(
            "nothing to compare: every column is excluded, constant, missing in every row or an "
            "identifier"
        )
    known = _check_variable_list("known_variables", known_variables, original, exclude)
    categorical = _check_variable_list(
        "categorical_hidden_rate_variables", categorical_hidden_rate_variables, original, exclude
    )
    _check_target(target, original, known, exclude)
    for parameter, names in (
        ("known_variables", known),
        ("categorical_hidden_rate_variables", categorical),
        ("target", [target] if target else []),
    ):
        named = [c for c in names if c in found]
        if named:
            raise InvalidParameterError(
                parameter,
                f"column(s) {', '.join(map(repr, named))} identify individuals: an identifier "
                "is not a variable of the metrics (declare it in not_identifiers if it is not one)",
            )
    if target in {p["column"] for p in passed}:
        raise InvalidParameterError(
            "target", f"column '{target}' is {_reason_text(passed, target)}: nothing to infer"
        )
    known = _without_passed_through("known_variables", known, passed)
    categorical = _without_passed_through("categorical_hidden_rate_variables", categorical, passed)
    quantile = _check_number(
        "quantile_threshold",
        DEFAULT_QUANTILE_THRESHOLD if quantile_threshold is None else quantile_threshold,
        0.0,
        100.0,
    )
    ratio = _check_number("closest_rate_ratio_threshold", ratio_threshold, 0.0, 1.0)
    return _Request(
        avatars,
        exclude,
        known,
        categorical,
        target,
        quantile,
        ratio,
        _check_seed(seed),
        passed,
        identifiers,
    )


def _identifiers(
    original: pd.DataFrame,
    column_types: Mapping[str, str | ColumnType] | None,
    not_identifiers: Sequence[str] | None,
    passed: list[dict[str, str]],
) -> list[IdentifierFinding]:
    """The identifier columns of the original (excluded ones included), but those declared not
    to be identifiers and the passed-through ones."""
    declared = check_columns_exist("not_identifiers", not_identifiers, original)
    left_out = {p["column"] for p in passed} | set(declared)
    columns = [c for c in original.columns if c not in left_out]
    types = {c: t for c, t in (column_types or {}).items() if c in original.columns}
    try:
        return detect_identifiers(original, column_types=types, columns=columns)
    except AvatarsEngineError:  # a type error: the metric space names it better
        return []


def _without_passed_through(
    parameter: str, names: list[str], passed: list[dict[str, str]]
) -> list[str]:
    """``names`` without the passed-through columns: a constant (or empty) column tells an
    attacker nothing, and is the same in every avatar. A list of nothing else is an error."""
    left_out = {p["column"] for p in passed}
    kept = [c for c in names if c not in left_out]
    if names and not kept:
        shown = ", ".join(f"'{c}' ({_reason_text(passed, c)})" for c in names)
        raise InvalidParameterError(
            parameter,
            f"lists only columns that carry no information, which pass through unchanged: "
            f"{shown}; list columns whose values vary",
        )
    return kept


def _reason_text(passed: list[dict[str, str]], column: str) -> str:
    reason = next(p["reason"] for p in passed if p["column"] == column)
    return "constant" if reason == "constant" else "missing in every row"


def _check_target(
    target: object, original: pd.DataFrame, known: list[str], exclude: list[str]
) -> None:
    if target is None:
        return
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


def _space_details(
    space: MetricSpace,
    singling: _SinglingOut,
    variables: list[str],
    n_avatars: int,
    identifiers: list[str],
) -> dict[str, Any]:
    return {
        "identifiers_left_out": identifiers,
        "projection": space.projection.kind.value,
        "ncp": space.ncp,
        "rank": space.projection.rank,
        "explained_variance_ratio": space.projection.explained_variance_ratio[: space.ncp].tolist(),
        "categorical_reduction": reduction_summary(space.projection),
        "n_original": len(singling.hidden),
        "n_avatars": n_avatars,
        "variables": variables,
        "tie_tolerance": singling.atol,
    }


def _parameters(
    request: _Request,
    space: MetricSpace,
    column_weights: Mapping[str, float] | None,
    imputation: ImputationParameters | Mapping[str, Any] | None,
) -> dict[str, Any]:
    return {
        "ncp": space.ncp,
        "seed": request.seed,
        "column_types": {c: t.value for c, t in space.encoder.column_types.items()},
        "column_weights": dict(column_weights or {}),
        "imputation": _imputation_dict(imputation),
        "known_variables": request.known,
        "target": request.target,
        "quantile_threshold": request.quantile,
        "closest_rate_ratio_threshold": request.ratio,
        "categorical_hidden_rate_variables": request.categorical_variables,
        "exclude_variables": request.exclude,
    }


# =====================================================================================
# singling out (§2.1-2.5): one frame, its trees shared by the searches
# =====================================================================================
@dataclass
class _SinglingOut:
    """Per-record results of §2.1-2.5 in the callers' row order, and what their details need."""

    atol: float
    hidden: np.ndarray  # per original
    hidden_strict: np.ndarray
    local_cloaking: np.ndarray
    lc_exact_below: int  # values ≥ this are "at least" (n − 1: every value exact)
    empty: np.ndarray  # no other avatar and no other original within the own-avatar distance
    distance_to_closest: np.ndarray  # per avatar
    closest_distances_ratio: np.ndarray
    nearest_other_original: np.ndarray  # per original


def _singling_out(space: MetricSpace, steps: Steps, cloaking_seed: int) -> _SinglingOut:
    """The neighbour searches behind the hidden rate, local cloaking and DCR/NNDR.

    They run in the KD-tree leaf order of :class:`_Frame` and share its avatar index and scan;
    everything but the per-record results is freed on return.
    """
    orig_c, avat_c = space.original_coordinates, space.avatar_coordinates
    atol = tie_tolerance(orig_c, avat_c)
    frame = _Frame.of(orig_c, avat_c, _row_keys(space.avatars.continuous, space.avatars.codes))
    with steps.step(0.25, "hidden rate and local cloaking", "hidden_rate"):
        scan, hidden, strict = _nearest_avatar_scan(frame, atol)
    with steps.step(0.35, "local cloaking", "local_cloaking"):
        lc, exact_below = _local_cloaking_values(scan, frame, atol, cloaking_seed)
    del scan
    with steps.step(0.5, "distance to closest", "distance_to_closest"):
        dcr, nndr, nearest_other = _distances_to_closest(frame, atol)
        # the paper's empty rate: no other avatar (LC) and no other original (RC) within the
        # own-avatar distance; RC_i = 0 exactly when the nearest other original is farther
        empty = (lc == 0) & (nearest_other > frame.own + atol)
    return _SinglingOut(
        atol=atol,
        hidden=frame.restore(hidden),
        hidden_strict=frame.restore(strict),
        local_cloaking=frame.restore(lc),
        lc_exact_below=exact_below,
        empty=frame.restore(empty),
        distance_to_closest=frame.restore(dcr),
        closest_distances_ratio=frame.restore(nndr),
        nearest_other_original=frame.restore(nearest_other),
    )


def _nearest_avatar_scan(frame: _Frame, atol: float) -> tuple[_Scan, np.ndarray, np.ndarray]:
    """The k-nearest scan of the originals among the avatars (shared with local cloaking) and
    the hidden flags it settles, ``(scan, hidden, hidden_strict)``, in frame order."""
    index = _AvatarIndex.build(frame.avatars, frame.keys, atol, labels=frame.order)
    scan = _scan_nearest(index, frame.originals, frame.own, atol)
    hidden, strict = _finish_hidden(
        scan, index, frame.originals, frame.own, atol, query_labels=frame.order
    )
    return scan, hidden, strict


def _local_cloaking_values(
    scan: _Scan, frame: _Frame, atol: float, seed: int
) -> tuple[np.ndarray, int]:
    """``LC_i`` in frame order and the bound below which every value is exact.

    Values are exact below ``max(LC_MIN_CAP, LC_COUNT_BUDGET // n)`` and reported as that bound
    above it (see :func:`local_cloaking`); when the median itself reaches the bound, the capped
    records are counted exactly, since the reported median must be exact.
    """
    o, a, own = frame.originals, frame.avatars, frame.own
    n = len(o)
    cap = max(LC_MIN_CAP, LC_COUNT_BUDGET // n)
    lc = _finish_local_cloaking(scan, o, a, own, atol, cap, seed)
    if cap < n - 1 and np.median(lc) >= cap:
        capped = np.flatnonzero(lc >= cap)
        exact = _finish_local_cloaking(scan, o, a, own, atol, None, seed, only=capped)
        lc[capped] = exact[capped]
        cap = n - 1
    return lc, cap


def _distances_to_closest(frame: _Frame, atol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(DCR, NNDR)`` of every avatar over the originals and each original's distance to its
    nearest other original, in frame order, from one tree on the originals."""
    original_tree = _balanced_tree(frame.originals)
    dcr, nndr = dcr_nndr(frame.originals, frame.avatars, atol=atol, tree=original_tree)
    nearest_other, _ = nearest_other_neighbors(frame.originals, 1, tree=original_tree)
    return dcr, nndr, _snap_zero(nearest_other[:, 0], atol)


# -- one section per metric family -------------------------------------------------------------
@dataclass
class _Section:
    """One metric family's part of the result: its metrics, in report order, and its entries
    of ``details``."""

    metrics: list[MetricValue]
    details: dict[str, Any]


def _hidden_rate_section(singling: _SinglingOut) -> _Section:
    """Hidden rate (method.md §2.1, Guillaudeux et al. 2023):
    ``HR = 100 · (1/n) Σ_i 1[nn(i) ≠ i]``, ``nn(i) = argmin_j ‖c_i − a_j‖``, the lowest index
    winning ties (the paper's faiss rule); the strict variant counts ``i`` hidden only when
    another avatar is strictly closer."""
    hidden = singling.hidden
    value = 100.0 * float(np.mean(hidden))
    details = {
        "tie_rule": "lowest_index",
        "value": value,
        "hidden_rate_strict": 100.0 * float(np.mean(singling.hidden_strict)),
        "n_hidden": int(hidden.sum()),
    }
    metric = make_metric(
        "hidden_rate",
        value,
        "Share of individuals for whom an attacker who picks the closest avatar picks the "
        "wrong one.",
    )
    return _Section([metric], {"hidden_rate": details})


def _local_cloaking_section(singling: _SinglingOut) -> _Section:
    """Local cloaking (method.md §2.2, the paper's ``get_counts``):
    ``LC_i = #{j ≠ i : ‖c_i − a_j‖ ≤ ‖c_i − a_i‖}`` (ties count); reported: the median. The
    details add the paper's empty rate (``LC_i = 0`` and no other original that close)."""
    lc = singling.local_cloaking
    n = len(lc)
    cap = singling.lc_exact_below
    n_capped = int(np.sum(lc >= cap)) if cap < n - 1 else 0
    details = {
        **_summary(lc),
        "share_zero": 100.0 * float(np.mean(lc == 0)),
        "histogram": _histogram(lc, LC_HISTOGRAM_BINS),
        "empty_rate": 100.0 * float(np.mean(singling.empty)),
        "exact_below": cap if n_capped else None,
        "n_at_least_exact_below": n_capped,
    }
    metric = make_metric(
        "local_cloaking",
        float(np.median(lc)),
        "Typical number of other avatars at least as close to an individual as their own "
        "avatar (median).",
    )
    return _Section([metric], {"local_cloaking": details})


def _dcr_nndr_section(singling: _SinglingOut, ratio: float) -> _Section:
    """Distance to closest record (method.md §2.3) ``DCR(s) = min_x ‖s − x‖`` and closest
    distances ratio (§2.4) ``NNDR(s) = d₁(s) / d₂(s)`` (1 when ``d₂ = 0``) of every avatar over
    the originals (the paper's ``dcr_nndr.py``); reported: the medians."""
    dcr, nndr = singling.distance_to_closest, singling.closest_distances_ratio
    details = {
        "distance_to_closest": {**_summary(dcr), "share_zero": 100.0 * float(np.mean(dcr == 0))},
        "closest_distances_ratio": {
            **_summary(nndr),
            "share_below_threshold": 100.0 * float(np.mean(nndr < ratio)),
        },
    }
    metrics = [
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
    ]
    return _Section(metrics, details)


def _closest_rate_section(
    singling: _SinglingOut, quantile: float, ratio: float
) -> tuple[_Section, np.ndarray]:
    """Closest rate (method.md §2.5, **provisional** [I]), see :func:`closest_rate`; also
    returns the per-avatar "at risk" flags."""
    rate, at_risk, tau = closest_rate(
        singling.distance_to_closest,
        singling.closest_distances_ratio,
        singling.nearest_other_original,
        quantile_threshold=quantile,
        ratio_threshold=ratio,
    )
    details = {
        "quantile_threshold": quantile,
        "ratio_threshold": ratio,
        "distance_threshold": tau,
        "n_at_risk": int(at_risk.sum()),
        "original_nearest_distance": _summary(singling.nearest_other_original),
    }
    metric = make_metric(
        "closest_rate",
        rate,
        "Share of avatars that are not both very close to an original and isolated from the "
        "other originals.",
        provisional=True,
    )
    return _Section([metric], {"closest_rate": details}), at_risk


def _direct_match_section(
    raw_o: EncodedTable, raw_a: EncodedTable, encoder: TableEncoder
) -> _Section:
    """Column and row direct match protection (method.md §2.6 and §2.8, **provisional** [I])
    on the raw values of the compared columns, see :func:`_column_direct_match` and
    :func:`_row_direct_matches`."""
    column_protection = _column_direct_match(raw_o, raw_a, encoder)
    row_matches, own_row_matches = _row_direct_matches(raw_o, raw_a, encoder)
    worst = [v for v in column_protection.values() if v is not None]
    metrics = [
        make_metric(
            "column_direct_match_protection",
            min(worst) if worst else None,
            "Worst column: share of avatar values that do not copy a value unique to one "
            "individual.",
            provisional=True,
        ),
        make_metric(
            "row_direct_match_protection",
            100.0 * (1.0 - row_matches / raw_a.n_rows),
            "Share of avatars that are not an exact copy of an original record.",
            provisional=True,
        ),
    ]
    details = {
        "column_direct_match_protection": column_protection,
        "row_direct_match_protection": {
            "n_avatars_equal_to_an_original": row_matches,
            "n_avatars_equal_to_their_original": own_row_matches,
        },
    }
    return _Section(metrics, details)


def _unique_copy_section(
    raw_o: EncodedTable, raw_a: EncodedTable, encoder: TableEncoder, known: list[str]
) -> _Section:
    """Unique-record copy share (ours, issue 15): ``100 · #{avatars s : ∃ original x, s = x and
    x is the only original with its values} / #avatars``, on every compared column
    (``unique_copy_share``) and, when ``known_variables`` are given, on them only
    (``unique_copy_share_known``: the quasi-identifiers).

    A copy of a unique record discloses that individual; a copy of a record many individuals
    share discloses nobody — which is why ``row_direct_match_protection`` (every copy) cannot
    tell a coarse table's harmless copies from disclosures. Values compared as in
    :func:`_row_direct_matches` (floats rounded to their usual decimals, missing equal to
    missing, 64-bit row hashes).
    """
    metrics = []
    details: dict[str, Any] = {}
    subsets: list[tuple[str, list[str] | None]] = [("unique_copy_share", None)]
    if known:
        subsets.append(("unique_copy_share_known", known))
    for name, columns in subsets:
        h_o = _rounded_row_hashes(raw_o, encoder, columns)
        h_a = _rounded_row_hashes(raw_a, encoder, columns)
        values, counts = np.unique(h_o, return_counts=True)
        unique = values[counts == 1]
        copies = np.isin(h_a, unique)
        own = copies & (h_a == h_o) if len(h_a) == len(h_o) else np.zeros(len(h_a), dtype=bool)
        share = 100.0 * float(np.mean(copies))
        details[name] = {
            "value": share,
            "variables": columns if columns is not None else "all compared columns",
            "n_unique_originals": int(unique.size),
            "unique_original_share": 100.0 * unique.size / len(h_o),
            "n_avatars_copying_a_unique_original": int(copies.sum()),
            "n_avatars_copying_their_own_unique_original": int(own.sum()),
        }
        description = (
            "Share of avatars identical to an original record that is unique in the original "
            "data (a disclosure of that individual)."
            if columns is None
            else "Share of avatars whose known variables equal those of an individual that "
            "they single out in the original data."
        )
        metrics.append(make_metric(name, share, description))
    return _Section(metrics, details)


def _identifier_section(
    original: pd.DataFrame,
    avatars: pd.DataFrame,
    findings: list[IdentifierFinding],
    passed: list[dict[str, str]],
    exclude: list[str],
) -> tuple[_Section, list[dict[str, Any]]]:
    """Identifier protection (ours, issue 15) and the associations the avatars keep.

    For each identifier column of the original (:func:`~avatars.engine.identifiers.
    detect_identifiers`, excluded columns included), ``link_c`` = % of avatars whose value
    equals their own original's value (row ``i`` of the unshuffled avatars against original
    ``i``, values compared as text) and ``copied_c`` = % of avatar values that are one of the
    original's values. ``identifier_protection = 100 − max_c link_c`` (None without an
    identifier column). Also returns the warnings this measures: identifier columns with
    ``link_c ≥ 50`` and excluded columns whose every value is its original's (row order).
    """
    left_out = {p["column"] for p in passed}
    per_column: dict[str, dict[str, Any]] = {}
    link_shares: dict[str, float] = {}
    measured: list[dict[str, Any]] = []
    for finding in findings:
        o, a = normalised_text(original[finding.column]), normalised_text(avatars[finding.column])
        both = o.notna() & a.notna()
        link = 100.0 * float((o[both] == a[both]).sum()) / len(avatars)
        copied = 100.0 * float(a.isin(set(o.dropna())).sum()) / len(avatars)
        link_shares[finding.column] = link
        per_column[finding.column] = {
            "kind": finding.kind.value,
            "own_original_value_share": link,
            "original_value_share": copied,
        }
    linked = [c for c, share in link_shares.items() if share >= 50.0]
    if linked:
        measured.append(
            {
                "code": "identifier_original_order",
                "columns": linked,
                "message": "identifier column(s) whose avatars carry their own original's "
                f"identifier (measured): {', '.join(map(repr, linked))}",
            }
        )
    same = [
        c
        for c in exclude
        if c not in per_column and c not in left_out and _every_value_kept(original[c], avatars[c])
    ]
    if same:
        measured.append(
            {
                "code": "original_order",
                "columns": same,
                "message": "excluded column(s) whose every avatar value is its original's "
                f"(row order, measured): {', '.join(map(repr, same))}",
            }
        )
    value = (
        100.0 - max(d["own_original_value_share"] for d in per_column.values())
        if per_column
        else None
    )
    metric = make_metric(
        "identifier_protection",
        value,
        "Share of avatars that do not carry their own original's identifier (worst identifier "
        "column).",
    )
    return _Section([metric], {"identifier_protection": per_column}), measured


def _every_value_kept(original: pd.Series, avatars: pd.Series) -> bool:
    o, a = normalised_text(original), normalised_text(avatars)
    return bool(o.nunique() > 1 and ((o == a) | (o.isna() & a.isna())).all())


def _membership_section(space: MetricSpace, holdout: pd.DataFrame, seed: int) -> _Section:
    """DCR share and membership-inference AUC (ours, issue 15) against a ``holdout``, in the
    metric space (the originals' projection, the same ``ncp`` as the other distance metrics;
    the holdout imputed on its own like the avatars), see :func:`dcr_share` and
    :func:`membership_auc`. Every training and holdout record takes part: the DCR share is put
    on the equal-size scale and the AUC does not depend on the sizes."""
    _, holdout_coordinates = space.embed(holdout, seed)
    training, avatars = space.original_coordinates, space.avatar_coordinates
    share, d_train, d_holdout = dcr_share(training, holdout_coordinates, avatars)
    auc, d_members, d_others = membership_auc(training, holdout_coordinates, avatars)
    n_t, n_h = len(training), len(holdout_coordinates)
    closer = d_train < d_holdout
    details = {
        "dcr_share": {
            "value": share,
            "observed_share": 100.0 * float(np.mean(closer)),
            "no_leak_share": 100.0 * n_t / (n_t + n_h),
            "n_training": n_t,
            "n_holdout": n_h,
            "ncp": space.ncp,
            "distance_to_training": _summary(d_train),
            "distance_to_holdout": _summary(d_holdout),
        },
        "membership_inference_auc": {
            "value": auc,
            "n_members": n_t,
            "n_non_members": n_h,
            "member_distance_to_avatars": _summary(d_members),
            "non_member_distance_to_avatars": _summary(d_others),
        },
    }
    metrics = [
        make_metric(
            "dcr_share",
            share,
            "Share of avatars closer to a record they were made from than to a new record of "
            "the same population (holdout, equal-size scale); 50 % is ideal.",
        ),
        make_metric(
            "membership_inference_auc",
            auc,
            "How well an attacker tells the individuals used from new ones by their distance "
            "to the avatars (0.5: a coin toss).",
        ),
    ]
    return _Section(metrics, details)


def _result_metadata(
    request: _Request,
    given: Sequence[Mapping[str, Any]] | None,
    measured: list[dict[str, Any]],
) -> dict[str, Any]:
    metadata: dict[str, Any] = dict(passed_through_note(request.passed_through))
    warnings = merge_warnings([*(given or []), *measured])
    if warnings:
        metadata["warnings"] = warnings
    return metadata


def _categorical_hidden_rate_section(
    original: pd.DataFrame,
    request: _Request,
    imputation: ImputationParameters | Mapping[str, Any] | None,
    seed: int,
) -> tuple[_Section, np.ndarray]:
    """Categorical hidden rate (method.md §2.7, **provisional** [I]): ``100 · mean(hidden)`` of
    :func:`_categorical_hidden` on the requested variables; also returns the per-record flags."""
    variables = request.categorical_variables
    hidden, details = _categorical_hidden(original, request.avatars, variables, imputation, seed)
    value = 100.0 * float(np.mean(hidden))
    metric = make_metric(
        "categorical_hidden_rate",
        value,
        "Hidden rate when the attacker compares only the listed categorical variables.",
        provisional=True,
    )
    return _Section([metric], {"categorical_hidden_rate": {**details, "value": value}}), hidden


def _correlation_protection_section(
    space: MetricSpace, known: list[str], hidden_rate: float
) -> _Section:
    """Correlation protection rate (method.md §2.9, **provisional**), see
    :func:`_correlation_protection`."""
    value, details = _correlation_protection(space, known, hidden_rate)
    metric = make_metric(
        "correlation_protection_rate",
        value,
        "Share of individuals who cannot be re-identified by matching the variables an "
        "attacker knows to a single avatar.",
        provisional=True,
    )
    return _Section([metric], {"correlation_protection_rate": details})


def _inference_section(
    original: pd.DataFrame,
    request: _Request,
    space: MetricSpace,
    imputation: ImputationParameters | Mapping[str, Any] | None,
    seed: int,
) -> _Section:
    """Inference metrics (method.md §2.10, **provisional**) of the requested target from the
    known variables, see :func:`_inference`."""
    assert request.target is not None
    name, value, details = _inference(
        original, request.avatars, space, request.known, request.target, imputation, seed
    )
    description = (
        "Error (%, symmetric relative) of an attacker who guesses the target from the "
        "avatar closest to what they know."
        if name == "inference_continuous"
        else "Share of wrong guesses of an attacker who infers the target from the avatar "
        "closest to what they know."
    )
    return _Section(
        [make_metric(name, value, description, provisional=True)], {"inference": details}
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
    h_o = _rounded_row_hashes(raw_o, encoder)
    h_a = _rounded_row_hashes(raw_a, encoder)
    matches = int(np.isin(h_a, h_o).sum())
    own = int(np.sum(h_a == h_o)) if len(h_a) == len(h_o) else 0
    return matches, own


def _rounded_row_hashes(
    raw: EncodedTable, encoder: TableEncoder, columns: Sequence[str] | None = None
) -> np.ndarray:
    """A 64-bit hash per row of its values on ``columns`` (default: all), floats rounded to
    their column's usual decimals (:func:`_row_keys`)."""
    ci = [j for j, c in enumerate(raw.continuous_names) if columns is None or c in columns]
    qi = [j for j, c in enumerate(raw.categorical_names) if columns is None or c in columns]
    cont = raw.continuous[:, ci].copy()
    for position, j in enumerate(ci):
        decimals = encoder.formats[raw.continuous_names[j]].decimals
        if decimals is not None:
            cont[:, position] = np.round(cont[:, position], decimals)
    return _row_keys(cont, raw.codes[:, qi])


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
    guess, ncp = _guess_from_known(original, avatars, space, known, imputation, seed)
    unobserved = original[target].isna().to_numpy() | avatars[target].isna().to_numpy()[guess]
    rows = np.flatnonzero(~unobserved)
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
        value = _continuous_inference_scores(y, y_hat, details)
        return "inference_continuous", value, details
    j = space.original.categorical_names.index(target)
    y = space.original.codes[rows, j]
    y_hat = space.avatars.codes[guess[rows], j]
    labels = space.encoder.categories[target]
    value = _categorical_inference_scores(y, y_hat, labels, details)
    return "inference_categorical", value, details


def _guess_from_known(
    original: pd.DataFrame,
    avatars: pd.DataFrame,
    space: MetricSpace,
    known: list[str],
    imputation: ImputationParameters | Mapping[str, Any] | None,
    seed: int,
) -> tuple[np.ndarray, int]:
    """The attacker's guess of §2.10: for each original, the index of the avatar nearest to it
    in a projection of the avatars' known variables (lowest index on ties), and that
    projection's ``ncp``. ``seed`` feeds the imputation (one spawned stream per table)."""
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
    return guess, ncp


def _continuous_inference_scores(
    y: np.ndarray, y_hat: np.ndarray, details: dict[str, Any]
) -> float | None:
    """SMAPE (the metric, 0-200), MSE and R² of the guesses ``y_hat`` of ``y``, added to
    ``details``; None when no row could be evaluated."""
    if y.size == 0:
        return None
    denominator = np.abs(y) + np.abs(y_hat)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(denominator > 0, 200.0 * np.abs(y_hat - y) / denominator, 0.0)
    smape = float(np.mean(terms))
    mse = float(np.mean((y_hat - y) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum((y_hat - y) ** 2)) / ss_tot if ss_tot > 0 else None
    details.update({"target_type": "continuous", "smape": smape, "mse": mse, "r2": r2})
    return smape


def _categorical_inference_scores(
    y: np.ndarray, y_hat: np.ndarray, labels: pd.Index, details: dict[str, Any]
) -> float | None:
    """``100 − accuracy`` (the metric: % wrong guesses) of the guessed codes ``y_hat`` of
    ``y``, with the accuracy and, for at most :data:`MAX_CONFUSION_MODALITIES` modalities, the
    confusion matrix added to ``details``; None when no row could be evaluated."""
    if y.size == 0:
        return None
    accuracy = 100.0 * float(np.mean(y == y_hat))
    details.update({"target_type": "categorical", "accuracy": accuracy})
    if len(labels) <= MAX_CONFUSION_MODALITIES:
        m = len(labels)
        confusion = np.zeros((m, m), dtype=np.int64)
        np.add.at(confusion, (y, y_hat), 1)
        details["confusion_matrix"] = {
            "labels": [str(v) for v in labels],
            "rows_true_columns_guessed": confusion.tolist(),
        }
    return 100.0 - accuracy


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
