"""What each kind of job computes: read the set's tables, call the engine, write the results.

Result files follow protocol.md §5.5, because the official client parses their names:

- standard:        ``<t>.shuffled-0.csv``, ``<t>.unshuffled-0.csv``,
                   ``<t>.projections.original-0.csv``, ``<t>.projections.avatars-0.csv``,
                   ``run_metadata.<job>.json`` (``.parquet`` tables with ``results.format``)
- privacy_metrics: ``<t>.privacy.json`` = ``{"metadata": {"table_name": t, ...}, **metrics}``
                   (an augmented run adds ``<t>.barycentered.privacy.json`` and
                   ``<t>.class_balancing_barycenter.privacy.json``, by computation type)
- signal_metrics:  ``<t>.signal.json``, likewise
- advice:          ``advice.json`` = ``[{"table_name": t, "advice": {...}}]``
- standard also:   ``<t>.<plot kind>.html`` figures and ``figures_metadata.json``
- report:          ``report.pdf`` (basic) or ``<t>.report.pia.docx`` (pia), built by
                   ``avatars.engine.reports`` from the earlier jobs' results

``<t>`` is the table name with ``.``, ``/``, ``&`` and ``+`` escaped; every name comes from
:mod:`avatars.protocol.results`, which the clients parse them back with.

Schemas of several linked tables or with series tables run through
:mod:`avatars.server.jobs.linked` instead (one engine call for the whole set, results per
table; :mod:`avatars.server.jobs.routing` chooses).
Differentially private avatarizations run through :mod:`avatars.server.jobs.dp`.
A single table's parameters (categorical reduction, imputation, exclusion, weights,
augmentation, server-side processors, the metrics' own parameters) are translated in
:mod:`avatars.server.jobs.parameters` and run by :mod:`avatars.server.jobs.single_table`.
Whatever the engine cannot do yet ends the job in ``error`` with a message naming the
parameter: never a silent approximation.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import logging
import os
import posixpath
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select

from avatars.protocol.documents import (
    AdviceDocument,
    AvatarizationDocument,
    Document,
    MetadataDocument,
    ParametersSpec,
    PrivacyMetricsDocument,
    ReportDocument,
    ResourceSet,
    SchemaDocument,
    SignalMetricsDocument,
)
from avatars.protocol.enums import (
    ColumnType,
    JobKind,
    JobStatus,
    OutputFormat,
    ReportType,
    ResultFormat,
    ResultKind,
)
from avatars.protocol.results import (
    ADVICE_FILE,
    escape_table_name,
    metrics_file_name,
    run_metadata_file_name,
    table_of_tabular_file,
    tabular_file_name,
)
from avatars.protocol.schema import Table
from avatars.server.bounds import load_json
from avatars.server.config import Settings
from avatars.server.db import Database
from avatars.server.db.models import Job
from avatars.server.jobs import privacy
from avatars.server.jobs.errors import JobError
from avatars.server.jobs.lifecycle import results_prefix_of as lifecycle_prefix
from avatars.server.jobs.parameters import exclusion, imputation
from avatars.server.jobs.privacy_budget import dp_parameters, metrics_note
from avatars.server.jobs.single_table import (
    SOURCES_FILE,
    ParameterJobError,
    TableData,
    avatarize_table,
    prepare_table,
    privacy_documents,
    signal_document,
)
from avatars.server.storage import Storage

if TYPE_CHECKING:  # pandas loads in the job's worker, not in the API process
    import pandas as pd

ProgressFn = Callable[[float, str], None]

log = logging.getLogger(__name__)


@dataclass
class JobInput:
    """Everything a handler needs about its job."""

    name: str
    kind: JobKind
    parameters_name: str
    set_name: str
    depends_on: list[str]
    resources: ResourceSet
    inputs: dict[str, str]  # "<volume>/<file>" -> snapshot key
    results_prefix: str  # ends with "/"
    settings: Settings
    storage: Storage
    db: Database
    progress: ProgressFn
    written: list[str] = field(default_factory=list)  # keys written, to clean up on failure
    #: What a finished job must tell (a sensitive link): its ``exception``, as ``warning: ...``.
    warnings: list[str] = field(default_factory=list)


def _scaled(progress: ProgressFn, start: float, end: float) -> ProgressFn:
    def report(fraction: float, phase: str) -> None:
        progress(start + (end - start) * min(1.0, max(0.0, float(fraction))), phase)

    return report


# -- reading and writing ----------------------------------------------------------------------


def _format_of(file: str) -> str:
    return "parquet" if file.lower().endswith((".parquet", ".pq")) else "csv"


@contextlib.contextmanager
def _readable(storage: Storage, key: str) -> Iterator[Any]:
    """A path (local storage) or an open file for ``key``."""
    if storage.is_local:
        yield storage.path(key)
    else:
        with storage.open_read(key) as handle:
            yield handle


def read_input(
    job: JobInput,
    table: Table,
    *,
    avatars: bool = False,
    types_of: Table | None = None,
    retyped: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read a table of the set (its data, or its user-supplied avatars) with the column types
    of ``types_of`` (default: ``table``; avatars take those of their original table), but
    ``retyped``'s (e.g. pseudonyms: text, whatever the original values' type)."""
    from avatars.engine.io import read_table

    data = table.avatars_data if avatars else table.data
    if data is None or not data.file:
        what = "avatars" if avatars else "data"
        raise JobError(f"table '{table.name}' has no {what} file")
    ref = f"{data.volume or 'input'}/{data.file}"
    key = job.inputs.get(ref)
    if key is None:
        raise JobError(
            f"the file '{data.file}' of table '{table.name}' was not uploaded with the set"
        )
    types = {**(types_of or table).column_types(), **(retyped or {})}
    with _readable(job.storage, key) as source:
        df = read_table(source, format=_format_of(data.file), column_types=types or None)
    check_limits(job.settings, table.name, df)
    return df


def check_limits(settings: Settings, table: str, df: pd.DataFrame) -> None:
    if len(df) > settings.max_rows:
        raise JobError(
            f"table '{table}' has {len(df)} rows, more than this server's limit of "
            f"{settings.max_rows} (max_allowed_lines_per_dataset)"
        )
    if df.shape[1] > settings.max_columns:
        raise JobError(
            f"table '{table}' has {df.shape[1]} columns, more than this server's limit of "
            f"{settings.max_columns} (max_allowed_dimensions_per_dataset)"
        )


def _store_file(job: JobInput, name: str, write: Callable[[Any], None]) -> str:
    """Write a result through a temporary file, then stream it into storage atomically."""
    key = job.results_prefix + name
    with tempfile.TemporaryDirectory(prefix="avatars-job-") as tmp:
        path = os.path.join(tmp, "out")
        write(path)
        with open(path, "rb") as handle, job.storage.writer(key) as out:
            while block := handle.read(1024 * 1024):
                out.write(block)
    job.written.append(key)
    return key


def _read_json(job: JobInput, key: str) -> Any:
    """A JSON result of an earlier job, read back bounded (it may have been replaced through
    the storage endpoint). A result the platform cannot read is not the user's mistake: it
    ends the job as an internal error, its traceback in the log."""
    return load_json(job.storage.read_bytes(key))


def write_frame(job: JobInput, df: pd.DataFrame, name: str, fmt: ResultFormat) -> str:
    from avatars.engine.io import write_table

    return _store_file(job, name, lambda path: write_table(df, path, fmt.value))


def write_json(job: JobInput, name: str, value: Any) -> str:
    def write(path: str) -> None:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(value, handle, ensure_ascii=False, default=_json_default)

    return _store_file(job, name, write)


def write_bytes(job: JobInput, name: str, data: bytes) -> str:
    def write(path: str) -> None:
        with open(path, "wb") as handle:
            handle.write(data)

    return _store_file(job, name, write)


def _json_default(value: Any) -> Any:
    for attribute in ("item", "tolist", "isoformat"):
        method = getattr(value, attribute, None)
        if callable(method):
            return method()
    return str(value)


# -- checks -----------------------------------------------------------------------------------


def _single_table(resources: ResourceSet, schema: SchemaDocument) -> Table:
    original = resources.original_schema(schema)
    tables = original.spec.tables
    if len(tables) > 1:
        names = ", ".join(t.name for t in tables)
        raise JobError(
            f"multi-table schemas are not supported by this server yet (schema '{original.name}' "
            f"has tables {names}); avatarize each table in its own set"
        )
    table = tables[0]
    if table.links:
        raise JobError(f"links between tables (table '{table.name}') are not supported yet")
    pseudonymized_columns(table)  # a strategy it cannot run is refused before any work
    for column in table.columns or []:
        if column.time_series_time:
            raise JobError(f"time series (column '{column.field}') are not supported yet")
    return table


def _check_spec(spec: ParametersSpec, *, linked: bool = False) -> None:
    # differential privacy: single tables run in server.jobs.dp; linked schemas refuse it there
    if spec.time_series and not linked:
        names = ", ".join(spec.time_series)
        raise JobError(
            f"time_series parameters for {names}: the schema has no series table (a table with "
            "a time_series_time column, linked to its individual table with method time_series)"
        )
    if spec.input:
        raise JobError("database inputs (spec.input) are not supported by this server")


def _check_common(label: str, params: Any) -> None:
    """What the tables of a linked schema, or of a schema of several tables, cannot take yet
    (a single table takes them all:
    :mod:`avatars.server.jobs.single_table`)."""
    for name in (
        "use_categorical_reduction",
        "data_augmentation",
        "avatarization_processors_parameters",
    ):
        if getattr(params, name, None):
            raise JobError(
                f"{label}: {name} is not supported in a schema of several or linked tables "
                "yet (it runs on a schema of one table)"
            )


def _schema(job: JobInput, spec_schema: str) -> SchemaDocument:
    schema = job.resources.schema(spec_schema)
    if schema is None:
        raise JobError(f"no AvatarSchema named '{spec_schema}'")
    return schema


_exclusion = exclusion  # linked.py's names
_imputation = imputation


def _kept_types(table: Table, df: pd.DataFrame) -> dict[str, ColumnType]:
    """The schema's column types of the columns ``df`` kept (dropped ones left out)."""
    return {c: t for c, t in table.column_types().items() if c in df.columns}


def _read_kept(
    job: JobInput, table: Table, treatments: privacy.TableTreatments, *, holdout: bool = False
) -> TableData | None:
    """The table (or its ``holdout_data``; None without one) without its dropped columns,
    typed as the avatarization types it."""
    if holdout:
        if table.holdout_data is None or not table.holdout_data.file:
            return None
        source = table.model_copy(update={"data": table.holdout_data})
        df = read_input(job, source, types_of=table)
    else:
        df = read_input(job, table)
    df = privacy.without_dropped(df, treatments)
    return prepare_table(df, _kept_types(table, df))


def _pseudonymized(table: Table) -> dict[str, Any]:
    """``{column: strategy}`` of the table's pseudonymized columns (the schema's
    ``pseudonymization`` or the flat ``pseudonymization_strategy``)."""
    found = {}
    for column in table.columns or []:
        strategy = column.strategy()
        if strategy is not None:
            found[column.field] = strategy
    return found


def pseudonymized_columns(table: Table) -> dict[str, Any]:
    """:func:`_pseudonymized`, refusing a flat ``pseudonymization_strategy`` that has no
    strategy object (CONSTANT and SPECIFIC_ID need the object's fields), naming the column."""
    for column in table.columns or []:
        if (column.pseudonymization_strategy or column.pseudonymization) and (
            column.strategy() is None
        ):
            raise JobError(
                f"pseudonymization of column '{column.field}' of table '{table.name}': "
                f"{column.pseudonymization_strategy} needs the strategy object form "
                "(pseudonymization: {kind: ..., ...})"
            )
    return _pseudonymized(table)


def _unflagged_pseudonyms(
    table: Table, original: pd.DataFrame, columns: Sequence[str] | None = None
) -> list[str]:
    """The pseudonymized columns (or ``columns``: keys and pseudonyms) that the identifier
    detection does not flag: not variables of the avatars, yet not measured by
    ``identifier_protection`` either (a flagged one is)."""
    from avatars.engine.identifiers import detect_identifiers

    wanted = _pseudonymized(table) if columns is None else columns
    pseudonymized = [c for c in wanted if c in original.columns]
    if not pseudonymized:
        return []
    flagged = {
        f.column
        for f in detect_identifiers(
            original, column_types=table.column_types() or None, columns=pseudonymized
        )
    }
    return [c for c in pseudonymized if c not in flagged]


def _pseudonymization_secret(job: JobInput, pseudonymized: Mapping[str, Any]) -> str | None:
    """The HASH_SHA256 key of this job's organization: the platform's key
    (:meth:`Settings.pseudonymization_key`) keyed again by the organization, so that digests
    are consistent across an organization's runs (its linked tables join) but one
    organization's digests tell nothing about another's. None when nothing is hashed."""
    if not any(getattr(s, "kind", None) == "HASH_SHA256" for s in pseudonymized.values()):
        return None
    key = job.settings.pseudonymization_key()
    if key is None:
        raise RuntimeError("this worker has no pseudonymization key (AVATAR_SECRET_KEY unset)")
    with job.db.reading() as session:
        organization = session.scalars(
            select(Job.organization_id).where(Job.name == job.name)
        ).first()
    return hmac.new(
        key.encode("utf-8"), str(organization).encode("utf-8"), hashlib.sha256
    ).hexdigest()


def _result_format(spec: ParametersSpec) -> ResultFormat:
    return ResultFormat(spec.results.format if spec.results and spec.results.format else "csv")


# -- standard ---------------------------------------------------------------------------------


def run_standard(job: JobInput, doc: AvatarizationDocument) -> dict[str, list[str]]:
    spec = doc.spec
    _check_spec(spec)
    table = _single_table(job.resources, _schema(job, spec.schema_name))
    params = (spec.avatarization or {}).get(table.name)
    if params is None:
        raise JobError(f"{doc.label}: no avatarization parameters for table '{table.name}'")
    label = f"{doc.label}: spec.avatarization.{table.name}"
    job.progress(0.0, "reading")
    treatments = privacy.table_treatments(table, params)
    data = _read_kept(job, table, treatments)
    assert data is not None
    df = data.frame
    secret = _pseudonymization_secret(job, treatments.pseudonymize)
    job.progress(0.05, "avatarizing")
    try:
        result = privacy.refusing_identifiers(
            table.name,
            functools.partial(
                avatarize_table,
                data,
                params,
                label=label,
                seed=spec.seed,
                progress=_scaled(job.progress, 0.05, 0.9),
                **treatments.avatarize_arguments(secret),
            ),
            JobError,
        )
    except ParameterJobError as exc:
        raise JobError(str(exc)) from exc
    # outputs that keep a link to the original records say so in the job's message too
    job.warnings.extend(privacy.warning_messages(result.metadata))
    job.progress(0.9, "writing")
    outputs = write_avatar_frames(job, table.name, result, _result_format(spec))
    metadata = {
        **run_metadata_head(job, table.name, df, params),
        "engine": result.metadata,
        "column_type_notes": data.notes,
        # Read back by the report job (its contribution figure).
        "contributions": (
            result.contributions.to_dict() if result.contributions is not None else None
        ),
    }
    if result.sources is not None:  # for the privacy job only (see SOURCES_FILE)
        write_json(
            job,
            SOURCES_FILE.format(table=escape_table_name(table.name)),
            [int(s) for s in result.sources],
        )
    if spec.compute_figures is not False:
        job.progress(0.95, "figures")
        outputs.update(_standard_figures(job, table, data, result, spec, metadata))
    outputs[ResultKind.run_metadata] = [write_json(job, run_metadata_file_name(job.name), metadata)]
    return {k.value: v for k, v in outputs.items()}


def write_avatar_frames(
    job: JobInput, table_name: str, result: Any, fmt: ResultFormat
) -> dict[ResultKind, list[str]]:
    """The four tables of a standard run (shuffled and unshuffled avatars, both projections),
    written under their result names."""
    frames = {
        ResultKind.shuffled: result.shuffled,
        ResultKind.unshuffled: result.unshuffled,
        ResultKind.original_projections: result.original_coordinates,
        ResultKind.avatar_projections: result.avatar_coordinates,
    }
    return {
        kind: [write_frame(job, frame, tabular_file_name(table_name, kind, fmt), fmt)]
        for kind, frame in frames.items()
    }


def run_metadata_head(
    job: JobInput, table_name: str, df: pd.DataFrame, params: Any
) -> dict[str, Any]:
    """What every run's metadata starts with: the job, the table and the parameters."""
    return {
        "job_name": job.name,
        "kind": job.kind.value,
        "set_name": job.set_name,
        "parameters_name": job.parameters_name,
        "table_name": table_name,
        "rows": len(df),
        "columns": list(map(str, df.columns)),
        "parameters": params.model_dump(mode="json", exclude_none=True),
    }


def _standard_figures(
    job: JobInput,
    table: Table,
    data: TableData,
    result: Any,
    spec: ParametersSpec,
    metadata: dict[str, Any],
) -> dict[ResultKind, list[str]]:
    """``<t>.<plot kind>.html`` files and ``figures_metadata.json``, when the engine can draw
    them. Figures illustrate the avatars; failing to draw them must not lose the avatars, so
    a failure is logged and noted in the run metadata instead of failing the job."""
    from avatars.protocol.results import FIGURES_METADATA_FILE, figure_file_name

    try:
        from avatars.engine.figures import build_figures, figure_documents
    except ImportError:
        return {}
    # Pseudonyms have no distribution to compare with the original values'.
    hidden = [c for c in _pseudonymized(table) if c in data.frame.columns]
    try:
        figures = build_figures(
            data.frame.drop(columns=hidden),
            result.shuffled.drop(columns=hidden, errors="ignore"),
            original_coordinates=result.original_coordinates,
            avatar_coordinates=result.avatar_coordinates,
            contributions=result.contributions,
            column_types=data.types or None,
            max_distribution_plots=spec.results.max_distribution_plots if spec.results else None,
            explained_variance=(result.metadata.get("projection") or {}).get(
                "explained_variance_ratio"
            ),
        )
        documents = figure_documents(table.name, figures, plotlyjs=job.settings.figures_plotlyjs)
    except Exception as exc:  # a drawing library failing on odd data
        log.warning("figures of job %s failed", job.name, exc_info=True)
        metadata["figures_error"] = f"{type(exc).__name__}: {exc}"
        return {}
    keys, entries = [], []
    for (table_name, kind), text in documents.items():
        name = figure_file_name(table_name, kind)
        keys.append(write_bytes(job, name, text.encode("utf-8")))
        entries.append({"kind": kind.value, "filename": name, "table_name": table_name})
    index = write_json(job, FIGURES_METADATA_FILE, entries)
    return {ResultKind.figures: keys, ResultKind.figures_metadata: [index]}


# -- metrics ----------------------------------------------------------------------------------


def _standard_job_for(job: JobInput, ref: str | None) -> Job | None:
    """The standard job whose avatars a metrics job measures: a finished dependency of kind
    standard, else the newest finished standard job of the same set (of ``ref`` if given)."""
    with job.db.reading() as session:
        if job.depends_on:
            for parent in session.scalars(select(Job).where(Job.name.in_(job.depends_on))):
                if (
                    parent.kind == JobKind.standard.value
                    and parent.status == JobStatus.finished.value
                ):
                    return parent
        query = select(Job).where(
            Job.set_name == uuid.UUID(job.set_name),
            Job.kind == JobKind.standard.value,
            Job.status == JobStatus.finished.value,
            Job.deleted_at.is_(None),
        )
        if ref:
            query = query.where(Job.parameters_name == ref)
        return session.scalars(query.order_by(Job.created_at.desc())).first()


def _standard_output(
    job: JobInput,
    standard: Job,
    kind: ResultKind,
    table: str,
    column_types: Mapping[str, str],
) -> pd.DataFrame:
    """The avatars a standard job wrote, read with the table's column types (as the original
    is: a category column of digits must not come back as integers)."""
    from avatars.engine.io import read_table

    for key in (standard.outputs or {}).get(kind.value, []):
        ext = posixpath.basename(key).rpartition(".")[2]
        if table_of_tabular_file(kind, key) == table:
            with _readable(job.storage, key) as source:
                return read_table(
                    source,
                    format="parquet" if ext == "parquet" else "csv",
                    column_types=column_types or None,
                )
    raise JobError(
        f"the standard job {standard.name} has no {kind.value} avatars of table '{table}'"
    )


@dataclass
class MetricsInputs:
    table: Table
    original: TableData
    avatars: pd.DataFrame
    standard_params: Any  # the avatarization parameters of the table, if known
    sources: Any = None  # an augmented run's source of each unshuffled avatar
    #: the privacy choices the YAML makes for the table (keys, pseudonyms, drops...)
    treatments: privacy.TableTreatments = field(default_factory=privacy.TableTreatments)
    #: the standard job's engine metadata (None for avatars the user uploaded)
    engine_metadata: dict[str, Any] | None = None

    def replaced(self) -> list[str]:
        """The columns whose avatar values are new, not synthesized (keys, pseudonyms): left
        out of every metric."""
        if self.engine_metadata is not None:
            parts = self.engine_metadata.get("not_avatarized") or {}
            return [*parts.get("keys", []), *parts.get("pseudonymized", [])]
        return [*self.treatments.keys, *self.treatments.pseudonymize]

    def options(self) -> dict[str, Any]:
        """What the privacy metrics need besides the metrics document's parameters: the
        avatarization's warnings, the columns declared not identifiers."""
        declared = (
            (self.engine_metadata.get("parameters") or {}).get("not_identifiers")
            if self.engine_metadata is not None
            else self.treatments.not_identifiers
        )
        return {
            "warnings": (self.engine_metadata or {}).get("warnings") or None,
            "not_identifiers": list(declared) if declared else None,
        }


def _avatars_for_metrics(
    job: JobInput, doc: Document, spec: ParametersSpec, kind: ResultKind
) -> MetricsInputs:
    """The original (typed as the avatarization typed it), the avatars to measure, and what
    the standard job knew."""
    _check_spec(spec)
    schema = _schema(job, spec.schema_name)
    table = _single_table(job.resources, schema)
    avatar_table = schema.table(table.name) if schema.spec.schema_ref else None
    standard_params = None
    ref_doc = (
        job.resources.get(spec.avatarization_ref, ["AvatarParameters"])
        if spec.avatarization_ref
        else None
    )
    if isinstance(ref_doc, AvatarizationDocument):
        standard_params = (ref_doc.spec.avatarization or {}).get(table.name) or dp_parameters(
            ref_doc.spec, table.name
        )
    treatments = privacy.table_treatments(table, standard_params)
    original = _read_kept(job, table, treatments)
    assert original is not None
    data = avatar_table.avatars_data if avatar_table is not None else None
    if data is not None and data.file:
        assert avatar_table is not None
        avatars = read_input(job, avatar_table, avatars=True, types_of=table)
        avatars = privacy.without_dropped(avatars, treatments)
        return MetricsInputs(
            table, original, _retyped(avatars, original), standard_params, treatments=treatments
        )
    standard = _standard_job_for(job, spec.avatarization_ref)
    if standard is None:
        raise JobError(
            f"{doc.label}: no avatars to measure: run a standard job of this set first (and "
            "give it in depends_on), or upload the avatars and name them in the avatarized schema"
        )
    avatars = _standard_output(job, standard, kind, table.name, _value_types(table))
    sources = _augmentation_sources(job, standard, table.name)
    return MetricsInputs(
        table,
        original,
        _retyped(avatars, original),
        standard_params,
        sources=sources,
        treatments=treatments,
        engine_metadata=_engine_metadata(job, standard, table.name),
    )


def _engine_metadata(job: JobInput, standard: Job, table: str) -> dict[str, Any] | None:
    """The engine's metadata of the standard job's avatarization of ``table``."""
    for key in (standard.outputs or {}).get(ResultKind.run_metadata.value, []):
        run_metadata = json.loads(job.storage.read_bytes(key))
        if run_metadata.get("table_name") == table:
            engine = run_metadata.get("engine")
            return engine if isinstance(engine, dict) else None
    return None


def _retyped(avatars: pd.DataFrame, original: TableData) -> pd.DataFrame:
    """The avatars' columns that the original's notes retyped (dates declared category...),
    read as the avatarization wrote them."""
    import pandas as pd

    if not original.notes:
        return avatars
    out = avatars.copy()
    for note in original.notes:
        column = note["column"]
        if column not in out.columns:
            continue
        if note["used"] in (ColumnType.DATETIME.value, ColumnType.DATETIME_TZ.value):
            out[column] = pd.to_datetime(
                out[column].astype("string"),
                format="ISO8601",
                utc=note["used"] == ColumnType.DATETIME_TZ.value,
            )
        else:
            out[column] = pd.to_numeric(out[column].astype("string"), errors="coerce")
    return out


def _augmentation_sources(job: JobInput, standard: Job, table: str) -> Any:
    """The sources an augmented standard job kept for its privacy metrics (None otherwise)."""
    import numpy as np

    prefix = lifecycle_prefix(standard)
    if prefix is None:
        return None
    key = prefix + SOURCES_FILE.format(table=escape_table_name(table))
    if not job.storage.exists(key):
        return None
    return np.asarray(_read_json(job, key), dtype=np.int64)


def _differential_privacy_note(job: JobInput, spec: ParametersSpec, table: Table) -> Any:
    """What the metrics document says about the DP run whose avatars it measures (``None``
    for k-avatars or uploaded avatars): the accounting's statement, from its run metadata."""
    schema = _schema(job, spec.schema_name)
    avatar_table = schema.table(table.name) if schema.spec.schema_ref else None
    if avatar_table is not None and avatar_table.avatars_data and avatar_table.avatars_data.file:
        return None
    standard = _standard_job_for(job, spec.avatarization_ref)
    if standard is None:
        return None
    for key in (standard.outputs or {}).get(ResultKind.run_metadata.value, []):
        note = metrics_note(_read_json(job, key))
        if note is not None:
            return note
    return None


def _metrics_document(
    table: str, metrics: dict[str, Any], differential_privacy: Any = None
) -> dict[str, Any]:
    """The metrics file: the client reads the table name from ``metadata.table_name``; the
    metrics of DP avatars say what guarantee they have (``metadata.differential_privacy``)."""
    extra = metrics.get("metadata")
    metadata = {
        **(extra if isinstance(extra, dict) else {}),
        "table_name": table,
        "computation_type": "standalone",
        "reference": None,
    }
    if differential_privacy is not None:
        metadata["differential_privacy"] = differential_privacy
    return {"metadata": metadata, **{k: v for k, v in metrics.items() if k != "metadata"}}


def _pick(params: Any, fallback: Any, name: str) -> Any:
    value = getattr(params, name, None) if params is not None else None
    if value is None and fallback is not None:
        value = getattr(fallback, name, None)
    return value


def run_privacy(job: JobInput, doc: PrivacyMetricsDocument) -> dict[str, list[str]]:
    try:
        from avatars.engine import privacy_metrics  # noqa: F401 - the server's extras
    except ImportError:
        raise JobError("privacy metrics are not available on this server yet") from None
    spec = doc.spec
    job.progress(0.0, "reading")
    inputs = _avatars_for_metrics(job, doc, spec, ResultKind.unshuffled)
    table = inputs.table
    params = (spec.privacy_metrics or {}).get(table.name)
    holdout = _read_kept(job, table, inputs.treatments, holdout=True)
    job.progress(0.1, "privacy metrics")
    documents = privacy.refusing_identifiers(
        table.name,
        functools.partial(
            privacy_documents,
            inputs.original,
            inputs.avatars,
            params,
            inputs.standard_params,
            seed=spec.seed,
            sources=inputs.sources,
            progress=_scaled(job.progress, 0.1, 0.95),
            leave_out=_unflagged_pseudonyms(table, inputs.original.frame, inputs.replaced()),
            extra={
                **inputs.options(),
                "holdout": holdout.frame if holdout is not None else None,
            },
        ),
        JobError,
    )
    note = _differential_privacy_note(job, spec, table)
    keys = []
    for i, document in enumerate(documents):
        # the first file has the protocol's name; the others (augmented runs) their type's
        name = (
            metrics_file_name(table.name, ResultKind.privacy_metrics)
            if i == 0
            else f"{escape_table_name(table.name)}.{document.computation_type}.privacy.json"
        )
        body = _metrics_document(table.name, document.metrics, note)
        body["metadata"]["computation_type"] = document.computation_type
        keys.append(write_json(job, name, body))
    return {ResultKind.privacy_metrics.value: keys}


def run_signal(job: JobInput, doc: SignalMetricsDocument) -> dict[str, list[str]]:
    try:
        from avatars.engine import signal_metrics  # noqa: F401 - the server's extras
    except ImportError:
        raise JobError("signal metrics are not available on this server yet") from None
    spec = doc.spec
    job.progress(0.0, "reading")
    inputs = _avatars_for_metrics(job, doc, spec, ResultKind.shuffled)
    table = inputs.table
    params = (spec.signal_metrics or {}).get(table.name)
    job.progress(0.1, "signal metrics")
    result = signal_document(
        inputs.original,
        inputs.avatars,
        params,
        inputs.standard_params,
        progress=_scaled(job.progress, 0.1, 0.95),
        # keys and pseudonyms carry no signal of the original values: they are not compared
        leave_out=inputs.replaced(),
    )
    key = write_json(
        job,
        metrics_file_name(table.name, ResultKind.signal_metrics),
        _metrics_document(table.name, result, _differential_privacy_note(job, spec, table)),
    )
    return {ResultKind.signal_metrics.value: [key]}


# -- advice -----------------------------------------------------------------------------------


def run_advice(job: JobInput, doc: AdviceDocument) -> dict[str, list[str]]:
    """Each table's advice; with ``advice.targets``, the measured search, on a sample of at
    most ``SEARCH_MAX_ROWS`` rows of a larger table (the web pages' advice is this job)."""
    from avatars.engine import advise_parameters
    from avatars.engine.advice import SEARCH_MAX_ROWS

    schema = _schema(job, doc.spec.schema_name)
    tables = job.resources.original_schema(schema).spec.tables
    targets = doc.spec.advice.targets
    advice = []
    for i, table in enumerate(tables):
        job.progress(i / len(tables), f"advising {table.name}")
        treatments = privacy.table_treatments(table, _avatarization_params(job, table.name))
        df = privacy.without_dropped(read_input(job, table), treatments)
        holdout = _read_kept(job, table, treatments, holdout=True) if targets else None
        advice.append(
            {
                "table_name": table.name,
                "advice": privacy.refusing_identifiers(
                    table.name,
                    functools.partial(
                        advise_parameters,
                        df,
                        column_types=_kept_types(table, df) or None,
                        targets=targets or None,
                        holdout=holdout.frame if holdout is not None else None,
                        exclude_variables=treatments.not_avatarized() or None,
                        not_identifiers=treatments.not_identifiers or None,
                        max_rows=SEARCH_MAX_ROWS,
                    ),
                    JobError,
                ),
            }
        )
    return {ResultKind.advice.value: [write_json(job, ADVICE_FILE, advice)]}


def _avatarization_params(job: JobInput, table_name: str) -> Any:
    """The table's avatarization parameters in the set, if any (their exclusions matter to
    the advice)."""
    for document in job.resources.of_kind(AvatarizationDocument.KIND):
        if isinstance(document, AvatarizationDocument):
            params = (document.spec.avatarization or {}).get(table_name)
            if params is not None:
                return params
    return None


# -- report -----------------------------------------------------------------------------------


#: Shapes a linked schema's report inputs: ``(job, tables, schema tables, run metadata)``.
ShapeReport = Callable[[JobInput, dict[str, dict[str, Any]], list[Table], dict[str, Any]], None]


def run_report(
    job: JobInput,
    doc: ReportDocument,
    *,
    shape: ShapeReport | None = None,
    linked: Mapping[str, Any] | None = None,
) -> dict[str, list[str]]:
    """Build the report documents with ``avatars.engine.reports.build_report`` from what the
    earlier jobs stored: the original table, the standard job's avatars, projections and run
    metadata, and the metrics of the report's dependencies. A linked schema's job
    (:mod:`avatars.server.jobs.linked`) gives ``shape`` (its tables' inputs) and ``linked`` (the
    report's linked-tables section)."""
    from avatars.protocol.results import pia_report_file_name

    try:
        from avatars.engine.reports import build_report
    except ImportError:
        raise JobError("reports are not available on this server yet") from None
    job.progress(0.0, "reading")
    tables = _report_inputs(job, shape)
    if not tables:
        raise JobError(
            f"{doc.label}: nothing to report on: give the privacy and signal metrics jobs (or a "
            "standard job) of this set in depends_on"
        )
    metadata = next(
        (d for d in job.resources.of_kind("AvatarMetadata") if isinstance(d, MetadataDocument)),
        None,
    )
    pia = metadata.spec.pia_metadata if metadata is not None and metadata.spec else None
    job.progress(0.3, "writing the report")
    documents = build_report(
        report_type=_report_type(doc),
        output_format=_report_format(doc),
        language=doc.spec.language,
        display_name=job.resources.display_name,
        tables=tables,
        pia_metadata=pia,
        with_html=doc.spec.report_type != "pia",
        plotlyjs=job.settings.figures_plotlyjs,
        linked=linked,
    )
    outputs: dict[str, list[str]] = {}
    for part, data in documents.items():
        # the names the official client expects (protocol.md §5.5)
        if part.table is not None:
            name = pia_report_file_name(part.table)
        else:
            name = f"report.{part.format}"  # report.pdf, report.docx, report.html
        kind = ResultKind.report_html if part.kind == "html" else ResultKind.report
        outputs.setdefault(kind.value, []).append(write_bytes(job, name, data))
    return outputs


def _report_type(doc: ReportDocument) -> Literal["basic", "pia"]:
    return "pia" if doc.spec.report_type == ReportType.PIA else "basic"


def _report_format(doc: ReportDocument) -> Literal["pdf", "docx"]:
    """A PIA report is a Word document whatever ``output_format`` says."""
    if _report_type(doc) == "pia" or doc.spec.output_format == OutputFormat.DOCX:
        return "docx"
    return "pdf"


def _ancestors(job: JobInput) -> list[Job]:
    """The finished jobs the report depends on, directly or through its dependencies."""
    found: dict[str, Job] = {}
    frontier = list(job.depends_on or [])
    with job.db.reading() as session:
        while frontier:
            rows = session.scalars(select(Job).where(Job.name.in_(frontier))).all()
            frontier = []
            for row in rows:
                if row.name not in found and row.status == JobStatus.finished.value:
                    found[row.name] = row
                    frontier += [n for n in row.depends_on or [] if n not in found]
    return list(found.values())


def _report_inputs(job: JobInput, shape: ShapeReport | None = None) -> dict[str, dict[str, Any]]:
    """``{table: {original, avatars, privacy, signal, run_metadata, *_coordinates}}``."""
    from avatars.engine.io import read_table

    ancestors = _ancestors(job)
    standard = next((j for j in ancestors if j.kind == JobKind.standard.value), None)
    if standard is None:
        standard = _standard_job_for(job, None)
    tables: dict[str, dict[str, Any]] = {}

    def entry(name: str) -> dict[str, Any]:
        return tables.setdefault(name, {})

    original_tables: dict[str, Table] = {}
    for schema in job.resources.of_kind(SchemaDocument.KIND):
        assert isinstance(schema, SchemaDocument)
        if not schema.spec.schema_ref:
            original_tables.update({t.name: t for t in schema.spec.tables})

    for table_name, documents in _metrics_documents(job, ancestors).items():
        entry(table_name).update(documents)
    linked_metadata: dict[str, Any] | None = None
    if standard is not None:
        outputs = standard.outputs or {}
        for key in outputs.get(ResultKind.run_metadata.value, []):
            run_metadata = _read_json(job, key)
            name = run_metadata.get("table_name")
            if name:
                entry(name)["run_metadata"] = run_metadata
            elif isinstance(run_metadata.get("tables"), dict):  # a linked schema's run
                linked_metadata = run_metadata
                for table_name in run_metadata["tables"]:
                    entry(table_name)
        for kind, field_name in (
            (ResultKind.shuffled, "avatars"),
            (ResultKind.original_projections, "original_coordinates"),
            (ResultKind.avatar_projections, "avatar_coordinates"),
        ):
            for key in outputs.get(kind.value, []):
                ext = posixpath.basename(key).rpartition(".")[2]
                name = table_of_tabular_file(kind, key)
                if name is None or name not in tables:
                    continue
                # avatars are read with the original's types (projections are plain numbers)
                schema_table = original_tables.get(name) if field_name == "avatars" else None
                types = _value_types(schema_table) if schema_table is not None else {}
                with _readable(job.storage, key) as source:
                    entry(name)[field_name] = read_table(
                        source,
                        format="parquet" if ext == "parquet" else "csv",
                        column_types=types or None,
                    )
    for name, table in original_tables.items():
        if name in tables and "original" not in tables[name]:
            tables[name]["original"] = read_input(job, table)
    if linked_metadata is not None and shape is not None:
        shape(job, tables, list(original_tables.values()), linked_metadata)
    return tables


def _metrics_documents(job: JobInput, ancestors: list[Job]) -> dict[str, dict[str, Any]]:
    """``{table: {"privacy": document, "signal": document}}`` from the metrics jobs; of
    several privacy documents of a table (linked tables: one per computation type), the
    headline one."""
    found: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for parent in ancestors:
        for kind, field_name in (
            (ResultKind.privacy_metrics, "privacy"),
            (ResultKind.signal_metrics, "signal"),
        ):
            for key in (parent.outputs or {}).get(kind.value, []):
                value = _read_json(job, key)
                name = (value.get("metadata") or {}).get("table_name")
                if name:
                    found.setdefault(name, {}).setdefault(field_name, []).append(value)
    return {
        name: {field_name: _headline(documents) for field_name, documents in kinds.items()}
        for name, kinds in found.items()
    }


def _value_types(table: Table) -> dict[str, ColumnType]:
    """The schema's column types but those of key columns (primary and foreign keys) and of
    pseudonymized columns: avatar keys and pseudonyms are new tokens, text whatever the
    original values were."""
    keys = {c.field for c in table.columns or [] if c.primary_key or c.identifier}
    keys |= set(_pseudonymized(table))
    return {c: t for c, t in table.column_types().items() if c not in keys}


def _headline(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """The metrics document a report shows for a table: ``standalone`` if there is one (a
    linked table has one per computation type), else the first."""
    for document in documents:
        if (document.get("metadata") or {}).get("computation_type") == "standalone":
            return document
    return documents[0]


# -- dispatch ---------------------------------------------------------------------------------

HANDLERS: dict[type[Document], Callable[[JobInput, Any], dict[str, list[str]]]] = {
    AvatarizationDocument: run_standard,
    PrivacyMetricsDocument: run_privacy,
    SignalMetricsDocument: run_signal,
    AdviceDocument: run_advice,
    ReportDocument: run_report,
}


def run_handler(job: JobInput) -> dict[str, list[str]]:
    """Run the job; its outputs as ``{result kind: [storage keys]}``."""
    doc = job.resources.parameters(job.parameters_name)
    if doc is None:
        raise JobError(f"the set has no parameters document named '{job.parameters_name}'")
    handler = HANDLERS.get(type(doc))
    if handler is None:  # pragma: no cover - every parameters kind has a handler
        raise JobError(f"{doc.kind} jobs are not supported by this server")
    return handler(job, doc)
