"""Reports of WBCD and AIDS generated through the server (Reports issue, acceptance).

A user runs the paper's tables through Manager/Runner, downloads the PDF, the PIA DOCX per table
and the HTML report, and finds in them what a data protection officer needs: every page
renders, the privacy metrics the platform computed appear as printed values, the PIA names the
three criteria, the HTML needs no network.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import docx
import pandas as pd
import pytest

from avatars.constants import ReportType
from avatars.engine.metric_rows import metric_rows
from avatars.engine.texts import format_metric_value

DATA = Path(__file__).resolve().parents[2] / "src" / "avatars" / "data"


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} not found: install poppler-utils (apt-get install -y poppler-utils)"
    return path


@pytest.fixture(scope="module")
def tables() -> dict[str, tuple[pd.DataFrame, dict[str, str], dict[str, Any]]]:
    wbcd = pd.read_csv(DATA / "wbcd.csv").drop(columns="Sample_code_number")
    aids = pd.read_csv(DATA / "aids.csv", sep=";").drop(columns=["pidnum", "zprior"])
    aids_types = {c: "category" for c in ("arms", "strat", "race", "gender", "treat", "symptom")}
    return {
        "wbcd": (wbcd, {"Class": "category"}, {"k": 20, "ncp": 2}),
        "aids": (aids, aids_types, {"k": 20, "ncp": 5}),
    }


@pytest.mark.parametrize("table", ["wbcd", "aids"])
def test_report_documents_through_the_server(
    platform: Any, tables: dict[str, Any], table: str, tmp_path: Path
) -> None:
    frame, types, parameters = tables[table]
    manager = platform.manager(api_key=platform.admin.api_key)
    runner = manager.create_runner(f"report-{table}", seed=0)
    runner.add_table(table, frame, types=types)
    runner.set_parameters(table, **parameters)
    runner.run()

    privacy = runner.privacy_metrics(table)[0]
    pdf = Path(runner.download_report(str(tmp_path / "report.pdf"))[0])
    subprocess.run(
        [_tool("pdftoppm"), "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 2 and all(p.stat().st_size > 1000 for p in pages)
    text = subprocess.run(
        [_tool("pdftotext"), "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    text = re.sub(r"\s+", " ", text)
    for row in metric_rows(privacy, "privacy"):
        if row.name in ("hidden_rate", "local_cloaking"):
            printed = re.sub(r"\s+", " ", format_metric_value(row.value, row.unit, "en"))
            assert printed in text, (row.name, printed)

    pia = runner.download_report(str(tmp_path / "pia.docx"), report_type=ReportType.PIA)
    words = " ".join(p.text for p in docx.Document(pia[0]).paragraphs).lower()
    for criterion in ("singling out", "linkability", "inference"):
        assert criterion in words

    page = Path(runner.download_html_report(str(tmp_path / "report.html"))).read_text()
    assert not re.search(r"<(script|link)\b[^>]*(src|href)\s*=\s*[\"']?https?://", page)
    assert table in page
