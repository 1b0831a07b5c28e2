"""Runs of the local engine, kept in a workspace folder.

``<workspace>/runs/<run id>/`` holds, once a run is complete:

- ``run.json``      the table, its source, the parameters, rows, time taken;
- ``avatars.csv``   the shuffled avatars (the deliverable);
- ``privacy.json``, ``signal.json``  the engine's metrics results (``to_dict()``);
- ``report.pdf``    when asked for (needs ``avatars[report]``).

The unshuffled avatars (row i is the avatar of original row i: a re-identification key) are
used in memory for the privacy metrics and never written. A run is written into a temporary
folder and renamed into place, so a run folder is either complete or absent.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from avatars.engine import avatarize, privacy_metrics, signal_metrics
from avatars.mcp.errors import UsageError
from avatars.mcp.runs import (
    LOCAL_PREFIX,
    RunMetrics,
    RunOptions,
    RunRecord,
    Runs,
    What,
    is_local_run_id,
    new_local_run_id,
    unknown_run,
)
from avatars.mcp.tables import TableRef, read_file

RUN_FILE = "run.json"


class LocalRuns(Runs):
    where: ClassVar[str] = "local"

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace.expanduser().resolve()
        self.root = self.workspace / "runs"

    def read(self, ref: TableRef, column_types: Mapping[str, str] | None) -> pd.DataFrame:
        if ref.kind == "dataset":
            raise UsageError(
                f"table {ref}: uploaded datasets live on a platform; start the server with "
                "AVATAR_BASE_URL and AVATAR_API_KEY to read them"
            )
        return read_file(ref.local_path(), column_types)

    def avatarize(
        self, ref: TableRef, table: pd.DataFrame, options: RunOptions, wait_seconds: float
    ) -> RunRecord:
        started = time.monotonic()
        types = options.column_types or None
        exclude = options.exclude or None
        result = avatarize(
            table,
            k=options.k,
            ncp=options.ncp,
            seed=options.seed,
            column_types=types,
            exclude_variables=exclude,
            imputation={"method": options.imputation} if options.imputation else None,
        )
        used = result.metadata["parameters"]
        privacy = privacy_metrics(
            table,
            result.unshuffled,
            ncp=used["ncp"],
            seed=used["seed"],
            column_types=types,
            exclude_variables=exclude,
        ).to_dict()
        signal = signal_metrics(
            table, result.shuffled, column_types=types, exclude_variables=exclude
        ).to_dict()
        record = RunRecord(
            run_id=new_local_run_id(),
            where=self.where,
            table=ref.name,
            status="done",
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            source=str(ref),
            parameters={
                "k": used["k"],
                "ncp": used["ncp"],
                "seed": used["seed"],
                **({"exclude": options.exclude} if options.exclude else {}),
                **({"column_types": options.column_types} if options.column_types else {}),
                **({"imputation": options.imputation} if options.imputation else {}),
            },
            rows=len(table),
        )
        report = _report(ref.name, table, result, privacy, signal) if options.report else None
        record.has_report = report is not None
        self._save(record, result.shuffled, privacy, signal, report, time.monotonic() - started)
        return record

    def _save(
        self,
        record: RunRecord,
        avatars: pd.DataFrame,
        privacy: dict[str, Any],
        signal: dict[str, Any],
        report: bytes | None,
        seconds: float,
    ) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        partial = self.root / f".{record.run_id}.partial"
        partial.mkdir()
        try:
            avatars.to_csv(partial / "avatars.csv", index=False)
            (partial / "privacy.json").write_text(json.dumps(privacy, default=str))
            (partial / "signal.json").write_text(json.dumps(signal, default=str))
            if report is not None:
                (partial / "report.pdf").write_bytes(report)
            run = {**record.to_dict(), "seconds": round(seconds, 3)}
            run.pop("resources", None)
            (partial / RUN_FILE).write_text(json.dumps(run, indent=2))
            partial.rename(self.root / record.run_id)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise

    def _folder(self, run_id: str) -> Path:
        folder = self.root / run_id
        if not is_local_run_id(run_id) or not (folder / RUN_FILE).is_file():
            raise unknown_run(run_id)
        return folder

    def _record(self, folder: Path) -> RunRecord:
        data = json.loads((folder / RUN_FILE).read_text())
        fields = set(RunRecord.__dataclass_fields__)
        return RunRecord(**{k: v for k, v in data.items() if k in fields})

    def list_runs(self, limit: int) -> list[RunRecord]:
        if not self.root.is_dir():
            return []
        folders = [
            f for f in self.root.iterdir() if is_local_run_id(f.name) and (f / RUN_FILE).is_file()
        ]
        folders.sort(key=lambda f: (f / RUN_FILE).stat().st_mtime, reverse=True)
        return [self._record(f) for f in folders[:limit]]

    def record(self, run_id: str) -> RunRecord:
        return self._record(self._folder(run_id))

    def metrics(self, run_id: str) -> RunMetrics:
        folder = self._folder(run_id)
        return RunMetrics(
            self._record(folder),
            json.loads((folder / "privacy.json").read_text()),
            json.loads((folder / "signal.json").read_text()),
        )

    def file(self, run_id: str, what: What) -> bytes:
        folder = self._folder(run_id)
        if what == "metrics":
            metrics = self.metrics(run_id)
            return json.dumps(
                {"privacy": metrics.privacy, "signal": metrics.signal}, indent=2
            ).encode()
        path = folder / ("avatars.csv" if what == "avatars" else "report.pdf")
        if not path.is_file():
            raise UsageError(f"run {run_id} has no report: avatarize with report=true")
        return path.read_bytes()

    def owns(self, run_id: str) -> bool:
        return run_id.startswith(LOCAL_PREFIX)


def _report(
    name: str,
    table: pd.DataFrame,
    result: Any,
    privacy: dict[str, Any],
    signal: dict[str, Any],
) -> bytes:
    """The PDF report of a local run (matplotlib and reportlab: ``avatars[report]``)."""
    try:
        from avatars.engine.reports.build import build_pdf_report
        from avatars.engine.reports.inputs import TableReportInput
    except ModuleNotFoundError as missing:
        raise UsageError(
            f"reports need the report extra ({missing.name} is not installed): "
            "pip install 'avatars[report]', or avatarize with report=false"
        ) from None
    return build_pdf_report(
        TableReportInput(
            name=name,
            original=table,
            avatars=result.shuffled,
            privacy=privacy,
            signal=signal,
            avatarization=result.metadata,
            original_coordinates=result.original_coordinates,
            avatar_coordinates=result.avatar_coordinates,
            contributions=result.contributions,
        ),
        display_name=name,
    )
