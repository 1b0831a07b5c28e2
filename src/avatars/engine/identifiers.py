"""Columns that identify individuals: found before any run, so that no avatar carries one.

An identifier is not a variable to avatarize. Avatarized, an integer ID (``patient_id`` 1..n)
becomes a weighted mean of its neighbours' IDs — meaningless numbers; excluded and re-attached
by row order, it puts the real IDs back on the avatars — a direct re-identification key that no
distance-based metric sees. :func:`detect_identifiers` finds such columns from their values
(and, for integer codes, their names); the avatarization refuses them unless the caller says
what to do with each (:class:`~avatars.engine.errors.IdentifierColumnsError`).

Rules, each with its evidence (``kind``), checked on the non-missing values of a column:

- ``email``, ``phone``, ``national_number``, ``uuid`` — text whose values match the pattern
  (at least :data:`PATTERN_SHARE` of them, and at least :data:`PATTERN_MIN_DISTINCT` distinct
  values, so that one shared contact address is not flagged): an e-mail address; a phone
  number (8-15 digits with a leading ``+``/``0`` or separators); a US social security number
  (``123-45-6789``), a French NIR (13 or 15 digits, ``1 84 12 75 123 456 78``) or a UK national
  insurance number (``AB123456C``); a UUID. Unique or not: an e-mail identifies its owner even
  when it repeats.
- ``unique_text`` — text (or a categorical column) with at least :data:`TEXT_UNIQUE_SHARE` of
  its values distinct, on at least :data:`MIN_VALUES` values: names, record numbers, free text.
  Text that reads as numbers or ISO dates is judged as numbers or dates, not as text.
- ``integer_sequence`` — integers, all distinct, that are sorted in row order or, from
  :data:`SEQUENCE_MIN_VALUES` values on, fill at least half of their range (``1..n`` in any
  order: row numbers, ``patient_id``).
- ``integer_code`` — integers with at least :data:`INTEGER_UNIQUE_SHARE` of them distinct and
  an identifier's name (a word such as ``id``, ``code``, ``number``, ``num``, ``key``, ``ssn``,
  ``phone``…, or a word ending in ``id``/``num``/``no``/``nr`` such as ``pidnum``, ``PatientID``):
  WBCD's ``Sample_code_number`` (92 % distinct), AIDS' ``pidnum``.
- ``long_number`` — integers with at least :data:`INTEGER_UNIQUE_SHARE` distinct and every value
  of at least :data:`LONG_NUMBER_DIGITS` digits: phone, national or account numbers stored as
  numbers (a measurement rarely has nine digits).

Floats with decimals, dates and booleans are never identifiers; distinct integers without an
identifier's name, order or density (a census weight such as ``fnlwgt``) are measurements. A
column the rules flag wrongly can be declared not an identifier by the caller.

Checked on the bundled tables (tests/engine/test_identifiers.py): the rules flag WBCD's
``Sample_code_number``, AIDS' ``pidnum``, the examples' ``p_id``, ``d_id``, ``visit_id``,
``primary_key`` and ``id`` and nothing else of iris, WBCD, AIDS, EPL and the other examples.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from avatars.engine.errors import IdentifierColumnsError
from avatars.engine.schema import ColumnType, resolve_column_types

#: Fewer non-missing values than this: no ``unique_text``/``integer_*`` finding (tiny tables).
MIN_VALUES = 10
#: Text: share of distinct values (among non-missing ones) from which a column is an identifier.
TEXT_UNIQUE_SHARE = 0.9
#: Integers with an identifier's name (or of many digits): share of distinct values needed.
INTEGER_UNIQUE_SHARE = 0.9
#: Integers, all distinct, filling at least this share of ``max − min + 1``: a sequence —
#: from SEQUENCE_MIN_VALUES values on (40 distinct heights of 150-189 cm can happen by chance
#: in a small table; 50 distinct values filling half of their range hardly do).
SEQUENCE_DENSITY = 0.5
SEQUENCE_MIN_VALUES = 50
#: Patterns: share of the values that must match, and least number of distinct values.
PATTERN_SHARE = 0.8
PATTERN_MIN_DISTINCT = 5
#: Integers whose every value has at least this many digits are numbers, not measurements.
LONG_NUMBER_DIGITS = 9
#: Values examined for the patterns (a sample of the distinct values on large tables).
PATTERN_SAMPLE = 2_000


class IdentifierKind(StrEnum):
    """The evidence that a column identifies rows (see the module docstring)."""

    EMAIL = "email"
    PHONE = "phone"
    NATIONAL_NUMBER = "national_number"
    UUID = "uuid"
    UNIQUE_TEXT = "unique_text"
    INTEGER_SEQUENCE = "integer_sequence"
    INTEGER_CODE = "integer_code"
    LONG_NUMBER = "long_number"


@dataclass(frozen=True)
class IdentifierFinding:
    """One identifier column: which, the kind of evidence and that evidence in words."""

    column: str
    kind: IdentifierKind
    evidence: str

    def to_dict(self) -> dict[str, str]:
        out = asdict(self)
        out["kind"] = self.kind.value
        return out


_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+?[\d\s().-]{7,24}")
_NATIONAL = (
    re.compile(r"\d{3}-\d{2}-\d{4}"),  # US social security number
    re.compile(
        r"[12][\s.]?\d{2}[\s.]?\d{2}[\s.]?(?:\d{2}|2A|2B)[\s.]?\d{3}[\s.]?\d{3}(?:[\s.]?\d{2})?"
    ),
    re.compile(r"[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]"),  # UK NINO
)
_UUID = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?.*")

#: Words of a column name that say "identifier" (compared lower-case, whole words).
ID_WORDS = frozenset(
    {
        "id", "ids", "identifier", "identifiant", "key", "pk", "uuid", "guid", "code", "number",
        "num", "no", "nr", "nb", "ssn", "nir", "nino", "insee", "iban", "account", "phone",
        "tel", "telephone", "mobile", "email", "mail", "mrn", "matricule", "siren", "siret",
        "passport", "licence", "license",
    }
)  # fmt: skip
#: Word endings that say "identifier" when glued to a short prefix (``pidnum``, ``PatientID``).
_ID_SUFFIXES = ("id", "num", "no", "nr")
#: Words that end like an identifier but are not one.
_NOT_ID_WORDS = frozenset(
    {"paid", "valid", "invalid", "said", "fluid", "acid", "solid", "rapid", "liquid", "hybrid",
     "grid", "covid", "avoid", "humid", "lipid", "thyroid", "steroid", "opioid", "android",
     "piano", "casino", "volcano", "tornado", "domino"}
)  # fmt: skip


def detect_identifiers(
    df: pd.DataFrame,
    *,
    column_types: Mapping[str, str | ColumnType] | None = None,
    columns: Collection[str] | None = None,
) -> list[IdentifierFinding]:
    """The columns of ``df`` (or of ``columns``) that identify rows, in table order.

    ``column_types`` are the avatarization's (a column declared ``float`` or ``datetime`` is a
    measurement; ``category`` is judged on its values as text or integers). Pure: reads values,
    never raises on a column it cannot judge (that column is simply not flagged).
    """
    types = resolve_column_types(df, column_types)
    wanted = list(df.columns) if columns is None else [c for c in df.columns if c in columns]
    findings = []
    for column in wanted:
        finding = _judge(str(column), df[column], types[column])
        if finding is not None:
            findings.append(finding)
    return findings


def check_no_identifiers(
    df: pd.DataFrame,
    *,
    column_types: Mapping[str, str | ColumnType] | None = None,
    columns: Collection[str] | None = None,
) -> None:
    """Raise :class:`~avatars.engine.errors.IdentifierColumnsError` naming every identifier
    column among ``columns`` (default: all) and the safe choices; return when there is none."""
    findings = detect_identifiers(df, column_types=column_types, columns=columns)
    if findings:
        raise IdentifierColumnsError([f.to_dict() for f in findings])


def is_identifier_name(name: str) -> bool:
    """Whether a column's name says "identifier" (see :data:`ID_WORDS`): one of its words is
    such a word, or ends in ``id``/``num``/``no``/``nr`` after a prefix of at most 8 letters
    (``pidnum``, ``patientid``) and is not an ordinary word (``paid``, ``valid``)."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)  # PatientID → Patient ID
    for word in re.split(r"[^A-Za-z0-9]+", spaced.lower()):
        word = word.rstrip("0123456789")
        if not word or word in _NOT_ID_WORDS:
            continue
        if word in ID_WORDS:
            return True
        for suffix in _ID_SUFFIXES:
            if word.endswith(suffix) and 0 < len(word) - len(suffix) <= 8:
                return True
    return False


# -- the rules ---------------------------------------------------------------------------------
def _judge(name: str, series: pd.Series, ctype: ColumnType) -> IdentifierFinding | None:
    observed = series.dropna()
    if observed.empty or ctype in (ColumnType.BOOL, ColumnType.DATETIME, ColumnType.DATETIME_TZ):
        return None
    if ctype == ColumnType.FLOAT:
        return None  # declared (or read as) a measurement: integer-valued floats are judged below
    if pd.api.types.is_numeric_dtype(observed) and not pd.api.types.is_bool_dtype(observed):
        return _judge_numbers(name, observed)
    # the patterns are judged on distinct values only (text conversion of every row is slow)
    distinct = pd.Series(pd.Series(observed.unique()).astype(str).str.strip().unique())
    if _all_plain_numbers(distinct):
        text = observed.astype(str).str.strip()
        return _judge_numbers(name, pd.to_numeric(text, errors="coerce"), text=True)
    examined = (
        distinct if len(distinct) <= PATTERN_SAMPLE else pd.Series(_sample(distinct.to_numpy()))
    )
    if examined.map(lambda v: bool(_ISO_DATE.fullmatch(v))).mean() >= PATTERN_SHARE:
        return None  # dates written as text
    return _judge_text(name, len(observed), distinct.to_numpy(), examined.to_numpy())


def _judge_text(
    name: str, n_values: int, distinct: np.ndarray, examined: np.ndarray
) -> IdentifierFinding | None:
    """Text: the patterns on ``examined`` (distinct values, sampled on large columns), then
    the share of distinct values among the ``n_values`` non-missing ones."""
    n_distinct = len(distinct)
    for kind, matcher in (
        (IdentifierKind.EMAIL, lambda v: bool(_EMAIL.fullmatch(v))),
        (IdentifierKind.UUID, lambda v: bool(_UUID.fullmatch(v))),
        (IdentifierKind.NATIONAL_NUMBER, lambda v: any(p.fullmatch(v) for p in _NATIONAL)),
        (IdentifierKind.PHONE, _looks_like_phone),
    ):
        share = float(np.mean([matcher(v) for v in examined]))
        if share >= PATTERN_SHARE and n_distinct >= min(PATTERN_MIN_DISTINCT, n_values):
            what = {
                IdentifierKind.EMAIL: "e-mail addresses",
                IdentifierKind.UUID: "UUIDs",
                IdentifierKind.NATIONAL_NUMBER: "national identification numbers",
                IdentifierKind.PHONE: "phone numbers",
            }[kind]
            return IdentifierFinding(
                name, kind, f"holds {what} ({share:.0%} of the values examined)"
            )
    if n_values >= MIN_VALUES and n_distinct / n_values >= TEXT_UNIQUE_SHARE:
        return IdentifierFinding(
            name,
            IdentifierKind.UNIQUE_TEXT,
            f"is text with {_distinct_words(n_distinct, n_values)}",
        )
    return None


def _judge_numbers(name: str, values: pd.Series, *, text: bool = False) -> IdentifierFinding | None:
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    if len(numbers) < MIN_VALUES or not np.all(np.isfinite(numbers)):
        return None
    if not np.all(np.mod(numbers, 1) == 0):
        return None  # decimals: a measurement
    n = len(numbers)
    n_distinct = len(np.unique(numbers))
    share = n_distinct / n
    low, high = int(numbers.min()), int(numbers.max())
    written = "numbers written as text" if text else "integers"
    if n_distinct == n:
        increasing = bool(np.all(np.diff(numbers) > 0))
        density = n / (high - low + 1)
        if increasing or (density >= SEQUENCE_DENSITY and n >= SEQUENCE_MIN_VALUES):
            how = "sorted in row order" if increasing else f"filling {density:.0%} of their range"
            return IdentifierFinding(
                name,
                IdentifierKind.INTEGER_SEQUENCE,
                f"is a sequence of {written} ({low} to {high}, one per row, {how})",
            )
    if share < INTEGER_UNIQUE_SHARE:
        return None
    if is_identifier_name(name):
        return IdentifierFinding(
            name,
            IdentifierKind.INTEGER_CODE,
            f"holds {written} named like an identifier, with {_distinct_words(n_distinct, n)}",
        )
    if np.abs(numbers).min() >= 10 ** (LONG_NUMBER_DIGITS - 1):
        return IdentifierFinding(
            name,
            IdentifierKind.LONG_NUMBER,
            f"holds {written} of {LONG_NUMBER_DIGITS} digits or more, with "
            f"{_distinct_words(n_distinct, n)}",
        )
    return None


def _all_plain_numbers(distinct: pd.Series) -> bool:
    """Whether every (distinct) text value is a plain number; ``"0042"`` is not: a leading zero
    is a code's, and the rules for text judge it."""
    if not distinct.map(lambda v: bool(_NUMBER_TEXT.fullmatch(v))).all():
        return False
    return not distinct.str.match(r"[+-]?0\d").any()


def _looks_like_phone(value: str) -> bool:
    if not _PHONE.fullmatch(value):
        return False
    digits = sum(ch.isdigit() for ch in value)
    if not 8 <= digits <= 15:
        return False
    return value.startswith(("+", "0", "(")) or any(ch in value for ch in " .-()")


def _distinct_words(n_distinct: int, n: int) -> str:
    if n_distinct == n:
        return f"one distinct value per row ({n:,} values)"
    return f"{n_distinct:,} distinct values in {n:,} ({n_distinct / n:.0%})"


def _sample(values: np.ndarray) -> np.ndarray:
    """An evenly spaced sample of :data:`PATTERN_SAMPLE` values (deterministic)."""
    step = len(values) / PATTERN_SAMPLE
    return values[(np.arange(PATTERN_SAMPLE) * step).astype(np.int64)]


def normalised_text(series: pd.Series) -> pd.Series:
    """Values as comparable text (missing stays missing): an integer-valued float is written
    as an integer, so that ``12.0`` (a key read as float because of a missing value) equals
    ``12``. Used to compare an original column with its avatars' column."""

    def text(value: object) -> object:
        if pd.isna(value):
            return None
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return str(int(value))
        if isinstance(value, np.generic):
            return str(value.item())
        return str(value)

    return pd.Series([text(v) for v in series], index=range(len(series)), dtype=object)
