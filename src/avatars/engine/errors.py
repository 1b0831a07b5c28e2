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


#: The safe choices for an identifier column, in the words every front end maps to its own
#: spelling (CLI flags, SDK arguments, YAML fields): see :class:`IdentifierColumnsError`.
IDENTIFIER_CHOICES: tuple[str, ...] = ("drop", "key", "pseudonymize")


class IdentifierColumnsError(InvalidDataError):
    """Columns that identify individuals were given to the avatarization as variables.

    An avatar must not carry an identifier: avatarized, an integer ID becomes a blend of its
    neighbours' IDs; excluded and re-attached by row order, it puts the real IDs back on the
    avatars — a re-identification key no metric flags. So the default answer is this error.

    Structured fields for the front ends, which render the choices in their own words:

    - ``findings``: one dict per column, ``{"column", "kind", "evidence"}`` (see
      :func:`avatars.engine.identifiers.detect_identifiers`);
    - ``columns``: the columns' names, in table order;
    - ``choices``: :data:`IDENTIFIER_CHOICES` — ``drop`` (leave the column out of the table),
      ``key`` (declare it a key: the avatars get new keys, never the originals),
      ``pseudonymize`` (replace it: FAKER, HASH_SHA256, UUID4, ...). Re-attaching the original
      values by row order stays possible when chosen explicitly for the column, and is then
      reported as a warning; a column that is not an identifier can be declared so.
    """

    def __init__(self, findings: list[dict[str, str]]) -> None:
        self.findings = [dict(f) for f in findings]
        self.columns = [f["column"] for f in self.findings]
        self.choices = IDENTIFIER_CHOICES
        described = "; ".join(f"'{f['column']}' {f['evidence']}" for f in self.findings)
        names = ", ".join(f"'{c}'" for c in self.columns)
        plural = len(self.columns) > 1
        message = (
            f"column{'s' if plural else ''} {names} identif{'y' if plural else 'ies'} "
            f"individuals, so the avatars must not carry {'them' if plural else 'it'}: "
            f"{described}. For each, choose one: drop it (leave it out of the table), declare "
            "it a key (the avatars get new keys, never the original ones), or pseudonymize it "
            "(FAKER, HASH_SHA256, UUID4, ...). Re-attaching its original values to the avatars "
            "(exclusion with an explicit row_order method) keeps the link to the original "
            "records and is reported as such; a column that is not an identifier can be "
            "declared so"
        )
        super().__init__(message)  # names every column itself: no "column 'x': " prefix
        self.column = self.columns[0] if len(self.columns) == 1 else None
