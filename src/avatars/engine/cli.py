"""``avatars avatarize``: avatarize a CSV or Parquet file locally and print its metrics."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

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

    def close(self) -> None:
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
    from avatars.engine import avatarize, privacy_metrics, signal_metrics
    from avatars.engine.io import format_of, read_table, write_table

    types = _parse_types(type_)
    for column in _split(categorical):
        types[column] = "category"
    try:
        table = read_table(input, column_types=types or None)
        big = len(table) * max(1, table.shape[1]) > 2_000_000
        progress = _Progress(enabled=big and sys.stderr.isatty())
        try:
            result = avatarize(
                table,
                k=k,
                ncp=ncp,
                seed=seed,
                column_types=types or None,
                imputation={"method": imputation} if imputation else None,
                exclude_variables=_split(exclude) or None,
                progress=progress,
            )
        finally:
            progress.close()
        output = output or input.with_name(f"{input.stem}.avatars{input.suffix or '.csv'}")
        write_table(result.shuffled, output, format_of(output))
        typer.echo(f"avatars written to {output} ({len(result.shuffled):,} rows)")
        if unshuffled_output:
            write_table(result.unshuffled, unshuffled_output, format_of(unshuffled_output))
            typer.echo(f"unshuffled avatars (SENSITIVE) written to {unshuffled_output}")
        seconds = result.metadata["timings_seconds"]["total"]
        typer.echo(f"seed {result.metadata['parameters']['seed']}, {seconds:.2f} s")
        if not metrics:
            return
        privacy = privacy_metrics(
            table,
            result.unshuffled,
            ncp=result.metadata["parameters"]["ncp"],
            seed=result.metadata["parameters"]["seed"],
            column_types=types or None,
            exclude_variables=_split(exclude) or None,
        )
        signal = signal_metrics(
            table,
            result.shuffled,
            column_types=types or None,
            exclude_variables=_split(exclude) or None,
        )
    except AvatarsEngineError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=2) from None
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


def register(app: typer.Typer) -> None:
    app.command("avatarize")(avatarize_command)
