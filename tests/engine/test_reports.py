"""Reports (avatars.engine.reports) built from real engine runs on WBCD and AIDS.

The PDF is checked as a reader sees it: every page rendered to PNG with poppler's ``pdftoppm``
(not blank) and its text extracted with ``pdftotext`` (the metric values as printed). poppler
is a system package: ``apt-get install -y poppler-utils``.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("reportlab")
pytest.importorskip("docx")

import docx
from PIL import Image

from avatars.engine import avatarize
from avatars.engine.metric_rows import MetricRow, metric_rows
from avatars.engine.privacy import privacy_metrics
from avatars.engine.reports import (
    PiaContext,
    ReportPart,
    TableReportInput,
    build_docx_report,
    build_html_report,
    build_pdf_report,
    build_pia_docx,
    build_report,
    prepare_table,
)
from avatars.engine.reports.risk import assess_criteria, overall_risk
from avatars.engine.signal import signal_metrics
from avatars.engine.texts import _TEXT, format_metric_value

CREATED = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)
EXTERNAL = re.compile(r"<(?:script|link)\b[^>]*(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", re.I)


def _run(
    name: str, df: pd.DataFrame, types: dict[str, str] | None, ncp: int, **privacy
) -> TableReportInput:
    result = avatarize(df, k=20, ncp=ncp, seed=0, column_types=types)
    return TableReportInput(
        name=name,
        original=df,
        avatars=result.shuffled,
        privacy=privacy_metrics(
            df, result.unshuffled, ncp=ncp, column_types=types, **privacy
        ).to_dict(),
        signal=signal_metrics(df, result.shuffled, column_types=types).to_dict(),
        avatarization=result.metadata,
        original_coordinates=result.original_coordinates,
        avatar_coordinates=result.avatar_coordinates,
        contributions=result.contributions,
    )


@pytest.fixture(scope="module")
def wbcd_input(wbcd: pd.DataFrame) -> TableReportInput:
    """The paper's setting: every score categorical, k = 20, ncp = 2; no attacker knowledge."""
    return _run("wbcd", wbcd, {c: "category" for c in wbcd.columns}, ncp=2)


@pytest.fixture(scope="module")
def aids_input(aids: pd.DataFrame, aids_types: dict[str, str]) -> TableReportInput:
    """With an attacker who knows age, gender and race and wants cd420: all three criteria."""
    return _run(
        "aids", aids, aids_types, ncp=5, known_variables=["age", "gender", "race"], target="cd420"
    )


@pytest.fixture(scope="module")
def prepared(wbcd_input: TableReportInput, aids_input: TableReportInput) -> list:
    return [prepare_table(wbcd_input), prepare_table(aids_input)]


@pytest.fixture(scope="module", params=["en", "fr"])
def pdf(request: pytest.FixtureRequest, prepared: list) -> tuple[str, bytes]:
    return request.param, build_pdf_report(prepared, language=request.param, created=CREATED)


def _value(table: TableReportInput, name: str, language: str) -> str:
    row = next(r for r in metric_rows(table.privacy, "privacy") if r.name == name)
    return format_metric_value(row.value, row.unit, language)  # type: ignore[arg-type]


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _poppler(tool: str) -> str:
    path = shutil.which(tool)
    assert path, f"{tool} not found: install poppler-utils (apt-get install -y poppler-utils)"
    return path


# -- PDF -------------------------------------------------------------------------------------
def test_pdf_pages_render_and_are_not_blank(pdf: tuple[str, bytes], tmp_path: Path) -> None:
    _, data = pdf
    assert data.startswith(b"%PDF-")
    (tmp_path / "report.pdf").write_bytes(data)
    subprocess.run(
        [
            _poppler("pdftoppm"),
            "-r",
            "40",
            "-png",
            str(tmp_path / "report.pdf"),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 6  # summary, then per table: dataset and metrics, figures
    for page in pages:
        pixels = np.asarray(Image.open(page).convert("L"))
        inked = float((pixels < 200).mean())
        assert inked > 0.002, f"{page.name} looks blank ({inked:.4f} of its pixels inked)"


def test_pdf_text_shows_metric_values_and_titles(
    pdf: tuple[str, bytes],
    wbcd_input: TableReportInput,
    aids_input: TableReportInput,
    tmp_path: Path,
) -> None:
    language, data = pdf
    (tmp_path / "report.pdf").write_bytes(data)
    text = subprocess.run(
        [_poppler("pdftotext"), "-layout", str(tmp_path / "report.pdf"), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    text = _normalise(text)
    for table in (wbcd_input, aids_input):
        for name in ("hidden_rate", "local_cloaking"):
            assert _normalise(_value(table, name, language)) in text, (table.name, name)
    if language == "en":
        for title in (
            "Avatar anonymization report",
            "Privacy metrics",
            "Signal metrics",
            "Hidden rate",
        ):
            assert title in text
        assert "Conclusion" in text
    else:
        for title in ("Rapport d'anonymisation Avatar", "Métriques de confidentialité", "Synthèse"):
            assert title in text
        assert "Taux de masquage" in text and "Camouflage local" in text
        assert "Privacy metrics" not in text
        assert "," in _value(aids_input, "hidden_rate", "fr")  # decimal comma


def test_pdf_is_deterministic(prepared: list) -> None:
    first = build_pdf_report(prepared[:1], created=CREATED)
    assert build_pdf_report(prepared[:1], created=CREATED) == first
    assert b"D:20260312093000" in first  # the document's date is the PDF's creation date


def test_report_without_tables_or_figures_still_says_what_it_has(
    aids_input: TableReportInput,
) -> None:
    """A report job that only found the metrics: no dataset section, no figures, no failure."""
    bare = TableReportInput(name="aids", privacy=aids_input.privacy, signal=aids_input.signal)
    data = build_pdf_report(bare, created=CREATED)
    assert data.startswith(b"%PDF-")
    no_contributions = TableReportInput(**{**aids_input.__dict__, "contributions": None})
    document = prepare_table(no_contributions).figures
    assert document is not None and "contribution" not in document.available_kinds()


# -- DOCX --------------------------------------------------------------------------------------
def _docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return _normalise("\n".join(parts))


@pytest.mark.parametrize(
    ("language", "criteria"),
    [
        ("en", ("singling out", "linkability", "inference")),
        ("fr", ("individualisation", "corrélation", "inférence")),
    ],
)
def test_pia_names_the_three_criteria(
    aids_input: TableReportInput, language: str, criteria: tuple
) -> None:
    context = {
        "datarecipient": "contractual_thirdparty",
        "data_type": "health",
        "datasubject": "patients",
    }
    data = build_pia_docx(aids_input, language=language, context=context, created=CREATED)
    document = docx.Document(io.BytesIO(data))
    headings = [p.text.lower() for p in document.paragraphs if p.style.name.startswith("Heading")]
    for criterion in criteria:
        assert criterion in headings
    text = _docx_text(data)
    assert _normalise(_value(aids_input, "hidden_rate", language)) in text
    assert ("Contractual third party" if language == "en" else "Tiers contractuel") in text
    assert (
        "Data protection officer" if language == "en" else "Délégué à la protection des données"
    ) in text
    assert document.core_properties.created == CREATED
    assert build_pia_docx(aids_input, language=language, context=context, created=CREATED) == data


def test_pia_without_attacker_knowledge_says_not_assessed(wbcd_input: TableReportInput) -> None:
    text = _docx_text(build_pia_docx(wbcd_input, created=CREATED))
    assert "Not assessed: no known_variables were given" in text
    assert "Not assessed: the inference metrics need known_variables and a target" in text
    assert "Criteria not assessed: linkability, inference" in text


def test_basic_report_as_docx(prepared: list) -> None:
    data = build_docx_report(prepared, language="fr", created=CREATED)  # one build: ~5 s
    assert "Métriques de confidentialité" in _docx_text(data)
    assert len(docx.Document(io.BytesIO(data)).inline_shapes) >= 4


# -- HTML --------------------------------------------------------------------------------------
def test_html_report_is_self_contained_and_interactive(
    prepared: list, aids_input: TableReportInput
) -> None:
    from plotly.offline import get_plotlyjs

    text = build_html_report(prepared, created=CREATED)
    tags = re.findall(r"<(?:script|link)\b[^>]*>", text, re.I)
    assert tags and not [t for t in tags if EXTERNAL.search(t)]
    assert not re.search(r"<(?:img|iframe)\b[^>]*src\s*=\s*[\"']?\s*(?:https?:)?//", text, re.I)
    assert text.count(get_plotlyjs()[:2000]) == 1  # plotly.js inlined once for all the figures
    for kind in (
        "2d-projection",
        "3d-projection",
        "distribution",
        "correlation-difference",
        "contribution",
    ):
        assert f'id="fig-aids-{kind}"' in text
    assert text.count("Plotly.newPlot") == 11  # wbcd has no 3-D projection (ncp = 2)
    assert _normalise(_value(aids_input, "hidden_rate", "en")) in _normalise(text)
    assert build_html_report(prepared, created=CREATED) == text


def test_html_report_cdn_option_is_small(prepared: list) -> None:
    text = build_html_report(prepared[:1], created=CREATED, plotlyjs="cdn", language="fr")
    assert len(text) < 1_000_000 and "cdn.plot.ly" in text and "Métriques" in text


# -- the server's entry point --------------------------------------------------------------
def _storage_round_trip(table: TableReportInput, tmp_path: Path) -> dict:
    """What a report job reads back: CSV tables and projections, JSON metrics and run metadata
    (the server wraps the engine's metadata under "engine"; contributions saved beside it)."""
    assert table.original is not None and table.avatars is not None
    assert isinstance(table.contributions, pd.DataFrame)

    def csv(frame: pd.DataFrame, name: str) -> pd.DataFrame:
        frame.to_csv(tmp_path / name, index=False)
        return pd.read_csv(tmp_path / name)

    run_metadata = {
        "job_name": "standard",
        "engine": table.avatarization,
        "contributions": table.contributions.to_dict(),
    }
    return {
        "original": table.original,
        "avatars": csv(table.avatars, "aids.shuffled-0.csv"),
        "original_coordinates": csv(table.original_coordinates, "aids.projections.original-0.csv"),
        "avatar_coordinates": csv(table.avatar_coordinates, "aids.projections.avatars-0.csv"),
        "run_metadata": json.loads(json.dumps(run_metadata)),
        "privacy": json.loads(json.dumps(table.privacy)),
        "signal": json.loads(json.dumps(table.signal)),
    }


def test_build_report_from_storage_returns_each_document_by_what_it_is(
    aids_input: TableReportInput, tmp_path: Path
) -> None:
    """The server names the files (report.pdf, <table>.report.pia.docx: tests/server)."""
    tables = {"aids.v2": _storage_round_trip(aids_input, tmp_path)}
    [(part, data)] = build_report(
        report_type="basic", output_format="pdf", language="fr", tables=tables
    ).items()
    assert part == ReportPart("basic", "pdf") and data.startswith(b"%PDF-")
    [(part, data)] = build_report(report_type="basic", output_format="docx", tables=tables).items()
    assert part == ReportPart("basic", "docx") and data.startswith(b"PK")
    images = docx.Document(io.BytesIO(data)).inline_shapes
    assert (
        len(images) >= 5
    )  # projection, 3 distribution pages (25 variables), heatmap, contributions
    documents = build_report(
        report_type="pia", tables=tables, pia_metadata={"sensitivity_level": "Very High"}
    )
    parts = build_report(tables=tables, with_html=True, plotlyjs="cdn")
    assert list(parts) == [ReportPart.basic("pdf"), ReportPart.html()]
    assert parts[ReportPart.html()].startswith(b"<!DOCTYPE html>")
    assert list(documents) == [ReportPart("pia", "docx", "aids.v2")]
    assert "Very high" in _docx_text(documents[ReportPart.pia("aids.v2")])
    prepared = prepare_table(
        TableReportInput(
            "aids",
            **{k: v for k, v in tables["aids.v2"].items() if k != "run_metadata"},
            avatarization=tables["aids.v2"]["run_metadata"],
        )
    )
    assert prepared.figures is not None
    assert {"contribution", "2d_projection", "3d_projection"} <= set(
        prepared.figures.available_kinds()
    )


def test_pia_context_from_yaml() -> None:
    context = PiaContext.from_metadata(
        {
            "datarecipient": "unknown",
            "data_type": "health",
            "datasubject": "patients",
            "sensitivity_level": "Undefined",
        }
    )
    assert context == PiaContext("unknown", "health", "patients", "Undefined")


# -- metrics reading and residual risk -------------------------------------------------------
def test_legacy_flat_metrics_get_targets_from_the_engine() -> None:
    rows = metric_rows(
        [{"hidden_rate": 80.0, "local_cloaking": 7, "distance_to_closest": None}], "privacy"
    )
    assert [(r.name, r.target, r.passed) for r in rows] == [
        ("hidden_rate", "> 90", False),
        ("local_cloaking", "> 5", True),
    ]


def _row(name: str, criterion: str, passed: bool | None) -> MetricRow:
    return MetricRow(name, 1.0, "%", "higher_is_better", "> 0", passed, False, criterion, "")


def test_residual_risk_rules() -> None:
    rows = [
        _row("hidden_rate", "singling_out", True),
        _row("local_cloaking", "singling_out", False),
        _row("distance_to_closest", "singling_out", True),
        _row("correlation_protection_rate", "linkability", False),
    ]
    risks = {a.criterion: a.risk for a in assess_criteria(rows)}
    assert risks == {"singling_out": "medium", "linkability": "high", "inference": "unknown"}
    assert overall_risk(assess_criteria(rows)) == "high"
    assert overall_risk(assess_criteria(rows[:1])) == "low"
    assert overall_risk(assess_criteria([])) == "unknown"


def test_every_text_has_both_languages_with_the_same_placeholders() -> None:
    for key, (english, french) in _TEXT.items():
        assert english.strip() and french.strip(), key
        assert set(re.findall(r"{(\w+)}", english)) == set(re.findall(r"{(\w+)}", french)), key


def test_the_report_says_what_passed_what_did_not_and_what_to_change(
    wbcd: pd.DataFrame, tmp_path: Path
) -> None:
    """WBCD at k = 20 copies unique records, and an excluded column comes back by row order:
    the PDF says "Fail", names the missed targets, what to change and the warning."""
    table = wbcd.assign(site=np.where(np.arange(len(wbcd)) % 3 == 0, "north", "south"))
    result = avatarize(table, k=20, seed=1, exclude_variables=["site"])
    privacy = privacy_metrics(
        table,
        result.unshuffled,
        seed=1,
        exclude_variables=["site"],
        warnings=result.metadata["warnings"],
    )
    assert privacy.verdict().status == "fail"
    prepared = prepare_table(
        TableReportInput(
            name="wbcd",
            original=table,
            avatars=result.shuffled,
            privacy=privacy.to_dict(),
            avatarization=result.metadata,
        ),
        figures=False,
    )
    for language, words in (
        ("en", ("Fail:", "Copies of unique records", "What to change", "increase k",
                "keep the original association")),
        ("fr", ("Non conforme", "Copies d'enregistrements uniques", "Que changer",
                "augmenter k", "gardent le lien")),
    ):  # fmt: skip
        (tmp_path / "r.pdf").write_bytes(
            build_pdf_report([prepared], language=language, created=CREATED)
        )
        text = _normalise(
            subprocess.run(
                [_poppler("pdftotext"), str(tmp_path / "r.pdf"), "-"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        for word in words:
            assert _normalise(word) in text, (language, word)
        assert "Pass:" not in text and "Conforme :" not in text
    pia = build_pia_docx(prepared, language="en", created=CREATED)
    paragraphs = " ".join(p.text for p in docx.Document(io.BytesIO(pia)).paragraphs)
    assert "keep the original association" in paragraphs
