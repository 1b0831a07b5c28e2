"""Names of result files: what the server writes and what the clients parse back.

The official client reads the table a result belongs to from its file name
(protocol.md §5.5): ``<table>.shuffled-0.csv``, ``<table>.privacy.json``, ... with ``.``,
``/``, ``&`` and ``+`` in the table name written as ``_dot_``, ``_slash_``, ``_ampersand_`` and
``_plus_``. That scheme alone cannot name every table: ``a_dot_b`` and ``a.b`` would both be
``a_dot_b``. We add one escape, ``_underscore_``, for an underscore that would otherwise be
read as the start of an escape, so that :func:`unescape_table_name` inverts
:func:`escape_table_name` for every name. Names without such an underscore are written exactly
as the official client expects; only names like ``a_dot_b`` differ (and the official client
could not have read those back anyway).
"""

from __future__ import annotations

from avatars.protocol.enums import PlotKind, ResultFormat, ResultKind

__all__ = [
    "ADVICE_FILE",
    "FIGURES_METADATA_FILE",
    "TABULAR_STEMS",
    "escape_table_name",
    "figure_file_name",
    "metrics_file_name",
    "pia_report_file_name",
    "run_metadata_file_name",
    "table_of_tabular_file",
    "tabular_file_name",
    "unescape_table_name",
]

#: Characters of a table name escaped in file names, and their escapes.
_ESCAPES = {"/": "_slash_", "&": "_ampersand_", "+": "_plus_", ".": "_dot_"}
_UNDERSCORE = "_underscore_"
_TOKENS = {**{escape: char for char, escape in _ESCAPES.items()}, _UNDERSCORE: "_"}
#: What follows the leading underscore of each escape.
_TOKEN_BODIES = tuple(token[1:] for token in _TOKENS)


def escape_table_name(name: str) -> str:
    """A table name as it appears in result file names (``iris.v2`` → ``iris_dot_v2``).

    Built from the end: an underscore is written ``_underscore_`` exactly when what has been
    written after it would otherwise make it the start of an escape.
    """
    out = ""
    for char in reversed(name):
        if char in _ESCAPES:
            out = _ESCAPES[char] + out
        elif char == "_" and out.startswith(_TOKEN_BODIES):
            out = _UNDERSCORE + out
        else:
            out = char + out
    return out


def unescape_table_name(escaped: str) -> str:
    """The table name of a result file name (``iris_dot_v2`` → ``iris.v2``); the inverse of
    :func:`escape_table_name`."""
    parts: list[str] = []
    i = 0
    while i < len(escaped):
        if escaped[i] == "_":
            token = next((t for t in _TOKENS if escaped.startswith(t, i)), None)
            if token is not None:
                parts.append(_TOKENS[token])
                i += len(token)
                continue
        parts.append(escaped[i])
        i += 1
    return "".join(parts)


#: File-name stems of the tabular result kinds (the table name is what precedes them).
TABULAR_STEMS: dict[ResultKind, str] = {
    ResultKind.shuffled: "shuffled",
    ResultKind.unshuffled: "unshuffled",
    ResultKind.original_projections: "projections.original",
    ResultKind.avatar_projections: "projections.avatars",
}

_METRICS_STEMS: dict[ResultKind, str] = {
    ResultKind.privacy_metrics: "privacy",
    ResultKind.signal_metrics: "signal",
}

ADVICE_FILE = "advice.json"
FIGURES_METADATA_FILE = "figures_metadata.json"


def tabular_file_name(
    table: str, kind: ResultKind, fmt: ResultFormat | str = ResultFormat.CSV
) -> str:
    """``<table>.shuffled-0.csv``, ``<table>.projections.avatars-0.parquet``, ..."""
    return f"{escape_table_name(table)}.{TABULAR_STEMS[kind]}-0.{ResultFormat(fmt).value}"


def table_of_tabular_file(kind: ResultKind, file_name: str) -> str | None:
    """The table a tabular result file belongs to, or None if the name is not one of
    ``kind``'s files. Accepts a bare file name or a URL/path ending in one."""
    base = file_name.rsplit("/", 1)[-1]
    stem, dot, _ext = base.rpartition(".")
    marker = "." + TABULAR_STEMS[kind]
    if not dot or marker not in stem:
        return None
    escaped, _, suffix = stem.rpartition(marker)
    if not suffix.startswith("-") and suffix:
        return None
    return unescape_table_name(escaped)


def metrics_file_name(table: str, kind: ResultKind) -> str:
    """``<table>.privacy.json`` or ``<table>.signal.json``."""
    return f"{escape_table_name(table)}.{_METRICS_STEMS[kind]}.json"


def figure_file_name(table: str, plot: PlotKind) -> str:
    """``<table>.<plot kind>.html``, e.g. ``iris.2d_projection.html``."""
    return f"{escape_table_name(table)}.{PlotKind(plot).value}.html"


def pia_report_file_name(table: str) -> str:
    """The PIA report of one table: ``<table>.report.pia.docx``."""
    return f"{escape_table_name(table)}.report.pia.docx"


def run_metadata_file_name(job_name: str) -> str:
    return f"run_metadata.{job_name}.json"
