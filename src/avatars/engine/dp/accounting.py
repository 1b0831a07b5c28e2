"""Privacy-budget accounting of a differentially private run, as users read it.

Every DP run carries a :class:`PrivacyAccounting`: the total ``ε``, what one unit of privacy
is, each step with the ``ε`` it spent (or none, when it reads the data without a DP
guarantee), and what the guarantee does *not* cover. ``to_dict()`` is what goes into the
run's metadata (``metadata["differential_privacy"]``) and the report; ``statement`` is one
paragraph of plain English for the report and the job.

Reading the guarantee (ε-differential privacy, Dwork et al. 2006): for two tables that differ
in one unit of privacy, the probability of any output changes by at most a factor ``e^ε``.
Here neighbouring tables have the same number of rows and differ in the rows of one
individual ("replace one", bounded DP): the number of rows itself is disclosed, as every
avatarization has one avatar per original row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

#: The unit of privacy when each row is one individual.
ONE_ROW = "one row of the table (one individual)"

#: Neighbouring relation used by every DP mechanism of the engine.
NEIGHBOURING = (
    "two tables are neighbours when they have the same number of rows and differ in the "
    "rows of one unit of privacy (replace one, bounded differential privacy)"
)


@dataclass(frozen=True)
class BudgetStep:
    """One step of a run: what it does, the ε it spends, and whether DP covers it.

    ``epsilon`` is None for a step that spends no budget: post-processing of DP outputs
    (``covered`` True: no privacy cost) or a step that reads the data without noise
    (``covered`` False: outside the guarantee).
    """

    name: str
    description: str
    covered: bool
    epsilon: float | None = None
    mechanism: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.name,
            "description": self.description,
            "covered": self.covered,
            "epsilon": self.epsilon,
            "mechanism": self.mechanism,
        }


@dataclass
class PrivacyAccounting:
    """The budget of one DP run (see the module docstring)."""

    variant: str  # "open_dp" or "fast_dp"
    epsilon: float
    end_to_end: bool
    unit_of_privacy: str
    rows_per_individual: int
    noise_source: str
    steps: list[BudgetStep] = field(default_factory=list)
    not_covered: list[str] = field(default_factory=list)

    @property
    def epsilon_spent(self) -> float:
        """Sum of the ε of the steps (sequential composition): at most :attr:`epsilon`."""
        return math.fsum(step.epsilon or 0.0 for step in self.steps)

    @property
    def statement(self) -> str:
        """The guarantee in one paragraph of plain English."""
        unit = self.unit_of_privacy
        if self.end_to_end:
            head = (
                f"These avatars are ε-differentially private with ε = {_show(self.epsilon)} "
                f"for {unit}: however the data of {_subject(self.rows_per_individual)} "
                "change, the probability of producing these avatars changes by at most a "
                f"factor e^ε = {_factor(self.epsilon)}."
            )
        else:
            head = (
                "These avatars are NOT differentially private end to end. Only the steps "
                f"marked covered are, with ε = {_show(self.epsilon)} for {unit}; the others "
                "read the original data without noise, so the whole run offers no formal "
                "differential-privacy guarantee."
            )
        spent = ", ".join(
            f"{step.name} ε = {_show(step.epsilon)}" for step in self.steps if step.epsilon
        )
        tail = f" Budget per step: {spent}." if spent else ""
        if self.not_covered:
            tail += " Not covered: " + "; ".join(self.not_covered) + "."
        return head + tail

    def to_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "end_to_end": self.end_to_end,
            "epsilon": self.epsilon,
            "epsilon_spent": self.epsilon_spent,
            "delta": 0.0,
            "unit_of_privacy": self.unit_of_privacy,
            "rows_per_individual": self.rows_per_individual,
            "neighbouring": NEIGHBOURING,
            "noise_source": self.noise_source,
            "steps": [step.to_dict() for step in self.steps],
            "not_covered": list(self.not_covered),
            "statement": self.statement,
        }


def _subject(rows_per_individual: int) -> str:
    """Whose data the guarantee is about, in the statement's words."""
    return "that row" if rows_per_individual == 1 else "that individual's rows"


def _show(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def _factor(epsilon: float) -> str:
    """``e^ε`` as a number, or as a power of ten once it is astronomical (``e^1000``
    overflows a float)."""
    if epsilon <= 50:
        return _show(math.exp(epsilon))
    return f"10^{epsilon / math.log(10):.0f}"


def note_copied_columns(
    steps: list[BudgetStep],
    not_covered: list[str],
    *,
    passed_through: Sequence[str],
    excluded: Sequence[str],
    exclude_method: str,
) -> None:
    """Record, in both DP variants' accounting, the columns that leave the run outside the
    guarantee: those passed through unchanged (constant or missing everywhere) and the
    excluded ones, copied from the original rows by ``exclude_method``."""
    if passed_through:
        not_covered.append(
            "column(s) copied as they are (constant or missing everywhere): "
            + ", ".join(map(repr, passed_through))
        )
    if excluded:
        steps.append(
            BudgetStep(
                "excluded_variables",
                f"column(s) {', '.join(map(repr, excluded))} copied from the originals "
                f"({exclude_method})",
                covered=False,
            )
        )
        not_covered.append(
            "excluded variable(s) "
            + ", ".join(map(repr, excluded))
            + ", copied from the original rows"
        )
