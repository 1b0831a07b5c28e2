"""``Runner``: one avatarization run, with the surface of Octopize's official client.

A notebook written for ``octopize.avatar`` runs unchanged::

    runner = manager.create_runner("iris_k20")
    runner.add_table("iris", df)
    runner.set_parameters("iris", k=20)
    runner.run()
    avatars = runner.shuffled("iris")
    print(runner.privacy_metrics("iris")[0])

What differs is what a user should never have to notice: jobs are created back to back (no
0.5 s pauses), waiting polls with a short back-off (0.2 s, ×1.5, at most 5 s) instead of 5 s
and more, shows a progress bar only in interactive sessions, and never waits forever: every
wait has a timeout (``Runner(timeout=...)``, the ``AVATAR_JOB_TIMEOUT`` variable, or
``timeout=`` per call) and raises :class:`~avatars.exceptions.JobTimeoutError`. A failed job
raises :class:`~avatars.exceptions.JobFailedError` (a ``ValueError``, as in the official
client) with the server's explanation.

Several linked tables (``add_table(..., primary_key=..., foreign_keys=[...])``, ``add_link``)
and series tables (``add_table(..., time_series_time=...)`` linked with
``LinkMethod.TIME_SERIES``, ``set_parameters(table, time_series_nf=...)``) run as one set:
results per table, one report. A link with ``sensitive_original_order_assignment`` keeps the
real parent-child pairing: the server flags the run, and waiting on its jobs warns
(``UserWarning``).

Identifiers: a column that identifies people is refused by the server unless the run says
what to do with it — ``add_table(..., primary_key=col)`` (new keys), ``set_parameters(table,
pseudonymized_columns={col: strategy})`` (pseudonyms; ``HASH_SHA256`` is keyed with the
organization's secret), or leave it out of the data. ``exclude_variable_names`` with
``exclude_variable_method=ROW_ORDER`` named is written with ``explicit_replacement_strategy:
true``: only then may
an identifier get its original values back (row order), and the job, the metrics and the report
warn that the output keeps the original association. ``add_table(..., holdout_data=...)`` adds
the membership metrics; ``advise_parameters(table, targets={...})`` searches for parameters
meeting privacy targets.

Parameters this platform's engine does not support yet (differential privacy) raise
``ValueError`` naming the parameter when they are set, not minutes later.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
import warnings
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID

import pandas as pd

from avatars.api.transfers import storage_path_of
from avatars.client import ApiClient
from avatars.constants import (
    CANCELLED_STATUSES,
    DEFAULT_POLL_BACKOFF,
    DEFAULT_POLL_INITIAL,
    DEFAULT_POLL_MAX,
    DEFAULT_TYPE,
    ERROR_STATUSES,
    JOB_EXECUTION_ORDER,
    MATCHERS,
    RESULTS_TO_STORE,
)
from avatars.exceptions import JobFailedError, JobTimeoutError, NotFoundError
from avatars.links_advice import TablesLinksAdvice, parse_tables_links_advice
from avatars.protocol.enums import (
    AdviceType,
    AlignmentMethod,
    AugmentationStrategy,
    ColumnType,
    DataRecipient,
    DataSubject,
    DataType,
    ExcludeVariablesMethod,
    ImputeMethod,
    JobKind,
    LinkMethod,
    OutputFormat,
    PlotKind,
    ProjectionType,
    ReportLanguage,
    ReportType,
    Results,
    SensitivityLevel,
)
from avatars.protocol.results import TABULAR_STEMS, table_of_tabular_file, unescape_table_name
from avatars.protocol.wire import (
    BulkDeleteRequest,
    BulkDeleteResponse,
    JobCreateRequest,
    JobCreateResponse,
    JobResponse,
)
from avatars.runner_config import (
    UNSUPPORTED_PARAMETERS,
    RunnerConfig,
    avatarization_block,
    check_columns,
    check_key_columns,
    data_augmentation_parameters,
    differential_privacy_block,
    exclude_block,
    imputation_block,
    not_identifier_names,
    plain_number,
    privacy_metrics_block,
    processors_parameters,
    pseudonymization_parameters,
    signal_metrics_block,
    time_series_block,
)

__all__ = [
    "UNSUPPORTED_PARAMETERS",
    "AdviceType",
    "AlignmentMethod",
    "AugmentationStrategy",
    "ColumnType",
    "DataRecipient",
    "DataSubject",
    "DataType",
    "ExcludeVariablesMethod",
    "ImputeMethod",
    "JobKind",
    "LinkMethod",
    "OutputFormat",
    "PlotKind",
    "ProjectionType",
    "ReportLanguage",
    "ReportType",
    "Results",
    "RunResults",
    "Runner",
    "SensitivityLevel",
]

#: Default time a getter waits for its job, in seconds.
DEFAULT_JOB_TIMEOUT = 3600.0


def _env_float(name: str, default: float | None) -> float | None:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {value!r}") from None
    return None if number <= 0 else number


def is_interactive() -> bool:
    """A person is watching: stderr is a terminal, or we run in a Jupyter kernel."""
    try:
        if sys.stderr is not None and sys.stderr.isatty():
            return True
    except (AttributeError, ValueError):
        pass
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


class Runner:
    """One run: its tables, its parameters, its jobs and their results."""

    def __init__(
        self,
        api_client: ApiClient,
        display_name: str,
        seed: int | None = None,
        max_distribution_plots: int | None = None,
        pia_data_recipient: DataRecipient = DataRecipient.UNKNOWN,
        pia_data_type: DataType = DataType.UNKNOWN,
        pia_data_subject: DataSubject = DataSubject.UNKNOWN,
        pia_sensitivity_level: SensitivityLevel = SensitivityLevel.UNDEFINED,
        report_language: ReportLanguage = ReportLanguage.EN,
        *,
        timeout: float | None = None,
        show_progress: bool | None = None,
    ) -> None:
        if not isinstance(display_name, str) or not display_name.strip():
            raise ValueError("display_name must be a non-empty string")
        if any(c in display_name for c in "/?#"):
            raise ValueError(
                f"display_name {display_name!r} must not contain '/', '?' or '#' "
                "(it is part of a URL path)"
            )
        seed = plain_number(seed)  # a numpy integer is an int in the YAML
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError(f"seed must be an integer, got {seed!r}")
        self.client = api_client
        self.display_name = display_name
        self.set_name: str | None = None
        self.report_language = ReportLanguage(report_language)
        self.timeout = (
            timeout
            if timeout is not None
            else _env_float("AVATAR_JOB_TIMEOUT", DEFAULT_JOB_TIMEOUT)
        )
        self.show_progress = show_progress
        self.config = RunnerConfig(
            display_name,
            seed=seed,
            max_distribution_plots=max_distribution_plots,
            pia_data_recipient=pia_data_recipient,
            pia_data_type=pia_data_type,
            pia_data_subject=pia_data_subject,
            pia_sensitivity_level=pia_sensitivity_level,
        )
        self.jobs: dict[str, JobCreateResponse] = {}
        self.results_urls: dict[str, dict[str, list[str]]] = {}
        self._results: dict[tuple[str, str], dict[str, Any]] = {}
        self._sleep: Callable[[float], None] = time.sleep
        self._warned: set[str] = set()  # jobs whose finishing warning was shown

    def __repr__(self) -> str:
        return (
            f"Runner(display_name={self.display_name!r}, set_name={self.set_name!r}, "
            f"tables={list(self.config.tables)}, jobs={list(self.jobs)})"
        )

    # -- tables ----------------------------------------------------------------------------
    def add_annotations(self, annotations: dict[str, str]) -> None:
        """Add annotations to the set's metadata document."""
        self.config.annotations.update({str(k): str(v) for k, v in annotations.items()})

    def add_table(
        self,
        table_name: str,
        data: str | Path | pd.DataFrame,
        primary_key: str | None = None,
        foreign_keys: list[str] | None = None,
        time_series_time: str | None = None,
        types: dict[str, ColumnType | str] | None = None,
        individual_level: bool | None = None,
        avatar_data: str | Path | pd.DataFrame | None = None,
        holdout_data: str | Path | pd.DataFrame | None = None,
    ) -> None:
        """Upload a table and add it to the run.

        ``data`` is a DataFrame (uploaded as CSV; column types inferred from the dtypes:
        float, int, bool, datetime, datetime_tz, anything else category) or a path to a CSV
        or Parquet file (uploaded as is). ``types`` overrides the type of some columns.

        ``primary_key`` declares a key column: the avatars get new keys, never the original
        ones. ``holdout_data`` (this platform's extension): records of the same population that
        are NOT in ``data``, with its columns; the privacy metrics then measure membership (DCR
        share, membership-inference AUC) and the advice can meet membership targets.
        """
        if not isinstance(table_name, str) or not table_name:
            raise ValueError("table_name must be a non-empty string")
        if "/" in table_name or "\\" in table_name:
            raise ValueError(f"table_name {table_name!r} must not contain '/' or '\\'")
        if foreign_keys is not None and (
            isinstance(foreign_keys, str) or not isinstance(foreign_keys, list | tuple)
        ):
            raise ValueError(f"foreign_keys must be a list of column names, got {foreign_keys!r}")
        keys = {
            "primary_key": [primary_key] if primary_key is not None else [],
            "foreign_keys": [k for k in foreign_keys or [] if k is not None],
            "time_series_time": [time_series_time] if time_series_time is not None else [],
        }
        for argument, names in keys.items():
            for name in names:
                if not isinstance(name, str) or not name:
                    raise ValueError(f"{argument}: expected a column name, got {name!r}")
                if isinstance(data, pd.DataFrame) and name not in data.columns:
                    raise ValueError(f"{argument}: no column {name!r} in the data")
        check_key_columns(primary_key, keys["foreign_keys"], time_series_time)
        if types is not None and not isinstance(types, dict):
            raise ValueError(f"types must be a dict of column name to ColumnType, got {types!r}")
        for column, kind in (types or {}).items():
            try:
                ColumnType(kind)
            except ValueError:
                valid = ", ".join(t.value for t in ColumnType)
                raise ValueError(
                    f"types[{column!r}]: {kind!r} is not a column type ({valid})"
                ) from None
        if isinstance(data, pd.DataFrame):
            missing = [c for c in (types or {}) if c not in data.columns]
            if missing:
                raise ValueError(f"types: no column {', '.join(map(repr, missing))} in the data")
            if data.shape[1] == 0:
                raise ValueError("data: the DataFrame has no column")
        elif not isinstance(data, str | Path):
            raise ValueError(
                f"data must be a pandas DataFrame or a path to a file, got {type(data).__name__}"
            )
        file, avatar_file = self.upload_file(table_name, data, avatar_data)
        holdout_file = None
        if holdout_data is not None:
            if not isinstance(holdout_data, pd.DataFrame | str | Path):
                raise ValueError(
                    "holdout_data must be a pandas DataFrame or a path to a file, got "
                    f"{type(holdout_data).__name__}"
                )
            extension = (
                ".csv" if isinstance(holdout_data, pd.DataFrame) else Path(holdout_data).suffix
            )
            holdout_file = f"{table_name}_holdout{extension}"
            self.client.upload_file(holdout_data, holdout_file)
        if isinstance(data, pd.DataFrame):
            column_types: dict[str, Any] = self._get_types(data, types or {})
        else:
            column_types = dict(types or {})
        self.config.add_table(
            table_name,
            file,
            types=column_types,
            avatar_file=avatar_file,
            individual_level=individual_level,
            primary_key=primary_key,
            foreign_keys=keys["foreign_keys"],
            time_series_time=time_series_time,
            holdout_file=holdout_file,
        )

    def upload_file(
        self,
        table_name: str,
        data: str | Path | pd.DataFrame,
        avatar_data: str | Path | pd.DataFrame | None = None,
    ) -> tuple[str, str | None]:
        """Upload a table (and optional avatars of it); their file names in the YAML."""
        extension = ".csv" if isinstance(data, pd.DataFrame) else Path(data).suffix
        file = table_name + extension
        self.client.upload_file(data, file)
        avatar_file = None
        if avatar_data is not None:
            avatar_extension = (
                ".csv" if isinstance(avatar_data, pd.DataFrame) else Path(avatar_data).suffix
            )
            avatar_file = f"{table_name}_avatars{avatar_extension}"
            self.client.upload_file(avatar_data, avatar_file)
        return file, avatar_file

    @staticmethod
    def _get_types(data: pd.DataFrame, types: dict[str, Any]) -> dict[str, ColumnType]:
        result: dict[str, ColumnType] = {}
        for column, dtype in data.dtypes.items():
            name = str(column)
            if name in types:
                result[name] = ColumnType(types[name])
                continue
            result[name] = next(
                (kind for pattern, kind in MATCHERS.items() if pattern.search(str(dtype))),
                DEFAULT_TYPE,
            )
        return result

    def add_link(
        self,
        parent_table_name: str,
        parent_field: str,
        child_table_name: str,
        child_field: str,
        method: LinkMethod | str = LinkMethod.LINEAR_SUM_ASSIGNMENT,
    ) -> None:
        """Link ``parent_table_name.parent_field`` (its primary key) to
        ``child_table_name.child_field`` (one of its foreign keys): every child row belongs to
        one parent row. ``method``: how avatar children are attached to avatar parents
        (``linear_sum_assignment``, ``minimum_distance_assignment``,
        ``sensitive_original_order_assignment`` — keeps the real pairing: a privacy breach the
        run reports —, or ``time_series`` for a series table under its individual table)."""
        self.config.create_link(
            parent_table_name, parent_field, child_table_name, child_field, method
        )

    def delete_table(self, table_name: str) -> None:
        self.config.delete_table(table_name)

    def delete_link(self, parent_table_name: str, child_table_name: str) -> None:
        """Remove the link from ``parent_table_name`` to ``child_table_name``."""
        self.config.delete_link(parent_table_name, child_table_name)

    # -- parameters ------------------------------------------------------------------------
    def set_parameters(
        self,
        table_name: str,
        k: int | None = None,
        ncp: int | None = None,
        use_categorical_reduction: bool | None = None,
        column_weights: dict[str, float] | None = None,
        exclude_variable_names: list[str] | None = None,
        exclude_replacement_strategy: ExcludeVariablesMethod | None = None,
        exclude_variable_method: ExcludeVariablesMethod | None = None,
        imputation_method: ImputeMethod | None = None,
        imputation_k: int | None = None,
        imputation_training_fraction: float | None = None,
        imputation_return_data_imputed: bool | None = None,
        open_dp_epsilon: float | None = None,
        fast_dp_epsilon: float | None = None,
        time_series_nf: int | None = None,
        time_series_projection_type: ProjectionType | None = None,
        time_series_nb_points: int | None = None,
        time_series_method: AlignmentMethod | None = None,
        known_variables: list[str] | None = None,
        target: str | None = None,
        quantile_threshold: int | None = None,
        data_augmentation_strategy: Any = None,
        data_augmentation_target_column: str | None = None,
        data_augmentation_should_anonymize_original_table: bool | None = None,
        processors: list[Any] | None = None,
        pseudonymized_columns: dict[str, Any] | None = None,
        use_excluded_variables_in_metrics: bool = False,
        not_identifiers: list[str] | None = None,
        dp_rows_per_individual: int | None = None,
    ) -> None:
        """Set the avatarization and metrics parameters of a table (replacing earlier ones).

        ``k`` is required for an avatarization, unless ``open_dp_epsilon`` (AvatarOpenDP,
        end-to-end ε-differential privacy) or ``fast_dp_epsilon`` (AvatarFastDP, latent-space
        DP, NOT end to end) is given instead: ``k`` and an epsilon are exclusive, and so are
        the two epsilons (a ``ValueError`` says so); the metrics parameters (``known_variables``,
        ``target``, ``quantile_threshold``) apply to the privacy metrics; ``ncp``,
        ``column_weights``, the imputation and the excluded variables apply to the metrics too
        (unless ``use_excluded_variables_in_metrics``).

        A value out of its range raises :class:`~avatars.protocol.errors.ParameterError` (a
        ``ValueError``) in the server's words, e.g. ``k: Input should be greater than or equal
        to 2 (got 1)``; a column the table lacks, or a feature this platform's engine cannot
        run yet, a ``ValueError`` naming the keyword.

        ``pseudonymized_columns`` replaces identifying columns by pseudonyms;
        ``not_identifiers`` (this platform's extension) names columns that the platform's
        identifier detection flags wrongly (a measurement with an ID-like name, say): they are
        avatarized as variables (``identifier: false`` in the YAML).

        ``dp_rows_per_individual`` (this platform's extension, with an epsilon): the most rows
        one individual holds in the table. The differential-privacy guarantee then protects
        an individual with all their rows (the noise grows with it); without it, one row.
        """
        entry = self.config.check_table(table_name)
        data_augmentation = data_augmentation_parameters(
            data_augmentation_strategy,
            data_augmentation_target_column,
            data_augmentation_should_anonymize_original_table,
        )
        processors_block = processors_parameters(processors)
        pseudonyms = pseudonymization_parameters(pseudonymized_columns)
        declared_variables = not_identifier_names(not_identifiers, pseudonyms or {})

        exclude = exclude_block(
            exclude_variable_names, exclude_variable_method, exclude_replacement_strategy
        )
        imputation = imputation_block(
            imputation_method,
            imputation_k,
            imputation_training_fraction,
            imputation_return_data_imputed,
        )
        differential_privacy = differential_privacy_block(
            k,
            open_dp_epsilon,
            fast_dp_epsilon,
            ncp,
            use_categorical_reduction,
            column_weights,
            exclude=exclude,
            imputation=imputation,
            data_augmentation=data_augmentation,
            processors=processors_block,
            rows_per_individual=dp_rows_per_individual,
        )
        avatarization = avatarization_block(
            k,
            ncp,
            use_categorical_reduction,
            column_weights,
            exclude=exclude,
            imputation=imputation,
            data_augmentation=data_augmentation,
            processors=processors_block,
        )
        time_series = time_series_block(
            time_series_nf,
            time_series_projection_type,
            time_series_nb_points,
            time_series_method,
            exclude=exclude,
        )
        metrics_exclude = None if use_excluded_variables_in_metrics else exclude
        privacy = privacy_metrics_block(
            ncp=ncp,
            use_categorical_reduction=use_categorical_reduction,
            known_variables=known_variables,
            target=target,
            quantile_threshold=quantile_threshold,
            imputation=imputation,
            exclude=metrics_exclude,
            column_weights=column_weights,
        )
        signal = signal_metrics_block(
            ncp=ncp,
            use_categorical_reduction=use_categorical_reduction,
            imputation=imputation,
            column_weights=column_weights,
            exclude=metrics_exclude,
        )
        check_columns(
            table_name,
            set(entry.column_types()) or None,
            exclude_variable_names=exclude_variable_names,
            known_variables=known_variables,
            column_weights=list(column_weights or {}),
            target=[target] if target is not None else None,
            pseudonymized_columns=list(pseudonyms or {}),
            not_identifiers=declared_variables,
        )
        self.config.set_table_parameters(
            table_name,
            avatarization,
            privacy,
            signal,
            time_series,
            differential_privacy=differential_privacy,
        )
        if pseudonyms:
            entry.set_pseudonymization(pseudonyms)
        if declared_variables:
            entry.set_not_identifiers(declared_variables)

    def update_parameters(self, table_name: str, **kwargs: Any) -> None:
        """Change some parameters of a table, keeping the others."""
        self.config.check_table(table_name)
        if not any(
            table_name in per_table
            for per_table in (
                self.config.avatarization,
                self.config.avatarization_open_dp,
                self.config.avatarization_fast_dp,
                self.config.time_series,
            )
        ):
            raise ValueError(
                f"No existing parameters found for table '{table_name}'. "
                "Use set_parameters to create new parameters."
            )
        current = self._current_parameters(table_name)
        current.update(kwargs)
        self.set_parameters(table_name, **current)

    def _current_parameters(self, table_name: str) -> dict[str, Any]:
        params: dict[str, Any] = {}
        avatarization = (
            self.config.avatarization.get(table_name)
            or self.config.avatarization_open_dp.get(table_name)
            or self.config.avatarization_fast_dp.get(table_name)
            or {}
        )
        privacy = self.config.privacy_metrics.get(table_name, {})
        for key in ("k", "ncp", "use_categorical_reduction", "column_weights"):
            if avatarization.get(key) is not None:
                params[key] = avatarization[key]
        if table_name in self.config.avatarization_open_dp:
            params["open_dp_epsilon"] = avatarization["epsilon"]
        elif table_name in self.config.avatarization_fast_dp:
            params["fast_dp_epsilon"] = avatarization["epsilon"]
        if avatarization.get("rows_per_individual") is not None:
            params["dp_rows_per_individual"] = avatarization["rows_per_individual"]
        exclude = avatarization.get("exclude_variables")
        if exclude:
            params["exclude_variable_names"] = exclude.get("variable_names")
            if _chosen_method(exclude):  # a default row_order stays a default
                params["exclude_variable_method"] = exclude.get("replacement_strategy")
            if not privacy.get("exclude_variables"):
                params["use_excluded_variables_in_metrics"] = True
        imputation = avatarization.get("imputation") or privacy.get("imputation")
        if imputation:
            params["imputation_method"] = imputation.get("method")
            params["imputation_k"] = imputation.get("k")
            params["imputation_training_fraction"] = imputation.get("training_fraction")
            params["imputation_return_data_imputed"] = imputation.get("return_data_imputed")
        for key in ("known_variables", "target", "quantile_threshold"):
            if privacy.get(key) is not None:
                params[key] = privacy[key]
        series = self.config.time_series.get(table_name, {})
        projection = series.get("projection") or {}
        alignment = series.get("alignment") or {}
        for keyword, value in (
            ("time_series_nf", projection.get("nf")),
            ("time_series_projection_type", projection.get("projection_type")),
            ("time_series_nb_points", alignment.get("nb_points")),
            ("time_series_method", alignment.get("method")),
        ):
            if value is not None:
                params[keyword] = value
        exclude = series.get("exclude_variables")
        if exclude and "exclude_variable_names" not in params:
            params["exclude_variable_names"] = exclude.get("variable_names")
            if _chosen_method(exclude):
                params["exclude_variable_method"] = exclude.get("replacement_strategy")
        return params

    def delete_parameters(self, table_name: str, parameters_names: list[str] | None = None) -> None:
        """Forget a table's parameters (all, or the named avatarization parameters)."""
        self.config.check_table(table_name)
        if not parameters_names:
            for per_table in (
                self.config.avatarization,
                self.config.avatarization_open_dp,
                self.config.avatarization_fast_dp,
                self.config.time_series,
                self.config.privacy_metrics,
                self.config.signal_metrics,
            ):
                per_table.pop(table_name, None)
            return
        params = self.config.avatarization.get(table_name, {})
        for name in parameters_names:
            if name not in params:
                raise ValueError(f"parameters_names: {name!r} is not set for {table_name!r}")
            del params[name]

    def advise_parameters(
        self,
        table_name: str | None = None,
        targets: dict[str, float | str] | None = None,
    ) -> None:
        """Ask the server for parameters suited to the data, and set them.

        Without ``targets``, the advice reads the data's shape. With ``targets`` (this
        platform's extension), ``{metric: threshold}`` such as ``{"hidden_rate": 90,
        "dcr_share": 55}`` (a number in the metric's unit, compared as its default target is;
        or a target string such as ``"> 90"``), the server searches for the ``k`` and ``ncp``
        that meet every target with the best signal, measuring them on this data (on a sample
        of a large table; membership targets use the table's ``holdout_data``, else a part of
        the table held out). What it measured, and whether every target was met, is in
        :meth:`advice` (``"search"``); a warning says so when no setting meets them.
        """
        if not self.config.tables:
            # The server would answer a set without a table with a bare 422.
            raise ValueError(
                "advise_parameters: this runner has no table; add a table with add_table() "
                "before advise_parameters()"
            )
        tables = [table_name] if table_name else list(self.config.tables)
        for name in tables:
            self.config.check_table(name)
        if targets is not None and (not isinstance(targets, dict) or not targets):
            raise ValueError(f"targets: expected {{metric: threshold}}, got {targets!r}")
        advice_name = self.config.create_advice([AdviceType.PARAMETERS], targets)
        response = self.client.resources.put_resources(self.display_name, self.get_yaml())
        self.set_name = str(response.set_name)
        self.jobs[advice_name] = self._create_job(advice_name, [])
        self._drop_results(advice_name)
        for name in tables:
            advice = self._advice(name)
            search = advice.get("search") or {}
            if search and not search.get("met"):
                warnings.warn(
                    f"advise_parameters: table {name!r}: {search.get('message')}",
                    UserWarning,
                    stacklevel=2,
                )
            imputation = advice.get("imputation") or {}
            series = advice.get("time_series") or {}  # a series table: its grid and components
            self.set_parameters(
                name,
                k=advice.get("k"),
                ncp=advice.get("ncp"),
                use_categorical_reduction=advice.get("use_categorical_reduction") or None,
                imputation_method=imputation.get("method"),
                imputation_k=imputation.get("k"),
                imputation_training_fraction=imputation.get("training_fraction"),
                imputation_return_data_imputed=imputation.get("return_data_imputed", False),
                time_series_nf=series.get("nf"),
                time_series_projection_type=series.get("projection_type"),
                time_series_nb_points=series.get("nb_points"),
                time_series_method=series.get("method"),
            )

    def advise_links(self, *, apply: bool = True) -> TablesLinksAdvice:
        """Ask the server which table each foreign key points to (declare every table's
        ``primary_key`` and ``foreign_keys`` with ``add_table`` first). The advice comes from
        the names of the tables and keys; with ``apply`` each advised link is added
        (``add_link``). Returns the links with their confidence and the foreign keys left
        without one parent, as the official client 1.30 does."""
        if len(self.config.tables) < 2:
            raise ValueError(
                f"advise_links: expected at least two tables, got {len(self.config.tables)}"
            )
        name = self.config.create_advice([AdviceType.TABLES_LINKS])
        response = self.client.resources.put_resources(self.display_name, self.get_yaml())
        self.set_name = str(response.set_name)
        self.jobs[name] = self._create_job(name, [])
        self._drop_results(name)
        urls = self.get_specific_result_urls(name, Results.ADVICE)
        advice = parse_tables_links_advice(json.loads(self._download_text(url)) for url in urls)
        if apply:
            for link in advice.links:
                self.add_link(
                    link.parent_table,
                    link.parent_field,
                    link.child_table,
                    link.child_field,
                    method=link.method,
                )
        return advice

    def print_parameters(self, table_name: str | None = None) -> None:
        tables = [table_name] if table_name else list(self.config.tables)
        for name in tables:
            self.config.check_table(name)
            for label, per_table in (
                ("Avatarization parameters", self.config.avatarization),
                ("Avatarization OpenDP parameters", self.config.avatarization_open_dp),
                ("Avatarization FastDP parameters", self.config.avatarization_fast_dp),
                ("Privacy metrics", self.config.privacy_metrics),
                ("Signal metrics", self.config.signal_metrics),
            ):
                if name in per_table:
                    print(f"--- {label} for {name}: ---\n{per_table[name]}\n")
                elif "DP" not in label:  # a DP variant is named only when it is set
                    print(f"--- No {label.lower()} set for {name} ---\n")

    # -- YAML ------------------------------------------------------------------------------
    def get_yaml(self, path: str | None = None) -> str:
        """The resource set this runner would send (written to ``path`` if given)."""
        return self.config.get_yaml(path)

    def from_yaml(self, yaml_path: str | Path) -> None:
        """Replace this runner's configuration with a YAML file's (tables must be uploaded
        again with ``upload_file`` before ``run``)."""
        text = Path(yaml_path).read_text(encoding="utf-8")
        config = RunnerConfig.from_yaml(text)
        config.display_name = self.display_name
        self.config = config

    # -- jobs ------------------------------------------------------------------------------
    def _parameters_name(self, job: JobKind | str, pia_report: bool = False) -> str:
        if job == JobKind.report or job == "report":
            return "report_pia" if pia_report else "report"
        if job == JobKind.advice or job == "advice":
            if "advice_parameters" in self.config.advice:  # not the links advice
                return "advice_parameters"
            return next(iter(self.config.advice), "advice_parameters")
        return job.value if isinstance(job, JobKind) else str(job)

    def _create_job(self, parameters_name: str, depends_on: list[str]) -> JobCreateResponse:
        if self.set_name is None:
            raise ValueError("run() first: this runner has no resource set")
        return self.client.jobs.create_job(
            JobCreateRequest(
                set_name=UUID(self.set_name),
                parameters_name=parameters_name,
                depends_on=depends_on,
            )
        )

    def run(
        self,
        jobs_to_run: list[JobKind] | None = None,
        ignore_warnings: bool = False,
    ) -> None:
        """Send the resource set and start the jobs (by default standard, signal and privacy
        metrics, and the reports), each depending on what it needs."""
        kinds = list(JOB_EXECUTION_ORDER if jobs_to_run is None else jobs_to_run)
        for kind in kinds:
            if JobKind(kind) not in JOB_EXECUTION_ORDER:
                raise ValueError(
                    f"jobs_to_run: {kind!r} cannot be run; choose among "
                    f"{', '.join(k.value for k in JOB_EXECUTION_ORDER)}"
                )
        kinds = sorted({JobKind(k) for k in kinds}, key=JOB_EXECUTION_ORDER.index)
        if not self.config.tables:
            raise ValueError("add a table with add_table() before run()")
        if JobKind.standard in kinds and not (
            self.config.avatarization
            or self.config.avatarization_open_dp
            or self.config.avatarization_fast_dp
        ):
            raise ValueError(
                "Expected k (or open_dp_epsilon / fast_dp_epsilon) to be set to run an "
                "avatarization job: call runner.set_parameters(table_name, k=...) first."
            )
        if JobKind.report in kinds and not (
            {JobKind.privacy_metrics, JobKind.signal_metrics} <= set(kinds)
        ):
            raise ValueError(
                "jobs_to_run: a report needs the privacy_metrics and signal_metrics jobs"
            )
        if (
            JobKind.standard not in kinds
            and {JobKind.privacy_metrics, JobKind.signal_metrics} & set(kinds)
            and not all(t.avatar_file for t in self.config.tables.values())
        ):
            raise ValueError(
                "Metrics without an avatarization need the avatars of every table: "
                "add_table(..., avatar_data=...)"
            )
        reran = self.jobs and any(name not in self.config.advice for name in self.jobs)
        if reran and not ignore_warnings:
            warnings.warn(
                f"\nThis runner already has results for set_name '{self.set_name}'.\n"
                "Re-running creates a new set_name; to reach the previous results later:\n"
                f"manager.create_runner_from_id('{self.set_name}')",
                UserWarning,
                stacklevel=2,
            )
        self.jobs.clear()
        self.results_urls.clear()
        self._results.clear()
        if JobKind.report in kinds:
            for report_type in (ReportType.BASIC, ReportType.PIA):
                if report_type.value not in self.config.reports:
                    self.config.create_report(report_type, language=self.report_language)
        response = self.client.resources.put_resources(self.display_name, self.get_yaml())
        self.set_name = str(response.set_name)
        for kind in kinds:
            depends_on: list[str] = []
            if (
                kind in (JobKind.signal_metrics, JobKind.privacy_metrics)
                and "standard" in self.jobs
            ):
                depends_on = [self.jobs["standard"].Location]
            elif kind == JobKind.report:
                depends_on = [
                    self.jobs["privacy_metrics"].Location,
                    self.jobs["signal_metrics"].Location,
                ]
            name = self._parameters_name(kind)
            self.jobs[name] = self._create_job(name, depends_on)
            if kind == JobKind.report:
                self.jobs["report_pia"] = self._create_job("report_pia", depends_on)

    def _job_id(self, job_name: JobKind | str) -> str:
        name = self._parameters_name(job_name)
        if name not in self.jobs:
            raise ValueError(f"Expected job '{name}' to be created. Try running it first.")
        return self.jobs[name].name

    def get_job(self, job_name: JobKind | str) -> JobResponse:
        """The job's current state (no waiting)."""
        return self.client.jobs.get_job_status(self._job_id(job_name))

    def get_status(self, job_name: JobKind | str) -> str:
        return self.get_job(job_name).status.value

    def wait(self, job_name: JobKind | str, timeout: float | None = None) -> JobResponse:
        """Wait for a job to finish; raise if it failed, was cancelled or took too long."""
        name = self._parameters_name(job_name)
        job_id = self._job_id(name)
        limit = timeout if timeout is not None else self.timeout
        deadline = None if limit is None else time.monotonic() + limit
        delay = DEFAULT_POLL_INITIAL
        show = self.show_progress if self.show_progress is not None else is_interactive()
        bar = None
        try:
            while True:
                job = self.client.jobs.get_job_status(job_id)
                if job.status.value in ERROR_STATUSES:
                    raise JobFailedError(
                        f"Job {name} failed with exception: {job.exception or 'internal error'}",
                        job,
                    )
                if job.status.value in CANCELLED_STATUSES:
                    raise JobFailedError(
                        f"Job {name} was cancelled: {job.exception or 'no reason given'}", job
                    )
                if job.done:
                    if bar is not None:
                        bar.update(100 - bar.n)
                    if job.exception and job.name not in self._warned:
                        # finished, with something the user must know (a sensitive link)
                        self._warned.add(job.name)
                        warnings.warn(f"Job {name}: {job.exception}", UserWarning, stacklevel=2)
                    return job
                if show and bar is None:
                    from tqdm.auto import tqdm

                    bar = tqdm(total=100, desc=name, unit="%", leave=False)
                if bar is not None and job.progress is not None:
                    bar.update(max(0, int(job.progress * 100) - bar.n))
                if deadline is not None and time.monotonic() + delay > deadline:
                    raise JobTimeoutError(
                        f"Job {name} ({job_id}) did not finish within {limit:g} s "
                        f"(status {job.status.value}, progress {job.progress}); it keeps "
                        "running: wait again, or cancel it with client.jobs.cancel_job()",
                        job,
                    )
                self._sleep(delay)
                delay = min(delay * DEFAULT_POLL_BACKOFF, DEFAULT_POLL_MAX)
        finally:
            if bar is not None:
                bar.close()

    def delete(
        self, job_names: JobKind | str | list[JobKind | str] | None = None
    ) -> BulkDeleteResponse:
        """Delete this runner's jobs (all of them by default)."""
        if job_names is None:
            names: list[JobKind | str] = list(self.jobs)
        elif isinstance(job_names, list):
            names = job_names
        else:
            names = [job_names]
        ids = [self._job_id(name) for name in names]
        return self.client.jobs.bulk_delete_jobs(BulkDeleteRequest(job_names=ids))

    def kill(self, job_name: JobKind | str | None = None) -> list[JobResponse]:
        """Cancel this runner's unfinished jobs (or one of them)."""
        names = [self._parameters_name(job_name)] if job_name else list(self.jobs)
        cancelled = []
        for name in names:
            job = self.client.jobs.get_job_status(self._job_id(name))
            if not job.done:
                cancelled.append(self.client.jobs.cancel_job(job.name))
        return cancelled

    # -- results ---------------------------------------------------------------------------
    def _drop_results(self, parameters_name: str) -> None:
        self.results_urls.pop(parameters_name, None)
        for key in [k for k in self._results if k[0] == parameters_name]:
            del self._results[key]

    def get_specific_result_urls(
        self, job_name: str, result: Results = Results.SHUFFLED, timeout: float | None = None
    ) -> list[str]:
        """The URLs of one result kind of a job, once the job is done."""
        name = self._parameters_name(job_name)
        if name not in self.results_urls:
            job = self.wait(name, timeout)
            self.results_urls[name] = self.client.results.get_results(job.name)
        return list(self.results_urls[name].get(Results(result).value, []))

    def _download(
        self, parameters_name: str, result: Results, timeout: float | None = None
    ) -> dict[str, Any]:
        """``{table: value}`` of one result kind (downloaded once, then cached)."""
        key = (parameters_name, result.value)
        if key in self._results:
            return self._results[key]
        urls = self.get_specific_result_urls(parameters_name, result, timeout)
        values: dict[str, Any] = {}
        if result == Results.FIGURES:
            values = self._download_figures(parameters_name, urls)
        elif urls:
            accesses = {
                a.url: a for a in self.client.results.get_permissions_to_download_batch(urls)
            }
            for url in urls:
                access = accesses.get(url)
                if access is None:
                    continue  # refused by the server: left out, as the official client does
                data = self.client.download_file(access)
                self._store(values, result, url, data, parameters_name)
        self._results[key] = values
        return values

    def _store(
        self, values: dict[str, Any], result: Results, url: str, data: Any, job: str
    ) -> None:
        filename = Path(storage_path_of(url)).name
        if result in TABULAR_STEMS:
            table = table_of_tabular_file(result, filename)
            if table is None:
                raise ValueError(
                    f"the server returned a {result.value} file named {filename!r}, which "
                    f"names no table (expected <table>.{TABULAR_STEMS[result]}-<n>.<format>)"
                )
            values[table] = _read_table(filename, data)
        elif result in (Results.PRIVACY_METRICS, Results.SIGNAL_METRICS):
            document = json.loads(data)
            if isinstance(document, list):
                document = document[0] if document else {}
            table = str((document.get("metadata") or {}).get("table_name") or "")
            if not table:
                # No metadata.table_name: the file is named <escaped table>.privacy.json, and
                # an escaped table name has no dot.
                table = unescape_table_name(filename.split(".")[0])
            values.setdefault(table, []).append(document)
        elif result == Results.ADVICE:
            document = json.loads(data)
            for item in document if isinstance(document, list) else [document]:
                values[item["table_name"]] = item["advice"]
        elif result == Results.METADATA:
            values[job] = json.loads(data)
        elif result in (Results.PRIVACY_METRICS_SUMMARY, Results.SIGNAL_METRICS_SUMMARY):
            values["summary"] = json.loads(data)
        else:
            values[filename] = data

    def _download_text(self, url: str) -> str:
        data = self.client.download_file(url)
        return data if isinstance(data, str) else data.decode("utf-8")

    def _download_figures(self, parameters_name: str, urls: list[str]) -> dict[str, Any]:
        metadata_urls = self.results_urls[parameters_name].get(Results.FIGURES_METADATA.value, [])
        if not urls:
            return {}
        if not metadata_urls:
            raise ValueError("the server returned figures without figures_metadata")
        metadata = json.loads(self._download_text(metadata_urls[0]))
        by_file = {item.get("filename"): item for item in metadata}
        figures: dict[str, dict[str, list[str]]] = {}
        for url in urls:
            info = by_file.get(Path(storage_path_of(url)).name)
            if info is None:
                continue
            html = self._download_text(url)
            table = str(info.get("table_name", ""))
            kind = str(info.get("kind", ""))
            figures.setdefault(table, {}).setdefault(kind, []).append(html)
        return figures

    def get_specific_result(
        self,
        table_name: str,
        job_name: JobKind | str,
        result: Results = Results.SHUFFLED,
        timeout: float | None = None,
    ) -> Any:
        """One result of one table (``None`` if the job did not produce it)."""
        self.config.check_table(table_name)
        name = self._parameters_name(job_name)
        if name not in self.jobs:
            raise ValueError(f"Expected job '{name}' to be created. Try running it first.")
        return self._download(name, Results(result), timeout).get(table_name)

    def _require(self, value: Any, what: str, table_name: str, kind: type) -> Any:
        if not isinstance(value, kind):
            raise ValueError(f"the server returned no {what} for table {table_name!r}")
        return value

    def shuffled(self, table_name: str, timeout: float | None = None) -> pd.DataFrame:
        """The avatars of a table, in random order (the deliverable)."""
        value = self.get_specific_result(table_name, JobKind.standard, Results.SHUFFLED, timeout)
        return self._require(value, "shuffled avatars", table_name, pd.DataFrame)

    def sensitive_unshuffled(self, table_name: str, timeout: float | None = None) -> pd.DataFrame:
        """The avatars in the order of the original rows: sensitive, do not share."""
        value = self.get_specific_result(table_name, JobKind.standard, Results.UNSHUFFLED, timeout)
        return self._require(value, "unshuffled avatars", table_name, pd.DataFrame)

    def privacy_metrics(
        self, table_name: str, timeout: float | None = None
    ) -> list[dict[str, Any]]:
        """The privacy metrics of a table (a list with one dict per computation)."""
        value = self.get_specific_result(
            table_name, JobKind.privacy_metrics, Results.PRIVACY_METRICS, timeout
        )
        return self._require(value, "privacy metrics", table_name, list)

    def signal_metrics(self, table_name: str, timeout: float | None = None) -> list[dict[str, Any]]:
        """The signal (utility) metrics of a table."""
        value = self.get_specific_result(
            table_name, JobKind.signal_metrics, Results.SIGNAL_METRICS, timeout
        )
        return self._require(value, "signal metrics", table_name, list)

    def projections(
        self, table_name: str, timeout: float | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Coordinates of the originals and of the avatars in the projection space."""
        original = self.get_specific_result(
            table_name, JobKind.standard, Results.PROJECTIONS_ORIGINAL, timeout
        )
        avatars = self.get_specific_result(
            table_name, JobKind.standard, Results.PROJECTIONS_AVATARS, timeout
        )
        self._require(original, "original projections", table_name, pd.DataFrame)
        self._require(avatars, "avatar projections", table_name, pd.DataFrame)
        return original, avatars

    def _advice(self, table_name: str) -> dict[str, Any]:
        name = self._parameters_name(JobKind.advice)
        if name not in self.jobs:
            raise ValueError("call advise_parameters() first")
        advice = self._download(name, Results.ADVICE).get(table_name)
        if not isinstance(advice, dict):
            raise ValueError(f"the server returned no advice for table {table_name!r}")
        return advice

    def advice(self, table_name: str) -> dict[str, Any]:
        """The advice job's answer for a table (``advise_parameters`` first): ``k``, ``ncp``,
        the imputation and, with targets, ``search`` — ``met``, ``targets``, ``measured``,
        ``missed`` and a ``message`` in plain words."""
        self.config.check_table(table_name)
        return dict(self._advice(table_name))

    def table_summary(self, table_name: str) -> pd.DataFrame:
        """Per-column statistics computed by the advice job (``advise_parameters`` first)."""
        self.config.check_table(table_name)
        summary = self._advice(table_name).get("summary") or {}
        if "stats" not in summary:
            raise ValueError(f"Summary not found in results for table '{table_name}'")
        return pd.DataFrame(summary["stats"])

    def render_privacy_metrics_summary(self, open_in_browser: bool = False) -> dict[str, Any]:
        """The multi-table privacy summary ``{table: {reference: meta metric}}``."""
        if len(self.config.tables) <= 1:
            raise ValueError(
                "render_privacy_metrics_summary is only available for multi-table jobs."
            )
        summary = self._download("privacy_metrics", Results.PRIVACY_METRICS_SUMMARY).get("summary")
        return self._require(summary, "privacy metrics summary", "summary", dict)

    def render_signal_metrics_summary(self) -> dict[str, Any]:
        if len(self.config.tables) <= 1:
            raise ValueError(
                "render_signal_metrics_summary is only available for multi-table jobs."
            )
        summary = self._download("signal_metrics", Results.SIGNAL_METRICS_SUMMARY).get("summary")
        return self._require(summary, "signal metrics summary", "summary", dict)

    def metrics_summary(self, timeout: float | None = None) -> pd.DataFrame:
        """Every metric of every table, with its target and whether it is met.

        One row per (table, privacy/signal, metric): ``value``, ``target``, ``passed``,
        ``unit``, ``direction``. (The official client only has a multi-table summary; a
        single-table run gets this table instead, which it lacks.)
        """
        rows: list[dict[str, Any]] = []
        for kind, job in (("privacy", JobKind.privacy_metrics), ("signal", JobKind.signal_metrics)):
            name = self._parameters_name(job)
            if name not in self.jobs:
                continue
            results = Results.PRIVACY_METRICS if kind == "privacy" else Results.SIGNAL_METRICS
            for table, documents in self._download(name, results, timeout).items():
                for document in documents:
                    rows.extend(_metric_rows(table, kind, document))
        if not rows:
            raise ValueError("no metrics: run() the privacy_metrics and signal_metrics jobs first")
        return pd.DataFrame(
            rows,
            columns=[
                "table_name",
                "kind",
                "metric",
                "value",
                "target",
                "passed",
                "unit",
                "direction",
            ],
        )

    def render_plot(
        self, table_name: str, plot_kind: PlotKind, open_in_browser: bool = False
    ) -> list[str]:
        """Show a figure of the standard job (in Jupyter, or in a browser); its HTML."""
        figures = self.get_specific_result(table_name, JobKind.standard, Results.FIGURES)
        if not isinstance(figures, dict) or not figures:
            raise ValueError(f"the server returned no figures for table {table_name!r}")
        kind = PlotKind(plot_kind).value
        if kind not in figures:
            raise ValueError(f"No {kind} found for table '{table_name}'.")
        plots = list(figures[kind])
        for index, html in enumerate(plots):
            if open_in_browser:
                path = Path(f"{table_name}_{kind}_{index}.html").resolve()
                path.write_text(html, encoding="utf-8")
                webbrowser.open(path.as_uri())
            else:
                _display_html(html)
        return plots

    def download_report(
        self,
        path: str | None = None,
        report_type: ReportType = ReportType.BASIC,
        timeout: float | None = None,
    ) -> list[str]:
        """Save the report (PDF; PIA reports: one DOCX per table) and return the paths."""
        name = self._parameters_name(
            JobKind.report, pia_report=ReportType(report_type) == ReportType.PIA
        )
        if name not in self.jobs:
            raise ValueError(f"Expected job '{name}' to be created. Try running it first.")
        urls = self.get_specific_result_urls(name, Results.REPORT, timeout)
        if not urls:
            raise ValueError("the server returned no report")
        saved = []
        for index, url in enumerate(urls):
            if path is None:
                target = Path(Path(storage_path_of(url)).name)
            elif len(urls) > 1:
                target = Path(path).parent / f"{index}_{Path(path).name}"
            else:
                target = Path(path)
            self.client.download_file(url, target)
            saved.append(str(target))
        return saved

    def download_html_report(self, path: str | None = None, timeout: float | None = None) -> str:
        """Save the interactive HTML report (self-contained, opens offline) of the basic report
        job beside the PDF; return its path (``report.html`` by default)."""
        name = self._parameters_name(JobKind.report, pia_report=False)
        if name not in self.jobs:
            raise ValueError(f"Expected job '{name}' to be created. Try running it first.")
        urls = self.get_specific_result_urls(name, Results.REPORT_HTML, timeout)
        if not urls:
            raise ValueError("the server returned no HTML report")
        target = Path(path) if path is not None else Path(Path(storage_path_of(urls[0])).name)
        self.client.download_file(urls[0], target)
        return str(target)

    def get_all_results(self, timeout: float | None = None) -> RunResults:
        """Every stored result of every job (waiting for them), as the official client's
        ``ResultsOrganizer``: ``results.shuffled["iris"]``, ``results.privacy_metrics[...]``.
        """
        results = RunResults()
        for name in list(self.jobs):
            if name in self.config.advice:
                continue
            if name not in self.results_urls:
                job = self.wait(name, timeout)
                self.results_urls[name] = self.client.results.get_results(job.name)
            for kind in self.results_urls[name]:
                if kind in {r.value for r in RESULTS_TO_STORE}:
                    results.add(Results(kind), self._download(name, Results(kind)))
        return results


@dataclass
class RunResults:
    """All results of a run, by kind then table (the official ``ResultsOrganizer`` shape)."""

    shuffled: dict[str, pd.DataFrame] = field(default_factory=dict)
    sensitive_unshuffled: dict[str, pd.DataFrame] = field(default_factory=dict)
    privacy_metrics: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    signal_metrics: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    original_projections: dict[str, pd.DataFrame] = field(default_factory=dict)
    avatars_projections: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    advice: dict[str, dict[str, Any]] = field(default_factory=dict)
    run_metadata: dict[str, Any] = field(default_factory=dict)
    privacy_metrics_summary: dict[str, Any] = field(default_factory=dict)
    signal_metrics_summary: dict[str, Any] = field(default_factory=dict)

    _FIELDS: ClassVar[dict[Results, str]] = {
        Results.SHUFFLED: "shuffled",
        Results.UNSHUFFLED: "sensitive_unshuffled",
        Results.PRIVACY_METRICS: "privacy_metrics",
        Results.SIGNAL_METRICS: "signal_metrics",
        Results.PROJECTIONS_ORIGINAL: "original_projections",
        Results.PROJECTIONS_AVATARS: "avatars_projections",
        Results.FIGURES: "figures",
        Results.ADVICE: "advice",
        Results.METADATA: "run_metadata",
    }

    def add(self, kind: Results, values: dict[str, Any]) -> None:
        if kind in (Results.PRIVACY_METRICS_SUMMARY, Results.SIGNAL_METRICS_SUMMARY):
            summary = values.get("summary")
            if isinstance(summary, dict):
                setattr(self, kind.value, summary)
            return
        getattr(self, self._FIELDS[kind]).update(values)

    def is_results_empty(self) -> bool:
        return not any(getattr(self, name) for name in self.__dataclass_fields__)


def _chosen_method(exclude: dict[str, Any]) -> bool:
    """Whether an ``exclude_variables`` block's method was chosen (not a client's default)."""
    method = exclude.get("replacement_strategy")
    return bool(exclude.get("explicit_replacement_strategy")) or (
        method is not None and method != ExcludeVariablesMethod.ROW_ORDER.value
    )


def _read_table(filename: str, data: Any) -> pd.DataFrame:
    if filename.endswith(".parquet"):
        return pd.read_parquet(io.BytesIO(data if isinstance(data, bytes) else data.encode()))
    return pd.read_csv(io.StringIO(data if isinstance(data, str) else data.decode("utf-8")))


def _metric_rows(table: str, kind: str, document: dict[str, Any]) -> list[dict[str, Any]]:
    metrics = document.get("metrics")
    if isinstance(metrics, list) and metrics:
        return [
            {
                "table_name": table,
                "kind": kind,
                "metric": m.get("name"),
                "value": m.get("value"),
                "target": m.get("target"),
                "passed": m.get("passed"),
                "unit": m.get("unit"),
                "direction": m.get("direction"),
            }
            for m in metrics
        ]
    targets = document.get("targets") or {}
    return [
        {
            "table_name": table,
            "kind": kind,
            "metric": key,
            "value": value,
            "target": targets.get(key),
            "passed": None,
            "unit": None,
            "direction": None,
        }
        for key, value in document.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]


def _display_html(html: str) -> None:
    try:
        from IPython.display import HTML, display
    except ImportError:
        return
    display(HTML(html))


# ``NotFoundError`` is re-exported for notebooks that catch a missing result explicitly.
__all__ += ["JobFailedError", "JobTimeoutError", "NotFoundError"]
