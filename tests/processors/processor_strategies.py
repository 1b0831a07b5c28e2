"""Hypothesis strategies and helpers shared by the processor tests (imported by name: pytest
puts this folder on ``sys.path``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

#: Enough examples to find edge cases, few enough for two shared cores.
PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Finite floats of a reasonable magnitude (the processors are arithmetic, not overflow tests).
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def records(
    draw: st.DrawFn,
    *,
    values: st.SearchStrategy[Any],
    min_rows: int = 1,
    max_rows: int = 25,
    max_ids: int = 5,
) -> pd.DataFrame:
    """A table of several records per individual: ``id`` (in shuffled order), ``value``, and
    an unrelated ``other`` column; its index is shuffled too."""
    n = draw(st.integers(min_rows, max_rows))
    ids = draw(st.lists(st.integers(0, max_ids - 1), min_size=n, max_size=n))
    column = draw(st.lists(values, min_size=n, max_size=n))
    index = draw(st.permutations(list(range(100, 100 + n))))
    return pd.DataFrame(
        {"id": ids, "value": column, "other": [f"x{i % 3}" for i in range(n)]}, index=index
    )


def close(actual: Any, expected: Any, *, scale: float = 1.0) -> bool:
    """Equal up to float noise relative to ``scale`` (the magnitude of the data)."""
    a = np.asarray(actual, dtype="float64")
    e = np.asarray(expected, dtype="float64")
    return bool(np.allclose(a, e, rtol=1e-9, atol=1e-12 * max(1.0, scale), equal_nan=True))
