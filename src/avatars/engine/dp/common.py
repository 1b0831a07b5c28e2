"""What both DP variants share: parameter checks, the result, augmentation, excluded
variables and the pairing used by the privacy metrics."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from avatars.engine.avatarization import AvatarizationResult
from avatars.engine.dp.accounting import PrivacyAccounting
from avatars.engine.errors import InvalidParameterError
from avatars.engine.neighbors import build_tree
from avatars.protocol.enums import AugmentationStrategy, ExcludeVariablesMethod

#: Largest ε accepted (the protocol's bound): beyond, "privacy" means nothing.
MAX_EPSILON = 1000.0

#: How a DP run's rows pair with the originals for the privacy metrics (see
#: :class:`DPAvatarizationResult`).
METRICS_PAIRING = (
    "none: DP avatars are drawn from a model, not built from one original each; row i of "
    "'unshuffled' is the i-th draw, paired with original row i only because the privacy "
    "metrics need a pairing. The hidden rate and local cloaking measure that arbitrary "
    "link (close to 100 % and high by construction); DCR, NNDR, the closest rate and the "
    "direct matches do not depend on it and are the ones to compare with k-avatars."
)


@dataclass
class DPAvatarizationResult(AvatarizationResult):
    """What the DP variants return: an :class:`AvatarizationResult` and its accounting.

    ``shuffled`` is the deliverable (augmented rows included). ``unshuffled`` holds the
    first ``n`` draws (``n`` = rows of the original), in draw order: pass it to
    :func:`~avatars.engine.privacy_metrics` like k-avatars' (see :data:`METRICS_PAIRING`).
    ``metadata["differential_privacy"]`` is ``accounting.to_dict()``.
    """

    accounting: PrivacyAccounting | None = field(default=None)


def check_epsilon(epsilon: object) -> float:
    """ε must be a finite number in ``(0, 1000]`` (as the protocol's models say)."""
    valid = isinstance(epsilon, int | float | np.integer | np.floating) and not isinstance(
        epsilon, bool
    )
    value = float(epsilon) if valid else math.nan  # type: ignore[arg-type]
    if not math.isfinite(value) or not 0 < value <= MAX_EPSILON:
        raise InvalidParameterError(
            "epsilon",
            f"expected a number in (0, {MAX_EPSILON:g}] (smaller is more private; "
            f"ε ≤ 0 offers nothing to spend, ε > {MAX_EPSILON:g} no privacy), got {epsilon!r}",
        )
    return value


def check_privacy_model(k: object = None, epsilon: object = None) -> str:
    """Which model a table asks for: ``"k"`` (avatars) or ``"epsilon"`` (a DP variant).

    ``k`` and ``epsilon`` are exclusive: one sets the neighbourhood of the avatar method,
    the other a differential-privacy budget; a run has one privacy model.
    """
    if k is not None and epsilon is not None:
        raise InvalidParameterError(
            "epsilon",
            "k and epsilon are exclusive: give k for avatars (avatarization), or epsilon for "
            "differentially private avatars (avatarization_open_dp or avatarization_fast_dp), "
            "not both",
        )
    if k is None and epsilon is None:
        raise InvalidParameterError(
            "k", "give k (avatars) or epsilon (differentially private avatars)"
        )
    return "k" if k is not None else "epsilon"


def check_ratio(parameter: str, value: object, low: float, high: float) -> float:
    """A number strictly between ``low`` and ``high``."""
    valid = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool
    )
    number = float(value) if valid else math.nan  # type: ignore[arg-type]
    if not math.isfinite(number) or not low < number < high:
        raise InvalidParameterError(
            parameter, f"expected a number in ({low:g}, {high:g}), got {value!r}"
        )
    return number


def check_int(parameter: str, value: object, low: int, high: int) -> int:
    if not isinstance(value, int | np.integer) or isinstance(value, bool):
        raise InvalidParameterError(parameter, f"expected an integer, got {value!r}")
    if not low <= value <= high:
        raise InvalidParameterError(
            parameter, f"expected an integer in [{low}, {high}], got {value}"
        )
    return int(value)


def unit_of_privacy(rows_per_individual: int, unit: str | None) -> str:
    if unit:
        return unit
    if rows_per_individual == 1:
        return "one row of the table (one individual)"
    return f"one individual, who holds at most {rows_per_individual} rows of the table"


# -- augmentation ------------------------------------------------------------------------------
@dataclass(frozen=True)
class DPAugmentation:
    """More rows than the original (method.md §6.4), drawn from the DP model.

    ``strategy``: a multiplier > 1 of the number of rows, ``minority`` (raise the smallest
    class of ``target_column`` to the largest), ``not_majority`` (raise every class to the
    largest) or ``{modality: ratio}`` (that class times ratio). Class sizes are read from the
    model's own draws, never from the original (post-processing: no budget). Original rows
    are never delivered (``should_anonymize_original_table`` must stay true).
    """

    strategy: float | AugmentationStrategy | dict[str, float]
    target_column: str | None = None

    @classmethod
    def parse(cls, value: DPAugmentation | Mapping[str, Any] | None) -> DPAugmentation | None:
        """From the YAML form ``{augmentation_strategy, target_column,
        should_anonymize_original_table}``."""
        if value is None or isinstance(value, DPAugmentation):
            return value
        known = {"augmentation_strategy", "target_column", "should_anonymize_original_table"}
        unknown = sorted(set(map(str, value)) - known)
        if unknown:
            raise InvalidParameterError(
                "data_augmentation",
                f"unknown field(s) {', '.join(map(repr, unknown))}; expected "
                "augmentation_strategy, target_column, should_anonymize_original_table",
            )
        if value.get("should_anonymize_original_table") is False:
            raise InvalidParameterError(
                "data_augmentation.should_anonymize_original_table",
                "false would deliver the original rows; differentially private avatars "
                "never contain them",
            )
        strategy = _parse_strategy(value.get("augmentation_strategy"))
        target = value.get("target_column")
        if not isinstance(strategy, float) and not target:
            raise InvalidParameterError(
                "data_augmentation.target_column",
                "required with a minority, not_majority or per-modality strategy",
            )
        return cls(strategy=strategy, target_column=target)


def _parse_strategy(value: object) -> float | AugmentationStrategy | dict[str, float]:
    parameter = "data_augmentation.augmentation_strategy"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value) or value <= 1:
            raise InvalidParameterError(parameter, f"a multiplier must be > 1, got {value!r}")
        return float(value)
    if isinstance(value, str):
        try:
            return AugmentationStrategy(value)
        except ValueError:
            pass
    if isinstance(value, Mapping) and value:
        ratios = {}
        for modality, ratio in value.items():
            ok = isinstance(ratio, int | float) and not isinstance(ratio, bool)
            if not ok or not math.isfinite(ratio) or ratio <= 0:
                raise InvalidParameterError(
                    parameter, f"the ratio of modality {modality!r} must be > 0, got {ratio!r}"
                )
            ratios[str(modality)] = float(ratio)
        return ratios
    raise InvalidParameterError(
        parameter,
        f"expected a multiplier > 1, 'minority', 'not_majority' or {{modality: ratio}}, "
        f"got {value!r}",
    )


#: Batches of draws tried to fill the augmented classes before giving up on a class the
#: model almost never produces.
MAX_AUGMENTATION_BATCHES = 50


def augment(
    base: pd.DataFrame,
    draw: Callable[[int], pd.DataFrame],
    augmentation: DPAugmentation,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Extra rows drawn from the model (``draw(n)`` returns ``n`` decoded rows).

    Returns the extra rows and a note for the metadata (target and obtained counts).
    """
    n = len(base)
    if isinstance(augmentation.strategy, float):
        extra_rows = round(n * augmentation.strategy) - n
        extra = draw(extra_rows) if extra_rows > 0 else base.iloc[:0]
        return extra, {"strategy": augmentation.strategy, "rows_added": len(extra)}
    column = str(augmentation.target_column)
    labels = base[column].astype(object).map(str)
    counts = labels.value_counts()
    largest = int(counts.max())
    if augmentation.strategy == AugmentationStrategy.minority:
        wanted = {counts.idxmin(): largest - int(counts.min())}
    elif augmentation.strategy == AugmentationStrategy.not_majority:
        wanted = {label: largest - int(c) for label, c in counts.items()}
    else:
        ratios = augmentation.strategy
        assert isinstance(ratios, dict)
        unknown = sorted(set(ratios) - set(counts.index))
        if unknown:
            raise InvalidParameterError(
                "data_augmentation.augmentation_strategy",
                f"modality(ies) {', '.join(map(repr, unknown))} of column '{column}' are "
                "not produced by the model",
            )
        wanted = {m: round(int(counts[m]) * (r - 1)) for m, r in ratios.items()}
    wanted = {m: c for m, c in wanted.items() if c > 0}
    parts: list[pd.DataFrame] = []
    missing = dict(wanted)
    for _ in range(MAX_AUGMENTATION_BATCHES):
        if not missing:
            break
        batch = draw(max(1000, 2 * n))
        batch_labels = batch[column].astype(object).map(str)
        for label in list(missing):
            rows = batch[batch_labels == label].iloc[: missing[label]]
            parts.append(rows)
            missing[label] -= len(rows)
            if missing[label] <= 0:
                del missing[label]
    extra = pd.concat(parts, ignore_index=True) if parts else base.iloc[:0]
    note = {
        "strategy": augmentation.strategy,
        "target_column": column,
        "rows_wanted": {str(k): int(v) for k, v in wanted.items()},
        "rows_short": {str(k): int(v) for k, v in missing.items()},
        "rows_added": len(extra),
    }
    return extra, note


# -- excluded variables ------------------------------------------------------------------------
def attach_excluded(
    synthetic: pd.DataFrame,
    original: pd.DataFrame,
    exclude: Sequence[str],
    method: ExcludeVariablesMethod,
    original_coordinates: np.ndarray,
    synthetic_coordinates: np.ndarray,
) -> pd.DataFrame:
    """Excluded columns copied from the originals: by ``row_order`` (draw ``i`` gets original
    ``i``'s value, ``i`` modulo the number of originals) or ``coordinate_similarity`` (the
    value of the original nearest to the draw in the originals' projection)."""
    synthetic = synthetic.copy()
    if method == ExcludeVariablesMethod.ROW_ORDER:
        source = np.arange(len(synthetic)) % len(original)
    else:
        _, source = build_tree(original_coordinates).query(synthetic_coordinates, k=1)
    for column in exclude:
        synthetic[column] = original[column].iloc[np.asarray(source)].reset_index(drop=True)
    return synthetic
