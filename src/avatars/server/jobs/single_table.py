"""One table's avatarization and metrics with every parameter of the YAML: the engine calls of
the standard and metrics jobs (:mod:`avatars.server.jobs.handlers` reads and writes around
them).

- column types as the client declared them, retyped by their real nature when the values say
  otherwise (:func:`~avatars.engine.schema.reconcile_declared_types`), with a note;
- server-side processors around the avatarization
  (:mod:`avatars.server.jobs.embedded_processors`);
- data augmentation (:func:`~avatars.engine.augmentation.augment`), whose privacy metrics come
  as one document per computation type;
- the parameters' translation (:mod:`avatars.server.jobs.parameters`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from avatars.protocol.enums import ColumnType
from avatars.server.jobs.embedded_processors import EmbeddedProcessorError, EmbeddedProcessors
from avatars.server.jobs.parameters import (
    avatarization_options,
    privacy_options,
    signal_options,
)

ProgressFn = Callable[[float, str], None]

#: Where a standard job keeps, for the privacy job only, the source record of each augmented
#: avatar (SENSITIVE like the unshuffled avatars; not a listed result).
SOURCES_FILE = "augmentation_sources.{table}.json"


class ParameterJobError(ValueError):
    """A parameter the table cannot take: shown to the user as is."""


@dataclass
class TableData:
    """A table read for a job, with the types its values support."""

    frame: pd.DataFrame
    types: dict[str, ColumnType]
    notes: list[dict[str, str]] = field(default_factory=list)


def prepare_table(df: pd.DataFrame, declared: Mapping[str, Any] | None) -> TableData:
    from avatars.engine.schema import reconcile_declared_types

    frame, types, notes = reconcile_declared_types(df, declared or None)
    return TableData(frame, types, notes)


@dataclass
class StandardRun:
    shuffled: pd.DataFrame
    unshuffled: pd.DataFrame
    original_coordinates: pd.DataFrame
    avatar_coordinates: pd.DataFrame
    metadata: dict[str, Any]
    contributions: pd.DataFrame | None
    sources: np.ndarray | None = None  # augmented runs: the source record of each row


def avatarize_table(
    data: TableData,
    params: Any,
    *,
    label: str,
    seed: int | None,
    progress: ProgressFn,
    **engine_options: Any,
) -> StandardRun:
    """Avatarize (or augment) ``data`` with the table's YAML parameters ``params``;
    ``engine_options`` are passed on to the engine (keys, pseudonymization, ...)."""
    from avatars.engine import avatarize
    from avatars.engine.augmentation import augment

    processors = EmbeddedProcessors(params.avatarization_processors_parameters)
    original = data.frame
    try:
        prepared = processors.preprocess(original) if processors else original
    except EmbeddedProcessorError as exc:
        raise ParameterJobError(f"{label}: {exc}") from exc
    types = {c: t for c, t in data.types.items() if c in prepared.columns}
    options = {**avatarization_options(params), **engine_options}
    augmentation = params.data_augmentation
    sources = None
    if augmentation is not None:
        progress(0.1, "augmenting")
        result = augment(
            prepared,
            strategy=augmentation.augmentation_strategy,
            target_column=augmentation.target_column,
            should_anonymize_original_table=augmentation.should_anonymize_original_table
            is not False,
            k=params.k,
            seed=seed,
            column_types=types or None,
            **options,
        )
        base = result.base
        shuffled, unshuffled, metadata = result.shuffled, result.unshuffled, result.metadata
        sources = result.sources
        coordinates = (
            (base.original_coordinates, base.avatar_coordinates, base.contributions)
            if base is not None
            else (pd.DataFrame(), pd.DataFrame(), None)
        )
    else:
        plain = avatarize(
            prepared,
            k=params.k,
            seed=seed,
            column_types=types or None,
            progress=progress,
            **options,
        )
        shuffled, unshuffled, metadata = plain.shuffled, plain.unshuffled, plain.metadata
        coordinates = (plain.original_coordinates, plain.avatar_coordinates, plain.contributions)
    if processors:
        try:
            unshuffled = processors.postprocess(unshuffled, list(original.columns))
        except EmbeddedProcessorError as exc:
            raise ParameterJobError(f"{label}: {exc}") from exc
        # the deliverable is a fresh permutation of the rebuilt avatars (an inter-record
        # processor rebuilds records in their row order: it must see the unshuffled rows)
        order = np.random.default_rng(np.random.SeedSequence([metadata_seed(metadata, seed), 19]))
        shuffled = unshuffled.iloc[order.permutation(len(unshuffled))].reset_index(drop=True)
        metadata = {**metadata, "processors": processors.describe()}
    if data.notes:
        metadata = {**metadata, "column_type_notes": data.notes}
    return StandardRun(
        shuffled=shuffled,
        unshuffled=unshuffled,
        original_coordinates=coordinates[0],
        avatar_coordinates=coordinates[1],
        metadata=metadata,
        contributions=coordinates[2],
        sources=sources,
    )


def metadata_seed(metadata: Mapping[str, Any], seed: int | None) -> int:
    used = (metadata.get("parameters") or {}).get("seed")
    return int(used if used is not None else (seed or 0))


@dataclass
class PrivacyDocument:
    computation_type: str
    metrics: dict[str, Any]


def privacy_documents(
    original: TableData,
    avatars: pd.DataFrame,
    params: Any,
    standard: Any,
    *,
    seed: int | None,
    sources: np.ndarray | None,
    progress: ProgressFn,
    leave_out: Sequence[str] = (),
    extra: Mapping[str, Any] | None = None,
) -> list[PrivacyDocument]:
    """The privacy metrics of one table: one document, or one per computation type of an
    augmented run (standalone, barycentered, class_balancing_barycenter). ``leave_out``:
    columns excluded besides the parameters' (pseudonyms the detection does not flag).
    ``extra``: options of ``privacy_metrics`` that the table's privacy choices add (the
    holdout, the avatarization's warnings, the columns declared not identifiers;
    :mod:`avatars.server.jobs.privacy`)."""
    from avatars.engine import privacy_metrics
    from avatars.engine.augmentation import augmentation_privacy_tables

    options = {**_leaving_out(privacy_options(params, standard), leave_out), **(extra or {})}
    types = original.types or None
    if sources is None:
        result = privacy_metrics(
            original.frame, avatars, seed=seed, column_types=types, progress=progress, **options
        )
        return [PrivacyDocument("standalone", result.to_dict())]
    documents = []
    pairs = augmentation_privacy_tables(original.frame, avatars, sources, types)
    for i, (computation_type, originals, centres) in enumerate(pairs):
        start, end = i / len(pairs), (i + 1) / len(pairs)

        def scaled(fraction: float, phase: str, start: float = start, end: float = end) -> None:
            progress(start + (end - start) * fraction, phase)

        result = privacy_metrics(
            originals, centres, seed=seed, column_types=types, progress=scaled, **options
        )
        documents.append(PrivacyDocument(computation_type.value, result.to_dict()))
    return documents


def signal_document(
    original: TableData,
    avatars: pd.DataFrame,
    params: Any,
    standard: Any,
    *,
    progress: ProgressFn,
    leave_out: Sequence[str] = (),
) -> dict[str, Any]:
    from avatars.engine import signal_metrics

    options, unused = signal_options(params, standard)
    options = _leaving_out(options, leave_out)
    result = signal_metrics(
        original.frame, avatars, column_types=original.types or None, progress=progress, **options
    ).to_dict()
    if unused:
        given = result.get("metadata")
        metadata: dict[str, Any] = given if isinstance(given, dict) else {}
        result["metadata"] = {
            **metadata,
            "parameters_not_used": {
                name: "the signal metrics compare each variable's distribution and the "
                "correlations, without a projection"
                for name in unused
            },
        }
    return result


def _leaving_out(options: dict[str, Any], leave_out: Sequence[str]) -> dict[str, Any]:
    """``options`` whose ``exclude_variables`` also hold ``leave_out``."""
    given = list(options.get("exclude_variables") or [])
    extra = [c for c in leave_out if c not in given]
    return {**options, "exclude_variables": [*given, *extra] or None} if extra else options
