"""Figures of the standard job (avatars.engine.figures): plot kinds, files, metadata, limits."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("plotly")

from avatars.engine import avatarize
from avatars.engine.figures import (
    MAX_SCATTER_POINTS,
    PlotKind,
    association_matrix,
    build_figures,
    category_labels,
    element_id,
    figure_documents,
    prepare_figure_data,
)
from avatars.engine.privacy import privacy_metrics
from avatars.engine.schema import ColumnType
from avatars.engine.signal import signal_metrics
from avatars.protocol.results import figure_file_name

EXTERNAL = re.compile(r"<(?:script|link)\b[^>]*(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", re.I)


@pytest.fixture(scope="module")
def aids_run(aids: pd.DataFrame, aids_types: dict[str, str]) -> dict:
    result = avatarize(aids, k=20, ncp=5, seed=1, column_types=aids_types)
    return {
        "original": aids,
        "avatars": result.shuffled,
        "original_coordinates": result.original_coordinates,
        "avatar_coordinates": result.avatar_coordinates,
        "contributions": result.contributions,
        "privacy": privacy_metrics(
            aids, result.unshuffled, ncp=5, column_types=aids_types
        ).to_dict(),
        "signal": signal_metrics(aids, result.shuffled, column_types=aids_types).to_dict(),
        "column_types": result.metadata["column_types"],
    }


@pytest.fixture(scope="module")
def aids_figures(aids_run: dict) -> dict:
    return build_figures(**aids_run)


def test_every_single_table_plot_kind_is_produced(aids_figures: dict) -> None:
    expected = {
        PlotKind.CORRELATION,
        PlotKind.CORRELATION_DIFFERENCE,
        PlotKind.CONTRIBUTION,
        PlotKind.PROJECTION_2D,
        PlotKind.PROJECTION_3D,
        PlotKind.DISTRIBUTION,
        PlotKind.AGGREGATE_STATS,
        PlotKind.METRICS_SUMMARY,
    }
    assert set(aids_figures) == {k.value for k in expected}
    # the tables are plain HTML; the others are plotly figures
    assert isinstance(aids_figures["aggregate_stats"], str)
    assert isinstance(aids_figures["metrics_summary"], str)
    assert aids_figures["2d_projection"].to_dict()["data"][0]["type"] == "scattergl"
    assert "Hidden rate" in aids_figures["metrics_summary"]


def test_3d_projection_and_contributions_only_when_available(wbcd: pd.DataFrame) -> None:
    result = avatarize(wbcd, k=20, ncp=2, seed=0)
    figures = build_figures(
        wbcd,
        result.shuffled,
        original_coordinates=result.original_coordinates,
        avatar_coordinates=result.avatar_coordinates,
    )
    assert "2d_projection" in figures
    assert "3d_projection" not in figures  # ncp = 2
    assert "contribution" not in figures  # not given
    assert "metrics_summary" not in figures  # no metrics given


def test_figure_documents_are_keyed_by_table_and_kind(aids_figures: dict) -> None:
    documents = figure_documents("aids", aids_figures)
    assert list(documents) == [("aids", PlotKind(kind)) for kind in aids_figures]
    for (_, kind), text in documents.items():
        assert text.startswith("<!DOCTYPE html>")
        assert not EXTERNAL.search(text), kind
        if kind in ("aggregate_stats", "metrics_summary"):
            assert "<script" not in text
        else:  # plotly.js inlined: works offline
            assert "Plotly.newPlot" in text
            assert f'id="aids-{kind.value}"' in text
            assert len(text) > 1_000_000


def test_table_names_are_kept_as_they_are(aids_figures: dict) -> None:
    """The engine names no file: the server escapes the table name in the file's name."""
    figures = {"aggregate_stats": aids_figures["aggregate_stats"]}
    [(table, kind)] = figure_documents("my.table+x", figures)
    assert (table, kind) == ("my.table+x", PlotKind.AGGREGATE_STATS)
    assert figure_file_name(table, kind) == "my_dot_table_plus_x.aggregate_stats.html"
    assert element_id('a "b"<c>', PlotKind.CONTRIBUTION) == "a__b__c_-contribution"


def test_cdn_option_makes_small_files(aids_figures: dict) -> None:
    figures = {"contribution": aids_figures["contribution"]}
    [text] = figure_documents("aids", figures, plotlyjs="cdn").values()
    assert len(text) < 200_000
    assert re.search(r'<script src="https://cdn\.plot\.ly/plotly-[0-9.]+\.min\.js"', text)
    with pytest.raises(ValueError, match="plotlyjs"):
        figure_documents("aids", figures, plotlyjs="web")  # type: ignore[arg-type]


def test_figures_are_deterministic(aids_run: dict) -> None:
    first = figure_documents("aids", build_figures(**aids_run), plotlyjs="cdn")
    second = figure_documents("aids", build_figures(**aids_run), plotlyjs="cdn")
    assert first == second


def test_french_figures(aids_run: dict) -> None:
    figures = build_figures(**aids_run, language="fr")
    assert "Originaux" in figures["2d_projection"].to_json()
    assert "Taux de masquage" in figures["metrics_summary"]
    with pytest.raises(ValueError, match="language"):
        build_figures(**aids_run, language="de")


def test_large_tables_are_subsampled_and_histograms_use_every_row() -> None:
    rng = np.random.default_rng(0)
    n = 3 * MAX_SCATTER_POINTS
    original = pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(["a", "b", "c"], n)})
    avatars = original.sample(frac=1, random_state=1).reset_index(drop=True)
    coordinates = pd.DataFrame(rng.normal(size=(n, 3)), columns=["Dim. 1", "Dim. 2", "Dim. 3"])
    data = prepare_figure_data(
        original, avatars, original_coordinates=coordinates, avatar_coordinates=coordinates
    )
    assert data.projection is not None
    assert data.projection.original.shape == (MAX_SCATTER_POINTS, 3)
    assert data.projection.n_original == n
    x = next(d for d in data.distributions if d.column == "x")
    counts, _ = np.histogram(original["x"], x.edges)
    np.testing.assert_allclose(x.original, 100 * counts / n)
    c = next(d for d in data.distributions if d.column == "c")
    assert sorted(c.labels) == ["a", "b", "c"]  # most frequent first, ties by label
    np.testing.assert_allclose(c.original.sum(), 100.0)


def test_max_distribution_plots(aids_run: dict) -> None:
    figures = build_figures(**aids_run, max_distribution_plots=4)
    titles = [a["text"] for a in figures["distribution"].to_dict()["layout"]["annotations"]]
    assert len(titles) == 4
    assert "4" in figures["distribution"].layout.title.text  # "first 4 of 25 variables"


def test_association_matrix() -> None:
    rng = np.random.default_rng(0)
    n = 500
    group = rng.choice(["a", "b"], n)
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "y": np.where(group == "a", 0.0, 3.0) + rng.normal(size=n),
            "g": group,
            "h": group,  # same variable under another name: Cramér's V = 1
            "z": rng.normal(size=n),
        }
    )
    df.loc[:10, "z"] = np.nan
    types = {c: ColumnType.FLOAT for c in ("x", "y", "z")} | {
        "g": ColumnType.CATEGORY,
        "h": ColumnType.CATEGORY,
    }
    matrix = association_matrix(df, types)
    assert matrix.shape == (5, 5)
    np.testing.assert_allclose(matrix.loc["x", "y"], df["x"].corr(df["y"]))
    np.testing.assert_allclose(matrix.loc["x", "z"], df["x"].corr(df["z"]))  # pairwise complete
    assert matrix.loc["g", "h"] == pytest.approx(1.0)
    # η² = between-group / total sum of squares
    y = df["y"]
    means = y.groupby(df["g"]).transform("mean")
    eta = np.sqrt(((means - y.mean()) ** 2).sum() / ((y - y.mean()) ** 2).sum())
    assert matrix.loc["g", "y"] == pytest.approx(eta)
    assert matrix.loc["y", "g"] == matrix.loc["g", "y"]
    assert 0 <= matrix.loc["g", "x"] < 0.2


def test_category_labels_survive_a_csv_round_trip() -> None:
    ints = pd.Series([1, 2, 2, 3])
    floats = pd.Series([1.0, 2.0, np.nan, 3.0])  # what read_csv gives once a value is missing
    assert list(category_labels(ints)) == ["1", "2", "2", "3"]
    assert list(category_labels(floats).dropna()) == ["1", "2", "3"]


def test_dates_are_binned_as_dates() -> None:
    dates = pd.Series(pd.date_range("2020-01-01", periods=200, freq="D"))
    original = pd.DataFrame({"d": dates, "v": np.arange(200)})
    data = prepare_figure_data(
        original,
        original.astype({"d": str}),  # avatars read back from CSV: dates as text
        original_coordinates=None,
        avatar_coordinates=None,
        column_types={"d": "datetime"},
    )
    d = data.distributions[0]
    assert d.is_datetime and d.kind == "numeric"
    np.testing.assert_allclose(d.original, d.avatars)
    assert d.labels[0].startswith("2020-01-01")
