"""Static (PNG) versions of the figures for the PDF and DOCX reports, drawn with matplotlib.

They draw the same :class:`~avatars.engine.figures.FigureData` as the interactive plotly
figures, so both show the same numbers. matplotlib is used through its object API with the Agg
canvas (no pyplot, no global figure state, no display needed), which keeps it usable from the
server's worker threads. Sizes are in inches at :data:`DPI`: a figure :data:`WIDTH` wide fills
the text width of an A4 page with 2 cm margins.
"""

from __future__ import annotations

import gc
import io
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from avatars.engine.figures import (
    AVATAR_COLOR,
    ORIGINAL_COLOR,
    Distribution,
    FigureData,
    difference_limit,
    distribution_title,
)
from avatars.engine.texts import Language, format_number, tr

#: Resolution of the PNGs: sharp when printed at the PDF's size, small enough to stay fast.
DPI = 130
#: Text width of the reports' pages, in inches.
WIDTH = 6.7
#: Distribution panels per PNG (one PDF page each).
PANELS_PER_PAGE = 12

#: matplotlib settings of every figure (``Any``: matplotlib types its keys as one Literal).
_STYLE: dict[Any, Any] = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while figures are drawn. A matplotlib figure is a web of
    reference cycles (figure, canvas, axes, artists): the collector's passes during drawing
    find nothing to free and cost about a fifth of the rendering (measured on AIDS' pages: 0.95
    → 0.78 s); the figures are freed by the first pass after it (a few MB meanwhile). The
    pause is process-wide and lasts about a second; the collector is turned back on only if
    it was on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _figure(width: float, height: float, *, constrained: bool = True) -> Iterator[Any]:
    """A figure in the reports' style. Constrained layout costs a second text-layout pass per
    axis: the many-panel distribution pages use fixed margins instead."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_STYLE):
        yield Figure(
            figsize=(width, height), dpi=DPI, layout="constrained" if constrained else None
        )


def _png(figure: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    # no metadata: the same figure gives the same bytes whatever the matplotlib version
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def projection_png(data: FigureData, language: Language) -> bytes:
    """Originals and avatars in the first two projected dimensions."""
    projection = data.projection
    assert projection is not None
    with _figure(WIDTH * 0.8, WIDTH * 0.62) as figure:
        ax = figure.add_subplot()
        for points, name, color in (
            (projection.original, tr("originals", language), ORIGINAL_COLOR),
            (projection.avatars, tr("avatars", language), AVATAR_COLOR),
        ):
            ax.scatter(
                points[:, 0], points[:, 1], s=4, alpha=0.45, color=color, label=name, linewidths=0
            )
        ax.set_xlabel(projection.axis_labels[0])
        ax.set_ylabel(projection.axis_labels[1])
        ax.legend(markerscale=3, frameon=False)
        return _png(figure)


def distribution_pngs(data: FigureData, language: Language) -> list[bytes]:
    """The distributions as pages of at most :data:`PANELS_PER_PAGE` panels (3 per row)."""
    pages = []
    dists = data.distributions
    for start in range(0, len(dists), PANELS_PER_PAGE):
        chunk = dists[start : start + PANELS_PER_PAGE]
        cols = min(3, len(chunk))
        rows = math.ceil(len(chunk) / cols)
        height = 1.9 * rows + 0.45
        with _figure(WIDTH, height, constrained=False) as figure:
            axes = figure.subplots(
                rows,
                cols,
                squeeze=False,
                gridspec_kw={
                    "left": 0.07,
                    "right": 0.98,
                    "top": 1 - 0.45 / height,
                    "bottom": 0.55 / height,
                    "hspace": 0.95,
                    "wspace": 0.3,
                },
            ).ravel()
            for ax, dist in zip(axes, chunk, strict=False):
                _draw_distribution(ax, dist, language)
            for ax in axes[len(chunk) :]:
                ax.set_visible(False)
            handles, labels = axes[0].get_legend_handles_labels()
            figure.legend(handles, labels, loc="upper center", ncols=2, frameon=False)
            pages.append(_png(figure))
    return pages


def _draw_distribution(ax: Any, dist: Distribution, language: Language) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.set_title(_shorten(distribution_title(dist, language), 48), loc="left")
    if dist.kind == "numeric" and dist.edges is not None:
        # one StepPatch per set instead of one Rectangle per bar: much faster to draw
        for shares, name, color in (
            (dist.original, tr("originals", language), ORIGINAL_COLOR),
            (dist.avatars, tr("avatars", language), AVATAR_COLOR),
        ):
            ax.stairs(shares, dist.edges, fill=True, alpha=0.5, color=color, label=name)
        integers = bool(np.allclose(dist.widths, 1.0))  # one bar per integer value
        ax.xaxis.set_major_locator(MaxNLocator(5, integer=integers))
        if dist.is_datetime:
            ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: _year(value)))
    else:
        x = np.arange(len(dist.labels))
        ax.bar(
            x - 0.2, dist.original, width=0.4, color=ORIGINAL_COLOR, label=tr("originals", language)
        )
        ax.bar(x + 0.2, dist.avatars, width=0.4, color=AVATAR_COLOR, label=tr("avatars", language))
        labels = [_shorten(label) for label in dist.display_labels(language)]
        rotate = len(labels) > 6 or max((len(label) for label in labels), default=0) > 4
        ax.set_xticks(x, labels, rotation=60 if rotate else 0, ha="right" if rotate else "center")
        ax.tick_params(axis="x", labelsize=6 if rotate else 7)
    ax.yaxis.set_major_locator(MaxNLocator(4))
    ax.set_ylabel("%")


def _year(seconds: float) -> str:
    import pandas as pd

    return f"{pd.Timestamp(seconds, unit='s'):%Y}"


def _shorten(label: str, limit: int = 14) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def correlation_difference_png(data: FigureData, language: Language) -> bytes:
    """Heatmap of the association changes (avatars − originals)."""
    difference = data.association_difference
    assert difference is not None
    p = len(difference)
    limit = difference_limit(difference)
    side = min(WIDTH, max(3.6, 0.28 * p + 2.0))
    with _figure(side + 0.9, side) as figure:
        ax = figure.add_subplot()
        image = ax.imshow(difference.to_numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit)
        labels = [_shorten(str(c)) for c in difference.columns]
        ax.set_xticks(range(p), labels, rotation=90)
        ax.set_yticks(range(p), labels)
        ax.tick_params(labelsize=max(4, min(7, 160 / max(p, 1))))
        if p <= 14:
            values = difference.to_numpy()
            for i in range(p):
                for j in range(p):
                    if np.isfinite(values[i, j]):
                        ax.text(
                            j,
                            i,
                            format_number(values[i, j], language, 2),
                            ha="center",
                            va="center",
                            fontsize=5.5,
                        )
        ax.spines[:].set_visible(False)
        figure.colorbar(image, ax=ax, shrink=0.8, label=tr("difference", language))
        return _png(figure)


def contribution_png(data: FigureData, language: Language) -> bytes:
    """Contribution of each variable to the first projected dimensions (grouped bars)."""
    frame = data.contributions
    assert frame is not None
    frame = frame.loc[frame.iloc[:, 0].sort_values(ascending=False).index]
    n, dims = frame.shape
    width = 0.8 / dims
    with _figure(WIDTH, 2.9) as figure:
        ax = figure.add_subplot()
        x = np.arange(n)
        for d, column in enumerate(frame.columns):
            ax.bar(x + (d - (dims - 1) / 2) * width, frame[column].to_numpy(), width, label=column)
        ax.set_xticks(x, [_shorten(str(v)) for v in frame.index], rotation=60, ha="right")
        ax.set_ylabel(tr("contribution_percent", language))
        ax.legend(frameon=False, ncols=min(dims, 5))
        return _png(figure)
