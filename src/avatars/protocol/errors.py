"""One wording for invalid parameters, whoever checks them.

The server (a resource set), the SDK (``Runner.set_parameters``) and the CLI (its options)
validate parameters with the same pydantic models of :mod:`avatars.protocol.parameters`; this
module turns a validation failure into the same words for all three::

    k: Input should be greater than or equal to 2 (got 1)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from avatars.protocol.enums import PseudonymizationStrategy

__all__ = ["ParameterError", "validate_parameters", "validation_issues"]

M = TypeVar("M", bound=BaseModel)


class ParameterError(ValueError):
    """Parameters outside their ranges; ``issues`` is ``[(field, problem), ...]``."""

    def __init__(self, issues: list[tuple[str, str]]) -> None:
        self.issues = issues
        super().__init__(
            "; ".join(f"{field}: {problem}" if field else problem for field, problem in issues)
        )


#: Location parts pydantic adds for the member of a union it tried (not field names).
_TYPE_TAGS = frozenset(
    {"int", "float", "str", "bool", "dict", "list", "none", *PseudonymizationStrategy}
)


def _is_type_tag(part: object) -> bool:
    text = str(part)
    return "[" in text or "(" in text or text in _TYPE_TAGS


def _shown(value: Any) -> str | None:
    if isinstance(value, str | int | float | bool) or value is None:
        text = repr(value)
        return text if len(text) <= 80 else text[:77] + "..."
    return None


def validation_issues(exc: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    """``[(dotted field, problem)]`` of a pydantic error, each problem saying what was given."""
    issues: list[tuple[str, str]] = []
    for error in exc.errors(include_url=False):
        parts = [str(p) for p in error.get("loc", ()) if not _is_type_tag(p)]
        field = ".".join([prefix, *parts] if prefix else parts)
        problem = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        shown = _shown(error.get("input")) if error.get("type") != "missing" else None
        if shown is not None and "got" not in problem:
            problem = f"{problem} (got {shown})"
        if (field, problem) not in issues:
            issues.append((field, problem))
    return issues


def validate_parameters(model: type[M], values: Mapping[str, Any], *, prefix: str = "") -> M:
    """``model(**values)``, or a :class:`ParameterError` in the shared wording."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        raise ParameterError(validation_issues(exc, prefix)) from None
