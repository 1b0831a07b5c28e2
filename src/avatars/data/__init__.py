"""Bundled example tables: ``load("iris" | "wbcd" | "aids")`` (see README.md here)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

DATASETS = {"iris": ("iris.csv", ","), "wbcd": ("wbcd.csv", ","), "aids": ("aids.csv", ";")}


def path(name: str) -> Path:
    """The path of a bundled table's CSV file."""
    if name not in DATASETS:
        raise KeyError(f"unknown example {name!r}; available: {', '.join(DATASETS)}")
    return Path(str(resources.files(__package__).joinpath(DATASETS[name][0])))


def load(name: str) -> pd.DataFrame:
    """A bundled table as a DataFrame."""
    return pd.read_csv(path(name), sep=DATASETS[name][1])
