"""Jobs on a schema of linked tables and series tables (multi-table and time series).

A schema runs here when it has several tables, links or a time column (:func:`is_linked`);
a single table without them keeps the single-table handlers, where a primary key is one of the
table's privacy choices (new keys for the avatars, :mod:`avatars.server.jobs.privacy`) beside
pseudonymized columns. Several tables need no link: a table that no link uses and that is not
a series table (an *independent* table) is avatarized by the engine on its own rows, with or
without a primary key (if it has one, its avatars get new pseudonymous keys), and its results
are written under its name like any other table's (its privacy: ``standalone`` only); a link
still needs a primary key on both its tables. The YAML's pieces become the engine's
(:func:`load_schema`):

- each ``AvatarSchema`` table → :class:`avatars.engine.multitable.Table` (its data, its
  ``primary_key`` column, its ``time_series_time`` column, ``individual_level``), with the
  ``avatarization`` parameters of its name (k, ncp, weights, imputation, exclusions; for the
  metrics jobs the metrics parameters override ncp, weights, imputation and exclusions) and the
  ``time_series`` parameters of its name (projection, alignment);
- each table's ``links`` entry ``{field, to: {table, field}, method}`` → ``Link(table, field,
  to.table, to.field, method)`` (the link is declared on the parent: ``field`` is its primary
  key, ``to.field`` the child's foreign key);
- a column with a ``pseudonymization`` (or the flat ``pseudonymization_strategy``) →
  ``TableParameters.pseudonymize`` of its table, as a single table's: not avatarized, its
  avatars get pseudonyms; ``HASH_SHA256`` is keyed with the organization's secret
  (``handlers._pseudonymization_secret``, the single table's), never written to a result, a
  log or a message. The run metadata lists them (``tables.<t>.pseudonymized``); the metrics,
  the figures and the report leave them out;
- a column marked ``identifier`` that no link uses is refused: it would be avatarized as a
  variable, or leak as it is;
- ``drop: true`` leaves a column out of its table (and of every result); ``identifier: false``
  declares a column the identifier detection flags wrongly (``TableParameters.not_identifiers``).

Every problem of the schema and its data (orphan foreign keys, duplicated keys, a link to an
unknown column, a table referenced twice, times that do not increase within an individual,
...) is found by the engine's validation before any avatarization and fails the job with the
table and column named (:class:`~avatars.engine.multitable.SchemaError`, a user error): nothing
is written.

Results (protocol.md §5.5; the clients read the table from the file name or from
``metadata.table_name``):

- standard: ``<t>.shuffled-0.csv`` and ``<t>.unshuffled-0.csv`` for every table (a series
  table's avatar series grouped by avatar individual), the projections of every table that is
  not a series table, figures (a series table's ``raw_series`` and ``normalized_series``), one
  ``run_metadata.<job>.json`` with a ``tables`` entry per table and the engine's multi-table
  metadata (``multi_table``: links, solvers, timings) and ``warnings``;
- privacy_metrics: one document per table and computation type, ``<t>.privacy.json`` for the
  first (the headline: ``standalone``, or ``to_bottom_id_propagated`` for a table whose rows are
  not persons) and ``<t>.<computation type>[.<reference>].privacy.json`` for the others; the
  official client lists them in that order under ``runner.privacy_metrics(t)``; a table's
  ``known_variables``, ``target`` and ``quantile_threshold`` (the attacker) add the linkability
  and inference metrics to its computations, its ``holdout_data`` the membership metrics to
  its standalone one;
- signal_metrics: ``<t>.signal.json`` per table (a table that is a link's child also carries
  that link's relational metrics under ``multi_table.links``);
- both: ``privacy_metrics_summary.json`` / ``signal_metrics_summary.json`` =
  ``{table: {reference: meta metric}}``. The platform's meta-metric formulas are not published
  (method.md §2.11); ours, provisional: privacy = the lowest hidden rate (%) of the table's
  computations for that reference; signal = ``100 · (1 − Hellinger mean)`` (for a series table
  the pointwise Hellinger mean). ``reference`` is the table itself for an individual-level table,
  each individual-level ancestor for a table of rows that are not persons, the individual table
  for a series table.

A ``sensitive_original_order_assignment`` link runs only because the YAML asks for it, and the
run says so everywhere a user looks: the finished standard job's ``exception`` field starts
with ``warning:`` (``runner.get_job(...).exception`` in either SDK; ours also raises a Python
warning), ``run_metadata.warnings``, every privacy document's ``metadata.warnings`` and the
report.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

import pandas as pd

from avatars.protocol.documents import (
    AdviceDocument,
    AvatarizationDocument,
    Document,
    ParametersSpec,
    PrivacyMetricsDocument,
    ReportDocument,
    SchemaDocument,
    SignalMetricsDocument,
)
from avatars.protocol.enums import AdviceType, LinkMethod, ResultKind
from avatars.protocol.parameters import TimeSeriesParameters
from avatars.protocol.results import (
    escape_table_name,
    metrics_file_name,
    run_metadata_file_name,
    table_of_tabular_file,
    tabular_file_name,
)
from avatars.protocol.schema import Table as SchemaTable
from avatars.server.jobs.handlers import (
    JobError,
    JobInput,
    _ancestors,
    _check_common,
    _check_spec,
    _exclusion,
    _imputation,
    _pseudonymization_secret,
    _read_json,
    _readable,
    _result_format,
    _scaled,
    _schema,
    _standard_job_for,
    pseudonymized_columns,
    read_input,
    run_report,
    write_bytes,
    write_frame,
    write_json,
)

PRIVACY_SUMMARY_FILE = "privacy_metrics_summary.json"
SIGNAL_SUMMARY_FILE = "signal_metrics_summary.json"


def has_links(tables: Sequence[SchemaTable]) -> bool:
    """Whether some table of the schema is linked to another (a link, or a series table)."""
    return any(t.links or t.time_series_time is not None for t in tables)


def is_linked(tables: Sequence[SchemaTable]) -> bool:
    """Whether a schema needs the multi-table engine (module docstring)."""
    return len(tables) > 1 or has_links(tables)


def searches_each_table(job: JobInput, doc: Document) -> bool:
    """An advice with targets on tables that no link joins: the single-table search, table by
    table (:func:`avatars.server.jobs.handlers.run_advice`), rather than the multi-table rule,
    which has no targeted search."""
    if not isinstance(doc, AdviceDocument) or not doc.spec.advice.targets:
        return False
    if AdviceType.TABLES_LINKS in {AdviceType(t) for t in doc.spec.advice.advisor_type}:
        return False
    tables = schema_tables(job, doc)
    return tables is not None and not has_links(tables)


def schema_tables(job: JobInput, doc: Document) -> list[SchemaTable] | None:
    """The original tables of the schema a job works on (None when the set names no such
    schema: the single-table handlers report it)."""
    name = getattr(doc.spec, "schema_name", None)
    if isinstance(name, str):
        schema = job.resources.schema(name)
        return None if schema is None else job.resources.original_schema(schema).spec.tables
    originals = [
        s
        for s in job.resources.of_kind(SchemaDocument.KIND)
        if isinstance(s, SchemaDocument) and not s.spec.schema_ref
    ]
    return originals[0].spec.tables if originals else None


def applies(job: JobInput, doc: Document) -> bool:
    """Whether the job runs here rather than in the single-table handlers."""
    tables = schema_tables(job, doc)
    return tables is not None and is_linked(tables)


def run_linked(job: JobInput, doc: Document) -> dict[str, list[str]]:
    """Run a job of a linked schema (``applies`` is true); its outputs by result kind."""
    tables = schema_tables(job, doc)
    assert tables is not None
    if isinstance(doc, AvatarizationDocument):
        _check_spec(doc.spec, linked=True)
        return run_standard_tables(job, doc, tables)
    if isinstance(doc, PrivacyMetricsDocument):
        _check_spec(doc.spec, linked=True)
        return run_privacy_tables(job, doc)
    if isinstance(doc, SignalMetricsDocument):
        _check_spec(doc.spec, linked=True)
        return run_signal_tables(job, doc)
    if isinstance(doc, AdviceDocument):
        return run_advice_tables(job, doc, tables)
    if isinstance(doc, ReportDocument):
        ancestors = _ancestors(job)
        standard = next((j for j in ancestors if j.kind == "standard"), None)
        if standard is None:
            standard = _standard_job_for(job, None)
        extras = report_extras(job, ancestors, standard)
        return run_report(job, doc, shape=report_tables, linked=extras)
    raise JobError(f"{doc.kind} jobs are not supported by this server")  # pragma: no cover


# -- the YAML's schema as the engine's ---------------------------------------------------------


@dataclass
class LinkedSchema:
    """The engine's tables and links, and what the server keeps about them."""

    tables: list[Any]  # avatars.engine.multitable.Table (imported lazily: the engine is heavy)
    links: list[Any]  # avatars.engine.multitable.Link
    schema: dict[str, SchemaTable]  # the YAML's tables, by name, in schema order
    #: each table's pseudonymized columns and their strategy objects (the YAML's)
    pseudonymized: dict[str, dict[str, Any]] = dataclass_field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(self.schema)

    def is_series(self, name: str) -> bool:
        return self.schema[name].time_series_time is not None

    def key_columns(self, name: str) -> set[str]:
        table = self.schema[name]
        keys = {table.primary_key, table.time_series_time}
        keys |= {link.foreign_key for link in self.links if link.child == name}
        return {k for k in keys if k is not None}

    def own_columns(self, name: str, frame: pd.DataFrame) -> list[str]:
        """The columns a user reads as data: all but the keys (and a series table's time) and
        the pseudonymized columns (pseudonyms have no distribution to compare)."""
        keys = self.key_columns(name) | set(self.pseudonymized.get(name, {}))
        return [str(c) for c in frame.columns if c not in keys]

    def secret(self, job: JobInput) -> str | None:
        """The organization's HASH_SHA256 key when a column is hashed (None otherwise); never
        written to a result, a log or a message."""
        strategies = {
            f"{name}.{column}": strategy
            for name, columns in self.pseudonymized.items()
            for column, strategy in columns.items()
        }
        return _pseudonymization_secret(job, strategies)

    @property
    def sensitive_links(self) -> list[Any]:
        return [
            link
            for link in self.links
            if link.method == LinkMethod.SENSITIVE_ORIGINAL_ORDER_ASSIGNMENT
        ]

    def warnings(self) -> list[str]:
        from avatars.engine.multitable.avatarization import SENSITIVE_LINK_WARNING

        return [
            SENSITIVE_LINK_WARNING.format(link=link.describe()) for link in self.sensitive_links
        ]


def _series_parameters(params: TimeSeriesParameters | None) -> dict[str, Any] | None:
    if params is None:
        return None
    projection, alignment = params.projection, params.alignment
    values = {
        "projection_type": projection.projection_type if projection else None,
        "nf": projection.nf if projection else None,
        "nb_points": alignment.nb_points if alignment else None,
        "method": alignment.method if alignment else None,
        "unalignment": alignment.unalignment if alignment else None,
    }
    return {k: v for k, v in values.items() if v is not None} or None


def load_schema(
    job: JobInput,
    tables: Sequence[SchemaTable],
    parameters: Mapping[str, Any],
    time_series: Mapping[str, TimeSeriesParameters] | None,
    overrides: Mapping[str, Any] | None = None,
    *,
    holdouts: bool = False,
) -> LinkedSchema:
    """Read every table and build the engine's schema (module docstring). ``parameters``: the
    avatarization parameters by table; ``overrides``: the metrics parameters by table, whose
    ncp, weights, imputation and exclusions win; ``holdouts``: read each table's
    ``holdout_data`` too (the privacy metrics measure membership with it)."""
    from avatars.engine.multitable import (
        Link,
        SchemaError,
        SchemaProblem,
        Table,
        TableParameters,
        validate_tables,
    )

    pseudonymized = {table.name: pseudonymized_columns(table) for table in tables}
    links = [
        Link(table.name, link.field, link.to.table, link.to.field, LinkMethod(link.method))
        for table in tables
        for link in table.links or []
    ]
    foreign = {(link.child, link.foreign_key) for link in links}
    problems = [
        SchemaProblem(
            "is marked as an identifier (foreign key) but no link uses it: link it to its parent "
            "table (add_link), or do not declare it as a foreign key",
            table=table.name,
            column=column.field,
        )
        for table in tables
        for column in table.columns or []
        if column.identifier and (table.name, column.field) not in foreign
    ]
    schema = {table.name: table for table in tables}
    engine_tables = []
    for position, table in enumerate(tables):
        job.progress(0.05 * position / len(tables), f"reading {table.name}")
        data = read_input(job, table)
        # `drop: true`: left out of the table, of its avatars and of every result
        dropped = [c.field for c in table.columns or [] if c.drop and c.field in data.columns]
        data = data.drop(columns=dropped) if dropped else data
        holdout = None
        if holdouts and table.holdout_data is not None and table.holdout_data.file:
            holdout = read_input(job, table.model_copy(update={"data": table.holdout_data}))
            holdout = holdout.drop(columns=[c for c in dropped if c in holdout.columns])
        params = parameters.get(table.name)
        override = (overrides or {}).get(table.name)
        keys = {table.primary_key, table.time_series_time}
        keys |= {link.foreign_key for link in links if link.child == table.name}
        exclude, method = _exclusion(
            override if override is not None and override.exclude_variables else params
        )
        engine_tables.append(
            Table(
                table.name,
                data,
                table.primary_key,
                individual_level=table.individual_level,
                time_series_time=table.time_series_time,
                parameters=TableParameters(
                    k=getattr(params, "k", None),
                    ncp=_pick(override, params, "ncp"),
                    column_types={
                        c: t
                        for c, t in table.column_types().items()
                        if c not in keys and c not in pseudonymized[table.name] and c not in dropped
                    }
                    or None,
                    column_weights=_pick(override, params, "column_weights"),
                    imputation=_imputation(override) or _imputation(params),
                    exclude_variables=exclude or (),
                    exclude_method=method,
                    time_series=_series_parameters((time_series or {}).get(table.name)),
                    # the privacy document's attacker (absent from the other documents)
                    known_variables=getattr(override, "known_variables", None) or (),
                    target=getattr(override, "target", None),
                    quantile_threshold=getattr(override, "quantile_threshold", None),
                    # `identifier: false`: the detection's false alarm, avatarized
                    not_identifiers=[
                        c.field
                        for c in table.columns or []
                        if c.identifier is False and c.field in data.columns
                    ],
                    pseudonymize=pseudonymized[table.name] or None,
                ),
                holdout=holdout,
            )
        )
    if problems:  # with what the engine finds besides (a link to an unknown column, ...)
        try:
            validate_tables(engine_tables, links)
        except SchemaError as error:
            problems += error.problems
        raise SchemaError(problems)
    return LinkedSchema(engine_tables, links, schema, pseudonymized)


def _pick(override: Any, params: Any, name: str) -> Any:
    value = getattr(override, name, None) if override is not None else None
    return value if value is not None else getattr(params, name, None)


def _check_parameters(label: str, schema: Sequence[SchemaTable], spec: ParametersSpec) -> None:
    """Every table that is not a series table has avatarization parameters; the features this
    server cannot run are refused, naming the parameter."""
    given = spec.avatarization or {}
    for table in schema:
        if table.time_series_time is not None:
            continue
        params = given.get(table.name)
        if params is None:
            raise JobError(
                f"{label}: no avatarization parameters for table '{table.name}' "
                f"(set_parameters('{table.name}', k=...))"
            )
        _check_common(f"{label}: spec.avatarization.{table.name}", params)


# -- standard ----------------------------------------------------------------------------------


def run_standard_tables(
    job: JobInput, doc: AvatarizationDocument, tables: Sequence[SchemaTable]
) -> dict[str, list[str]]:
    from avatars.engine.multitable import avatarize_tables

    spec = doc.spec
    _check_parameters(doc.label, tables, spec)
    linked = load_schema(job, tables, spec.avatarization or {}, spec.time_series)
    job.progress(0.05, "avatarizing")
    result = avatarize_tables(
        linked.tables,
        linked.links,
        seed=spec.seed,
        pseudonymization_secret=linked.secret(job),
        progress=_scaled(job.progress, 0.05, 0.85),
    )
    job.progress(0.85, "writing")
    fmt = _result_format(spec)
    outputs: dict[ResultKind, list[str]] = {}
    for name in linked.names:
        avatar = result.tables[name]
        frames = {ResultKind.shuffled: avatar.avatars, ResultKind.unshuffled: avatar.unshuffled}
        if not linked.is_series(name):
            frames[ResultKind.original_projections] = avatar.avatarization.original_coordinates
            frames[ResultKind.avatar_projections] = avatar.avatarization.avatar_coordinates
        for kind, frame in frames.items():
            key = write_frame(job, frame, tabular_file_name(name, kind, fmt), fmt)
            outputs.setdefault(kind, []).append(key)
    originals = {t.name: t.data for t in linked.tables}
    metadata: dict[str, Any] = {
        "job_name": job.name,
        "kind": job.kind.value,
        "set_name": job.set_name,
        "parameters_name": job.parameters_name,
        "table_name": None,
        "tables": {
            name: _table_metadata(linked, name, originals[name], result, spec)
            for name in linked.names
        },
        "multi_table": result.metadata,
        "warnings": list(result.warnings),
        "keeps_original_association": result.keeps_original_association,
    }
    if spec.compute_figures is not False:
        job.progress(0.9, "figures")
        outputs.update(_figures(job, linked, originals, result, spec, metadata))
    outputs[ResultKind.run_metadata] = [write_json(job, run_metadata_file_name(job.name), metadata)]
    job.warnings.extend(w for w in result.warnings if "sensitive_original_order" in w)
    return {k.value: v for k, v in outputs.items()}


def _table_metadata(
    linked: LinkedSchema, name: str, original: pd.DataFrame, result: Any, spec: ParametersSpec
) -> dict[str, Any]:
    """What the report job reads of one table (the single-table run metadata's fields)."""
    avatar = result.tables[name]
    params = (spec.avatarization or {}).get(name)
    run = avatar.avatarization
    entry: dict[str, Any] = {
        "table_name": name,
        "rows": len(original),
        "columns": list(map(str, original.columns)),
        "parameters": params.model_dump(mode="json", exclude_none=True) if params else {},
        "multi_table": avatar.parameters,
        # as the single table's engine metadata: their avatars are pseudonyms, not synthesized
        "pseudonymized": list(linked.pseudonymized.get(name, {})),
    }
    if linked.is_series(name):
        entry["individual_table"] = avatar.parameters.get("individual_table")
        return entry
    entry["engine"] = run.metadata
    entry["contributions"] = run.contributions.to_dict() if run.contributions is not None else None
    return entry


def _figures(
    job: JobInput,
    linked: LinkedSchema,
    originals: dict[str, pd.DataFrame],
    result: Any,
    spec: ParametersSpec,
    metadata: dict[str, Any],
) -> dict[ResultKind, list[str]]:
    """Figures of every table (a series table's series figures), as the single-table job
    writes them; a failure to draw is noted in the run metadata, never fatal."""
    from avatars.engine.figures import build_figures, figure_documents
    from avatars.engine.timeseries import plotly_series_figures, series_figure_data
    from avatars.engine.timeseries.metrics import series_signal_metrics
    from avatars.protocol.results import FIGURES_METADATA_FILE, figure_file_name

    keys, entries, errors = [], [], {}
    series_links = {
        link.child: link for link in linked.links if link.method == LinkMethod.TIME_SERIES
    }
    for name in linked.names:
        avatar = result.tables[name]
        try:
            if linked.is_series(name):
                from avatars.engine.timeseries import SeriesTable

                table = linked.schema[name]
                assert table.time_series_time is not None
                spec_table = SeriesTable(
                    name,
                    originals[name],
                    series_links[name].foreign_key,
                    table.time_series_time,
                    table.primary_key,
                )
                nb_points = avatar.parameters["time_series"]["nb_points"]
                signal = series_signal_metrics(spec_table, avatar.avatars, nb_points=nb_points)
                figures = plotly_series_figures(
                    series_figure_data(spec_table, avatar.avatars, signal)
                )
            else:
                own = linked.own_columns(name, originals[name])
                run = avatar.avatarization
                types = {c: t for c, t in linked.schema[name].column_types().items() if c in own}
                figures = build_figures(
                    originals[name][own],
                    avatar.avatars[own],
                    original_coordinates=run.original_coordinates,
                    avatar_coordinates=run.avatar_coordinates,
                    contributions=run.contributions,
                    column_types=types or None,
                    max_distribution_plots=(
                        spec.results.max_distribution_plots if spec.results else None
                    ),
                    explained_variance=(run.metadata.get("projection") or {}).get(
                        "explained_variance_ratio"
                    ),
                )
            documents = figure_documents(name, figures, plotlyjs=job.settings.figures_plotlyjs)
        except Exception as exc:  # a drawing library failing on odd data: keep the avatars
            errors[name] = f"{type(exc).__name__}: {exc}"
            continue
        for (table_name, kind), text in documents.items():
            file_name = figure_file_name(table_name, kind)
            keys.append(write_bytes(job, file_name, text.encode("utf-8")))
            entries.append({"kind": kind.value, "filename": file_name, "table_name": table_name})
    if errors:
        metadata["figures_error"] = errors
    if not keys:
        return {}
    index = write_json(job, FIGURES_METADATA_FILE, entries)
    return {ResultKind.figures: keys, ResultKind.figures_metadata: [index]}


# -- metrics -----------------------------------------------------------------------------------


def _metrics_inputs(
    job: JobInput,
    doc: Document,
    spec: ParametersSpec,
    kind: ResultKind,
    overrides: Mapping[str, Any] | None,
    *,
    holdouts: bool = False,
) -> tuple[LinkedSchema, dict[str, pd.DataFrame]]:
    """The engine schema (with the standard job's parameters, the metrics' overriding) and the
    avatars of every table: the ones the user uploaded, else the standard job's."""
    schema_doc = _schema(job, spec.schema_name)
    original = job.resources.original_schema(schema_doc)
    ref_doc = (
        job.resources.get(spec.avatarization_ref, ["AvatarParameters"])
        if spec.avatarization_ref
        else None
    )
    standard_spec = ref_doc.spec if isinstance(ref_doc, AvatarizationDocument) else None
    parameters = (standard_spec.avatarization if standard_spec else None) or {}
    time_series = spec.time_series or (standard_spec.time_series if standard_spec else None)
    linked = load_schema(
        job, original.spec.tables, parameters, time_series, overrides, holdouts=holdouts
    )
    avatar_tables = (
        {t.name: t for t in schema_doc.spec.tables} if schema_doc.spec.schema_ref else {}
    )
    uploaded = {
        name: t for name, t in avatar_tables.items() if t.avatars_data and t.avatars_data.file
    }
    avatars: dict[str, pd.DataFrame] = {}
    standard = None
    for name, table in linked.schema.items():
        keys = linked.key_columns(name) - {table.time_series_time}
        # avatar keys and pseudonyms are new text tokens whatever the original values' type
        tokens = dict.fromkeys(keys | set(linked.pseudonymized.get(name, {})), "category")
        if name in uploaded:
            frame = read_input(job, uploaded[name], avatars=True, types_of=table, retyped=tokens)
        else:
            standard = standard or _standard_job_for(job, spec.avatarization_ref)
            if standard is None:
                raise JobError(
                    f"{doc.label}: no avatars to measure: run a standard job of this set first "
                    "(and give it in depends_on), or upload the avatars of every table"
                )
            frame = _standard_table(job, standard, kind, name, {**table.column_types(), **tokens})
        for column in keys:  # avatar keys are text tokens: compared as text across tables
            frame[column] = frame[column].astype(str)
        avatars[name] = frame
    return linked, avatars


def _standard_table(
    job: JobInput, standard: Any, kind: ResultKind, table: str, types: Mapping[str, str]
) -> pd.DataFrame:
    from avatars.engine.io import read_table

    for key in (standard.outputs or {}).get(kind.value, []):
        if table_of_tabular_file(kind, key) == table:
            ext = posixpath.basename(key).rpartition(".")[2]
            with _readable(job.storage, key) as source:
                return read_table(
                    source,
                    format="parquet" if ext == "parquet" else "csv",
                    column_types=dict(types) or None,
                )
    raise JobError(
        f"the standard job {standard.name} has no {kind.value} avatars of table '{table}'"
    )


def run_privacy_tables(job: JobInput, doc: PrivacyMetricsDocument) -> dict[str, list[str]]:
    from avatars.engine.multitable import privacy_metrics_tables

    spec = doc.spec
    job.progress(0.0, "reading")
    overrides = spec.privacy_metrics or {}
    for name, params in overrides.items():
        _check_common(f"{doc.label}: spec.privacy_metrics.{name}", params)
    linked, avatars = _metrics_inputs(
        job, doc, spec, ResultKind.unshuffled, overrides, holdouts=True
    )
    job.progress(0.1, "privacy metrics")
    results = privacy_metrics_tables(
        linked.tables,
        linked.links,
        avatars,
        seed=spec.seed,
        progress=_scaled(job.progress, 0.1, 0.95),
    )
    warnings = linked.warnings()
    keys: list[str] = []
    summary: dict[str, dict[str, float | None]] = {}
    seen: set[str] = set()
    for result in results:
        document = result.to_dict()
        if warnings:
            document["metadata"]["warnings"] = warnings
        name = result.table
        if name in seen:
            file_name = _extra_metrics_name(name, result.computation_type.value, result.reference)
        else:
            file_name = metrics_file_name(name, ResultKind.privacy_metrics)
            seen.add(name)
        keys.append(write_json(job, file_name, document))
        # the meta metric (ours, provisional): the lowest hidden rate for that reference
        reference = result.reference or name
        value = None if result.hidden_rate is None else float(result.hidden_rate)
        entry = summary.setdefault(name, {})
        current = entry.get(reference)
        if reference not in entry or (value is not None and (current is None or value < current)):
            entry[reference] = value
    outputs = {ResultKind.privacy_metrics.value: keys}
    if len(linked.names) > 1:
        outputs[ResultKind.privacy_metrics_summary.value] = [
            write_json(job, PRIVACY_SUMMARY_FILE, summary)
        ]
    return outputs


def _extra_metrics_name(table: str, computation_type: str, reference: str | None) -> str:
    parts = [escape_table_name(table), computation_type]
    if reference is not None:
        parts.append(escape_table_name(reference))
    return ".".join([*parts, "privacy", "json"])


def run_signal_tables(job: JobInput, doc: SignalMetricsDocument) -> dict[str, list[str]]:
    from avatars.engine.multitable import signal_metrics_tables, validate_tables

    spec = doc.spec
    job.progress(0.0, "reading")
    overrides = spec.signal_metrics or {}
    for name, params in overrides.items():
        _check_common(f"{doc.label}: spec.signal_metrics.{name}", params)
    linked, avatars = _metrics_inputs(job, doc, spec, ResultKind.shuffled, overrides)
    job.progress(0.1, "signal metrics")
    result = signal_metrics_tables(
        linked.tables, linked.links, avatars, progress=_scaled(job.progress, 0.1, 0.95)
    )
    graph = validate_tables(linked.tables, linked.links)
    keys: list[str] = []
    summary: dict[str, dict[str, float | None]] = {}
    for name in linked.names:
        if name in result.series:
            values = result.series[name].to_dict()
            reference: str | None = graph.series[name].link.parent
            hellinger = result.series[name].value("pointwise_hellinger_mean")
            references = [graph.series[name].link.parent]
        else:
            values = result.tables[name].to_dict()
            reference = None
            hellinger = result.tables[name].value("hellinger_mean")
            ancestors = graph.individual_ancestors(name)
            references = (
                [name] if graph.individual_level[name] else [a for a, _ in ancestors] or [name]
            )
        relations = [
            link.to_dict()
            for link in result.links
            if link.link.child == name or link.link.parent == name
        ]
        extra = values.pop("metadata", None)
        document = {
            "metadata": {
                **(extra if isinstance(extra, dict) else {}),
                "table_name": name,
                "computation_type": "standalone",
                "reference": reference,
            },
            **values,
            "multi_table": {"links": relations},
        }
        keys.append(write_json(job, metrics_file_name(name, ResultKind.signal_metrics), document))
        meta = None if hellinger is None else round(100.0 * (1.0 - float(hellinger)), 4)
        summary[name] = dict.fromkeys(references, meta)
    outputs = {ResultKind.signal_metrics.value: keys}
    if len(linked.names) > 1:
        outputs[ResultKind.signal_metrics_summary.value] = [
            write_json(job, SIGNAL_SUMMARY_FILE, summary)
        ]
    return outputs


# -- advice ------------------------------------------------------------------------------------


def run_advice_tables(
    job: JobInput, doc: AdviceDocument, tables: Sequence[SchemaTable]
) -> dict[str, list[str]]:
    """Parameters advice for every table (the multi-table advisor's k, the series advice of
    series tables) and, with the ``tables_links`` advisor, the links advice."""
    from avatars.engine import advise_parameters

    if doc.spec.advice.targets:  # tables that no link joins are searched one by one
        raise JobError(
            f"{doc.label}: advice targets ({', '.join(doc.spec.advice.targets)}) are searched "
            "table by table; linked tables get the multi-table advice, without targets. Ask "
            "for it without targets, or advise each table with targets in a set of its own"
        )
    kinds = {AdviceType(t) for t in doc.spec.advice.advisor_type}
    frames = {}
    for position, table in enumerate(tables):
        job.progress(0.3 * position / len(tables), f"reading {table.name}")
        frames[table.name] = read_input(job, table)
    advice: dict[str, dict[str, Any]] = {table.name: {} for table in tables}
    if AdviceType.PARAMETERS in kinds or AdviceType.VARIABLES in kinds:
        job.progress(0.3, "advising")
        linked = load_schema(job, tables, {}, None)
        from avatars.engine.multitable import advise_tables

        per_table = advise_tables(linked.tables, linked.links)
        for table in tables:
            name = table.name
            found = per_table[name]
            if linked.is_series(name):
                entry: dict[str, Any] = {"k": None, "time_series": found["time_series"]}
            else:
                own = linked.own_columns(name, frames[name])
                types = {c: t for c, t in table.column_types().items() if c in own}
                entry = advise_parameters(frames[name][own], column_types=types or None)
                entry["k"] = found["k"]
                if "hidden_rate" in found:
                    entry["series_search_hidden_rate"] = found["hidden_rate"]
            advice[name].update(entry)
    if AdviceType.TABLES_LINKS in kinds:
        for name, entry in advise_links(tables).items():
            advice[name].update(entry)
    document = [{"table_name": t.name, "advice": advice[t.name]} for t in tables]
    from avatars.protocol.results import ADVICE_FILE

    return {ResultKind.advice.value: [write_json(job, ADVICE_FILE, document)]}


def _normal(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


def _singular(name: str) -> str:
    normal = _normal(name)
    return normal[:-1] if normal.endswith("s") and len(normal) > 3 else normal


def _confidence(foreign_key: str, parent: SchemaTable, candidates: int) -> str | None:
    """How well a foreign key's name matches a parent (method.md §6.7): ``high`` when the
    schema leaves one parent or the names match (``patient_id`` → ``patient.id``,
    ``patient.patient_id``, ``patient.p_id`` named ``patient_p_id``), ``medium`` when the
    foreign key contains the parent's name, ``low`` on a weak match (a common prefix of three
    letters or more), None when nothing matches."""
    key, pk, table = _normal(foreign_key), _normal(parent.primary_key or ""), _singular(parent.name)
    if candidates == 1:
        return "high"
    if key in {pk, table + pk, table + "id", table + "key"} and pk:
        return "high"
    if table and table in key:
        return "medium"
    common = 0
    for a, b in zip(key, table, strict=False):
        if a != b:
            break
        common += 1
    return "low" if common >= 3 else None


def advise_links(tables: Sequence[SchemaTable]) -> dict[str, dict[str, Any]]:
    """``{table: {"links": [...], "unlinked_foreign_keys": [...]}}``: for each foreign key
    (``identifier`` column) that no link covers, the parent it most likely points to, with a
    confidence, from the names of the tables and keys only (the official client's
    ``advise_links`` reads ``links`` of the parent's entry and ``unlinked_foreign_keys`` of the
    child's)."""
    covered = {(link.to.table, link.to.field) for t in tables for link in t.links or []}
    parents = [t for t in tables if t.primary_key is not None and t.time_series_time is None]
    out: dict[str, dict[str, Any]] = {
        t.name: {"links": [], "unlinked_foreign_keys": []} for t in tables
    }
    for child in tables:
        for column in child.columns or []:
            if not column.identifier or (child.name, column.field) in covered:
                continue
            candidates = [p for p in parents if p.name != child.name]
            scored = [(p, _confidence(column.field, p, len(candidates))) for p in candidates]
            ranked = sorted(
                ((p, c) for p, c in scored if c is not None),
                key=lambda item: ("high", "medium", "low").index(item[1] or "low"),
            )
            best = [item for item in ranked if item[1] == ranked[0][1]] if ranked else []
            if len(best) != 1:
                out[child.name]["unlinked_foreign_keys"].append(
                    {"field": column.field, "candidate_tables": [p.name for p in candidates]}
                )
                continue
            parent, confidence = best[0]
            method = (
                LinkMethod.TIME_SERIES
                if child.time_series_time is not None
                else LinkMethod.LINEAR_SUM_ASSIGNMENT
            )
            out[parent.name]["links"].append(
                {
                    "field": parent.primary_key,
                    "to": {"table": child.name, "field": column.field},
                    "method": method.value,
                    "confidence": confidence,
                }
            )
    return out


# -- report ------------------------------------------------------------------------------------


def report_tables(
    job: JobInput,
    tables: dict[str, dict[str, Any]],
    schema: list[SchemaTable],
    run_metadata: dict[str, Any],
) -> None:
    """Shape the report inputs of a linked schema: each table's own columns (keys are
    pseudonymous tokens: no distribution to show), its headline privacy document, its run
    metadata entry, and the relational metrics and warnings as extra fields."""
    per_table = run_metadata.get("tables") or {}
    warnings = list(run_metadata.get("warnings") or [])
    links = [(t.name, link.to.table, link.to.field) for t in schema for link in t.links or []]
    for table in schema:
        entry = tables.setdefault(table.name, {})
        if table.name in per_table:
            entry["run_metadata"] = per_table[table.name]
        keys = {table.primary_key, table.time_series_time}
        keys |= {fk for _parent, child, fk in links if child == table.name}
        # pseudonyms have no distribution to compare with the original values'
        keys |= set(pseudonymized_columns(table))
        for field in ("original", "avatars"):
            frame = entry.get(field)
            if isinstance(frame, pd.DataFrame):
                entry[field] = frame[[c for c in frame.columns if c not in keys]]
        if table.time_series_time is not None:
            entry.pop("original_coordinates", None)
            entry.pop("avatar_coordinates", None)
        if warnings:
            entry["warnings"] = warnings


def report_extras(job: JobInput, ancestors: Sequence[Any], standard: Any) -> dict[str, Any] | None:
    """The report's linked-tables section (:mod:`avatars.engine.reports.linked`): the standard
    job's warnings, the signal documents' relations (each link once) and every privacy
    document's headline hidden rate; None when the run is not a linked schema's."""
    run_metadata: dict[str, Any] | None = None
    for key in ((standard.outputs or {}) if standard is not None else {}).get(
        ResultKind.run_metadata.value, []
    ):
        value = _read_json(job, key)
        if isinstance(value.get("tables"), dict):
            run_metadata = value
    if run_metadata is None:
        return None
    links: dict[tuple[str, str, str], Any] = {}
    privacy: list[dict[str, Any]] = []
    for parent in ancestors:
        outputs = parent.outputs or {}
        for key in outputs.get(ResultKind.signal_metrics.value, []):
            document = _read_json(job, key)
            for link in (document.get("multi_table") or {}).get("links") or []:
                links.setdefault((link["parent"], link["child"], link["foreign_key"]), link)
        for key in outputs.get(ResultKind.privacy_metrics.value, []):
            document = _read_json(job, key)
            metadata = document.get("metadata") or {}
            privacy.append(
                {
                    "table": metadata.get("table_name"),
                    "computation_type": metadata.get("computation_type"),
                    "reference": metadata.get("reference"),
                    "hidden_rate": document.get("hidden_rate"),
                }
            )
    return {
        "warnings": list(run_metadata.get("warnings") or []),
        "links": list(links.values()),
        "privacy": privacy,
    }
