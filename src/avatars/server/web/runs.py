"""Runs as the web pages see them: tables to start from, starting a run, following it, its
results; and the advice for a privacy target. No HTTP here: the pages
(:mod:`avatars.server.web.pages`) call these functions, which call the services, as the REST API
does.

A run started from the web is what the SDK's ``Runner.run()`` makes: the same resource-set YAML
(written by :class:`avatars.runner_config.RunnerConfig`, the SDK's own writer), stored with
:func:`services.resources.create_set`, and the same jobs (standard, signal and privacy metrics,
the basic report and the PIA report) created by :func:`services.jobs.create_flow`. Results,
reports and metrics are therefore those of an SDK run, and the SDK can open a web run
(``manager.create_runner_from_id(set_name)``).

The advice for a privacy target is what ``Runner.advise_parameters(targets=...)`` makes: a
resource set with the table and an advice document with ``advice.targets``, and its advice job
(:func:`start_advice`); a job worker runs the measured search, the advice's page follows the
job and shows the check page again with what it advised (:func:`advice_view`).

The result page reads only what the jobs already wrote and whose size does not grow with the
number of rows: the metrics JSON files, the run metadata and the figures' index. Figures and
downloads are streamed from storage when the browser asks for them.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import hashlib
import json
import os
import posixpath
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import quote

import pandas as pd

from avatars import __version__
from avatars.engine.errors import AvatarsEngineError
from avatars.engine.io import format_of, read_table, write_table
from avatars.engine.metric_rows import MetricRow
from avatars.engine.texts import Language, tr
from avatars.protocol.documents import (
    AdviceDocument,
    MetadataDocument,
    ResourceSetError,
    SchemaDocument,
    parse_resource_set,
)
from avatars.protocol.enums import (
    FAILURE_STATUSES,
    AdviceType,
    ColumnType,
    ImputeMethod,
    JobKind,
    JobStatus,
    PlotKind,
    ReportLanguage,
    ReportType,
    ResultKind,
)
from avatars.runner_config import (
    RunnerConfig,
    avatarization_block,
    imputation_block,
    privacy_metrics_block,
    signal_metrics_block,
)
from avatars.server import files
from avatars.server.db.models import Job
from avatars.server.jobs import lifecycle
from avatars.server.services import datasets, jobs, resources, results
from avatars.server.services.context import Caller, Context
from avatars.server.services.datasets import DatasetInfo, Offload
from avatars.server.services.errors import Conflict, InvalidInput, NotFound
from avatars.server.storage import ObjectInfo, ObjectNotFoundError
from avatars.server.web import analysis

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
#: Characters a run's name may not hold: the SDK puts it in URL paths.
_NAME_FORBIDDEN = "/?#"
FAILED = {s.value for s in FAILURE_STATUSES}


# -- tables ---------------------------------------------------------------------------------------


def list_tables(ctx: Context, caller: Caller) -> list[DatasetInfo]:
    """The caller's uploaded tables (CSV and Parquet files), newest first."""
    tables = [
        d for d in datasets.list_datasets(ctx, caller) if d.name.lower().endswith(TABLE_SUFFIXES)
    ]
    return sorted(tables, key=lambda d: d.info.last_modified, reverse=True)


def check_table_name(name: str) -> str:
    datasets.check_name(name)
    if not name.lower().endswith(TABLE_SUFFIXES):
        raise InvalidInput(f"{name}: only .csv and .parquet files are accepted")
    return name


def _dataset_key(ctx: Context, caller: Caller, name: str) -> str:
    check_table_name(name)
    return files.upload_key(caller.user_id, ctx.settings.dataset_expiration_days, name)


def read_dataset(
    ctx: Context, caller: Caller, name: str, column_types: dict[str, str] | None = None
) -> tuple[ObjectInfo, pd.DataFrame]:
    """One of the caller's tables, read as a job would read it."""
    key = _dataset_key(ctx, caller, name)
    try:
        info = ctx.storage.info(key)
        with ctx.storage.open_read(key) as handle:
            df = read_table(handle, format=format_of(name), column_types=column_types or None)
    except ObjectNotFoundError:
        raise NotFound.of("table") from None
    except AvatarsEngineError as exc:
        raise InvalidInput(str(exc)) from None
    return info, df


class _Cache:
    """The last few inspections, keyed by the object's key and ETag: reloading the check page
    of a large table does not read it again."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self.items: collections.OrderedDict[tuple[str, str], analysis.TableReport] = (
            collections.OrderedDict()
        )
        self.lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> analysis.TableReport | None:
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
            return found

    def put(self, key: tuple[str, str], report: analysis.TableReport) -> None:
        with self.lock:
            self.items[key] = report
            while len(self.items) > self.size:
                self.items.popitem(last=False)


_inspections = _Cache()


def inspect_dataset(ctx: Context, caller: Caller, name: str) -> analysis.TableReport:
    """Column types, identifiers and advice for one of the caller's tables."""
    key = _dataset_key(ctx, caller, name)
    try:
        etag = ctx.storage.info(key).etag
    except ObjectNotFoundError:
        raise NotFound.of("table") from None
    cached = _inspections.get((key, etag))
    if cached is not None:
        return cached
    _info, df = read_dataset(ctx, caller, name)
    if df.shape[1] == 0 or len(df) < 2:
        raise InvalidInput(f"{name}: a table needs a header, at least one column and two rows")
    try:
        report = analysis.inspect_table(df)
    except AvatarsEngineError as exc:
        raise InvalidInput(str(exc)) from None
    _inspections.put((key, etag), report)
    return report


# -- starting a run -------------------------------------------------------------------------------


@dataclass
class RunChoices:
    """What the check page's form says."""

    dataset: str
    display_name: str
    types: dict[str, str]
    identifier_choices: dict[str, str] = field(default_factory=dict)
    k: int = 10
    ncp: int | None = None
    seed: int | None = None
    imputation_method: str | None = None
    language: str = "en"


def table_name_of(dataset: str) -> str:
    """``aids.csv`` → ``aids`` (the table's name in the YAML and in result file names)."""
    stem = dataset.rsplit(".", 1)[0] if "." in dataset else dataset
    return stem or "table"


def _checked_columns(
    types: dict[str, str], identifier_choices: dict[str, str], report: analysis.TableReport
) -> analysis.IdentifierPlan:
    """The form's column types and identifier choices checked against the table; the plan."""
    known = {c.name for c in report.columns}
    for column, kind in types.items():
        if column not in known:
            raise InvalidInput(f"types: no column {column!r} in the table")
        try:
            ColumnType(kind)
        except ValueError:
            allowed = ", ".join(t.value for t in ColumnType)
            raise InvalidInput(f"type of {column!r}: {kind!r} is not one of {allowed}") from None
    try:
        plan = analysis.identifier_plan(identifier_choices, report)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if len(plan.not_avatarized) >= len(known):
        raise InvalidInput("every column would be left out: keep at least one to avatarize")
    return plan


def _checked(choices: RunChoices, report: analysis.TableReport) -> None:
    name = choices.display_name.strip()
    if not name or any(c in name for c in _NAME_FORBIDDEN):
        raise InvalidInput("the run's name must not be empty nor contain '/', '?' or '#'")
    resources.check_display_name(name)
    choices.display_name = name
    _checked_columns(choices.types, choices.identifier_choices, report)
    if choices.imputation_method is not None:
        try:
            ImputeMethod(choices.imputation_method)
        except ValueError:
            raise InvalidInput(f"unknown imputation method {choices.imputation_method!r}") from None
    ReportLanguage(choices.language)


def _add_table(
    config: RunnerConfig,
    table: str,
    file: str,
    types: dict[str, str],
    plan: analysis.IdentifierPlan | None,
    *,
    drop: bool = False,
) -> None:
    """The table, its types and the identifiers' plan as column flags: the key column
    (``primary_key``), the pseudonymized columns (the schema's ``pseudonymization`` strategy
    objects) and, with ``drop``, the columns left out (``drop: true``; a run uploads a copy
    without them instead)."""
    entry = config.add_table(
        table, file, types=dict(types), primary_key=plan.key if plan is not None else None
    )
    flags: dict[str, dict[str, Any]] = {}
    if plan is not None:
        flags = {c: {"pseudonymization": dict(s)} for c, s in plan.pseudonymize.items()}
        if drop:
            flags.update({c: {"drop": True} for c in plan.drop})
    for column in entry.columns:
        column.update(flags.get(column["field"], {}))
    missing = set(flags) - {c["field"] for c in entry.columns}
    entry.columns += [{"field": c, **flags[c]} for c in sorted(missing)]


def resource_set_yaml(
    choices: RunChoices,
    table: str,
    file: str,
    types: dict[str, str],
    plan: analysis.IdentifierPlan | None = None,
) -> str:
    """The YAML ``Runner.run()`` would send for the same table and parameters, with the
    identifiers' plan: the key column (``primary_key``) and the pseudonymized columns (the
    schema's ``pseudonymization`` strategy objects, avatar-yaml 0.1.45+)."""
    config = RunnerConfig(
        choices.display_name,
        seed=choices.seed,
        annotations={"client_type": "web", "client_version": __version__},
    )
    _add_table(config, table, file, types, plan)
    imputation = (
        imputation_block(choices.imputation_method, None, None, None)
        if choices.imputation_method
        else None
    )
    try:
        avatarization = avatarization_block(
            choices.k, choices.ncp, None, None, exclude=None, imputation=imputation
        )
        privacy = privacy_metrics_block(
            ncp=choices.ncp,
            use_categorical_reduction=None,
            known_variables=None,
            target=None,
            quantile_threshold=None,
            imputation=imputation,
            exclude=None,
            column_weights=None,
        )
        signal = signal_metrics_block(
            ncp=choices.ncp,
            use_categorical_reduction=None,
            imputation=imputation,
            column_weights=None,
            exclude=None,
        )
    except ValueError as exc:  # ParameterError: the protocol's wording, naming the field
        raise InvalidInput(str(exc)) from None
    config.set_table_parameters(table, avatarization, privacy, signal)
    for report_type in (ReportType.BASIC, ReportType.PIA):
        config.create_report(report_type, language=ReportLanguage(choices.language))
    try:
        return config.get_yaml()
    except (ValueError, ResourceSetError) as exc:
        raise InvalidInput(str(exc)) from None


def _file_chunks(path: str) -> AsyncIterator[bytes]:
    async def chunks() -> AsyncIterator[bytes]:
        with open(path, "rb") as handle:
            while block := handle.read(datasets.WRITE_BLOCK):
                yield block

    return chunks()


async def _without_columns(
    ctx: Context, caller: Caller, choices: RunChoices, drop: list[str], offload: Offload
) -> str:
    """Upload a copy of the table without the ``drop`` columns; its name. The name tells
    what was left out, in a short hash, so that two runs leaving out the same columns share it."""
    _info, df = await offload(read_dataset, ctx, caller, choices.dataset, choices.types)
    fmt = format_of(choices.dataset)
    digest = hashlib.sha256("\x00".join(sorted(drop)).encode()).hexdigest()[:8]
    extension = "parquet" if fmt == "parquet" else "csv"
    name = f"{table_name_of(choices.dataset)}.without-{digest}.{extension}"
    with tempfile.TemporaryDirectory(prefix="avatars-web-") as folder:
        path = os.path.join(folder, name)
        await offload(write_table, df.drop(columns=drop), path, fmt)
        await datasets.upload_dataset(ctx, caller, name, _file_chunks(path), offload)
    return name


async def start_run(
    ctx: Context, caller: Caller, choices: RunChoices, offload: Offload
) -> uuid.UUID:
    """Store the run's resource set and create its jobs; the set's name."""
    report = await offload(inspect_dataset, ctx, caller, choices.dataset)
    _checked(choices, report)
    plan = analysis.identifier_plan(choices.identifier_choices, report)
    file = choices.dataset
    if plan.drop:
        file = await _without_columns(ctx, caller, choices, plan.drop, offload)
    types = {c: t for c, t in choices.types.items() if c not in plan.drop}
    text = resource_set_yaml(choices, table_name_of(choices.dataset), file, types, plan)
    row = await offload(resources.create_set, ctx, caller, choices.display_name, text)
    await offload(jobs.create_flow, ctx, caller, row.id)
    return row.id


# -- advice for a privacy target ------------------------------------------------------------------
# The measured search avatarizes candidates: seconds to a minute of CPU. It is an advice job, as
# ``Runner.advise_parameters(targets=...)`` makes one, run by a job worker; the pages follow it.

#: The metadata annotation that keeps, with a web advice's resource set, the check form's own
#: fields as typed (the schema holds the types and the identifier choices, the advice document
#: the target): the advice's page shows the form again with them.
FORM_ANNOTATION = "web_check_form"
#: The check form's fields kept in :data:`FORM_ANNOTATION`.
FORM_FIELDS = ("display_name", "k", "ncp", "seed", "imputation", "report_language", "target_value")


@dataclass
class AdviceChoices:
    """The check page's form, when its "find the parameters" button posts it."""

    dataset: str
    target_metric: str
    target_value: str  # as typed
    types: dict[str, str]
    identifier_choices: dict[str, str] = field(default_factory=dict)
    #: The form's fields of :data:`FORM_FIELDS`, as typed.
    form: dict[str, str] = field(default_factory=dict)


def _threshold(text: str) -> float:
    text = text.strip().replace(",", ".")
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(f"target: {text!r} is not a number") from None


def _advice_display_name(dataset: str) -> str:
    name = table_name_of(dataset)
    for forbidden in _NAME_FORBIDDEN:
        name = name.replace(forbidden, "_")
    return name[:200]


def advice_set_yaml(
    choices: AdviceChoices, targets: dict[str, float], plan: analysis.IdentifierPlan
) -> tuple[str, str]:
    """The YAML ``Runner.advise_parameters(targets=...)`` would send for the table, and the
    name of its advice document: the table with the form's types and the identifiers' plan as
    column flags (as :func:`resource_set_yaml` writes them for a run; the columns left out are
    flagged ``drop: true``), an advice document with ``advice.targets``, and the form's other
    fields in the metadata's :data:`FORM_ANNOTATION`."""
    form = {name: str(choices.form.get(name, "")) for name in FORM_FIELDS}
    config = RunnerConfig(
        _advice_display_name(choices.dataset),
        annotations={
            "client_type": "web",
            "client_version": __version__,
            FORM_ANNOTATION: json.dumps(form, ensure_ascii=False),
        },
    )
    table = table_name_of(choices.dataset)
    _add_table(config, table, choices.dataset, choices.types, plan, drop=True)
    document = config.create_advice([AdviceType.PARAMETERS], dict(targets))
    try:
        return config.get_yaml(), document
    except (ValueError, ResourceSetError) as exc:
        raise InvalidInput(str(exc)) from None


async def start_advice(
    ctx: Context, caller: Caller, choices: AdviceChoices, offload: Offload
) -> str:
    """Check the form (the target first), store the advice's resource set and create its
    advice job; the job's name. A job worker runs the measured search
    (``handlers.run_advice``: ``advise_parameters`` with the targets, on a sample of at most
    ``SEARCH_MAX_ROWS`` rows), never this process."""
    report = await offload(inspect_dataset, ctx, caller, choices.dataset)
    threshold = _threshold(choices.target_value)
    try:
        targets = analysis.check_target(choices.target_metric, threshold)
    except AvatarsEngineError as exc:
        raise InvalidInput(str(exc)) from None
    plan = _checked_columns(choices.types, choices.identifier_choices, report)
    text, document = advice_set_yaml(choices, targets, plan)
    display_name = _advice_display_name(choices.dataset)
    row = await offload(resources.create_set, ctx, caller, display_name, text)
    job = await offload(jobs.create_job, ctx, caller, set_name=row.id, parameters_name=document)
    return job.name


@dataclass
class AdviceView:
    """A web advice: its job, the table and the check form it was asked from, and the
    advice once the job has finished."""

    job: JobLine
    dataset: str
    #: The check form's values (:func:`avatars.server.web.pages._check_form`'s shape).
    values: dict[str, Any]
    #: The wanted targets, ``{metric: target string}`` (``{"hidden_rate": "> 85"}``).
    targets: dict[str, str]
    #: The table's entry of the job's ``advice.json`` (``advise_parameters``' output).
    advice: dict[str, Any] | None = None

    @property
    def done(self) -> bool:
        return self.job.done


def _advice_job(ctx: Context, caller: Caller, job_name: str) -> Job:
    """An advice job of the caller's own (:class:`NotFound` otherwise, and for other jobs).
    Its own only, administrators included: the advice's page is the check page of one of the
    caller's uploaded tables, which a colleague does not have."""
    job = jobs.get_job(ctx, caller, job_name)
    if (
        job.kind != JobKind.advice.value
        or job.deleted_at is not None
        or job.user_id != caller.user_id
    ):
        raise NotFound.of("job")
    return job


def job_page(ctx: Context, caller: Caller, job_name: str) -> str:
    """Where a job is shown: a web advice of the caller's on its advice page, any other job
    on its run's page (:class:`NotFound` for a job the caller may not see)."""
    job = jobs.get_job(ctx, caller, job_name)
    if job.kind == JobKind.advice.value and job.user_id == caller.user_id:
        with contextlib.suppress(NotFound):  # an advice asked through the API: its run
            _advice_form(resources.get_set(ctx, caller, job.set_name).yaml, job.parameters_name)
            return f"/advice/{job.name}"
    return f"/runs/{job.set_name}"


def cancel_advice(ctx: Context, caller: Caller, job_name: str) -> None:
    """Cancel the advice's job unless it is over (its page then says the advice was
    cancelled)."""
    job = _advice_job(ctx, caller, job_name)
    if not JobStatus(job.status).is_terminal:
        with contextlib.suppress(Conflict):  # it ended meanwhile
            jobs.cancel_job(ctx, caller, job.name)


def advice_progress(ctx: Context, caller: Caller, job_name: str) -> JobLine:
    """The advice job's line (what the progress fragment polls)."""
    return _line(_advice_job(ctx, caller, job_name))


def _choice_of(column: Any) -> str | None:
    """The check page's identifier choice that a schema column's flags say."""
    strategy = column.strategy()
    if column.drop:
        return "drop"
    if strategy is not None:
        return str(strategy.kind)
    if column.primary_key or column.identifier:
        return "key"
    return None


def _advice_form(
    yaml_text: str, document: str
) -> tuple[str, Any, dict[str, Any], dict[str, float | str]]:
    """``(dataset, its schema table, the check form's values, the targets)`` of an advice
    set."""
    try:
        resource_set = parse_resource_set(yaml_text, check_references=False)
    except ResourceSetError:  # pragma: no cover - stored sets were validated
        raise NotFound.of("job") from None
    advice = resource_set.parameters(document)
    schema = (
        resource_set.schema(advice.spec.schema_name) if isinstance(advice, AdviceDocument) else None
    )
    tables = resource_set.original_schema(schema).spec.tables if schema is not None else []
    table = tables[0] if tables else None
    data = table.data if table is not None else None
    if not isinstance(advice, AdviceDocument) or table is None or data is None or not data.file:
        raise NotFound.of("job")  # not an advice of the check page
    metadata = next(iter(resource_set.of_kind(MetadataDocument.KIND)), None)
    annotations = getattr(metadata, "annotations", None) or {}
    try:
        form = json.loads(str(annotations.get(FORM_ANNOTATION) or "{}"))
    except ValueError:
        form = {}
    targets = dict(advice.spec.advice.targets or {})
    values: dict[str, Any] = {
        name: str(form[name]) for name in FORM_FIELDS if isinstance(form, dict) and name in form
    }
    if targets:
        metric, threshold = next(iter(targets.items()))
        values["target_metric"] = metric
        values.setdefault("target_value", str(threshold))
    values["types"] = {c: t.value for c, t in table.column_types().items()}
    values["choices"] = {
        c.field: choice for c in table.columns or [] if (choice := _choice_of(c)) is not None
    }
    return str(data.file), table, values, targets


def advice_view(ctx: Context, caller: Caller, job_name: str) -> AdviceView:
    """A web advice the caller may see (:class:`NotFound` for another organization's), with
    its result once its job has finished."""
    job = _advice_job(ctx, caller, job_name)
    row = resources.get_set(ctx, caller, job.set_name)
    dataset, table, values, targets = _advice_form(row.yaml, job.parameters_name)
    view = AdviceView(
        job=_line(job), dataset=dataset, values=values, targets=analysis.target_strings(targets)
    )
    if job.status == JobStatus.finished.value:
        try:
            outputs = results.result_keys(ctx, caller, job.name)
        except (NotFound, Conflict):  # expired or deleted meanwhile
            return view
        found = _json_result(ctx, outputs.get(ResultKind.advice.value, []))
        entries = [e for e in found or [] if isinstance(e, dict)]
        entry = next((e for e in entries if e.get("table_name") == table.name), None)
        if entry is not None and isinstance(entry.get("advice"), dict):
            view.advice = entry["advice"]
    return view


def advised_report(ctx: Context, caller: Caller, view: AdviceView) -> analysis.TableReport:
    """The check page's report of the advice's table, with the advised parameters when the
    job found them."""
    report = inspect_dataset(ctx, caller, view.dataset)
    return analysis.advised(report, view.advice) if view.advice is not None else report


# -- following a run ------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobLine:
    name: str
    parameters_name: str
    kind: str
    status: str
    progress: float
    phase: str
    exception: str

    @property
    def label(self) -> str:
        """The catalogue key naming the job for a person."""
        if self.parameters_name == "report_pia":
            return "job_report_pia"
        return f"job_{self.kind}"

    @property
    def done(self) -> bool:
        return JobStatus(self.status).is_terminal


def _line(job: Job) -> JobLine:
    return JobLine(
        name=job.name,
        parameters_name=job.parameters_name,
        kind=job.kind,
        status=job.status,
        progress=float(job.progress or 0.0),
        phase=job.phase or "",
        exception=job.exception or "",
    )


@dataclass(frozen=True)
class RunSummary:
    set_name: uuid.UUID
    display_name: str
    created_at: dt.datetime
    status: str
    jobs: int


def _overall(statuses: list[str]) -> str:
    if any(s in FAILED for s in statuses):
        return next(s for s in statuses if s in FAILED)
    if all(s == JobStatus.finished.value for s in statuses):
        return JobStatus.finished.value
    if any(s == JobStatus.pending.value for s in statuses):
        return JobStatus.pending.value
    return JobStatus.queued.value


def list_runs(ctx: Context, caller: Caller, limit: int = 500) -> list[RunSummary]:
    """The runs (resource sets with jobs) the caller may see, newest first, from their newest
    ``limit`` jobs."""
    grouped: dict[uuid.UUID, list[Job]] = {}
    for job in jobs.list_jobs(ctx, caller, jobs.JobFilter(limit=limit)):
        grouped.setdefault(job.set_name, []).append(job)
    # a web advice's set (its one advice job) is not a run
    advice = JobKind.advice.value
    grouped = {s: m for s, m in grouped.items() if any(j.kind != advice for j in m)}
    runs = [
        RunSummary(
            set_name=set_name,
            display_name=members[0].display_name,
            created_at=min(j.created_at for j in members),
            status=_overall([j.status for j in members]),
            jobs=len(members),
        )
        for set_name, members in grouped.items()
    ]
    return sorted(runs, key=lambda r: r.created_at, reverse=True)


@dataclass(frozen=True)
class Figure:
    kind: str
    title: str
    url: str


@dataclass(frozen=True)
class Download:
    label: str  # a catalogue key
    url: str
    file: str


@dataclass
class RunView:
    set_name: uuid.UUID
    display_name: str
    created_at: dt.datetime
    tables: list[str]
    jobs: list[JobLine]
    privacy: list[MetricRow] = field(default_factory=list)
    signal: list[MetricRow] = field(default_factory=list)
    verdict: analysis.Verdict | None = None
    avatar_rows: int | None = None
    avatar_columns: int | None = None
    figures: list[Figure] = field(default_factory=list)
    downloads: list[Download] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return bool(self.jobs) and all(job.done for job in self.jobs)

    @property
    def failure(self) -> JobLine | None:
        return next((job for job in self.jobs if job.status in FAILED), None)

    @property
    def progress(self) -> float:
        if not self.jobs:
            return 0.0
        return sum(1.0 if j.done else j.progress for j in self.jobs) / len(self.jobs)


def run_jobs(ctx: Context, caller: Caller, set_name: uuid.UUID) -> list[JobLine]:
    """The run's jobs in the order they run (what the progress fragment polls)."""
    found = jobs.list_jobs(ctx, caller, jobs.JobFilter(set_name=set_name))
    position = {lifecycle.KIND_OF_DOCUMENT[kind].value: i for i, kind in enumerate(jobs.FLOW_ORDER)}
    found.sort(key=lambda j: (position.get(j.kind, len(position)), j.created_at, j.name))
    return [_line(job) for job in found]


def run_progress(ctx: Context, caller: Caller, set_name: uuid.UUID) -> list[JobLine]:
    """The run's jobs, checking first that the caller may see the run (:class:`NotFound`)."""
    resources.get_set(ctx, caller, set_name)
    return run_jobs(ctx, caller, set_name)


def _tables_of(yaml_text: str) -> list[str]:
    try:
        resource_set = parse_resource_set(yaml_text, check_references=False)
    except ResourceSetError:
        return []
    names: list[str] = []
    for doc in resource_set.of_kind(SchemaDocument.KIND):
        assert isinstance(doc, SchemaDocument)
        if not doc.spec.schema_ref:
            names += [t.name for t in doc.spec.tables]
    return names


def _json_result(ctx: Context, keys: list[str]) -> Any:
    return json.loads(ctx.storage.read_bytes(keys[0])) if keys else None


def _file_url(set_name: uuid.UUID, job: JobLine, key: str) -> str:
    return f"/runs/{set_name}/files/{job.name}/{quote(posixpath.basename(key))}"


def run_view(ctx: Context, caller: Caller, set_name: uuid.UUID, language: Language) -> RunView:
    """A run and, for its finished jobs, what they wrote that a person reads."""
    row = resources.get_set(ctx, caller, set_name)
    view = RunView(
        set_name=row.id,
        display_name=row.display_name,
        created_at=row.created_at,
        tables=_tables_of(row.yaml),
        jobs=run_jobs(ctx, caller, set_name),
    )
    privacy_result = signal_result = None
    for job in view.jobs:
        if job.status != JobStatus.finished.value:
            continue
        try:
            outputs = results.result_keys(ctx, caller, job.name)
        except (NotFound, Conflict):  # expired or deleted meanwhile
            continue
        if job.kind == JobKind.standard.value:
            _read_standard(ctx, view, job, outputs, language)
        elif job.kind == JobKind.privacy_metrics.value:
            privacy_result = _json_result(ctx, outputs.get(ResultKind.privacy_metrics.value, []))
        elif job.kind == JobKind.signal_metrics.value:
            signal_result = _json_result(ctx, outputs.get(ResultKind.signal_metrics.value, []))
        elif job.kind == JobKind.report.value:
            view.downloads += _report_downloads(view.set_name, job, outputs)
    if privacy_result is not None:
        view.privacy = analysis.privacy_rows(privacy_result)
    if signal_result is not None:
        view.signal = analysis.signal_rows(signal_result)
    if privacy_result is not None or signal_result is not None:
        view.verdict = analysis.verdict(privacy_result, view.signal, language)
    return view


def _read_standard(
    ctx: Context, view: RunView, job: JobLine, outputs: dict[str, list[str]], language: Language
) -> None:
    for key in outputs.get(ResultKind.shuffled.value, []):
        label = "download_avatars_parquet" if key.endswith(".parquet") else "download_avatars"
        view.downloads.insert(0, Download(label, _file_url(view.set_name, job, key), key))
    metadata = _json_result(ctx, outputs.get(ResultKind.run_metadata.value, []))
    if isinstance(metadata, dict):
        view.avatar_rows = metadata.get("rows")
        columns = metadata.get("columns")
        view.avatar_columns = len(columns) if isinstance(columns, list) else None
    index = outputs.get(ResultKind.figures_metadata.value, [])
    entries = _json_result(ctx, index) if index else []
    figure_keys = {posixpath.basename(k): k for k in outputs.get(ResultKind.figures.value, [])}
    for entry in entries if isinstance(entries, list) else []:
        figure_key = figure_keys.get(str(entry.get("filename")))
        if figure_key is None:
            continue
        kind = str(entry.get("kind", ""))
        try:
            title = tr(f"fig_{PlotKind(kind).value}", language)
        except (KeyError, ValueError):
            title = kind.replace("_", " ")
        view.figures.append(Figure(kind, title, _file_url(view.set_name, job, figure_key)))


def _report_downloads(
    set_name: uuid.UUID, job: JobLine, outputs: dict[str, list[str]]
) -> list[Download]:
    found = []
    for key in outputs.get(ResultKind.report.value, []) + outputs.get(
        ResultKind.report_html.value, []
    ):
        name = posixpath.basename(key)
        if name.endswith(".report.pia.docx"):
            label = "download_pia"
        elif name.endswith(".pdf"):
            label = "download_report_pdf"
        elif name.endswith(".html"):
            label = "download_report_html"
        elif name.endswith(".docx"):
            label = "download_report_docx"
        else:
            continue
        found.append(Download(label, _file_url(set_name, job, key), key))
    return found


def cancel_run(ctx: Context, caller: Caller, set_name: uuid.UUID) -> int:
    """Cancel the run's unfinished jobs; how many."""
    resources.get_set(ctx, caller, set_name)
    cancelled = 0
    for job in run_jobs(ctx, caller, set_name):
        if not job.done:
            try:
                jobs.cancel_job(ctx, caller, job.name)
                cancelled += 1
            except Conflict:  # it ended meanwhile
                pass
    return cancelled


def open_run_file(
    ctx: Context,
    caller: Caller,
    set_name: uuid.UUID,
    job_name: str,
    file_name: str,
    *,
    audit: bool,
) -> tuple[ObjectInfo, BinaryIO]:
    """A result file of one of the run's jobs (:class:`NotFound` for another run's job)."""
    job = jobs.get_job(ctx, caller, job_name)
    if job.set_name != set_name:
        raise NotFound.of("job")
    return results.open_result(ctx, caller, job_name, file_name, audit=audit)


def read_blocks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while block := handle.read(datasets.WRITE_BLOCK):
            yield block
