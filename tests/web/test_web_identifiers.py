"""Columns that identify people, from the check page to the avatars: the engine flags them, the
page offers the three safe choices (leave out, the table's key, pseudonyms FAKER / HASH_SHA256 /
UUID4), the choice is written into the run's YAML and the job applies it; advice with a privacy
target. Real runs by the job workers in the test's process."""

from __future__ import annotations

import hashlib
import hmac
import io
import re
import time
import uuid
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select
from web_helpers import IRIS_CSV, Browser, WebApp, text_of

from avatars.engine.texts import metric_name
from avatars.protocol.documents import SchemaDocument, parse_resource_set
from avatars.server.db.models import Job, ResourceSet

RUN_TIMEOUT = 300
ADVICE_TIMEOUT = 120
WBCD_CSV = IRIS_CSV.with_name("wbcd.csv")


def _people() -> pd.DataFrame:
    """Iris with three identifier columns: a record number, an e-mail and a US SSN."""
    iris = pd.read_csv(IRIS_CSV)
    n = len(iris)
    people = pd.DataFrame(
        {
            "record_id": range(1001, 1001 + n),
            "email": [f"person{i}@hospital-{i % 7}.org" for i in range(n)],
            "ssn": [f"{100 + i:03d}-{10 + i % 80:02d}-{1000 + i:04d}" for i in range(n)],
        }
    )
    return pd.concat([people, iris], axis=1)


def _identifier_selects(html: str) -> dict[str, tuple[str, list[str]]]:
    """``{column: (select name, option values)}`` of the check page's identifier choices."""
    found = {}
    for row in re.findall(r"<tr class=\"flagged\">(.*?)</tr>", html, flags=re.S):
        column = re.search(r'<th scope="row">([^<]+)</th>', row)
        select = re.search(r'<select id="(identifier-\d+)" name="[^"]+">(.*?)</select>', row, re.S)
        assert column and select, row
        options = re.findall(r'<option value="([^"]+)"', select.group(2))
        found[column.group(1)] = (select.group(1), options)
    return found


def _wait(browser: Browser, run: str) -> str:
    deadline = time.monotonic() + RUN_TIMEOUT
    while browser.get(f"{run}/progress").headers["X-Run-Done"] != "1":
        assert time.monotonic() < deadline, text_of(browser.get(f"{run}/progress").text)
        time.sleep(0.5)
    return text_of(browser.get(run).text)


def _yaml_columns(web: WebApp, run: str) -> dict[str, Any]:
    with web.state.db.reading() as session:
        row = session.get(ResourceSet, uuid.UUID(run.rsplit("/", 1)[1]))
        assert row is not None
        text = row.yaml
    schema = next(
        d for d in parse_resource_set(text).of_kind(SchemaDocument.KIND) if not d.spec.schema_ref
    )
    assert isinstance(schema, SchemaDocument)
    return {c.field: c for c in schema.spec.tables[0].columns or []}


def _avatars(browser: Browser, run: str) -> pd.DataFrame:
    page = browser.get(run).text
    links = dict(
        (label, url)
        for url, label in re.findall(r'<a class="button" href="([^"]+)" download>([^<]+)</a>', page)
    )
    response = browser.get(links["Avatars (CSV)"])
    assert response.status_code == 200
    return pd.read_csv(io.BytesIO(response.content))


@pytest.fixture(scope="module")
def people(web_with_jobs: WebApp) -> Browser:
    browser = web_with_jobs.logged_in()
    data = _people().to_csv(index=False).encode()
    assert browser.upload("people.csv", data).status_code == 200
    return browser


def test_identifiers_are_flagged_with_the_three_safe_choices(people: Browser) -> None:
    page = people.get("/tables/people.csv")
    selects = _identifier_selects(page.text)
    assert set(selects) == {"record_id", "email", "ssn"}
    for _name, options in selects.values():
        assert options == ["drop", "key", "FAKER", "HASH_SHA256", "UUID4"]
    text = text_of(page.text)
    assert "Identifies people: e-mail addresses" in text
    assert "Identifies people: national identification numbers" in text
    # the safe default is selected, and no choice copies an identifier onto the avatars
    assert re.search(r'<option value="drop" selected>', page.text)
    assert "row order" not in text.lower()
    french = people.get("/tables/people.csv", headers={"Accept-Language": "fr"})
    assert "Identifie des personnes : adresses e-mail" in text_of(french.text)


def test_pseudonyms_chosen_in_the_page_reach_the_job(
    web_with_jobs: WebApp, people: Browser
) -> None:
    selects = _identifier_selects(people.get("/tables/people.csv").text)
    run = people.start_run(
        "people.csv",
        display_name="pseudonyms",
        k="10",
        seed="0",
        **{
            selects["email"][0]: "FAKER",
            selects["ssn"][0]: "HASH_SHA256",
            selects["record_id"][0]: "UUID4",
        },
    )
    columns = _yaml_columns(web_with_jobs, run)
    assert columns["email"].strategy().kind == "FAKER"
    assert columns["email"].strategy().pii_type == "EMAIL"
    assert columns["ssn"].strategy().kind == "HASH_SHA256"
    assert columns["record_id"].strategy().kind == "UUID4"
    text = _wait(people, run)
    assert "Verdict:" in text and "The run did not finish" not in text, text[:3000]
    avatars = _avatars(people, run)
    original = _people()
    assert list(avatars.columns) == list(original.columns) and len(avatars) == len(original)
    assert not set(avatars["email"]) & set(original["email"])
    assert avatars["email"].str.contains("@").all()
    assert avatars["ssn"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert not set(avatars["ssn"]) & set(original["ssn"])
    # keyed by the platform's pseudonymization key, then by the organization: consistent
    # within an organization, unrelated across organizations
    platform_key = web_with_jobs.state.settings.pseudonymization_key().encode()
    with web_with_jobs.state.db.reading() as session:
        organization = session.scalars(
            select(Job.organization_id).where(Job.set_name == uuid.UUID(run.rsplit("/", 1)[1]))
        ).first()
    organization_key = hmac.new(platform_key, str(organization).encode(), hashlib.sha256)
    expected = {
        hmac.new(organization_key.hexdigest().encode(), v.encode(), hashlib.sha256).hexdigest()
        for v in original["ssn"]
    }
    assert set(avatars["ssn"]) == expected
    unkeyed = {
        hmac.new(platform_key, v.encode(), hashlib.sha256).hexdigest() for v in original["ssn"]
    }
    assert not set(avatars["ssn"]) & unkeyed
    assert all(uuid.UUID(value).version == 4 for value in avatars["record_id"])


def test_a_key_chosen_in_the_page_gets_new_keys(web_with_jobs: WebApp, people: Browser) -> None:
    selects = _identifier_selects(people.get("/tables/people.csv").text)
    run = people.start_run(
        "people.csv",
        display_name="a key",
        k="10",
        seed="0",
        **{
            selects["record_id"][0]: "key",
            selects["email"][0]: "drop",
            selects["ssn"][0]: "drop",
        },
    )
    columns = _yaml_columns(web_with_jobs, run)
    assert columns["record_id"].primary_key is True
    assert "email" not in columns and "ssn" not in columns
    text = _wait(people, run)
    assert "Verdict:" in text and "The run did not finish" not in text, text[:3000]
    avatars = _avatars(people, run)
    assert "email" not in avatars.columns and "ssn" not in avatars.columns
    assert avatars["record_id"].is_unique and len(avatars) == 150
    assert not set(avatars["record_id"].astype(str)) & {str(i) for i in range(1001, 1151)}


def test_two_keys_or_a_key_with_pseudonyms_are_refused_with_the_columns_named(
    people: Browser,
) -> None:
    page = people.get("/tables/people.csv").text
    selects = _identifier_selects(page)
    two_keys = people.client.post(
        "/tables/people.csv/run",
        data={
            "csrf_token": people.csrf("/tables/people.csv"),
            "display_name": "two keys",
            "k": "10",
            selects["record_id"][0]: "key",
            selects["ssn"][0]: "key",
        },
    )
    assert two_keys.status_code == 422
    assert "only one column can be the table's key" in text_of(two_keys.text)
    mixed = people.client.post(
        "/tables/people.csv/run",
        data={
            "csrf_token": people.csrf("/tables/people.csv"),
            "display_name": "mixed",
            "k": "10",
            selects["record_id"][0]: "key",
            selects["email"][0]: "UUID4",
        },
    )
    assert mixed.status_code == 422 and "'email'" in text_of(mixed.text)
    unknown = people.client.post(
        "/tables/people.csv/run",
        data={
            "csrf_token": people.csrf("/tables/people.csv"),
            "display_name": "row order",
            "k": "10",
            selects["record_id"][0]: "row_order",
        },
    )
    assert unknown.status_code == 422 and "row_order" in text_of(unknown.text)


def test_wbcd_sample_code_number_is_flagged_not_its_measurements(web_with_jobs: WebApp) -> None:
    browser = web_with_jobs.logged_in()
    assert browser.upload("wbcd.csv", WBCD_CSV.read_bytes()).status_code == 200
    assert set(_identifier_selects(browser.get("/tables/wbcd.csv").text)) == {"Sample_code_number"}


def _advice_done(browser: Browser, advice: str) -> None:
    """Wait (bounded) until the advice's job is over, as the advice page's script does."""
    deadline = time.monotonic() + ADVICE_TIMEOUT
    while browser.get(f"{advice}/progress").headers["X-Run-Done"] != "1":
        assert time.monotonic() < deadline, text_of(browser.get(f"{advice}/progress").text)
        time.sleep(0.25)


def test_advice_for_a_privacy_target_is_measured_and_fills_the_form(people: Browser) -> None:
    form = {
        "csrf_token": people.csrf("/tables/people.csv"),
        "display_name": "advised",
        "k": "3",
        "seed": "7",
        "target_metric": "hidden_rate",
        "target_value": "85",
    }
    asked = people.client.post("/tables/people.csv/advice", data=form)
    # the request makes the advice job and answers at once: the advice's page follows it
    assert asked.status_code == 303, text_of(asked.text)[:2000]
    advice = asked.headers["location"]
    assert re.fullmatch(r"/advice/[0-9a-f-]{36}", advice), advice
    assert "meet the target" not in text_of(asked.text)
    _advice_done(people, advice)
    advised = people.get(advice)
    assert advised.status_code == 200, text_of(advised.text)[:2000]
    text = text_of(advised.text)
    found = re.search(r"For Hidden rate > 85: k = (\d+), ncp = (\d+) meet the target", text)
    assert found, text
    k = found.group(1)
    assert re.search(rf'<input id="k" name="k" type="number"[^>]*value="{k}"', advised.text)
    assert 'value="85"' in advised.text  # the target stays in the form
    assert 'value="advised"' in advised.text and 'value="7"' in advised.text  # and the rest
    assert "Identifies people" in text  # the identifiers and their choices are still shown
    assert re.search(r'<option value="drop" selected>', advised.text)
    french = people.get(advice, headers={"Accept-Language": "fr"})
    assert f"Pour {metric_name('hidden_rate', 'fr')} > 85 : k = {k}" in text_of(french.text)
    bad = people.client.post("/tables/people.csv/advice", data={**form, "target_value": "a lot"})
    assert bad.status_code == 422 and "'a lot' is not a number" in text_of(bad.text)
