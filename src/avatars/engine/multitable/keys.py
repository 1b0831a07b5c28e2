"""New primary and foreign key values for the avatar tables.

Avatar keys are random 64-bit tokens written as 16 hexadecimal digits (``"9f3c0a71d2e4b856"``):
drawn from the run's seed, unique within the table, and never equal to an original key value
of that table (compared as text, so ``7`` and ``"7"`` are the same value). They carry no order:
avatar rows are shuffled independently of the tokens, and neither follows the originals' rows.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

KEY_DIGITS = 16


def pseudonymous_keys(n: int, rng: np.random.Generator, forbidden: Iterable[object]) -> np.ndarray:
    """``n`` distinct tokens (object array of str), none of them in ``forbidden``."""
    taken = {str(value) for value in forbidden}
    keys: list[str] = []
    seen: set[str] = set()
    while len(keys) < n:
        draw = rng.integers(0, 2**63, size=n - len(keys), dtype=np.int64, endpoint=False)
        for value in draw.tolist():
            token = format(value, f"0{KEY_DIGITS}x")
            if token not in seen and token not in taken:
                seen.add(token)
                keys.append(token)
    return np.array(keys, dtype=object)
