"""Data augmentation (method.md §6.4): more avatars than original records.

Strategies (``strategy``):

- a multiplier ``r > 1``: ``round(n · r)`` avatars; with a ``target_column`` each class ``c``
  gets ``round(n_c · r)`` (its proportion kept), else the extra avatars come evenly from every
  record;
- ``minority``: the smallest class of ``target_column`` raised to the size of the largest;
- ``not_majority``: every class raised to the size of the largest;
- ``{modality: ratio}``: class ``c`` multiplied by ``ratio_c ≥ 1`` (our reading of the
  "custom proportion" of the official tutorial [U]); classes not named keep their size.

Algorithm (method.md §6.4, our reading [I]/[U]): the table is avatarized as usual (one avatar
per record), then each class to augment is avatarized again, on its own records only — the
neighbour search restricted to the class — with independent seeds, as many times as needed;
the last round contributes a random subset of its avatars. Each extra avatar is made from one
original record (its *source*), from independent weight draws (§1.8). Extra avatars are counted
against the base avatars' own class counts, so every augmented class has exactly the requested
count (the base avatars of the classes left alone keep their drawn counts, within a few records
of the originals').

``should_anonymize_original_table=False`` (SENSITIVE) keeps the original records themselves in
place of the base avatars: the result holds real records, and its warnings say so.

Privacy (§2.12): :func:`augmentation_privacy_tables` gives the three computation types —
``standalone`` (originals against their base avatars), ``barycentered`` (originals against the
barycentre of every avatar made from each: continuous values averaged, categorical values the
most frequent), ``class_balancing_barycenter`` (the same, only for the records that sourced
extra avatars).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from avatars.engine.avatarization import AvatarizationResult, avatarize
from avatars.engine.errors import InvalidDataError, InvalidParameterError
from avatars.engine.schema import ColumnType, resolve_column_types
from avatars.protocol.enums import AugmentationStrategy, ComputationType

#: The warning of a run whose output holds the original records (not anonymized).
ORIGINAL_RECORDS = "original_records"


@dataclass
class AugmentationResult:
    """What :func:`augment` returns.

    ``unshuffled``: the ``n`` base avatars (row ``i`` made from original ``i``, or original
    ``i`` itself when not anonymized), then the extra avatars; ``sources[j]`` is the original
    row each unshuffled row was made from (SENSITIVE, like ``unshuffled``). ``shuffled``: the
    same rows in random order, the deliverable.
    """

    shuffled: pd.DataFrame
    unshuffled: pd.DataFrame
    sources: np.ndarray
    base: AvatarizationResult | None  # None when the originals were kept as they are
    metadata: dict[str, Any] = field(default_factory=dict)


def requested_counts(
    target: pd.Series | None,
    n_rows: int,
    strategy: float | str | AugmentationStrategy | Mapping[Any, float],
) -> dict[Any, int]:
    """The number of rows each class must have after augmentation (``{None: total}`` without
    a target column). Errors name ``augmentation_strategy`` / ``target_column``."""
    if isinstance(strategy, bool):
        raise InvalidParameterError("augmentation_strategy", f"unexpected {strategy!r}")
    if isinstance(strategy, int | float):
        if not math.isfinite(strategy) or strategy <= 1:
            raise InvalidParameterError(
                "augmentation_strategy", f"a multiplier must be a number > 1, got {strategy}"
            )
        if target is None:
            return {None: round(n_rows * float(strategy))}
        counts = target.value_counts(dropna=False)
        return {c: round(int(n) * float(strategy)) for c, n in counts.items()}
    if target is None:
        raise InvalidParameterError(
            "target_column", "required with a minority, not_majority or per-modality strategy"
        )
    counts = target.value_counts(dropna=False)
    if isinstance(strategy, Mapping):
        labels = {str(c): c for c in counts.index}
        out = {c: int(n) for c, n in counts.items()}
        for modality, ratio in strategy.items():
            if str(modality) not in labels:
                raise InvalidParameterError(
                    "augmentation_strategy",
                    f"modality {modality!r} is not a value of the target column (values: "
                    f"{', '.join(sorted(labels)[:20])})",
                )
            if not math.isfinite(float(ratio)) or float(ratio) < 1:
                raise InvalidParameterError(
                    "augmentation_strategy",
                    f"the ratio of modality {modality!r} must be ≥ 1 (augmentation only adds "
                    f"records), got {ratio}",
                )
            c = labels[str(modality)]
            out[c] = round(int(counts[c]) * float(ratio))
        return out
    kind = AugmentationStrategy(str(getattr(strategy, "value", strategy)))
    largest = int(counts.max())
    if kind == AugmentationStrategy.minority:
        smallest = counts.idxmin()
        return {c: (largest if c == smallest else int(n)) for c, n in counts.items()}
    return {c: largest for c in counts.index}


def augment(
    df: pd.DataFrame,
    *,
    strategy: float | str | AugmentationStrategy | Mapping[Any, float],
    k: int,
    target_column: str | None = None,
    should_anonymize_original_table: bool = True,
    seed: int | None = None,
    column_types: Mapping[str, str | ColumnType] | None = None,
    **avatarize_options: Any,
) -> AugmentationResult:
    """Augment ``df`` (see the module docstring). ``avatarize_options`` are those of
    :func:`~avatars.engine.avatarization.avatarize` (``ncp``, ``column_weights``,
    ``imputation``, exclusion, ``not_identifiers``, ``categorical_reduction``...); ``keys`` and
    ``pseudonymize`` are refused: new keys must be dealt over all the augmented rows."""
    for option in ("keys", "pseudonymize"):
        if avatarize_options.get(option):
            raise InvalidParameterError(
                "data_augmentation", f"cannot be combined with {option} yet"
            )
    avatarize_options.pop("progress", None)
    if target_column is not None and target_column not in df.columns:
        raise InvalidParameterError("target_column", f"no column '{target_column}' in the table")
    target = df[target_column].reset_index(drop=True) if target_column is not None else None
    requested = requested_counts(target, len(df), strategy)
    types = resolve_column_types(df, column_types)
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    streams = np.random.SeedSequence(seed).spawn(3)
    rng_rounds, rng_pick, rng_shuffle = (np.random.default_rng(s) for s in streams)
    base: AvatarizationResult | None = None
    if should_anonymize_original_table:
        base = avatarize(df, k=k, seed=seed, column_types=types, **avatarize_options)
        base_rows = base.unshuffled
    else:
        base_rows = df.reset_index(drop=True)
    # the extra avatars' runs see a class at a time: whatever the full run accepted stays a
    # variable (a column can look like an identifier on the records of one class)
    handled = set(avatarize_options.get("exclude_methods") or {})
    sub_options = dict(avatarize_options)
    sub_options["not_identifiers"] = [c for c in df.columns if c not in handled]
    extras: list[pd.DataFrame] = [base_rows]
    sources: list[np.ndarray] = [np.arange(len(df))]
    per_class: dict[str, dict[str, int]] = {}
    for label, wanted in requested.items():
        if label is None:
            rows = np.arange(len(df))
            have = len(base_rows)
        else:
            rows = np.flatnonzero(_equals(target, label))
            have = int(_equals(base_rows[target_column], label).sum())
        missing = wanted - have
        per_class[_show(label)] = {"original": len(rows), "requested": int(wanted), "extra": 0}
        if missing <= 0:
            continue
        frame, made_from = _extra_avatars(
            df, rows, missing, k, types, sub_options, rng_rounds, rng_pick, _show(label)
        )
        extras.append(frame)
        sources.append(made_from)
        per_class[_show(label)]["extra"] = int(missing)
    unshuffled = pd.concat(extras, ignore_index=True)[list(df.columns)]
    all_sources = np.concatenate(sources)
    order = rng_shuffle.permutation(len(unshuffled))
    shuffled = unshuffled.iloc[order].reset_index(drop=True)
    metadata: dict[str, Any] = (
        dict(base.metadata) if base is not None else {"n_rows": len(df), "warnings": []}
    )
    warnings: list[Any] = list(metadata.get("warnings") or [])
    if not should_anonymize_original_table:
        warnings.append(
            {
                "code": ORIGINAL_RECORDS,
                "columns": [str(c) for c in df.columns],
                "message": "should_anonymize_original_table=false: the output holds the "
                f"{len(df)} original records themselves, beside the extra avatars",
            }
        )
    metadata["warnings"] = warnings
    metadata["augmentation"] = {
        "strategy": _strategy_value(strategy),
        "target_column": target_column,
        "should_anonymize_original_table": should_anonymize_original_table,
        "rows": len(unshuffled),
        "classes": per_class,
        "output_counts": (
            {_show(c): int(n) for c, n in unshuffled[target_column].value_counts().items()}
            if target_column is not None
            else {}
        ),
    }
    return AugmentationResult(shuffled, unshuffled, all_sources, base, metadata)


def _extra_avatars(
    df: pd.DataFrame,
    rows: np.ndarray,
    count: int,
    k: int,
    types: Mapping[str, ColumnType],
    options: Mapping[str, Any],
    rng_rounds: np.random.Generator,
    rng_pick: np.random.Generator,
    label: str,
) -> tuple[pd.DataFrame, np.ndarray]:
    """``count`` avatars made from the records ``rows`` (one class) and their sources."""
    if len(rows) < 3:
        raise InvalidDataError(
            f"data_augmentation: class {label} has {len(rows)} record(s); at least 3 are needed "
            "to build avatars from its own records"
        )
    subset = df.iloc[rows].reset_index(drop=True)
    k_class = min(k, len(rows) - 1)
    frames, made_from = [], []
    remaining = count
    while remaining > 0:
        round_seed = int(rng_rounds.integers(2**32))
        result = avatarize(subset, k=k_class, seed=round_seed, column_types=types, **options)
        take = np.arange(len(rows))
        if remaining < len(rows):
            take = np.sort(rng_pick.choice(len(rows), size=remaining, replace=False))
        frames.append(result.unshuffled.iloc[take])
        made_from.append(rows[take])
        remaining -= len(take)
    return pd.concat(frames, ignore_index=True), np.concatenate(made_from)


def barycentres(
    avatars: pd.DataFrame,
    sources: np.ndarray,
    n_original: int,
    column_types: Mapping[str, str | ColumnType] | None = None,
) -> pd.DataFrame:
    """One row per original record: the barycentre of every avatar made from it — numeric
    and date values averaged, other values the most frequent (ties: the first made)."""
    types = resolve_column_types(avatars, column_types)
    out: dict[str, Any] = {}
    groups = pd.Series(sources, index=avatars.index)
    for column in avatars.columns:
        series = avatars[column]
        if types[column].is_continuous and types[column] != ColumnType.BOOL:
            if types[column] in (ColumnType.DATETIME, ColumnType.DATETIME_TZ):
                epoch = pd.Timestamp(0, tz=getattr(series.dtype, "tz", None))
                seconds = (series - epoch) / pd.Timedelta(seconds=1)
                mean = seconds.groupby(groups).mean()
                out[column] = (epoch + pd.to_timedelta(mean.round(), unit="s")).astype(series.dtype)
            else:
                mean = series.astype(float).groupby(groups).mean()
                if pd.api.types.is_integer_dtype(series.dtype):
                    mean = mean.round().astype(series.dtype)
                out[column] = mean
        else:
            out[column] = series.groupby(groups).agg(_first_mode)
    frame = pd.DataFrame(out)
    frame = frame.reindex(range(n_original))
    return frame[list(avatars.columns)].reset_index(drop=True)


def augmentation_privacy_tables(
    original: pd.DataFrame,
    unshuffled: pd.DataFrame,
    sources: Sequence[int] | np.ndarray,
    column_types: Mapping[str, str | ColumnType] | None = None,
) -> list[tuple[ComputationType, pd.DataFrame, pd.DataFrame]]:
    """The pairs ``(computation type, originals, avatars)`` whose privacy metrics an augmented
    run reports (§2.12), row ``i`` of each avatars table made from row ``i`` of its originals."""
    n = len(original)
    sources = np.asarray(sources)
    if len(sources) != len(unshuffled) or len(unshuffled) < n:
        raise InvalidDataError(
            "the augmented avatars and their sources do not match (rerun the avatarization)"
        )
    original = original.reset_index(drop=True)
    unshuffled = unshuffled[list(original.columns)].reset_index(drop=True)
    centres = barycentres(unshuffled, sources, n, column_types)
    pairs = [
        (ComputationType.standalone, original, unshuffled.iloc[:n].reset_index(drop=True)),
        (ComputationType.barycentered, original, centres),
    ]
    augmented = np.unique(sources[n:])
    if len(augmented) >= 3:
        pairs.append(
            (
                ComputationType.class_balancing_barycenter,
                original.iloc[augmented].reset_index(drop=True),
                centres.iloc[augmented].reset_index(drop=True),
            )
        )
    return pairs


def _first_mode(values: pd.Series) -> Any:
    observed = values.dropna()
    if observed.empty:
        return values.iloc[0]
    counts = observed.value_counts(sort=False)
    return counts.index[int(np.argmax(counts.to_numpy()))]


def _equals(series: pd.Series, label: Any) -> np.ndarray:
    if label is None or (isinstance(label, float) and math.isnan(label)):
        return series.isna().to_numpy()
    return (series == label).fillna(False).to_numpy(dtype=bool)


def _show(label: Any) -> str:
    return "all" if label is None else str(label)


def _strategy_value(strategy: Any) -> Any:
    if isinstance(strategy, Mapping):
        return {str(k): float(v) for k, v in strategy.items()}
    return getattr(strategy, "value", strategy)
