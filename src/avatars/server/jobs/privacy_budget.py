"""What the server's jobs need to know about a differentially private run, without running
one: which DP parameters a table has, and what a metrics document says about the DP avatars
it measures. Imports only the protocol, so that the single-table handlers, the DP job
(:mod:`avatars.server.jobs.dp`) and the linked handlers can all use it."""

from __future__ import annotations

from typing import Any

from avatars.protocol.documents import ParametersSpec
from avatars.protocol.parameters import (
    AvatarizationFastDPParameters,
    AvatarizationOpenDPParameters,
)

DPParameters = AvatarizationOpenDPParameters | AvatarizationFastDPParameters

#: The job's ``warning: ...`` of a FastDP run.
FAST_DP_WARNING = (
    "avatarization_fast_dp is NOT differentially private end to end: only its releases (the "
    "latent model, the columns' histograms) spend ε; the projection, the clipping box of the "
    "latent coordinates and the ranges of the columns are read from the original data "
    "without noise (see differential_privacy in the run metadata)"
)


def dp_parameters(spec: ParametersSpec, table: str) -> DPParameters | None:
    """The table's OpenDP or FastDP parameters in ``spec``, if any."""
    for per_table in (spec.avatarization_open_dp, spec.avatarization_fast_dp):
        if per_table and table in per_table:
            return per_table[table]
    return None


def asks_for_dp(spec: ParametersSpec) -> bool:
    return bool(spec.avatarization_open_dp or spec.avatarization_fast_dp)


def variant_of(params: DPParameters) -> str:
    return "open_dp" if isinstance(params, AvatarizationOpenDPParameters) else "fast_dp"


def metrics_note(run_metadata: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a metrics document says about the DP run it measures (``None``: not a DP run).

    The pairing note matters: DP avatars are draws from a model, paired with the originals
    by row only because the privacy metrics need a pairing (hidden rate and local cloaking
    measure that arbitrary link).
    """
    if not run_metadata:
        return None
    accounting = run_metadata.get("differential_privacy")
    if not isinstance(accounting, dict):
        return None
    engine = run_metadata.get("engine") or {}
    return {
        "variant": accounting.get("variant"),
        "epsilon": accounting.get("epsilon"),
        "end_to_end": accounting.get("end_to_end"),
        "unit_of_privacy": accounting.get("unit_of_privacy"),
        "statement": accounting.get("statement"),
        "metrics_pairing": engine.get("metrics_pairing"),
    }
