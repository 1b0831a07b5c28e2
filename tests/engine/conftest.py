"""Fixtures of the engine tests: the paper's tables and small examples (tests/data)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from avatars.engine import categorical_under_threshold

DATA = Path(__file__).resolve().parent.parent / "data"
PAPER = DATA / "paper"
EXAMPLES = DATA / "examples"


@pytest.fixture(scope="session")
def wbcd() -> pd.DataFrame:
    """WBCD without its id column (683 × 10)."""
    return pd.read_csv(PAPER / "wbcd.csv").drop(columns="Sample_code_number")


@pytest.fixture(scope="session")
def wbcd_paper_avatars() -> pd.DataFrame:
    return pd.read_csv(PAPER / "wbcd_avatars_k20_paper.csv")


@pytest.fixture(scope="session")
def aids() -> pd.DataFrame:
    """AIDS without its id and without zprior, which is constant (every row is 1)."""
    return pd.read_csv(PAPER / "aids.csv", sep=";").drop(columns=["pidnum", "zprior"])


@pytest.fixture(scope="session")
def aids_types(aids: pd.DataFrame) -> dict[str, str]:
    """The paper's typing: variables with at most 10 distinct values are categorical."""
    return {c: "category" for c in categorical_under_threshold(aids)}


@pytest.fixture(scope="session")
def aids_paper_avatars() -> pd.DataFrame:
    return pd.read_csv(PAPER / "aids_avatars_k20_ncp5_paper.csv").drop(columns=["zprior"])


@pytest.fixture(scope="session")
def iris() -> pd.DataFrame:
    return pd.read_csv(EXAMPLES / "iris.csv")


@pytest.fixture(scope="session")
def epl() -> pd.DataFrame:
    """A table with datetimes (career_start_date, club_signing_date)."""
    return pd.read_csv(EXAMPLES / "epl.csv", parse_dates=["career_start_date", "club_signing_date"])
