"""``avatars avatarize``: avatarize a CSV or Parquet file locally and print its metrics."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from avatars.engine.errors import AvatarsEngineError


def _split(values: list[str] | None) -> list[str]:
    """``--categorical a,b --categorical c`` → ``[a, b, c]``."""
    return [name.strip() for value in values or [] for name in value.split(",") if name.strip()]


def _parse_types(values: list[str] | None) -> dict[str, str]:
    types = {}
    for item in _split(values):
        column, sep, ctype = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"expected COLUMN=TYPE, got {item!r}", param_hint="--type")
        types[column.strip()] = ctype.strip()
    return types


class _Progress:
    """A progress bar on stderr for long runs (tqdm), quiet for quick ones."""

    @classmethod
    def for_table(cls, table: Any) -> _Progress:
        """A bar for tables of more than 2 million cells when stderr is a terminal."""
        big = len(table) * max(1, table.shape[1]) > 2_000_000
        return cls(enabled=big and sys.stderr.isatty())

    def __init__(self, enabled: bool) -> None:
        self.bar: Any = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(
                total=100, file=sys.stderr, bar_format="{desc:<14}{bar}| {percentage:3.0f}%"
            )

    def __call__(self, fraction: float, phase: str) -> None:
        if self.bar is not None:
            self.bar.set_description_str(phase)
            self.bar.n = round(100 * fraction)
            self.bar.refresh()

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.close()


def format_metrics_table(metrics: list[Any]) -> str:
    """Every metric with its value, target and verdict, as aligned text."""
    rows = [("metric", "value", "target", "verdict")]
    for metric in metrics:
        value = metric.value
        if value is None:
            shown = "n/a"
        elif isinstance(value, float):
            shown = f"{value:.4g}" if abs(value) < 1e5 else f"{value:.3e}"
        else:
            shown = str(value)
        if metric.unit and value is not None and metric.unit != "ratio":
            shown = f"{shown} {metric.unit}".strip()
        verdict = "n/a" if metric.passed is None else ("pass" if metric.passed else "FAIL")
        rows.append((metric.name, shown, metric.target or "", verdict))
    widths = [max(len(str(row[i])) for row in rows) for i in range(4)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def avatarize_command(
    input: Annotated[
        Path,
        typer.Argument(
            help="The table to avatarize (.csv or .parquet).", exists=True, dir_okay=False
        ),
    ],
    k: Annotated[int, typer.Option("-k", "--k", help="Number of neighbours (2 ≤ k < rows).")],
    ncp: Annotated[
        int | None, typer.Option(help="Projected dimensions for the neighbour search (default 5).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed: the same seed gives byte-identical outputs.")
    ] = None,
    categorical: Annotated[
        list[str] | None, typer.Option(help="Columns to treat as categorical (COL,COL...).")
    ] = None,
    type_: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            help="Column types as COL=TYPE (int, float, bool, category, datetime, datetime_tz).",
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(help="Columns kept out of the avatarization (re-attached by row order)."),
    ] = None,
    imputation: Annotated[
        str | None,
        typer.Option(help="Imputation method: fast_knn (default), knn, mean, median, mode."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Where to write the shuffled avatars (default: INPUT.avatars.csv).",
        ),
    ] = None,
    unshuffled_output: Annotated[
        Path | None,
        typer.Option(help="Also write the SENSITIVE unshuffled avatars (row i = avatar of row i)."),
    ] = None,
    metrics_output: Annotated[
        Path | None, typer.Option(help="Write every privacy and signal metric as JSON.")
    ] = None,
    metrics: Annotated[bool, typer.Option(help="Compute privacy and signal metrics.")] = True,
) -> None:
    """Avatarize a table with the avatar method and print its privacy and signal metrics."""
    declared = _parse_types(type_)
    categorical_columns, exclude_columns = _split(categorical), _split(exclude)
    types = {**declared, **{column: "category" for column in categorical_columns}}
    named = {"--type": list(declared), "--categorical": categorical_columns}
    try:
        table = _read_input(input, types, {**named, "--exclude": exclude_columns})
        result = _avatarize(table, k, ncp, seed, types, imputation, exclude_columns)
        _write_avatars(result, input, output, unshuffled_output)
        if not metrics:
            return
        privacy, signal = _metrics(table, result, types, exclude_columns)
    except AvatarsEngineError as exc:
        _fail(str(exc))
    typer.echo("")
    typer.echo(format_metrics_table([*privacy.metrics, *signal.metrics]))
    if metrics_output:
        document = {
            "input": str(input),
            "avatarization": result.metadata,
            "privacy": privacy.to_dict(),
            "signal": signal.to_dict(),
        }
        metrics_output.write_text(json.dumps(document, indent=2, default=str))
        typer.echo(f"\nmetrics written to {metrics_output}")


def _avatarize(
    table: Any,
    k: int,
    ncp: int | None,
    seed: int | None,
    types: dict[str, str],
    imputation: str | None,
    exclude: list[str],
) -> Any:
    """The avatarization of ``table``, with a progress bar for a large one."""
    from avatars.engine import avatarize

    with _Progress.for_table(table) as progress:
        return avatarize(
            table,
            k=k,
            ncp=ncp,
            seed=seed,
            column_types=types or None,
            imputation={"method": imputation} if imputation else None,
            exclude_variables=exclude or None,
            progress=progress,
        )


def _write_avatars(
    result: Any, input: Path, output: Path | None, unshuffled_output: Path | None
) -> None:
    """Write the shuffled avatars (next to the input by default) and, when asked, the
    SENSITIVE unshuffled ones; say where, with the seed and the time taken."""
    from avatars.engine.io import format_of, write_table

    output = output or input.with_name(f"{input.stem}.avatars{input.suffix or '.csv'}")
    write_table(result.shuffled, output, format_of(output))
    typer.echo(f"avatars written to {output} ({len(result.shuffled):,} rows)")
    if unshuffled_output:
        write_table(result.unshuffled, unshuffled_output, format_of(unshuffled_output))
        typer.echo(f"unshuffled avatars (SENSITIVE) written to {unshuffled_output}")
    seconds = result.metadata["timings_seconds"]["total"]
    typer.echo(f"seed {result.metadata['parameters']['seed']}, {seconds:.2f} s")


def _metrics(table: Any, result: Any, types: dict[str, str], exclude: list[str]) -> tuple[Any, Any]:
    """The privacy metrics (in the avatarization's space: same ncp and seed) and the signal
    metrics of the avatars."""
    from avatars.engine import privacy_metrics, signal_metrics

    parameters = result.metadata["parameters"]
    privacy = privacy_metrics(
        table,
        result.unshuffled,
        ncp=parameters["ncp"],
        seed=parameters["seed"],
        column_types=types or None,
        exclude_variables=exclude or None,
    )
    signal = signal_metrics(
        table, result.shuffled, column_types=types or None, exclude_variables=exclude or None
    )
    return privacy, signal


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=2)


def _read_input(path: Path, types: dict[str, str], named: dict[str, list[str]]) -> Any:
    """The input table with the types the options give. The columns each option names are
    checked against the file's header first, so that a misspelt name — or a file read with the
    wrong separator — is reported as such, with the columns the file has and how it was read."""
    from avatars.engine.io import inspect_table, read_table

    layout = inspect_table(path)
    for option, columns in named.items():
        _check_columns(option, columns, path, layout)
    try:
        return read_table(path, column_types=types or None, sep=layout.separator)
    except AvatarsEngineError as exc:
        _fail(f"{exc} ({path.name} read as {layout.describe()})")


def _check_columns(option: str, columns: list[str], path: Path, layout: Any) -> None:
    """Fail, naming the option, the unknown columns and the columns the file has (and how it
    was read), when ``option`` names columns that the file lacks."""
    unknown = [c for c in columns if c not in layout.columns]
    if not unknown:
        return
    shown = ", ".join(repr(c) for c in layout.columns[:20])
    more = "" if len(layout.columns) <= 20 else f" (and {len(layout.columns) - 20} more)"
    message = (
        f"{option} names column(s) {', '.join(map(repr, unknown))} that {path.name} does not "
        f"have; read as {layout.describe()}, it has {len(layout.columns)} column(s): "
        f"{shown}{more}"
    )
    if len(layout.columns) == 1 and layout.format == "csv":
        message += "; a single column: is the file separated by another character?"
    listed = [c for c in unknown if ";" in c]
    if listed:
        fixed = ",".join(part.strip() for c in listed for part in c.split(";") if part.strip())
        message += f"; separate column names with commas: {option} {fixed}"
    _fail(message)


def register(app: typer.Typer) -> None:
    app.command("avatarize")(avatarize_command)
