"""A run started from the web, run for real by the job workers (in the test's process): what its
result page shows and serves, that it is an SDK run, and that the page reads only what does not
grow with the table (so that it stays fast on a 1,000,000-row job)."""

from __future__ import annotations

import io
import json
import re
import statistics
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select
from web_helpers import IRIS_CSV, Browser, WebApp, text_of

from avatars.engine.targets import parse_target
from avatars.engine.texts import format_metric_value, metric_name
from avatars.protocol.documents import parse_resource_set
from avatars.protocol.enums import JobStatus
from avatars.runner_config import RunnerConfig
from avatars.server.db.models import Job, ResourceSet
from avatars.server.web import analysis

RUN_TIMEOUT = 300


@pytest.fixture(scope="module")
def finished(web_with_jobs: WebApp) -> Iterator[tuple[Browser, str]]:
    """An admin's browser and the URL of a finished run of iris (k=10, seed 0)."""
    browser = web_with_jobs.logged_in()
    assert browser.upload("iris.csv", IRIS_CSV.read_bytes()).status_code == 200
    run = browser.start_run("iris.csv", display_name="iris web", k="10", seed="0")
    deadline = time.monotonic() + RUN_TIMEOUT
    while browser.get(f"{run}/progress").headers["X-Run-Done"] != "1":
        assert time.monotonic() < deadline, text_of(browser.get(f"{run}/progress").text)
        time.sleep(0.5)
    yield browser, run


def test_the_result_page_shows_the_verdict_metrics_figures_and_downloads(
    web_with_jobs: WebApp, finished: tuple[Browser, str]
) -> None:
    browser, run = finished
    page = browser.get(run)
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Run “iris web”" in text and "Verdict:" in text
    assert re.search(r"Verdict: (Safe to share|Not safe to share yet)", text)
    assert "150 avatars of 5 columns." in text
    set_name = run.rsplit("/", 1)[1]
    privacy = _result_json(web_with_jobs, set_name, "privacy")
    # every privacy metric with a value is in the table, printed as the reports print it
    for metric in privacy["metrics"]:
        if metric["value"] is None:
            continue
        printed = format_metric_value(metric["value"], metric["unit"], "en")
        assert printed.replace("\u00a0", " ") in text, metric["name"]
    assert "Hidden rate" in text and "Distribution preservation score" in text
    assert text.count("✓ Pass") + text.count("✗ Fail") >= 5
    for label in ("Avatars (CSV)", "Report (PDF)", "Report (HTML)", "Impact assessment (Word)"):
        assert label in text, label
    figures = re.findall(r'<iframe src="([^"]+)"', page.text)
    assert len(figures) >= 4 and all(f.endswith(".html?view=1") for f in figures)
    assert 'sandbox="allow-scripts"' in page.text


def _result_json(web: WebApp, set_name: str, stem: str) -> dict[str, Any]:
    storage = web.state.storage
    keys = [
        info.key
        for info in storage.list("")
        if set_name in info.key and info.key.endswith(f".{stem}.json")
    ]
    assert len(keys) == 1, keys
    return dict(json.loads(storage.read_bytes(keys[0])))


def test_the_downloads_are_the_jobs_results(
    web_with_jobs: WebApp, finished: tuple[Browser, str]
) -> None:
    browser, run = finished
    page = browser.get(run)
    pattern = r'<a class="button" href="([^"]+)" download>([^<]+)</a>'
    links = {label: url for url, label in re.findall(pattern, page.text)}
    avatars = browser.get(links["Avatars (CSV)"])
    assert avatars.status_code == 200 and avatars.headers["content-type"].startswith("text/csv")
    assert avatars.headers["content-disposition"].startswith("attachment;")
    table = pd.read_csv(io.BytesIO(avatars.content))
    original = pd.read_csv(IRIS_CSV)
    assert list(table.columns) == list(original.columns) and len(table) == len(original)
    assert not table.equals(original)
    pdf = browser.get(links["Report (PDF)"])
    assert pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"
    html = browser.get(links["Report (HTML)"])
    assert b"<html" in html.content[:500].lower() and html.headers["content-disposition"]
    docx = browser.get(links["Impact assessment (Word)"])
    assert docx.content.startswith(b"PK")  # a Word document is a zip archive
    figure = browser.get(re.findall(r'<iframe src="([^"]+)"', page.text)[0])
    policy = figure.headers["content-security-policy"]
    assert "sandbox allow-scripts" in policy and "default-src 'none'" in policy
    assert "content-disposition" not in figure.headers
    audit = text_of(browser.get("/audit").text)
    assert "download" in audit and "iris.shuffled-0.csv" in audit


def test_a_web_run_is_the_run_the_sdk_makes(
    web_with_jobs: WebApp, finished: tuple[Browser, str]
) -> None:
    _browser, run = finished
    set_name = uuid.UUID(run.rsplit("/", 1)[1])
    with web_with_jobs.state.db.reading() as session:
        row = session.get(ResourceSet, set_name)
        assert row is not None
        found = session.scalars(select(Job).where(Job.set_name == set_name))
        jobs = {job.parameters_name: job.status for job in found}
    assert jobs == dict.fromkeys(
        ("standard", "signal_metrics", "privacy_metrics", "report", "report_pia"),
        JobStatus.finished.value,
    )
    config = RunnerConfig.from_yaml(row.yaml)  # what Manager.create_runner_from_id reads
    assert list(config.tables) == ["iris"] and config.tables["iris"].file == "iris.csv"
    assert config.avatarization["iris"]["k"] == 10 and config.seed == 0
    assert set(config.reports) == {"basic", "pia"}
    assert config.annotations["client_type"] == "web"
    assert parse_resource_set(row.yaml).display_name == "iris web"


def test_the_result_page_reads_only_small_results_and_answers_fast(
    web_with_jobs: WebApp, finished: tuple[Browser, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page reads the metrics, the run metadata and the figures' index, never a table:
    what it reads does not grow with the rows, so the time measured here holds for a
    1,000,000-row job (benchmarks/web_result_page.py measures one)."""
    browser, run = finished
    storage = web_with_jobs.state.storage
    read: list[str] = []
    for method in ("iter_read", "open_read"):
        original = getattr(storage, method)

        def recording(key: str, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            read.append(key)
            return _original(key, *args, **kwargs)

        monkeypatch.setattr(storage, method, recording)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        assert browser.get(run).status_code == 200
        times.append(time.perf_counter() - started)
    kinds = {re.sub(r"^.*/", "", key) for key in read}
    assert kinds == {
        "iris.privacy.json",
        "iris.signal.json",
        "figures_metadata.json",
        *{k for k in kinds if re.fullmatch(r"run_metadata\.[0-9a-f-]+\.json", k)},
    }, kinds
    assert not [k for k in read if k.endswith((".csv", ".parquet", ".pdf", ".docx", ".html"))]
    assert statistics.median(times) < 1.0, times


def test_a_run_that_fails_says_why(web_with_jobs: WebApp) -> None:
    browser = web_with_jobs.logged_in()
    table = b"height,weight\n" + b"".join(f"{150 + i},{50 + 2 * i}\n".encode() for i in range(4))
    assert browser.upload("tiny.csv", table).status_code == 200
    run = browser.start_run("tiny.csv", display_name="too small", k="3")
    deadline = time.monotonic() + RUN_TIMEOUT
    while browser.get(f"{run}/progress").headers["X-Run-Done"] != "1":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    text = text_of(browser.get(run).text)
    assert "The run did not finish:" in text, text
    assert "Verdict" not in text and "Avatars (CSV)" not in text
    assert "not run: an earlier job failed" in text


def test_the_verdict_passes_only_when_every_privacy_target_holds(
    web_with_jobs: WebApp, finished: tuple[Browser, str]
) -> None:
    """The page's verdict is the engine's on the run's privacy result: each target named with
    the value measured; "pass" only when every checked target holds."""
    browser, run = finished
    privacy = _result_json(web_with_jobs, run.rsplit("/", 1)[1], "privacy")
    checked = [m for m in privacy["metrics"] if m.get("target") and m["value"] is not None]
    assert len(checked) >= 5
    page = text_of(browser.get(run).text)
    failed = [m for m in checked if m["passed"] is False]
    if failed:
        assert "Verdict: Not safe to share yet" in page and "What to change" in page
        for metric in failed:
            assert f"(target {metric['target']})" in page, metric["name"]
    else:
        assert "Verdict: Safe to share" in page
    # every target met: pass; one missed: fail, naming it with its target, and what to change
    met = [{**m, "value": _meeting(m["target"]), "passed": None} for m in privacy["metrics"]]
    verdict = analysis.verdict({**privacy, "metrics": met}, [], "en")
    assert verdict.status == "pass" and not verdict.changes
    missed = [dict(m) for m in met]
    hidden = next(m for m in missed if m["name"] == "hidden_rate")
    hidden["value"] = 50.0
    verdict = analysis.verdict({**privacy, "metrics": missed}, [], "fr")
    assert verdict.status == "fail" and verdict.changes
    # what to change, said for a person of the web pages (no command to type)
    assert "conseil pour une cible de confidentialité" in verdict.changes[0]
    assert "avatars advise" not in " ".join(verdict.changes)
    said = f"{metric_name('hidden_rate', 'fr')} {format_metric_value(50.0, '%', 'fr')} (cible > 90)"
    assert said in " ".join(verdict.sentences)
    unknown = analysis.verdict(None, [], "en")
    assert unknown.status == "unknown" and "cannot be judged safe" in unknown.sentences[0]


def _meeting(target: str | None) -> float | None:
    if not target:
        return None
    op, threshold = parse_target(target)
    return threshold + 1 if op.startswith(">") else threshold / 2
