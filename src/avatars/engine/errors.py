"""One exception family for everything the engine rejects.

Every error names the parameter or the column at fault and what was expected, so that the
server can forward the message to the user as is (it becomes a failed job's ``exception``).
"""

from __future__ import annotations


class AvatarsEngineError(ValueError):
    """Base class of the engine's errors: bad parameters or data it cannot avatarize."""


class InvalidParameterError(AvatarsEngineError):
    """A parameter is out of range or inconsistent with the data."""

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        super().__init__(f"invalid parameter '{parameter}': {message}")


class InvalidDataError(AvatarsEngineError):
    """The table (or one of its columns) cannot be processed."""

    def __init__(self, message: str, column: str | None = None) -> None:
        self.column = column
        prefix = f"column '{column}': " if column is not None else ""
        super().__init__(f"{prefix}{message}")


class UnknownColumnError(InvalidParameterError):
    """A parameter refers to columns that the table does not have."""

    def __init__(self, parameter: str, columns: list[str], available: list[str]) -> None:
        self.columns = columns
        shown = ", ".join(repr(c) for c in available[:20])
        more = "" if len(available) <= 20 else f" (and {len(available) - 20} more)"
        names = ", ".join(repr(c) for c in columns)
        super().__init__(parameter, f"unknown column(s) {names}; the table has {shown}{more}")
