"""Pseudonymization of identifier columns (method.md §6.6): replace each value by a pseudonym.

Strategies (``avatars.protocol.enums.PseudonymizationStrategy``), all pure functions of the
values, an explicit ``seed`` and, for hashing, an explicit ``secret``:

- ``FAKER``: a realistic fake of the column's ``pii_type`` (``EMAIL``, ``FIRST_NAME``,
  ``LAST_NAME``, ``FULL_NAME``, ``PHONE``, ``SSN``, ``ADDRESS``, ``FREE_TEXT``) from Faker in the
  requested ``locale`` (default ``en_US``), drawn from pools of Faker values unless
  ``high_variability`` (see :func:`_fakes`). E-mails use the reserved example domains, so a
  fake address is never someone's real one; distinct inputs get distinct e-mails, phone and
  social security numbers. ``consistent`` (default): equal inputs get equal pseudonyms, else
  one fresh fake per row.
- ``HASH_SHA256``: ``HMAC-SHA256(secret, value)`` as 64 hex digits. Keyed, because a plain
  SHA-256 of an e-mail or a phone number falls to a dictionary attack (hash every plausible
  value and look the digests up). Consistent by construction: the same secret maps the same
  value to the same digest in every table and run, which keeps multi-table keys joinable.
- ``UUID4``: a random UUID version 4 per distinct value (``consistent``) or per row.
- ``CONSTANT``: every value becomes ``value`` (e.g. ``"REDACTED"``).
- ``INTEGER``: the distinct values get the integers ``1..m`` in a random order (``consistent``),
  or a random distinct integer per row.
- ``SPECIFIC_ID``: a random identifier drawn from ``pattern`` — ``#`` a digit, ``?`` a letter,
  ``^`` a letter or digit, ``\\`` escapes the next character — in ``letter_case`` (upper, lower,
  both); distinct inputs get distinct identifiers. ``{{column}}`` placeholders are not supported.

Values are compared as text after one normalisation: an integer-valued float is written as an
integer (``12.0`` → ``"12"``), so that a key read as float because of a missing value maps like
the same key read as an integer in another table. Missing values stay missing.

Randomness: each column draws from ``numpy.random.SeedSequence([seed, crc32(column)])``, so a
column's pseudonyms depend on the run's seed and its name, not on the other columns. Faker's
output depends on its version too.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from avatars.engine.errors import InvalidParameterError
from avatars.protocol.enums import PiiType, PseudonymizationStrategy, SpecificIdLetterCase

Strategy = PseudonymizationStrategy

DEFAULT_LOCALE = "en_US"

#: Attempts at a distinct SPECIFIC_ID before the pattern is declared too small for the column.
_SPECIFIC_ID_ATTEMPTS = 50


@dataclass(frozen=True)
class PseudonymizationSpec:
    """How one column is pseudonymized (the YAML's strategy object, engine side)."""

    strategy: PseudonymizationStrategy
    pii_type: PiiType = PiiType.FREE_TEXT
    consistent: bool = True
    value: str | None = None  # CONSTANT
    pattern: str | None = None  # SPECIFIC_ID
    letter_case: SpecificIdLetterCase = SpecificIdLetterCase.BOTH
    locale: str = DEFAULT_LOCALE
    high_variability: bool = False  # FAKER: every value from Faker instead of pools (slower)

    @classmethod
    def parse(cls, spec: object, column: str = "?") -> PseudonymizationSpec:
        """A spec from what front ends hold: a :class:`PseudonymizationSpec`; a strategy name
        (``"UUID4"``), optionally with its argument after a colon (``"FAKER:EMAIL"``,
        ``"CONSTANT:REDACTED"``, ``"SPECIFIC_ID:EMP-####"``); a mapping with ``kind`` (or
        ``strategy``) and the strategy object's fields (``pii_type``, ``consistent``, ``value``,
        ``pattern``, ``letter_case``, ``locale``); or an object with ``model_dump()`` (the
        protocol's strategy models). Errors name ``pseudonymize.<column>``."""
        parameter = f"pseudonymize.{column}"
        if isinstance(spec, PseudonymizationSpec):
            return spec
        if hasattr(spec, "model_dump"):
            spec = spec.model_dump()
        if isinstance(spec, str | PseudonymizationStrategy):
            fields = _parse_text(str(getattr(spec, "value", spec)), parameter)
        elif isinstance(spec, Mapping):
            fields = dict(spec)
            if "kind" in fields:
                fields["strategy"] = fields.pop("kind")
        else:
            raise InvalidParameterError(
                parameter, f"expected a strategy name or a strategy object, got {spec!r}"
            )
        return _from_fields(fields, parameter)

    def to_dict(self) -> dict[str, Any]:
        """The spec in the protocol's form (``kind`` and the strategy's fields)."""
        out: dict[str, Any] = {"kind": self.strategy.value}
        if self.strategy == Strategy.FAKER:
            out.update(
                pii_type=self.pii_type.value,
                locale=self.locale,
                high_variability=self.high_variability,
            )
        if self.strategy in (
            Strategy.FAKER,
            Strategy.UUID4,
            Strategy.INTEGER,
            Strategy.SPECIFIC_ID,
        ):
            out["consistent"] = self.consistent
        if self.strategy == Strategy.CONSTANT:
            out["value"] = self.value
        if self.strategy == Strategy.SPECIFIC_ID:
            out.update(pattern=self.pattern, letter_case=self.letter_case.value)
        return out


def pseudonymize_values(
    values: pd.Series,
    spec: PseudonymizationSpec | object,
    *,
    seed: int,
    secret: bytes | str | None = None,
) -> pd.Series:
    """The pseudonyms of ``values`` (same index and length; missing stays missing).

    ``seed`` drives every random strategy (with the column's name: see the module docstring);
    ``secret`` keys ``HASH_SHA256`` and is required for it.
    """
    name = str(values.name)
    spec = PseudonymizationSpec.parse(spec, name)
    observed = values.notna().to_numpy()
    text = pd.Series([_normalise(v) for v in values[observed]], dtype=object)
    rng = np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(name.encode("utf-8"))]))
    made: list[Any]
    if spec.strategy == Strategy.HASH_SHA256:
        key = _secret_bytes(secret, name)
        made = [hmac.new(key, v.encode("utf-8"), hashlib.sha256).hexdigest() for v in text]
    elif spec.strategy == Strategy.CONSTANT:
        made = [spec.value] * len(text)
    else:
        made = _random_pseudonyms(text, spec, rng, name)
    out = pd.Series([None] * len(values), index=values.index, dtype=object, name=values.name)
    out[observed] = made
    return out


def derangement(n: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random permutation of ``range(n)`` without a fixed point (``π(i) ≠ i``), to
    deal row ``i``'s avatar the pseudonym of row ``π(i)``: a pseudonym never rides on the
    avatar of its own original row, where whoever holds the secret (or replays the seed) would
    link the two. Rejection sampling: a uniform permutation is a derangement with probability
    ≈ 1/e, so about e draws. ``n < 2`` has none: the identity."""
    if n < 2:
        return np.arange(n)
    while True:
        order = rng.permutation(n)
        if not np.any(order == np.arange(n)):
            return order


def pseudonymize_table(
    df: pd.DataFrame,
    specs: Mapping[str, PseudonymizationSpec | object],
    *,
    seed: int,
    secret: bytes | str | None = None,
) -> pd.DataFrame:
    """``df`` with each column of ``specs`` replaced by its pseudonyms (a copy)."""
    out = df.copy()
    for column, spec in specs.items():
        if column not in df.columns:
            raise InvalidParameterError(
                "pseudonymize", f"unknown column {column!r}; the table has {list(df.columns)}"
            )
        out[column] = pseudonymize_values(df[column], spec, seed=seed, secret=secret)
    return out


# -- strategies ----------------------------------------------------------------------------------
def _random_pseudonyms(
    text: pd.Series, spec: PseudonymizationSpec, rng: np.random.Generator, name: str
) -> list[Any]:
    """FAKER, UUID4, INTEGER, SPECIFIC_ID: one pseudonym per distinct value (consistent) or per
    row, distinct pseudonyms for distinct inputs."""
    if spec.consistent:
        codes, uniques = pd.factorize(text)
        count = len(uniques)
    else:
        codes, count = np.arange(len(text)), len(text)
    if spec.strategy == Strategy.UUID4:
        made: list[Any] = [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(count)]
    elif spec.strategy == Strategy.INTEGER:
        made = (rng.permutation(count) + 1).tolist()
    elif spec.strategy == Strategy.SPECIFIC_ID:
        made = _specific_ids(spec, count, rng, name)
    else:
        made = _fakes(spec, count, rng)
    return [made[c] for c in codes]


def _fakes(spec: PseudonymizationSpec, count: int, rng: np.random.Generator) -> list[str]:
    """``count`` fakes of ``spec.pii_type`` from a Faker seeded by ``rng``.

    Faker takes ~0.1-0.3 ms per value, so by default (``high_variability`` False, as in the
    protocol) values are drawn from pools of at most :data:`FAKER_POOL` Faker values: names and
    addresses from their pool (people share names), full names and e-mails composed of a first
    and a last name. E-mails, phone and social security numbers identify their owner: distinct
    inputs get distinct ones (a number is appended to an e-mail's local part, a phone or SSN is
    drawn again). With ``high_variability`` every value is drawn from Faker itself.
    """
    from faker import Faker  # imported on use: only pseudonymization needs it

    try:
        fake = Faker(spec.locale)
    except AttributeError:
        raise InvalidParameterError(
            "pseudonymize.locale", f"Faker has no locale {spec.locale!r} (e.g. en_US, fr_FR)"
        ) from None
    fake.seed_instance(int(rng.integers(2**63)))
    pii = spec.pii_type
    if pii in (PiiType.PHONE, PiiType.SSN):
        return _distinct_draws(getattr(fake, _PROVIDER[pii]), count)
    size = count if spec.high_variability or count <= FAKER_POOL else FAKER_POOL

    def pool(provider: str) -> np.ndarray:
        return np.array([getattr(fake, provider)() for _ in range(size)], dtype=object)

    def draw(values: np.ndarray) -> np.ndarray:
        return values if size == count else values[rng.integers(size, size=count)]

    if pii in (PiiType.FIRST_NAME, PiiType.LAST_NAME, PiiType.ADDRESS, PiiType.FREE_TEXT):
        return [str(v).replace("\n", ", ") for v in draw(pool(_PROVIDER[pii]))]
    firsts, lasts = draw(pool("first_name")), draw(pool("last_name"))
    if pii == PiiType.FULL_NAME:
        return [f"{a} {b}" for a, b in zip(firsts, lasts, strict=True)]
    domains = ["example.org", "example.com", "example.net"]  # reserved: never a real address
    picked_domains = rng.integers(len(domains), size=count)
    seen: dict[str, int] = {}
    out = []
    for a, b, d in zip(firsts, lasts, picked_domains, strict=True):
        local = _ascii(f"{a}.{b}")
        address = f"{local}@{domains[d]}"
        if address in seen:  # distinct inputs, distinct addresses
            seen[address] += 1
            address = f"{local}{seen[address]}@{domains[d]}"
        seen.setdefault(address, 0)
        out.append(address)
    return out


#: Faker values per pool (see :func:`_fakes`).
FAKER_POOL = 1_000

_PROVIDER = {
    PiiType.FIRST_NAME: "first_name",
    PiiType.LAST_NAME: "last_name",
    PiiType.PHONE: "phone_number",
    PiiType.SSN: "ssn",
    PiiType.ADDRESS: "address",
    PiiType.FREE_TEXT: "sentence",
}


def _distinct_draws(provider: Any, count: int) -> list[str]:
    """``count`` distinct values of ``provider`` (drawn again on a repeat)."""
    seen: set[str] = set()
    out = []
    for _ in range(count):
        for _attempt in range(_SPECIFIC_ID_ATTEMPTS):
            value = str(provider())
            if value not in seen:
                break
        seen.add(value)
        out.append(value)
    return out


def _ascii(text: str) -> str:
    """An e-mail local part: accents dropped, lower case, letters, digits and dots only."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9.]", "", plain.lower()).strip(".") or "user"


def _specific_ids(
    spec: PseudonymizationSpec, count: int, rng: np.random.Generator, name: str
) -> list[str]:
    assert spec.pattern is not None
    tokens = _pattern_tokens(spec.pattern)
    letters = {
        SpecificIdLetterCase.UPPER: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        SpecificIdLetterCase.LOWER: "abcdefghijklmnopqrstuvwxyz",
        SpecificIdLetterCase.BOTH: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    }[spec.letter_case]
    pools = {"#": "0123456789", "?": letters, "^": letters + "0123456789"}
    seen: set[str] = set()
    out = []
    for _ in range(count):
        for _attempt in range(_SPECIFIC_ID_ATTEMPTS):
            made = "".join(
                pools[t[1]][rng.integers(len(pools[t[1]]))] if t[0] == "slot" else t[1]
                for t in tokens
            )
            if made not in seen:
                break
        else:
            raise InvalidParameterError(
                f"pseudonymize.{name}",
                f"the pattern {spec.pattern!r} has too few distinct identifiers for the "
                f"column's {count:,} values; add placeholders (# ? ^)",
            )
        seen.add(made)
        out.append(made)
    return out


def _pattern_tokens(pattern: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    escaped = False
    for ch in pattern:
        if escaped:
            tokens.append(("text", ch))
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in "#?^":
            tokens.append(("slot", ch))
        else:
            tokens.append(("text", ch))
    return tokens


# -- parsing -------------------------------------------------------------------------------------
def _parse_text(text: str, parameter: str) -> dict[str, Any]:
    """``"FAKER:EMAIL"`` → ``{"strategy": "FAKER", "pii_type": "EMAIL"}`` (see ``parse``)."""
    name, _, argument = text.strip().partition(":")
    fields: dict[str, Any] = {"strategy": name.strip()}
    strategy = name.strip().upper()
    if argument:
        key = {"FAKER": "pii_type", "CONSTANT": "value", "SPECIFIC_ID": "pattern"}.get(strategy)
        if key is None:
            raise InvalidParameterError(parameter, f"{strategy} takes no argument, got {text!r}")
        fields[key] = argument if key != "pii_type" else argument.strip()
    return fields


def _from_fields(fields: dict[str, Any], parameter: str) -> PseudonymizationSpec:
    allowed = ", ".join(s.value for s in Strategy)
    try:
        strategy = Strategy(
            str(getattr(fields.get("strategy"), "value", fields.get("strategy"))).upper()
        )
    except ValueError:
        raise InvalidParameterError(
            parameter, f"expected a strategy among {allowed}, got {fields.get('strategy')!r}"
        ) from None
    pii = fields.get("pii_type") or PiiType.FREE_TEXT
    try:
        pii_type = PiiType(str(getattr(pii, "value", pii)).upper())
    except ValueError:
        types = ", ".join(p.value for p in PiiType)
        raise InvalidParameterError(
            parameter, f"expected a pii_type among {types}, got {pii!r}"
        ) from None
    case = fields.get("letter_case") or SpecificIdLetterCase.BOTH
    try:
        letter_case = SpecificIdLetterCase(str(getattr(case, "value", case)).lower())
    except ValueError:
        raise InvalidParameterError(
            parameter, f"letter_case must be upper, lower or both, got {case!r}"
        ) from None
    if strategy == Strategy.CONSTANT and not isinstance(fields.get("value"), str):
        raise InvalidParameterError(parameter, "CONSTANT needs a value (e.g. CONSTANT:REDACTED)")
    pattern = fields.get("pattern")
    if strategy == Strategy.SPECIFIC_ID:
        if not isinstance(pattern, str) or not any(
            t[0] == "slot" for t in _pattern_tokens(pattern)
        ):
            raise InvalidParameterError(
                parameter,
                f"SPECIFIC_ID needs a pattern with # ? or ^ placeholders, got {pattern!r}",
            )
        if "{{" in pattern:
            raise InvalidParameterError(
                parameter, "SPECIFIC_ID patterns with {{column}} placeholders are not supported"
            )
    consistent = fields.get("consistent", True)
    if not isinstance(consistent, bool):
        raise InvalidParameterError(
            parameter, f"consistent must be true or false, got {consistent!r}"
        )
    high_variability = fields.get("high_variability", False)
    if not isinstance(high_variability, bool):
        raise InvalidParameterError(
            parameter, f"high_variability must be true or false, got {high_variability!r}"
        )
    return PseudonymizationSpec(
        high_variability=high_variability,
        strategy=strategy,
        pii_type=pii_type,
        consistent=consistent,
        value=fields.get("value"),
        pattern=pattern,
        letter_case=letter_case,
        locale=str(fields.get("locale") or DEFAULT_LOCALE),
    )


def _normalise(value: object) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, np.generic):
        return str(value.item())
    return str(value)


def _secret_bytes(secret: bytes | str | None, column: str) -> bytes:
    if secret is None or len(secret) == 0:
        raise InvalidParameterError(
            "pseudonymization_secret",
            f"column '{column}' is pseudonymized with HASH_SHA256, a keyed hash (HMAC-SHA256): "
            "give the secret that keys it (a plain hash of an identifier falls to a "
            "dictionary attack)",
        )
    return secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
