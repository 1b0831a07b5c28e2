"""Differentially private avatarization jobs: ``avatarization_open_dp`` and
``avatarization_fast_dp`` (method.md §6.3) through :mod:`avatars.engine.dp`.

A standard job whose table has DP parameters instead of ``k`` runs here
(:mod:`avatars.server.jobs.routing` chooses); it writes the same result files as a k-avatars
run (shuffled, unshuffled, projections, figures, run metadata), so the privacy and signal
metrics jobs and the report measure DP avatars like any others. What differs:

- the run metadata carries the privacy accounting (``differential_privacy``: ε per step,
  covered and uncovered steps, the unit of privacy, a plain statement) at its top level and
  inside ``engine``, where the metrics jobs (:func:`metrics_note`) and the report read it;
- a FastDP run is NOT differentially private end to end (the projection, the clipping box
  and the column ranges are read from the data without noise): the job says so in its
  ``exception`` as ``warning: ...`` (:data:`FAST_DP_WARNING`), as do the metrics documents
  and the report;
- linked schemas (several tables, links, series) are refused: their unit of privacy would be
  an individual with all their rows in every table, which no mechanism here bounds.

``k`` and ``epsilon`` for the same table are refused when the resource set arrives
(:mod:`avatars.protocol.documents`), ε ≤ 0 or > 1000 too (:mod:`avatars.protocol.parameters`):
one wording, shared with the SDK and the CLI.
"""

from __future__ import annotations

from typing import Any

from avatars.protocol.documents import AvatarizationDocument, ParametersSpec
from avatars.protocol.enums import ResultKind
from avatars.protocol.parameters import AvatarizationOpenDPParameters
from avatars.protocol.results import run_metadata_file_name
from avatars.protocol.schema import Table
from avatars.server.jobs.handlers import (
    JobError,
    JobInput,
    _check_spec,
    _result_format,
    _scaled,
    _schema,
    _single_table,
    _standard_figures,
    read_input,
    run_metadata_head,
    write_avatar_frames,
    write_json,
)
from avatars.server.jobs.parameters import exclusion, imputation
from avatars.server.jobs.privacy_budget import (
    FAST_DP_WARNING,
    DPParameters,
    dp_parameters,
    variant_of,
)


def refuse_linked(spec: ParametersSpec, *, linked: bool = True) -> None:
    """DP on a schema of several tables: refused, saying why (called before the linked
    handlers). ``linked``: some table has links or series (else the tables are independent)."""
    for name in ("avatarization_open_dp", "avatarization_fast_dp"):
        tables = getattr(spec, name) or {}
        if not tables:
            continue
        named = ", ".join(map(repr, tables))
        if not linked:
            raise JobError(
                f"{name} (differential privacy) on a schema of several tables (table(s) "
                f"{named}) is not supported yet; avatarize each table with differential "
                "privacy in a set of its own, or use k"
            )
        raise JobError(
            f"{name} (differential privacy) on a schema of linked tables or series "
            f"(table(s) {named}) is not supported: the unit of "
            "privacy there is an individual with all their rows in every linked table, "
            "and no bound on those rows is enforced yet; avatarize a single "
            "individual-level table with differential privacy, or use k"
        )


def run_dp_standard(job: JobInput, doc: AvatarizationDocument) -> dict[str, list[str]]:
    """A standard job whose table has DP parameters: the engine's DP variant, then the same
    result files as a k-avatars run."""
    spec = doc.spec
    _check_spec(spec)
    table = _single_table(job.resources, _schema(job, spec.schema_name))
    params = dp_parameters(spec, table.name)
    if params is None:
        raise JobError(f"{doc.label}: no differential-privacy parameters for table '{table.name}'")
    variant = variant_of(params)
    label = f"{doc.label}: spec.avatarization_{variant}.{table.name}"
    _check_unsupported(label, params)
    job.progress(0.0, "reading")
    df = read_input(job, table)
    _refuse_identifiers(label, table, df)
    job.progress(0.05, f"avatarizing ({variant}, ε = {params.epsilon:g})")
    result = _avatarize(df, table, params, spec.seed, job)
    accounting = result.metadata["differential_privacy"]
    if not accounting["end_to_end"]:
        job.warnings.append(FAST_DP_WARNING if variant == "fast_dp" else accounting["statement"])
    job.progress(0.9, "writing")
    outputs = write_avatar_frames(job, table.name, result, _result_format(spec))
    metadata = {
        **run_metadata_head(job, table.name, df, params),
        "method": f"avatarization_{variant}",
        "differential_privacy": accounting,
        "engine": result.metadata,
        "contributions": (
            result.contributions.to_dict() if result.contributions is not None else None
        ),
    }
    if spec.compute_figures is not False:
        job.progress(0.95, "figures")
        outputs.update(_standard_figures(job, table, df, result, spec, metadata))
    outputs[ResultKind.run_metadata] = [write_json(job, run_metadata_file_name(job.name), metadata)]
    return {k.value: v for k, v in outputs.items()}


def _check_unsupported(label: str, params: DPParameters) -> None:
    if params.use_categorical_reduction:
        raise JobError(f"{label}: use_categorical_reduction=true is not supported yet")
    if params.avatarization_processors_parameters:
        raise JobError(f"{label}: avatarization_processors_parameters is not supported yet")


def _refuse_identifiers(label: str, table: Table, df: Any) -> None:
    """Identifier columns are refused as for k-avatars: an OpenDP run would publish their
    labels (a categorical column's labels are part of the schema, outside ε) and an
    excluded one would be copied from the originals."""
    from avatars.engine.identifiers import detect_identifiers

    findings = detect_identifiers(df, column_types=table.column_types() or None)
    if findings:
        names = ", ".join(repr(f.column) for f in findings)
        raise JobError(
            f"{label}: column(s) {names} of table '{table.name}' identify individuals; drop "
            "them from the table before a differentially private avatarization (their "
            "values or labels would be published outside the privacy budget)"
        )


def _avatarize(df: Any, table: Table, params: DPParameters, seed: int | None, job: JobInput) -> Any:
    from avatars.engine.dp import avatarize_fast_dp, avatarize_open_dp

    exclude, method = exclusion(params)
    common: dict[str, Any] = {
        "epsilon": params.epsilon,
        "seed": seed,
        "column_types": table.column_types() or None,
        "column_weights": params.column_weights,
        "imputation": imputation(params),
        "exclude_variables": exclude,
        "exclude_method": method,
        "data_augmentation": (
            params.data_augmentation.model_dump(mode="json", exclude_none=True)
            if params.data_augmentation is not None
            else None
        ),
        "ncp": params.ncp,
        "progress": _scaled(job.progress, 0.05, 0.9),
    }
    if params.rows_per_individual is not None:  # else the engine's default: one row
        common["rows_per_individual"] = params.rows_per_individual
    if common["data_augmentation"] is not None:
        common["data_augmentation"].pop("exclude_variables", None)
    if isinstance(params, AvatarizationOpenDPParameters):
        if params.preprocess_budget_ratio is not None:
            common["preprocess_budget_ratio"] = params.preprocess_budget_ratio
        return avatarize_open_dp(df, **common)
    optional: dict[str, Any] = {
        "mechanism": params.mechanism,
        "gmm_n_components": params.gmm_n_components,
        "histogram_n_bins": params.histogram_n_bins,
        "bounds_percentile": params.bounds_percentile,
    }
    return avatarize_fast_dp(df, **common, **{k: v for k, v in optional.items() if v is not None})
