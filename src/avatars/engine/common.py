"""What the engine's entry points share around their mathematics: input checks that name
the parameter at fault, progress reports with per-step timings, one BLAS thread for the
metrics, and the conversion of results to JSON."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from avatars.engine.errors import InvalidDataError
from avatars.engine.preprocessing import validate_table

ProgressCallback = Callable[[float, str], None]
F = TypeVar("F", bound=Callable[..., Any])


def single_threaded_blas(function: F) -> F:
    """Run ``function`` with one BLAS thread. The metrics' matrix products are small chunked
    Gram and projection products: a multi-threaded OpenBLAS only spins on them, and makes them
    several times slower on a busy machine (measured: signal metrics of 50,000 rows 1.7 s with
    2 BLAS threads, 0.44 s with 1, on 2 loaded cores). KD-tree queries keep their own workers."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with threadpool_limits(limits=1, user_api="blas"):
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class Steps:
    """Progress reports and wall-clock timings of the steps of one run.

    ``with steps.step(0.25, "hidden rate", "hidden_rate"):`` reports ``(0.25, "hidden rate")``
    to the caller's ``progress`` and times the block under ``"hidden_rate"``.
    """

    def __init__(self, progress: ProgressCallback | None) -> None:
        self.report: ProgressCallback = progress or (lambda fraction, phase: None)
        self.timings: dict[str, float] = {}
        self.started = time.perf_counter()

    @contextmanager
    def step(self, fraction: float, phase: str, name: str | None = None) -> Iterator[None]:
        self.report(fraction, phase)
        started = time.perf_counter()
        yield
        if name is not None:
            self.timings[name] = time.perf_counter() - started

    def seconds(self) -> dict[str, float]:
        """The timings so far and the total, in seconds rounded to 0.1 ms."""
        self.timings["total"] = time.perf_counter() - self.started
        return {key: round(value, 4) for key, value in self.timings.items()}


def check_table(df: object, parameter: str) -> None:
    """:func:`validate_table`, with the parameter's name in the message."""
    try:
        validate_table(df)
    except InvalidDataError as exc:
        raise InvalidDataError(f"{parameter}: {exc}") from None


def align_columns(original: pd.DataFrame, other: pd.DataFrame, parameter: str) -> pd.DataFrame:
    """``other`` with the original's columns in the original's order, its index reset; an
    error names the columns one table has and the other lacks."""
    missing = [c for c in original.columns if c not in other.columns]
    extra = [c for c in other.columns if c not in original.columns]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"lacks column(s) {', '.join(map(repr, missing))} of the original")
        if extra:
            parts.append(f"has column(s) {', '.join(map(repr, extra))} that the original lacks")
        raise InvalidDataError(f"{parameter} {' and '.join(parts)}")
    return other[list(original.columns)].reset_index(drop=True)


def jsonable(value: Any) -> Any:
    """Numpy scalars and arrays → Python numbers and lists; NaN/inf → None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        number = float(value)
        return None if np.isnan(number) or np.isinf(number) else number
    return value
