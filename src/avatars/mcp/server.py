"""The MCP server: tools a model uses to take a table from a file to avatars and a verdict.

Tools (each description says what it costs and returns):

- ``describe_table``     types, missing values, identifiers, no cell value
- ``advise_parameters``  k, ncp and imputation for a table (and privacy targets)
- ``avatarize``          a run: avatars, privacy and signal metrics, the verdict in plain words
- ``get_metrics``        every metric of a run with its target, and the verdict
- ``compare_runs``       runs side by side, and which one to keep
- ``list_runs``          the caller's runs
- ``download_results``   avatars (CSV), metrics (JSON) or report (PDF): a resource, or a file

Large results are resources (``avatars://runs/{run_id}/avatars.csv``, ``metrics.json``,
``report.pdf``), never long strings in a tool's answer. Where runs go is an :class:`Access`:
the local engine and optionally a platform (``avatars mcp``), or the platform on behalf of the
authenticated caller (the server mounted at ``/mcp`` on ``avatars serve``).
"""

from __future__ import annotations

import functools
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import pandas as pd
from fastmcp import FastMCP
from fastmcp.exceptions import ResourceError, ToolError
from fastmcp.server.auth import AuthProvider
from pydantic import Field

from avatars.engine.errors import AvatarsEngineError
from avatars.exceptions import AvatarsError
from avatars.mcp import analysis
from avatars.mcp.errors import UsageError
from avatars.mcp.local import LocalRuns
from avatars.mcp.platform import PlatformRuns
from avatars.mcp.runs import FILES, RunOptions, RunRecord, Runs, What, resource_uri
from avatars.mcp.tables import TableRef

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

INSTRUCTIONS = """\
Anonymize tables with the avatar method: each original record gets one synthetic record
(an avatar) built from its k nearest neighbours, and metrics prove that no individual can be
singled out while the statistics are kept. Avatars are not k-anonymity: k is a number of
neighbours.

Work in this order: describe_table (types, identifiers to drop), optionally
advise_parameters, avatarize (returns a run_id and the verdict), get_metrics or
compare_runs, then download_results. Tables are named example:iris (bundled examples:
iris, wbcd, aids), dataset:<name> (a table uploaded to the platform) or, when the server
runs on the user's machine, an absolute file path. Tell the user the verdict's summary and
what to change when it fails; never show them avatars as if they were real people."""


class Access(ABC):
    """Where the tools run avatarizations, and what they may read and write."""

    #: Whether tools may read and write files of the machine the server runs on.
    files_allowed: bool

    @abstractmethod
    def places(self) -> list[Runs]:
        """Every place available to the caller, the default first."""

    def place(self, where: str | None) -> Runs:
        places = self.places()
        if where is None:
            return places[0]
        for runs in places:
            if runs.where == where:
                return runs
        available = ", ".join(repr(r.where) for r in places)
        raise UsageError(f"where={where!r} is not available here; choose {available}")

    def place_of(self, run_id: str) -> Runs:
        for runs in self.places():
            if runs.owns(run_id):
                return runs
        raise UsageError(f"no run {run_id!r} here: list_runs shows the runs you can read")


class StandaloneAccess(Access):
    """``avatars mcp``: one user's server on their machine. The local engine always (runs in
    ``workspace``); a platform too when given its URL and an API key."""

    files_allowed = True

    def __init__(
        self, workspace: Path, platform_url: str | None = None, api_key: str | None = None
    ) -> None:
        self.local = LocalRuns(workspace)
        self.platform = PlatformRuns(platform_url, api_key) if platform_url and api_key else None

    def places(self) -> list[Runs]:
        return [self.local, *([self.platform] if self.platform else [])]


def tool_errors(function: F) -> F:
    """Show a :class:`UsageError` (and the engine's and SDK's own user errors) as they are;
    log anything else with its traceback and say it is internal."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except UsageError as exc:
            raise ToolError(exc.message) from None
        except AvatarsEngineError as exc:
            raise ToolError(str(exc)) from None
        except AvatarsError as exc:
            raise ToolError(getattr(exc, "message", None) or str(exc)) from None
        except Exception:
            log.exception("MCP tool %s failed", function.__name__)
            raise ToolError(
                f"internal error in {function.__name__} (logged on the server); this is a bug, "
                "not a problem with the call"
            ) from None

    return wrapper  # type: ignore[return-value]


# -- argument types shown to the model ------------------------------------------------------
TableArg = Annotated[
    str,
    Field(
        description="example:iris | example:wbcd | example:aids (bundled), dataset:<name> (a "
        "table uploaded to the platform), or the absolute path of a CSV/Parquet file (only "
        "when the server runs on the user's machine)"
    ),
]
TypesArg = Annotated[
    dict[str, str] | None,
    Field(
        description="column → type (int, float, bool, category, datetime, datetime_tz) for "
        "the columns whose type the file does not tell, e.g. numeric codes: {'race': "
        "'category'}"
    ),
]
ColumnsArg = Annotated[list[str] | None, Field(description="column names")]
RunIdArg = Annotated[str, Field(description="a run_id returned by avatarize or list_runs")]
WhatArg = Annotated[
    Literal["avatars", "metrics", "report"],
    Field(description="avatars (CSV), metrics (JSON) or report (PDF, if the run made one)"),
]


class Tools:
    """The tools, bound to where they run (``access``); each method's docstring is the
    description the model reads."""

    def __init__(self, access: Access) -> None:
        self.access = access

    @tool_errors
    def describe_table(self, table: TableArg, column_types: TypesArg = None) -> dict[str, Any]:
        """Describe a table before anonymizing it: rows; each column's type, missing and
        distinct values; the columns that identify individuals (they must be dropped or
        declared before avatarize); constant columns; numeric columns with few values, better
        declared categories. Returns counts only, never a cell value.

        Cost: reads the whole table once (about a second per million cells); stores nothing.
        """
        ref = TableRef.parse(table, files_allowed=self.access.files_allowed)
        df = _read_for(self.access, ref, column_types)
        return {"table": ref.name, **analysis.describe_columns(df, column_types)}

    @tool_errors
    def advise_parameters(
        self,
        table: TableArg,
        targets: Annotated[
            dict[str, float] | None,
            Field(
                description="privacy targets, metric → threshold in the metric's unit, e.g. "
                "{'hidden_rate': 95, 'local_cloaking': 10}"
            ),
        ] = None,
        column_types: TypesArg = None,
        drop: ColumnsArg = None,
    ) -> dict[str, Any]:
        """Suggest the avatarization parameters of a table: k (neighbours per avatar: more
        hides individuals better and smooths the data more), ncp (projected dimensions) and
        the imputation of missing values; says what the advice rests on and whether the
        targets were measured.

        Cost: reads the table (seconds); stores nothing.
        """
        ref = TableRef.parse(table, files_allowed=self.access.files_allowed)
        df = _read_for(self.access, ref, column_types)
        df = _drop(df, drop)
        return {"table": ref.name, **analysis.advise(df, _types_in(column_types, df), targets)}

    @tool_errors
    def avatarize(
        self,
        table: TableArg,
        k: Annotated[
            int | None,
            Field(ge=2, description="neighbours per avatar (default: advise_parameters' k)"),
        ] = None,
        ncp: Annotated[int | None, Field(ge=1, description="projected dimensions")] = None,
        seed: Annotated[int | None, Field(description="the same seed gives the same avatars")] = 0,
        column_types: TypesArg = None,
        drop: Annotated[
            list[str] | None,
            Field(description="columns removed before anonymizing (identifiers, free text)"),
        ] = None,
        exclude: Annotated[
            list[str] | None,
            Field(
                description="columns left out of the avatarization and re-attached unchanged "
                "by row order: their values are NOT anonymized"
            ),
        ] = None,
        not_identifiers: Annotated[
            list[str] | None,
            Field(
                description="columns flagged as identifiers that are not (e.g. a unique measure)"
            ),
        ] = None,
        imputation: Annotated[
            Literal["fast_knn", "knn", "mean", "median", "mode"] | None,
            Field(description="how missing values are filled for the neighbour search"),
        ] = None,
        where: Annotated[
            Literal["local", "platform"] | None,
            Field(description="local engine or the platform (default: the first available)"),
        ] = None,
        report: Annotated[bool, Field(description="also make the PDF report")] = False,
        wait_seconds: Annotated[
            float,
            Field(
                ge=0,
                le=600,
                description="on a platform, how long to wait for the results before answering "
                "'running' (then call get_metrics later)",
            ),
        ] = 120,
    ) -> dict[str, Any]:
        """Anonymize a table with the avatar method and judge the result: makes the avatars,
        computes the privacy metrics (can an individual be singled out?) and the signal
        metrics (are distributions and correlations kept?), and returns the run_id, the
        verdict in plain words (pass/fail and what to change), the key metrics and the
        resource URIs of the avatars and metrics. Refuses columns that identify individuals
        until they are dropped or declared not_identifiers (excluding one would hand out the
        real identifiers with the avatars).

        Cost: the main one. Local engine: about 2 s per 10,000 rows × 20 columns, plus ~10 s
        with report=true. Platform: the same work in jobs, which may queue. Stores the run (the
        avatars, never the original rows nor the link between them and the avatars).
        """
        ref = TableRef.parse(table, files_allowed=self.access.files_allowed)
        runs = self.access.place(where)
        if ref.kind == "dataset" and runs.where != "platform":
            raise UsageError(f"table {ref}: uploaded datasets are avatarized with where='platform'")
        df = runs.read(ref, column_types)
        named = {"drop": drop, "exclude": exclude, "not_identifiers": not_identifiers}
        _check_columns(df, {**named, "column_types": list(column_types or {})})
        _refuse_identifiers(df, column_types, drop, not_identifiers)
        df = _drop(df, drop)
        types = _types_in(column_types, df)
        if k is None:
            advice = analysis.advise(df, types)
            k, ncp = advice["k"], ncp or advice["ncp"]
        if k >= len(df):
            raise UsageError(f"k={k}: it must be smaller than the table's {len(df)} rows")
        options = RunOptions(
            k=k,
            ncp=ncp,
            seed=seed,
            column_types=types,
            exclude=list(exclude or []),
            imputation=imputation,
            report=report,
        )
        record = runs.avatarize(ref, df, options, wait_seconds)
        return _run_answer(runs, record)

    @tool_errors
    def get_metrics(self, run_id: RunIdArg) -> dict[str, Any]:
        """Every privacy metric (with its target and whether it is met) and signal metric of
        a run, what each measures, and the verdict in plain words.

        Cost: reads the stored results (under a second; a platform run still running answers
        so)."""
        runs = self.access.place_of(run_id)
        metrics = runs.metrics(run_id)
        return {
            "run": metrics.record.to_dict(),
            "verdict": analysis.verdict(metrics.privacy, metrics.signal, metrics.record.table),
            "privacy": analysis.metric_list(metrics.privacy, "privacy"),
            "signal": analysis.metric_list(metrics.signal, "signal"),
        }

    @tool_errors
    def compare_runs(
        self,
        run_ids: Annotated[list[str], Field(min_length=2, max_length=10)],
    ) -> dict[str, Any]:
        """Compare runs side by side (parameters, verdict, key metrics) and say which to keep:
        among the runs that meet every privacy target, the one whose distributions are
        closest to the original (lowest hellinger_mean).

        Cost: reads each run's stored results (about a second each)."""
        rows = []
        for run_id in dict.fromkeys(run_ids):
            metrics = self.access.place_of(run_id).metrics(run_id)
            judged = analysis.verdict(metrics.privacy, metrics.signal, metrics.record.table)
            rows.append(
                {
                    "run_id": run_id,
                    "table": metrics.record.table,
                    "parameters": metrics.record.parameters,
                    "verdict": judged["status"],
                    "failed": [f["name"] for f in judged["failed"]],
                    **analysis.key_metrics(metrics.privacy, metrics.signal),
                }
            )
        return {"runs": rows, **_best(rows)}

    @tool_errors
    def list_runs(
        self,
        limit: Annotated[int, Field(ge=1, le=100)] = 20,
    ) -> dict[str, Any]:
        """The caller's runs, most recent first: run_id, table, status (done, running, error),
        parameters and resource URIs.

        Cost: one listing (under a second)."""
        found: list[RunRecord] = []
        for runs in self.access.places():
            found.extend(runs.list_runs(limit))
        found.sort(key=lambda r: r.created_at or "", reverse=True)
        return {"runs": [r.to_dict() for r in found[:limit]]}

    @tool_errors
    def download_results(
        self,
        run_id: RunIdArg,
        what: WhatArg = "avatars",
        output_path: Annotated[
            str | None,
            Field(
                description="absolute path of a new file to write (only when the server runs "
                "on the user's machine); without it, the answer names the resource to read"
            ),
        ] = None,
        overwrite: bool = False,
    ) -> dict[str, Any]:
        """Get a run's avatars (CSV), metrics (JSON) or report (PDF): written to output_path,
        or as the resource URI to read (the content is never put in this answer).

        Cost: without output_path, a check that the file exists (under a second); with it, the
        file is copied (from a platform: about a second per 50 MB)."""
        runs = self.access.place_of(run_id)
        if output_path is None:
            record = runs.record(run_id)
            if record.status != "done":
                raise UsageError(f"run {run_id} is {record.status}: its files are not ready")
            if what == "report" and not record.has_report:
                raise UsageError(f"run {run_id} has no report: avatarize with report=true")
            return {"resource": resource_uri(run_id, what), "mime_type": FILES[what][1]}
        if not self.access.files_allowed:
            raise UsageError(
                "output_path: this server writes no file of its machine; read the resource "
                f"{resource_uri(run_id, what)} instead"
            )
        path = Path(output_path).expanduser()
        if not path.is_absolute():
            raise UsageError(f"output_path {output_path!r}: give an absolute path")
        if not path.parent.is_dir():
            raise UsageError(f"output_path: the folder {path.parent} does not exist")
        if path.exists() and not overwrite:
            raise UsageError(f"output_path: {path} exists; pass overwrite=true to replace it")
        content = runs.file(run_id, what)
        path.write_bytes(content)
        answer: dict[str, Any] = {"path": str(path), "bytes": len(content)}
        if what == "avatars":
            answer["rows"] = max(0, content.count(b"\n") - 1)
        return answer


#: Tool → MCP annotations (hints to the client: whether the tool changes anything).
TOOLS: dict[str, dict[str, bool]] = {
    "describe_table": {"readOnlyHint": True},
    "advise_parameters": {"readOnlyHint": True},
    "avatarize": {"readOnlyHint": False, "destructiveHint": False, "openWorldHint": False},
    "get_metrics": {"readOnlyHint": True},
    "compare_runs": {"readOnlyHint": True},
    "list_runs": {"readOnlyHint": True},
    "download_results": {"readOnlyHint": False, "destructiveHint": False},
}


def create_server(access: Access, *, auth: AuthProvider | None = None) -> FastMCP:
    """The MCP server with its tools and resources, running where ``access`` says; ``auth``
    checks the credentials of HTTP requests (none: ``avatars mcp``, or the platform's gate in
    front of the server, :mod:`avatars.mcp.mount`)."""
    server = FastMCP("avatars", instructions=INSTRUCTIONS, auth=auth, mask_error_details=True)
    tools = Tools(access)
    for name, hints in TOOLS.items():
        server.tool(getattr(tools, name), name=name, annotations=hints)
    _resources(server, access)
    return server


def _resources(server: FastMCP, access: Access) -> None:
    def read(run_id: str, what: What) -> bytes:
        try:
            return access.place_of(run_id).file(run_id, what)
        except UsageError as exc:
            raise ResourceError(exc.message) from None
        except AvatarsError as exc:
            raise ResourceError(getattr(exc, "message", None) or str(exc)) from None

    @server.resource(
        "avatars://runs/{run_id}/avatars.csv",
        mime_type="text/csv",
        description="A run's avatars (shuffled synthetic records), CSV",
    )
    def avatars_csv(run_id: str) -> str:
        return read(run_id, "avatars").decode("utf-8")

    @server.resource(
        "avatars://runs/{run_id}/metrics.json",
        mime_type="application/json",
        description="A run's privacy and signal metrics, JSON",
    )
    def metrics_json(run_id: str) -> str:
        return read(run_id, "metrics").decode("utf-8")

    @server.resource(
        "avatars://runs/{run_id}/report.pdf",
        mime_type="application/pdf",
        description="A run's PDF report (runs avatarized with report=true)",
    )
    def report_pdf(run_id: str) -> bytes:
        return read(run_id, "report")


# -- helpers ---------------------------------------------------------------------------------
def _dataset_place(access: Access) -> str:
    """Uploaded datasets are read from the platform."""
    if not any(r.where == "platform" for r in access.places()):
        raise UsageError(
            "dataset:<name> names a table uploaded to a platform, and this server has none: "
            "start it with AVATAR_BASE_URL and AVATAR_API_KEY"
        )
    return "platform"


def _read_for(access: Access, ref: TableRef, column_types: Mapping[str, str] | None) -> Any:
    where = _dataset_place(access) if ref.kind == "dataset" else None
    return access.place(where).read(ref, column_types)


def _check_columns(df: pd.DataFrame, named: Mapping[str, list[str] | None]) -> None:
    columns = [str(c) for c in df.columns]
    for argument, names in named.items():
        unknown = [n for n in names or [] if n not in columns]
        if unknown:
            shown = ", ".join(columns[:30]) + (" ..." if len(columns) > 30 else "")
            raise UsageError(
                f"{argument}: no column {', '.join(map(repr, unknown))} in the table; its "
                f"columns are {shown}"
            )


def _refuse_identifiers(
    df: pd.DataFrame,
    column_types: Mapping[str, str] | None,
    drop: list[str] | None,
    not_identifiers: list[str] | None,
) -> None:
    """An identifier is dropped or declared not to be one; excluding it is no way out: an
    excluded column goes back to the avatars by row order, so its real identifiers would be
    handed out with them."""
    settled = {*(drop or []), *(not_identifiers or [])}
    judged = [c for c in df.columns if c not in settled]
    found = analysis.find_identifiers(df, column_types, columns=judged)
    if found:
        listed = "; ".join(f"{f['column']!r} ({f['evidence']})" for f in found)
        names = [f["column"] for f in found]
        raise UsageError(
            f"identifier columns: {listed}. Avatars of an identifier would still point at "
            f"individuals: pass drop={names} to remove them, or not_identifiers={names} if "
            "they do not identify anyone."
        )


def _drop(df: pd.DataFrame, drop: list[str] | None) -> pd.DataFrame:
    if not drop:
        return df
    _check_columns(df, {"drop": drop})
    return df.drop(columns=drop)


def _types_in(column_types: Mapping[str, str] | None, df: pd.DataFrame) -> dict[str, str]:
    return {c: t for c, t in (column_types or {}).items() if c in df.columns}


def _run_answer(runs: Runs, record: RunRecord) -> dict[str, Any]:
    answer: dict[str, Any] = {"run": record.to_dict()}
    if record.status == "running":
        answer["next"] = f"still running: call get_metrics('{record.run_id}') in a little while"
        return answer
    if record.status == "error":
        answer["next"] = "the run failed: read run.error, change the call and avatarize again"
        return answer
    metrics = runs.metrics(record.run_id)
    answer["verdict"] = analysis.verdict(metrics.privacy, metrics.signal, record.table)
    answer["key_metrics"] = analysis.key_metrics(metrics.privacy, metrics.signal)
    answer["next"] = "get_metrics for every metric; download_results to save the avatars" + (
        "" if answer["verdict"]["status"] == "pass" else "; see verdict.changes"
    )
    return answer


def _best(rows: list[dict[str, Any]]) -> dict[str, Any]:
    passing = [r for r in rows if r["verdict"] == "pass"]
    if not passing:
        return {
            "best": None,
            "why": "no run meets every privacy target: raise k and avatarize again",
        }
    best = min(passing, key=lambda r: (r["hellinger_mean"] is None, r["hellinger_mean"] or 0))
    return {
        "best": best["run_id"],
        "why": f"{len(passing)} of {len(rows)} runs meet every privacy target; this one keeps "
        "the distributions closest to the original (lowest hellinger_mean)",
    }
