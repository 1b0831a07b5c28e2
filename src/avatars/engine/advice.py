"""Parameter advice and a per-column summary of a table (method.md §6.7, the ``advice`` job).

Two advisors. Without targets, :func:`advise_parameters` suggests parameters from the data's
shape, like Octopize's (whose rules are not published; ours are below). With ``targets`` it
*searches* for the parameters that meet them on this data (:func:`search_parameters`): each
candidate is avatarized and measured by the privacy metrics in their own default space (not the
avatarization's ``ncp``, so that a low ``ncp`` cannot flatter the metric), and among the
candidates that meet every target the one with the best signal wins.

Shape rules (no targets):

- ``k``: ``round(0.75·√n)`` clipped to [5, 20] (and below the number of rows). The paper used
  ``k = 20`` on tables of 683 and 2,139 rows; its WBCD sweep shows utility stable up to
  k ≈ 100 and degrading beyond, while privacy grows with k (method.md §5.3). Small tables get
  fewer neighbours so that each avatar stays a local model.
- ``ncp``: 5 (the documented default), or fewer when the table has fewer dimensions.
- imputation (only when values are missing): exact ``knn`` up to 20,000 rows, ``fast_knn``
  above, with ``k = 5`` and a training sample of at most 100,000 rows.

The summary lists, per column, its type, missing and distinct counts and shares, central
values and flags a user should look at: ``probable_id`` (one distinct value per row),
``is_constant``, ``is_skewed`` (|skewness| > 1), ``has_rare_modalities`` (a modality held by
fewer than 1 % of the rows or fewer than 5 rows), and ``identifier`` (the kind of evidence when
:func:`~avatars.engine.identifiers.detect_identifiers` flags the column, else None;
``probable_id`` is True for those too).

The search (targets): see :func:`search_parameters`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from avatars.engine.errors import InvalidParameterError
from avatars.engine.identifiers import detect_identifiers
from avatars.engine.preprocessing import validate_table
from avatars.engine.schema import ColumnType, resolve_column_types
from avatars.engine.targets import PRIVACY_TARGETS, meets_target, parse_target

KNN_MAX_ROWS = 20_000


def advise_parameters(
    df: pd.DataFrame,
    *,
    column_types: Mapping[str, str | ColumnType] | None = None,
    targets: Mapping[str, float | str] | None = None,
    holdout: pd.DataFrame | None = None,
    exclude_variables: Sequence[str] | None = None,
    not_identifiers: Sequence[str] | None = None,
    seed: int = 0,
    max_rows: int | None = None,
) -> dict[str, Any]:
    """Suggested avatarization parameters for ``df`` and its per-column summary (JSON-ready).

    ``exclude_variables`` are the columns that will not be avatarized (excluded, keys,
    pseudonymized): left out of the advice. Without ``targets``: the shape rules of the module
    docstring. With ``targets`` (metric →
    threshold, see :func:`search_parameters`, which receives the other arguments): the
    parameters that meet them, found by measuring, with what was measured under ``"search"``.
    """
    if targets:
        found = search_parameters(
            df,
            targets,
            column_types=column_types,
            holdout=holdout,
            exclude_variables=exclude_variables,
            not_identifiers=not_identifiers,
            seed=seed,
            max_rows=SEARCH_MAX_ROWS if max_rows is None else max_rows,
        )
        advice = _shape_advice(*_avatarized_part(df, column_types, exclude_variables))
        advice.update(k=found["k"], ncp=found["ncp"], search=found)
        return advice
    return _shape_advice(*_avatarized_part(df, column_types, exclude_variables))


def _avatarized_part(
    df: pd.DataFrame,
    column_types: Mapping[str, str | ColumnType] | None,
    exclude_variables: Sequence[str] | None,
) -> tuple[pd.DataFrame, dict[str, str | ColumnType] | None]:
    """The table without the columns that will not be avatarized, and their types."""
    from avatars.engine.preprocessing import check_columns_exist

    exclude = set(check_columns_exist("exclude_variables", exclude_variables, df))
    if not exclude:
        return df, dict(column_types) if column_types else None
    types = {c: t for c, t in (column_types or {}).items() if c not in exclude}
    return df.drop(columns=list(exclude)), types or None


def _shape_advice(
    df: pd.DataFrame, column_types: Mapping[str, str | ColumnType] | None
) -> dict[str, Any]:
    validate_table(df)
    types = resolve_column_types(df, column_types)
    n = len(df)
    k = int(np.clip(round(0.75 * np.sqrt(n)), 5, 20))
    k = max(2, min(k, n - 1))
    dimensions = 0
    for column, ctype in types.items():
        if ctype.is_continuous:
            dimensions += 1
        else:
            dimensions += max(1, int(df[column].nunique(dropna=True)) - 1)
    has_missing = bool(df.isna().any().any())
    dimensions += int(df.isna().any().sum())  # missingness indicators
    ncp = max(1, min(5, dimensions, n - 1))
    imputation: dict[str, Any] = {
        "method": ("knn" if n <= KNN_MAX_ROWS else "fast_knn") if has_missing else "fast_knn",
        "k": 5,
        "training_fraction": round(min(1.0, 100_000 / n), 4),
        "return_data_imputed": False,
    }
    return {
        "k": k,
        "ncp": ncp,
        "use_categorical_reduction": False,
        "imputation": imputation,
        "summary": {"stats": table_summary(df, column_types=types)},
    }


def table_summary(
    df: pd.DataFrame, *, column_types: Mapping[str, str | ColumnType] | None = None
) -> list[dict[str, Any]]:
    """One record per column (accepted by ``pd.DataFrame(records)``)."""
    types = resolve_column_types(df, column_types)
    n = len(df)
    identifiers = {f.column: f.kind.value for f in detect_identifiers(df, column_types=types)}
    records = []
    for column in df.columns:
        series = df[column]
        ctype = types[column]
        observed = series.dropna()
        n_missing = int(n - len(observed))
        n_unique = int(observed.nunique())
        record: dict[str, Any] = {
            "variable": str(column),
            "type": ctype.value,
            "n_missing": n_missing,
            "missing_share": round(n_missing / n, 6) if n else 0.0,
            "n_unique": n_unique,
            "unique_share": round(n_unique / n, 6) if n else 0.0,
            "mean": None,
            "median": None,
            "std": None,
            "min": None,
            "max": None,
            "mode": None,
            "is_constant": n_unique <= 1,
            "probable_id": (n >= 10 and n_unique == n) or column in identifiers,
            "identifier": identifiers.get(column),
            "is_skewed": False,
            "has_rare_modalities": False,
        }
        if len(observed):
            mode = observed.mode(dropna=True)
            record["mode"] = _plain(mode.iloc[0]) if len(mode) else None
        if ctype in (ColumnType.INT, ColumnType.FLOAT) and len(observed):
            values = pd.to_numeric(observed, errors="coerce").astype(float)
            record.update(
                mean=float(values.mean()),
                median=float(values.median()),
                std=float(values.std(ddof=0)),
                min=float(values.min()),
                max=float(values.max()),
                is_skewed=bool(abs(values.skew()) > 1) if len(values) > 2 else False,
            )
        elif ctype in (ColumnType.DATETIME, ColumnType.DATETIME_TZ) and len(observed):
            stamps = pd.to_datetime(observed, utc=ctype == ColumnType.DATETIME_TZ)
            record.update(min=stamps.min().isoformat(), max=stamps.max().isoformat())
        elif len(observed):
            counts = observed.value_counts()
            threshold = max(5, 0.01 * n)
            record["has_rare_modalities"] = bool((counts < threshold).any())
        records.append(record)
    return records


def _plain(value: Any) -> Any:
    """JSON-friendly scalar."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


# -- the search ------------------------------------------------------------------------------
#: Tables larger than this are searched on a random sample of this many rows (the output says
#: so): the metrics' values depend on k and on the local shape of the data far more than on
#: the number of rows, and the search must stay within a minute on 50,000 rows.
SEARCH_MAX_ROWS = 6_000

#: Without a holdout, the membership targets are measured on a split of the (sampled) table:
#: this share of its rows is held out, the rest avatarized.
HOLDOUT_SHARE = 0.3

#: The k tried, those below the number of rows: a ladder, since the metrics move with k's
#: order of magnitude rather than its last unit. It stops at 250: a trial costs O(n·k), and
#: the paper's WBCD sweep shows the signal degrading beyond k ≈ 100 (method.md §5.3).
K_LADDER: tuple[int, ...] = (
    2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 130, 160, 200, 250,
)  # fmt: skip

#: When no candidate meets the targets, every SWEEP_STEP-th k of the ladder is measured at the
#: default ncp, so that the closest miss reported is not only the largest k.
SWEEP_STEP = 4

#: Avatarization ncp tried besides the default (5, or the table's dimensions if fewer).
NCP_ALTERNATIVES: tuple[int, ...] = (2, 10)

#: The metrics a target may name: the privacy metrics computed without known variables.
SEARCHABLE_METRICS: tuple[str, ...] = (
    "hidden_rate",
    "local_cloaking",
    "distance_to_closest",
    "closest_distances_ratio",
    "closest_rate",
    "column_direct_match_protection",
    "row_direct_match_protection",
    "unique_copy_share",
    "dcr_share",
    "membership_inference_auc",
)
MEMBERSHIP_METRICS = frozenset({"dcr_share", "membership_inference_auc"})


def parse_targets(targets: Mapping[str, float | str]) -> dict[str, str]:
    """``{metric: target}`` as target strings: a number is a threshold in the metric's unit
    with the metric's usual comparison (``{"hidden_rate": 90}`` → ``"> 90"``,
    ``{"dcr_share": 55}`` → ``"< 55"``); a string is a target (``"> 90"``, ``">= 0.95"``).
    Errors name ``targets.<metric>``."""
    if not isinstance(targets, Mapping) or not targets:
        raise InvalidParameterError("targets", f"expected {{metric: threshold}}, got {targets!r}")
    out = {}
    for name, target in targets.items():
        if name not in SEARCHABLE_METRICS:
            raise InvalidParameterError(
                "targets",
                f"no target on {name!r}; targets can name {', '.join(SEARCHABLE_METRICS)}",
            )
        if isinstance(target, str):
            try:
                parse_target(target)
            except ValueError:
                raise InvalidParameterError(
                    f"targets.{name}", f"expected e.g. '> 90' or a number, got {target!r}"
                ) from None
            out[name] = target.strip()
        elif isinstance(target, int | float) and not isinstance(target, bool):
            default = PRIVACY_TARGETS[name].target
            assert default is not None
            out[name] = f"{parse_target(default)[0]} {float(target):g}"
        else:
            raise InvalidParameterError(f"targets.{name}", f"expected a number, got {target!r}")
    return out


@dataclass
class _Trial:
    """One measured candidate."""

    k: int
    ncp: int
    metrics: dict[str, float | None]  # every privacy metric, and the two signal scores
    missed: list[str]  # requested targets missed
    signal: float | None  # mean of the distribution and correlation preservation scores
    seconds: float

    @property
    def met(self) -> bool:
        return not self.missed

    def to_dict(self, wanted: Mapping[str, str]) -> dict[str, Any]:
        return {
            "k": self.k,
            "ncp": self.ncp,
            "met": self.met,
            "signal": self.signal,
            "metrics": {name: self.metrics.get(name) for name in wanted},
            "seconds": round(self.seconds, 3),
        }


def search_parameters(
    df: pd.DataFrame,
    targets: Mapping[str, float | str],
    *,
    column_types: Mapping[str, str | ColumnType] | None = None,
    holdout: pd.DataFrame | None = None,
    exclude_variables: Sequence[str] | None = None,
    not_identifiers: Sequence[str] | None = None,
    seed: int = 0,
    max_rows: int = SEARCH_MAX_ROWS,
) -> dict[str, Any]:
    """The ``k`` and ``ncp`` that meet every target with the best signal, found by measuring.

    Each candidate is avatarized (``seed``) and measured by :func:`~avatars.engine.privacy.
    privacy_metrics` in its default space (``ncp = min(5, rank)``, whatever the candidate's
    avatarization ``ncp``) and :func:`~avatars.engine.signal.signal_metrics`; signal = mean of
    ``hellinger_score`` and ``correlation_score``. The search: for the default avatarization
    ``ncp``, a bisection on :data:`K_LADDER` for the smallest k that meets every target —
    those requested, and the platform's default targets that the largest k meets (see
    ``_Search._bisect``) — since the privacy metrics grow with k and the signal falls with it;
    then, for each of :data:`NCP_ALTERNATIVES`, a bisection on the k up to the best so far.
    Among the measured candidates that meet the requested targets, the one that misses the
    fewest default targets wins, then the best signal, then the smaller k. When none meets
    them, the output says so and gives the candidate that misses the fewest by the least.

    Tables of more than ``max_rows`` rows are searched on a random sample of that many rows.
    The membership targets (``dcr_share``, ``membership_inference_auc``) need a ``holdout``;
    without one, :data:`HOLDOUT_SHARE` of the (sampled) rows are held out. ``exclude_variables``
    are left out of the search (columns the avatarization will not synthesize: excluded,
    keys, pseudonymized); identifier columns not among them are refused as by ``avatarize``.
    Returns a JSON-ready dict: ``k``, ``ncp``, ``met``, ``targets``, ``measured`` (every
    metric of the chosen candidate), ``missed``, ``other_targets_missed`` (the platform's
    default targets the choice misses, not requested), the sample and holdout used, every
    ``trial``, ``seconds`` and a ``message``.
    """
    from avatars.engine.identifiers import check_no_identifiers
    from avatars.engine.preprocessing import check_columns_exist

    started = time.perf_counter()
    validate_table(df)
    wanted = parse_targets(targets)
    exclude = check_columns_exist("exclude_variables", exclude_variables, df)
    not_ids = check_columns_exist("not_identifiers", not_identifiers, df)
    check_no_identifiers(
        df,
        column_types=column_types,
        columns=[c for c in df.columns if c not in exclude and c not in not_ids],
    )
    keep = [c for c in df.columns if c not in exclude]
    types = {c: t for c, t in (column_types or {}).items() if c in keep}
    if max_rows < 20:
        raise InvalidParameterError("max_rows", f"expected at least 20, got {max_rows}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    data = _sample_rows(df[keep], max_rows, rng)
    train, held, holdout_origin = _split_holdout(data, holdout, keep, wanted, rng)
    if len(train) < 4:
        raise InvalidParameterError(
            "targets", f"the table has too few rows to search ({len(train)} to avatarize)"
        )
    search = _Search(train, held, types, wanted, seed, not_ids)
    search.run()
    best, met = search.choice()
    return {
        "k": best.k,
        "ncp": best.ncp,
        "met": met,
        "targets": wanted,
        "measured": best.metrics,
        "missed": best.missed,
        "other_targets_missed": _other_missed(best.metrics, wanted),
        "rows": len(df),
        "rows_searched": len(train),
        "sampled": len(data) < len(df),
        "holdout": holdout_origin,
        "holdout_rows": None if held is None else len(held),
        "metrics_ncp": "default (min(5, rank))",
        "trials": [t.to_dict(wanted) for t in search.trials],
        "seconds": round(time.perf_counter() - started, 2),
        "message": _message(best, met, wanted, len(data) < len(df), len(train), holdout_origin),
    }


def _sample_rows(df: pd.DataFrame, max_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(df) <= max_rows:
        return df.reset_index(drop=True)
    rows = np.sort(rng.choice(len(df), size=max_rows, replace=False))
    return df.iloc[rows].reset_index(drop=True)


def _split_holdout(
    data: pd.DataFrame,
    holdout: pd.DataFrame | None,
    keep: list[str],
    wanted: Mapping[str, str],
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame | None, str | None]:
    """``(rows to avatarize, holdout or None, "given" | "split" | None)``."""
    if not MEMBERSHIP_METRICS & set(wanted):
        return data, None, None
    if holdout is not None:
        from avatars.engine.common import align_columns, check_table

        check_table(holdout, "holdout")
        held = align_columns(data, holdout[[c for c in holdout.columns if c in keep]], "holdout")
        return data, _sample_rows(held, len(data), rng), "given"
    order = rng.permutation(len(data))
    n_held = max(2, round(HOLDOUT_SHARE * len(data)))
    held = data.iloc[np.sort(order[:n_held])].reset_index(drop=True)
    return data.iloc[np.sort(order[n_held:])].reset_index(drop=True), held, "split"


class _Search:
    """The measured candidates of one search (see :func:`search_parameters`)."""

    def __init__(
        self,
        train: pd.DataFrame,
        holdout: pd.DataFrame | None,
        types: Mapping[str, str | ColumnType],
        wanted: Mapping[str, str],
        seed: int,
        not_identifiers: list[str],
    ) -> None:
        self.train, self.holdout, self.types = train, holdout, dict(types)
        self.wanted, self.seed, self.not_ids = wanted, seed, not_identifiers
        self.ladder = [k for k in K_LADDER if k < len(train)]
        self.trials: list[_Trial] = []
        self.rank = 0  # known after the first avatarization
        self._cache: dict[tuple[int, int | None], _Trial] = {}

    def run(self) -> None:
        first = self._bisect(None, len(self.ladder) - 1)
        default_ncp = self.trials[0].ncp
        for ncp in NCP_ALTERNATIVES:
            if ncp == default_ncp or ncp > self.rank:
                continue
            upper = len(self.ladder) - 1 if first is None else self.ladder.index(first.k)
            self._bisect(ncp, upper)
        if not any(t.met for t in self.trials):  # say how close a few k came, at the default ncp
            for k in self.ladder[::SWEEP_STEP]:
                self._evaluate(k, None)

    def choice(self) -> tuple[_Trial, bool]:
        """Among the trials that meet the requested targets: the fewest default targets
        missed, by the least (on WBCD every k copies unique records, ncp = 2 and k = 2 three
        times as many as k = 40), then the best signal, then the smaller k; else the closest
        miss."""
        feasible = [t for t in self.trials if t.met]
        if feasible:
            return min(
                feasible,
                key=lambda t: (
                    *_shortfall(t.metrics, _defaults(self.wanted)),
                    -_score(t.signal),
                    t.k,
                ),
            ), True
        return min(self.trials, key=lambda t: (*_shortfall(t.metrics, self.wanted), t.k)), False

    def _bisect(self, ncp: int | None, upper: int) -> _Trial | None:
        """The smallest k of ``ladder[: upper + 1]`` whose trial at ``ncp`` meets the requested
        targets *and* every default target that ``ladder[upper]`` meets (a setting that passes
        the user's targets but fails a default one that a larger k passes is not safe advice:
        on AIDS, ncp = 2 and k = 2 give a 99.5 % hidden rate but a 61 % closest rate), assuming
        that meeting them is monotone in k. None when ``ladder[upper]`` misses a requested one.
        """
        top = self._evaluate(self.ladder[upper], ncp)
        if not top.met:
            return None
        reachable = [
            name
            for name, spec in PRIVACY_TARGETS.items()
            if name not in self.wanted and meets_target(top.metrics.get(name), spec.target)
        ]

        def good(trial: _Trial) -> bool:
            return trial.met and all(
                meets_target(trial.metrics.get(n), PRIVACY_TARGETS[n].target) for n in reachable
            )

        low, high, best = 0, upper, top
        while low < high:
            middle = (low + high) // 2
            trial = self._evaluate(self.ladder[middle], ncp)
            if good(trial):
                high, best = middle, trial
            else:
                low = middle + 1
        return best

    def _evaluate(self, k: int, ncp: int | None) -> _Trial:
        from avatars.engine.avatarization import avatarize
        from avatars.engine.privacy import privacy_metrics
        from avatars.engine.signal import signal_metrics

        if (k, ncp) in self._cache:
            return self._cache[(k, ncp)]
        started = time.perf_counter()
        result = avatarize(
            self.train,
            k=k,
            ncp=ncp,
            seed=self.seed,
            column_types=self.types or None,
            not_identifiers=self.not_ids or None,
        )
        privacy = privacy_metrics(
            self.train,
            result.unshuffled,
            seed=self.seed,
            column_types=self.types or None,
            holdout=self.holdout,
            not_identifiers=self.not_ids or None,
        )
        self.rank = int(result.metadata["projection"]["rank"])
        signal = signal_metrics(self.train, result.shuffled, column_types=self.types or None)
        metrics = {m.name: m.value for m in privacy.metrics}
        metrics.update({m.name: m.value for m in signal.metrics if m.name.endswith("_score")})
        missed = [n for n, t in self.wanted.items() if meets_target(metrics.get(n), t) is not True]
        scores = [
            v
            for v in (metrics.get("hellinger_score"), metrics.get("correlation_score"))
            if v is not None
        ]
        trial = _Trial(
            k=k,
            ncp=int(result.metadata["parameters"]["ncp"]),
            metrics=metrics,
            missed=missed,
            signal=float(np.mean(scores)) if scores else None,
            seconds=time.perf_counter() - started,
        )
        self._cache[(k, ncp)] = trial
        self.trials.append(trial)
        return trial


def _defaults(wanted: Mapping[str, str]) -> dict[str, str]:
    """The platform's default targets of the metrics not requested."""
    return {
        name: spec.target
        for name, spec in PRIVACY_TARGETS.items()
        if name not in wanted and spec.target is not None
    }


def _shortfall(
    metrics: Mapping[str, float | None], targets: Mapping[str, str]
) -> tuple[int, float]:
    """How far ``metrics`` are from ``targets``: the number missed and their summed relative
    distance to the thresholds (a metric not computed is not counted)."""
    missed, total = 0, 0.0
    for name, target in targets.items():
        value = metrics.get(name)
        if value is None or meets_target(value, target):
            continue
        threshold = parse_target(target)[1]
        missed += 1
        total += abs(value - threshold) / max(abs(threshold), 1e-9)
    return missed, total


def _score(signal: float | None) -> float:
    return -1.0 if signal is None else signal


def _other_missed(metrics: Mapping[str, float | None], wanted: Mapping[str, str]) -> list[str]:
    return [
        name
        for name, spec in PRIVACY_TARGETS.items()
        if name not in wanted and meets_target(metrics.get(name), spec.target) is False
    ]


def _message(
    best: _Trial,
    met: bool,
    wanted: Mapping[str, str],
    sampled: bool,
    rows: int,
    holdout: str | None,
) -> str:
    measured = ", ".join(
        f"{n} {_show(best.metrics.get(n))} (target {t})" for n, t in wanted.items()
    )
    where = f"a random sample of {rows:,} rows" if sampled else f"this table ({rows:,} rows)"
    if holdout == "split":
        where += f", {HOLDOUT_SHARE:.0%} of them held out for the membership metrics"
    if met:
        return f"k={best.k}, ncp={best.ncp} meet every target on {where}: {measured}."
    return (
        f"no setting tried meets every target on {where}; the closest, k={best.k}, "
        f"ncp={best.ncp}, gives {measured}. Larger k did not help enough: consider coarsening "
        "the columns that make records unique, or other targets."
    )


def _show(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
