"""A person in a real browser: from a CSV file to a verdict, a report and downloaded avatars.

Headless Chromium (Debian's ``chromium``, driven by Playwright with ``executable_path``; no
browser is downloaded) against a real ``avatars serve`` on a loopback port. Every request the
pages make is recorded: none may leave 127.0.0.1. A screenshot of each step is saved under
``tests/output/web/`` (CI keeps it as an artifact). Outside CI the test is skipped when
Chromium or Playwright is missing; with ``AVATAR_TEST_REQUIRE_BROWSER=1`` (CI) it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import pytest
from web_helpers import ADMIN_EMAIL, ADMIN_PASSWORD, ROOT, WBCD_CSV

from avatars.engine.texts import format_metric_value

CHROMIUM = Path(os.environ.get("AVATAR_TEST_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "tests" / "output" / "web"
#: The flags of the workplace's probe: no background traffic, no first-run, no sandbox (root).
CHROMIUM_FLAGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RUN_TIMEOUT_MS = 300_000
ADVICE_TIMEOUT_MS = 120_000
LOCAL_SCHEMES = ("data", "blob", "about", "chrome-error")
#: After the figures were checked once, pages are read as soon as their HTML is: each figure
#: carries plotly.js inline, and loading the frames again would take most of the test's time.
FAST = "domcontentloaded"


def _missing(reason: str) -> None:
    if os.environ.get("AVATAR_TEST_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def chromium() -> Iterator[Any]:
    """Headless Chromium, started by Playwright from the system's binary."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install 'avatars[test]')")
    if not CHROMIUM.exists():
        _missing(f"no Chromium at {CHROMIUM} (Debian package chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def server(tmp_path: Path, start_server: Callable[..., Any]) -> Any:
    return start_server(
        tmp_path / "platform",
        {
            "AVATAR_ADMIN_EMAIL": ADMIN_EMAIL,
            "AVATAR_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "AVATAR_WORKERS": "2",
        },
    )


class Steps:
    """Screenshots, numbered in the order of the steps."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.count = 0
        shutil.rmtree(SCREENSHOTS, ignore_errors=True)
        SCREENSHOTS.mkdir(parents=True)

    def shot(self, name: str, *, height: float | None = None) -> Path:
        """The whole page (or its first ``height`` pixels). Taken through a viewport as tall as
        the page: Chromium's full-page capture leaves the sandboxed figures (frames of another
        process) blank."""
        self.count += 1
        path = SCREENSHOTS / f"{self.count:02d}-{name}.png"
        self.capture(path, height)
        return path

    def capture(self, path: Path, height: float | None = None) -> None:
        viewport = self.page.viewport_size
        assert viewport is not None
        full = self.page.evaluate("document.documentElement.scrollHeight")
        tall = int(min(height or full, 12_000))
        self.page.set_viewport_size({"width": viewport["width"], "height": max(tall, 200)})
        self.page.wait_for_timeout(300)  # the figures follow the new size
        self.page.screenshot(path=str(path))
        self.page.set_viewport_size(viewport)


_UNLABELLED = """() => [...document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button')]
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !(el.tagName === 'BUTTON' && el.textContent.trim()))
  .map(el => el.outerHTML.slice(0, 120))"""


def _check_labels(page: Any) -> None:
    unlabelled = page.evaluate(_UNLABELLED)
    assert not unlabelled, (page.url, unlabelled)


def _drop_file(page: Any, path: Path) -> None:
    """Drag a file onto the drop zone, as a person does from their file manager."""
    page.evaluate(
        """([name, content]) => {
            const zone = document.getElementById('drop-zone');
            const data = new DataTransfer();
            data.items.add(new File([content], name, {type: 'text/csv'}));
            for (const type of ['dragenter', 'dragover', 'drop']) {
                zone.dispatchEvent(new DragEvent(type, {dataTransfer: data, bubbles: true,
                                                        cancelable: true}));
            }
        }""",
        [path.name, path.read_text(encoding="utf-8")],
    )


def _download(page: Any, name: str, folder: Path) -> Path:
    with page.expect_download() as download:
        page.get_by_role("link", name=name, exact=True).click()
    target = folder / download.value.suggested_filename
    download.value.save_as(str(target))
    return target


def test_from_a_csv_file_to_a_verdict_a_report_and_avatars(
    chromium: Any, server: Any, tmp_path: Path
) -> None:
    context = chromium.new_context(
        viewport={"width": 1280, "height": 900}, accept_downloads=True, locale="en-US"
    )
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    page.set_default_timeout(30_000)
    steps = Steps(page)
    base = server.base_url

    # 1. log in, with the keyboard only
    page.goto(base + "/")
    assert page.url == base + "/login"
    _check_labels(page)
    steps.shot("login")
    page.keyboard.type(ADMIN_EMAIL)  # the user name field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type(ADMIN_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/")
    assert page.get_by_role("heading", name="Your runs").is_visible()
    steps.shot("runs")

    # 2. a new run: drop the file, watch it upload
    page.get_by_role("link", name="New run").first.click()
    page.wait_for_url(base + "/runs/new")
    _check_labels(page)
    steps.shot("upload")
    assert not page.locator("#upload-status").is_visible()  # until an upload starts
    _drop_file(page, WBCD_CSV)
    page.wait_for_url(base + "/tables/wbcd.csv", timeout=60_000)

    # 3. check the columns: the identifier is flagged with its three safe choices, the safest
    # selected; this person replaces it by random identifiers
    _check_labels(page)
    assert "683 rows and 11 columns" in page.inner_text("main")
    flagged = page.locator("tr.flagged th")
    assert flagged.all_inner_texts() == ["Sample_code_number"]
    choice = page.locator("#identifier-0")
    assert choice.input_value() == "drop"
    options = choice.locator("option")
    assert [options.nth(i).get_attribute("value") for i in range(options.count())] == [
        "drop",
        "key",
        "FAKER",
        "HASH_SHA256",
        "UUID4",
    ]
    choice.select_option("UUID4")
    assert page.locator("#type-1").input_value() == "int"  # Clump_Thickness
    assert page.locator("#k").input_value() == "20"  # advised for 683 rows
    # the advice for a privacy target: an advice job, whose page follows it, then the form
    # again with the advised parameters (Enter in the target's field asks for it)
    page.fill("#target_value", "85")
    page.locator("#target_value").press("Enter")
    page.wait_for_url(f"{base}/advice/*")
    page.locator(".advice-result").wait_for(timeout=ADVICE_TIMEOUT_MS)
    assert page.locator(".advice-result").inner_text().startswith("For Hidden rate > 85: ")
    assert page.locator("#identifier-0").input_value() == "UUID4"  # the choices are kept
    assert page.locator("#target_value").input_value() == "85"
    page.fill("#k", "20")  # this run keeps the shape rule's k
    page.fill("#display_name", "wbcd trial")
    steps.shot("check")
    page.locator("#display_name").press("Enter")  # the keyboard runs it (not the advice)
    page.wait_for_url(f"{base}/runs/*")
    run_url = page.url
    set_name = run_url.rsplit("/", 1)[1]
    steps.shot("progress")

    # 4. the result page: verdict, metrics with targets, figures
    page.locator(".verdict").wait_for(timeout=RUN_TIMEOUT_MS)
    verdict = page.locator("#verdict-title").inner_text()
    assert verdict.startswith("Verdict: ")
    assert verdict.removeprefix("Verdict: ") in ("Safe to share", "Not safe to share yet")
    assert "683 avatars of 11 columns." in page.locator(".verdict").inner_text()
    privacy = page.locator("#privacy-table tbody tr")
    assert privacy.count() >= 5
    assert "Hidden rate" in page.locator("#privacy-table").inner_text()
    assert "Distribution preservation score" in page.locator("#signal-table").inner_text()
    frames = page.locator("iframe")
    assert frames.count() >= 4
    for index in range(frames.count()):  # each figure draws itself, offline, in its sandbox
        frames.nth(index).scroll_into_view_if_needed()
        figure = page.frame_locator("iframe").nth(index)
        figure.locator(".main-svg, table").first.wait_for(timeout=60_000)
    _check_labels(page)
    page.evaluate("window.scrollTo(0, 0)")
    steps.shot("result")
    first_figure = page.locator("figure").first.bounding_box()
    assert first_figure
    page.evaluate("window.scrollTo(0, 0)")
    steps.capture(SCREENSHOTS / "result-top.png", first_figure["y"] + first_figure["height"] + 24)

    # 5. downloads: the avatars, the reports
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    avatars = pd.read_csv(_download(page, "Avatars (CSV)", downloads))
    original = pd.read_csv(WBCD_CSV)
    assert len(avatars) == len(original) == 683
    assert list(avatars.columns) == list(original.columns)
    pseudonyms = avatars["Sample_code_number"]  # random identifiers, none of the originals
    assert pseudonyms.str.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}"
    ).all()
    assert not set(pseudonyms) & set(original["Sample_code_number"].astype(str))
    pdf = _download(page, "Report (PDF)", downloads)
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "Avatar anonymization report" in text and "Hidden rate" in text
    html = _download(page, "Report (HTML)", downloads).read_text(encoding="utf-8")
    assert "<html" in html.lower() and "wbcd" in html
    pia = _download(page, "Impact assessment (Word)", downloads)
    assert "word/document.xml" in zipfile.ZipFile(pia).namelist()

    # 6. the same results through the SDK, with an API key made in the browser
    page.get_by_role("link", name="API keys").click()
    page.fill("#key-name", "notebook")
    page.get_by_role("button", name="Create a key").click()
    key = page.locator("#new-key").input_value()
    assert key.startswith("avatars_api_key.")
    _check_labels(page)
    steps.shot("api-key")
    from avatars.manager import Manager

    runner = Manager(base, api_key=key).create_runner_from_id(set_name)
    hidden_rate = runner.privacy_metrics("wbcd")[0]["hidden_rate"]
    page.goto(run_url, wait_until=FAST)
    shown = format_metric_value(hidden_rate, "%", "en").replace("\u00a0", " ")
    assert shown in page.locator("#privacy-table").inner_text().replace("\u00a0", " ")
    assert len(runner.shuffled("wbcd")) == 683

    # 7. the audit log, the administrator's users
    page.get_by_role("link", name="Audit log").click()
    assert "download" in page.inner_text("main")
    steps.shot("audit")
    page.get_by_role("link", name="Users").click()
    assert ADMIN_EMAIL in page.inner_text("main")
    _check_labels(page)
    steps.shot("users")

    # 8. in French, and at 390 pixels wide (nothing wider than the screen)
    page.goto(run_url, wait_until=FAST)
    page.get_by_role("button", name="Language: Français").click()
    page.wait_for_url(run_url, wait_until=FAST)
    assert page.locator("html").get_attribute("lang") == "fr"
    assert "Métriques de confidentialité" in page.inner_text("main")
    steps.shot("result-fr", height=1600)  # the top: the figures are shot above
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(run_url, wait_until=FAST)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, overflow
    steps.shot("result-390", height=2400)
    for path in ("/", "/runs/new", "/tables/wbcd.csv", "/keys", "/audit"):
        page.goto(base + path, wait_until=FAST)
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1, path

    # 9. log out; nothing was asked of another host
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(base + "/login")
    context.close()
    outside = [
        url
        for url in requested
        if urlsplit(url).scheme not in LOCAL_SCHEMES and urlsplit(url).hostname != "127.0.0.1"
    ]
    assert not outside, outside
    assert len(requested) > 30
    assert steps.count == 11 and (SCREENSHOTS / "result-top.png").exists()
