"""What the tools need of a place that runs avatarizations: the local engine
(:mod:`avatars.mcp.local`) or a platform (:mod:`avatars.mcp.platform`)."""

from __future__ import annotations

import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal

import pandas as pd

from avatars.mcp.errors import UsageError
from avatars.mcp.tables import TableRef

#: The files of a run that can be downloaded, and their resource names.
FILES: dict[str, tuple[str, str]] = {
    "avatars": ("avatars.csv", "text/csv"),
    "metrics": ("metrics.json", "application/json"),
    "report": ("report.pdf", "application/pdf"),
}
What = Literal["avatars", "metrics", "report"]

LOCAL_PREFIX = "local-"
LOCAL_RUN_ID = re.compile(r"local-[0-9a-f]{12}")


def resource_uri(run_id: str, what: str) -> str:
    return f"avatars://runs/{run_id}/{FILES[what][0]}"


@dataclass(frozen=True)
class RunOptions:
    """The avatarization parameters a tool passes on (types already applied to the table)."""

    k: int
    ncp: int | None = None
    seed: int | None = 0
    column_types: dict[str, str] = field(default_factory=dict)
    exclude: list[str] = field(default_factory=list)
    imputation: str | None = None
    report: bool = False


@dataclass
class RunRecord:
    """A run as the tools list it."""

    run_id: str
    where: str  # "local" or "platform"
    table: str
    status: str  # "done", "running" or "error"
    created_at: str | None = None
    source: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    rows: int | None = None
    error: str | None = None
    has_report: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v not in (None, {}, [])}
        if self.status == "done":
            files = [w for w in FILES if w != "report" or self.has_report]
            out["resources"] = {what: resource_uri(self.run_id, what) for what in files}
        return out


@dataclass
class RunMetrics:
    """A finished run's privacy and signal results (the engine's ``to_dict()`` / the
    platform's ``<table>.privacy.json``)."""

    record: RunRecord
    privacy: Mapping[str, Any]
    signal: Mapping[str, Any]


class Runs(ABC):
    """One place to run avatarizations and keep their results."""

    where: ClassVar[str]

    @abstractmethod
    def read(self, ref: TableRef, column_types: Mapping[str, str] | None) -> pd.DataFrame:
        """The table ``ref`` names, typed."""

    @abstractmethod
    def avatarize(
        self, ref: TableRef, table: pd.DataFrame, options: RunOptions, wait_seconds: float
    ) -> RunRecord:
        """Avatarize ``table`` and compute its metrics (waiting at most ``wait_seconds`` for a
        platform's jobs: the record then says ``running``)."""

    @abstractmethod
    def list_runs(self, limit: int) -> list[RunRecord]:
        """The most recent runs first."""

    @abstractmethod
    def record(self, run_id: str) -> RunRecord:
        """A run's record (:class:`UsageError` if unknown)."""

    @abstractmethod
    def metrics(self, run_id: str) -> RunMetrics:
        """The metrics of a finished run (:class:`UsageError` while it runs or if unknown)."""

    @abstractmethod
    def file(self, run_id: str, what: What) -> bytes:
        """A result file of a finished run."""

    @abstractmethod
    def owns(self, run_id: str) -> bool:
        """Whether ``run_id`` has the shape of this place's run ids."""


def new_local_run_id() -> str:
    return f"{LOCAL_PREFIX}{uuid.uuid4().hex[:12]}"


def is_local_run_id(run_id: str) -> bool:
    return LOCAL_RUN_ID.fullmatch(run_id) is not None


def is_platform_run_id(run_id: str) -> bool:
    try:
        return str(uuid.UUID(run_id)) == run_id.lower()
    except ValueError:
        return False


def unknown_run(run_id: str) -> UsageError:
    return UsageError(f"no run {run_id!r} here: list_runs shows the runs you can read")
