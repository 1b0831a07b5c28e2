"""What a tool's ``table`` argument names, and reading it.

- ``example:iris`` (also ``wbcd``, ``aids``): a table bundled with the package;
- ``dataset:patients.csv``: a table uploaded to the platform (``PUT /api/datasets/{name}``,
  ``ApiClient.datasets.upload``), read with the caller's API key;
- anything else: a CSV or Parquet file on the machine that runs the MCP server, only where
  the server runs for one user on their own machine (``avatars mcp``): the server mounted on
  the platform (``/mcp``) reads no file of the platform's machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from avatars import data
from avatars.engine.io import read_table
from avatars.mcp.errors import UsageError

EXAMPLE = "example:"
DATASET = "dataset:"

Kind = Literal["example", "dataset", "file"]


@dataclass(frozen=True)
class TableRef:
    kind: Kind
    value: str  # the example's name, the dataset's name, or the file's absolute path

    @property
    def name(self) -> str:
        """The table's name in a run: the example's name, or the file's name without its
        extension."""
        return self.value if self.kind == "example" else Path(self.value).stem or "table"

    def __str__(self) -> str:
        return {"example": EXAMPLE, "dataset": DATASET, "file": ""}[self.kind] + self.value

    @classmethod
    def parse(cls, text: str, *, files_allowed: bool) -> TableRef:
        text = (text or "").strip()
        if not text:
            raise UsageError("table is empty: give example:iris, dataset:<name> or a file path")
        if text.startswith(EXAMPLE):
            name = text[len(EXAMPLE) :]
            if name not in data.DATASETS:
                raise UsageError(
                    f"no bundled table {name!r}; the examples are "
                    + ", ".join(f"example:{n}" for n in data.DATASETS)
                )
            return cls("example", name)
        if text.startswith(DATASET):
            name = text[len(DATASET) :]
            if not name or "/" in name or name in (".", ".."):
                raise UsageError(f"table {text!r}: give an uploaded table's name, dataset:x.csv")
            return cls("dataset", name)
        if not files_allowed:
            raise UsageError(
                f"table {text!r}: this server reads no file of its machine. Upload the table "
                "to the platform (PUT /api/datasets/<name>) and pass dataset:<name>, or use a "
                "bundled example (example:iris, example:wbcd, example:aids)."
            )
        path = Path(text).expanduser()
        if not path.is_absolute():
            raise UsageError(f"table {text!r}: give the file's absolute path")
        if not path.is_file():
            raise UsageError(f"table {text!r}: there is no file at this path")
        return cls("file", str(path))

    def local_path(self) -> Path:
        """The file of an example or a file reference."""
        if self.kind == "example":
            return data.path(self.value)
        if self.kind == "file":
            return Path(self.value)
        raise ValueError(f"{self} is not a local file")


def read_file(path: Path | str, column_types: Mapping[str, str] | None = None) -> pd.DataFrame:
    """A CSV (separator detected) or Parquet file, with ``column_types`` applied."""
    return read_table(path, column_types=dict(column_types or {}) or None)
