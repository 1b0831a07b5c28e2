"""The web application in the test's process (no job workers): sessions, CSRF, who sees what,
what the pages load, API keys, users, languages. Runs are created through the pages; their jobs
stay queued here (tests/web/test_results.py and test_browser.py run them)."""

from __future__ import annotations

import io
import logging
import re
import uuid
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from web_helpers import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    AIDS_CSV,
    IRIS_CSV,
    Browser,
    Person,
    WebApp,
    csrf_of,
    job_names,
    settings_for,
    text_of,
)

from avatars.engine.identifiers import IdentifierKind
from avatars.protocol.documents import AdviceDocument, parse_resource_set
from avatars.protocol.enums import JobKind, JobStatus
from avatars.runner_config import RunnerConfig
from avatars.server.db.models import Job, ResourceSet
from avatars.server.main import create_app
from avatars.server.services import accounts
from avatars.server.web import analysis, i18n
from avatars.server.web.session import COOKIE_NAME

TEMPLATES = Path(analysis.__file__).resolve().parent / "templates"
STATIC = TEMPLATES.parent / "static"


# -- the root, login, sessions ------------------------------------------------------------------


def test_the_root_is_the_web_app_and_the_api_keeps_its_own(web: WebApp) -> None:
    browser = web.browser()
    root = browser.get("/")
    assert root.status_code == 303 and root.headers["location"] == "/login"
    login = browser.get("/login")
    assert login.status_code == 200 and login.headers["content-type"].startswith("text/html")
    assert "Log in" in text_of(login.text)
    api_root = browser.get("/api/")
    assert api_root.status_code == 200 and api_root.json()["message"] == "Avatar API"
    assert browser.get("/api/health").json()["message"] == "ok"
    assert browser.get("/static/app.css").status_code == 200
    # a deep link survives the login
    deep = browser.get("/keys")
    assert deep.status_code == 303 and deep.headers["location"] == "/login?next=%2Fkeys"


def test_the_mcp_server_stays_reachable_under_the_web_pages(tmp_path: Path) -> None:
    """``avatars serve --mcp``: /mcp is the MCP server's (its API-key refusal), not a web
    page, and / is still the web app."""
    pytest.importorskip("fastmcp")
    app = create_app(settings_for(tmp_path / "data", mcp=True), run_jobs=False)
    with TestClient(app) as client:
        refused = client.post(
            "/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"Accept": "application/json, text/event-stream"},
        )
        assert refused.status_code == 401, refused.text
        assert refused.headers["www-authenticate"].startswith("Bearer")
        root = client.get("/", follow_redirects=False)
        assert root.status_code == 303 and root.headers["location"] == "/login"


def test_login_sets_a_secure_httponly_samesite_cookie(web: WebApp) -> None:
    browser = web.browser(https=True)
    wrong = browser.submit("/login", {"username": ADMIN_EMAIL, "password": "not-it"})
    assert wrong.status_code == 401
    assert "Incorrect user name or password" in text_of(wrong.text)
    response = browser.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    for flag in ("HttpOnly", "Secure", "SameSite=lax", "Path=/"):
        assert flag.lower() in cookie.lower(), cookie
    home = browser.get("/")
    assert home.status_code == 200 and f"Signed in as {ADMIN_EMAIL}" in text_of(home.text)


def test_the_session_cookie_is_not_an_api_credential(web: WebApp) -> None:
    browser = web.logged_in()
    value = browser.client.cookies[COOKIE_NAME]
    api = web.browser().client
    assert api.get("/api/users/me", headers={"Authorization": f"Bearer {value}"}).status_code == 401


def test_logout_ends_the_session_even_for_a_copied_cookie(web: WebApp) -> None:
    browser = web.logged_in()
    copied = browser.client.cookies[COOKIE_NAME]
    out = browser.submit("/logout", page="/")
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert "You are logged out" in text_of(browser.get("/login").text)
    replay = web.browser()
    replay.client.cookies.set(COOKIE_NAME, copied)
    assert replay.get("/").headers["location"] == "/login"


def test_a_session_ends_after_an_idle_hour_and_lives_while_used(web: WebApp) -> None:
    assert web.clock is not None
    browser = web.logged_in()
    for _ in range(3):  # used every 40 minutes: it lives on
        web.clock.advance(minutes=40)
        assert browser.get("/").status_code == 200
    web.clock.advance(minutes=61)
    assert browser.get("/").headers["location"] == "/login"


def test_the_password_reset_flow_ends_every_session(
    web: WebApp, caplog: pytest.LogCaptureFixture
) -> None:
    person = web.person()
    signed_in = web.logged_in(person)
    visitor = web.browser()
    forgot = visitor.get("/password/forgot")
    assert "Reset a forgotten password" in text_of(forgot.text)
    with caplog.at_level(logging.DEBUG):
        sent = visitor.submit("/password/forgot", {"email": person.email})
    assert sent.status_code == 303
    # Without SMTP no token goes to the log (issue 16.6): an admin issues one, as
    # `avatars users reset-password` does.
    assert "avatars users reset-password" in caplog.text
    _user, issued = accounts.issue_reset_token(web.state, person.email)
    token = re.fullmatch(r"([0-9a-f-]{36})", issued)
    assert token and issued not in caplog.text
    reset_page = visitor.get(sent.headers["location"])
    assert "a reset code has been sent" in text_of(reset_page.text)
    assert f'value="{person.email}"' in reset_page.text
    fields = {"token": token.group(1), "email": person.email, "new_password": "brand-new-pw"}
    mismatch = visitor.submit("/password/reset", {**fields, "new_password_repeated": "other-pw-1"})
    assert mismatch.status_code == 400 and "different" in text_of(mismatch.text)
    done = visitor.submit("/password/reset", {**fields, "new_password_repeated": "brand-new-pw"})
    assert done.status_code == 303 and done.headers["location"] == "/login"
    assert "Your password was changed" in text_of(visitor.get("/login").text)
    assert signed_in.get("/").headers["location"] == "/login"  # the earlier session is over
    visitor.login(person.email, "brand-new-pw")


def test_repeated_failed_logins_are_throttled_with_a_page(web: WebApp) -> None:
    browser = web.browser()
    for _ in range(web.state.settings.login_max_failures):
        assert (
            browser.submit("/login", {"username": ADMIN_EMAIL, "password": "x"}).status_code == 401
        )
    throttled = browser.submit("/login", {"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert throttled.status_code == 429 and throttled.headers["retry-after"]
    assert "Too many failed logins" in text_of(throttled.text)


# -- CSRF ----------------------------------------------------------------------------------------


def _unsafe_requests(run: str, table: str) -> list[tuple[str, str, dict[str, str]]]:
    return [
        ("POST", "/logout", {}),
        ("POST", "/language", {"language": "fr"}),
        ("POST", "/keys", {"name": "stolen", "days": "30"}),
        ("POST", "/admin/users", {"email": "intruder@example.com", "password": "intruder-pw"}),
        ("POST", f"/tables/{table}/run", {"k": "10", "display_name": "csrf"}),
        ("POST", f"/tables/{table}/advice", {"target_metric": "hidden_rate", "target_value": "1"}),
        ("POST", f"{run}/cancel", {}),
        ("POST", "/password/forgot", {"email": ADMIN_EMAIL}),
        ("POST", "/runs/new", {}),
    ]


def test_forms_without_the_sessions_csrf_token_are_refused(web: WebApp) -> None:
    browser = web.logged_in()
    assert browser.upload("iris.csv", IRIS_CSV.read_bytes()).status_code == 200
    run = browser.start_run("iris.csv", display_name="protected")
    other_session = web.logged_in()
    foreign_token = other_session.csrf("/")
    for method, path, data in _unsafe_requests(run, "iris.csv"):
        for token in (None, "", foreign_token):
            form = dict(data) if token is None else {**data, "csrf_token": token}
            response = browser.client.request(method, path, data=form)
            assert response.status_code == 403, (path, token, response.status_code)
            assert "did not come from this platform" in text_of(response.text), path
    raw = browser.client.put("/uploads/evil.csv", content=b"a,b\n1,2\n")
    assert raw.status_code == 403
    wrong_header = browser.client.put(
        "/uploads/evil.csv", content=b"a,b\n1,2\n", headers={"X-CSRF-Token": foreign_token}
    )
    assert wrong_header.status_code == 403
    # nothing happened: still logged in, no key, no user, no upload, the run not cancelled
    assert browser.get("/").status_code == 200
    assert "stolen" not in browser.get("/keys").text
    assert "intruder@example.com" not in browser.get("/admin/users").text
    assert "evil.csv" not in browser.get("/runs/new").text
    assert "Cancel the run" in browser.get(run).text
    # the login form is protected too
    visitor = web.browser()
    refused = visitor.client.post(
        "/login", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert refused.status_code == 403
    assert visitor.get("/").headers["location"] == "/login"  # not logged in


def test_a_login_gets_a_new_csrf_token(web: WebApp) -> None:
    browser = web.browser()
    before = browser.csrf("/login")
    browser.client.post(
        "/login", data={"csrf_token": before, "username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    after = browser.csrf("/")
    assert after != before
    stale = browser.client.post("/keys", data={"csrf_token": before, "name": "k", "days": "1"})
    assert stale.status_code == 403


# -- who sees what -------------------------------------------------------------------------------


def test_another_organizations_user_cannot_see_a_run(web: WebApp) -> None:
    owner = web.person(organization="clinic")
    browser = web.logged_in(owner)
    browser.upload("aids.csv", AIDS_CSV.read_bytes())
    run = browser.start_run("aids.csv", display_name="trial")
    page = browser.get(run)
    assert page.status_code == 200 and "Run “trial”" in text_of(page.text)
    names = job_names(web, run.rsplit("/", 1)[1])
    assert len(names) == 5  # standard, signal, privacy, report, report_pia
    own_admin = web.logged_in(web.person(organization="clinic", admin=True))
    colleague = web.logged_in(web.person(organization="clinic"))
    stranger = web.logged_in(web.person(organization="other"))
    stranger_admin = web.logged_in(web.person(organization="other", admin=True))
    assert own_admin.get(run).status_code == 200  # an admin sees the organization's runs
    assert "trial" in own_admin.get("/").text
    for outsider in (colleague, stranger, stranger_admin):
        for path in (
            run,
            f"{run}/progress",
            f"/jobs/{names[0]}",
            f"{run}/files/{names[0]}/aids.shuffled-0.csv",
            "/tables/aids.csv",
        ):
            response = outsider.get(path)
            assert response.status_code == 404, (path, response.status_code)
            assert "does not exist, or it is not yours" in text_of(response.text)
        assert "trial" not in outsider.get("/").text
        cancel = outsider.submit(f"{run}/cancel", page="/")
        assert cancel.status_code == 404
    assert "Cancel the run" in browser.get(run).text  # still running: nobody else cancelled it
    assert colleague.get("/admin/users").status_code == 403


def _advice_page(web: WebApp, person: Person) -> tuple[Browser, str]:
    """``person`` asks the check page of a table with a record number (its key) for advice;
    the advice's page (its job stays queued: no job workers here)."""
    browser = web.logged_in(person)
    iris = pd.read_csv(IRIS_CSV)
    table = pd.concat([pd.DataFrame({"record_id": range(1001, 1001 + len(iris))}), iris], axis=1)
    assert browser.upload("records.csv", table.to_csv(index=False).encode()).status_code == 200
    page = browser.get("/tables/records.csv").text
    form = {
        "csrf_token": csrf_of(page),
        "display_name": "advised",
        "k": "3",
        "seed": "7",
        "type-1": "category",
        "identifier-0": "key",
        "target_metric": "hidden_rate",
        "target_value": "90",
    }
    asked = browser.client.post("/tables/records.csv/advice", data=form)
    # the request makes the job and answers at once, with the advice's page
    assert asked.status_code == 303, text_of(asked.text)[:2000]
    advice = str(asked.headers["location"])
    assert re.fullmatch(r"/advice/[0-9a-f-]{36}", advice), advice
    return browser, advice


def test_advice_for_a_target_is_a_job_that_its_page_follows(web: WebApp) -> None:
    owner = web.person(organization="clinic")
    browser, advice = _advice_page(web, owner)
    with web.state.db.reading() as session:
        job = session.get(Job, advice.rsplit("/", 1)[1])
        assert job is not None and job.user_id == owner.id
        assert (job.kind, job.status) == (JobKind.advice.value, JobStatus.queued.value)
        resource_set = parse_resource_set(session.get(ResourceSet, job.set_name).yaml)
    # the set the SDK's advise_parameters(targets=...) sends, with the page's choices
    document = resource_set.parameters(job.parameters_name)
    assert isinstance(document, AdviceDocument)
    assert document.spec.advice.targets == {"hidden_rate": 90.0}
    schema = resource_set.schema(document.spec.schema_name)
    assert schema is not None
    table = schema.spec.tables[0]
    assert table.data is not None and table.data.file == "records.csv"
    assert table.primary_key == "record_id" and table.column_types()["sepal.length"] == "category"
    waiting = browser.get(advice)
    assert waiting.status_code == 200
    assert f'data-poll="{advice}/progress"' in waiting.text  # the run page's script polls it
    assert '<noscript><meta http-equiv="refresh"' in waiting.text  # and without JavaScript
    assert "Hidden rate > 90" in text_of(waiting.text)
    progress = browser.get(f"{advice}/progress")
    assert progress.headers["X-Run-Done"] == "0" and "Advice waiting" in text_of(progress.text)
    french = browser.get(advice, headers={"Accept-Language": "fr"})
    assert "Conseil pour « records.csv »" in text_of(french.text)
    assert str(job.set_name) not in browser.get("/").text  # an advice is not a run
    for outsider in (
        web.logged_in(web.person(organization="clinic")),
        # the advice's page is the check page of the owner's upload: not even their admin's
        web.logged_in(web.person(organization="clinic", admin=True)),
        web.logged_in(web.person(organization="other")),
        web.logged_in(web.person(organization="other", admin=True)),
    ):
        for path in (advice, f"{advice}/progress"):
            response = outsider.get(path)
            assert response.status_code == 404, (path, response.status_code)
            assert "does not exist, or it is not yours" in text_of(response.text)
    # a failed job: the check page again, with its message and the form as it was
    with web.state.db.writing() as session:
        failed = session.get(Job, advice.rsplit("/", 1)[1])
        assert failed is not None
        failed.status, failed.exception = JobStatus.error.value, "the search broke"
    page = browser.get(advice)
    assert page.status_code == 200
    assert "No advice could be found: the search broke" in text_of(page.text)
    assert re.search(r'<input id="k" name="k" type="number"[^>]*value="3"', page.text)
    assert 'value="advised"' in page.text and 'value="90"' in page.text
    assert re.search(
        r'<select id="identifier-0"[^>]*>.*?<option value="key" selected>', page.text, re.S
    )
    assert re.search(
        r'<select id="type-1"[^>]*>.*?<option value="category" selected>', page.text, re.S
    )


def test_an_advice_can_be_cancelled_from_its_page(web: WebApp) -> None:
    browser, advice = _advice_page(web, web.person(organization="clinic"))
    job_name = advice.rsplit("/", 1)[1]
    shown = browser.client.get(f"/jobs/{job_name}")  # the audit log's links to a job
    assert shown.status_code == 303 and shown.headers["location"] == advice
    waiting = browser.get(advice)
    assert f'action="{advice}/cancel"' in waiting.text and "Cancel the advice" in waiting.text
    csrf = csrf_of(waiting.text)
    outsider = web.logged_in(web.person(organization="clinic"))
    refused = outsider.client.post(f"{advice}/cancel", data={"csrf_token": outsider.csrf("/")})
    assert refused.status_code == 404
    cancelled = browser.client.post(f"{advice}/cancel", data={"csrf_token": csrf})
    assert cancelled.status_code == 303 and cancelled.headers["location"] == advice
    with web.state.db.reading() as session:
        job = session.get(Job, advice.rsplit("/", 1)[1])
        assert job is not None and job.status == JobStatus.cancelled.value
    page = browser.get(advice)
    assert "No advice could be found: cancelled" in text_of(page.text)
    assert 'value="90"' in page.text  # the form as it was
    again = browser.client.post(f"{advice}/cancel", data={"csrf_token": csrf_of(page.text)})
    assert again.status_code == 303  # over already: nothing to do


# -- what the pages load ------------------------------------------------------------------------

_REFERENCES = re.compile(r"""(?:src|href|action|poster|data-poll)\s*=\s*["']([^"']*)["']""", re.I)
_CSS_URLS = re.compile(r"""url\(\s*["']?([^"')]+)""", re.I)


def _external(reference: str) -> bool:
    """A reference that would make the browser ask another host (anything with a scheme or a
    network path, but the page's own fragments and data: URLs)."""
    reference = reference.strip()
    if reference.startswith(("#", "data:", "mailto:")) or not reference:
        return False
    return bool(re.match(r"^[a-z][a-z0-9+.-]*:", reference, re.I)) or reference.startswith("//")


def test_no_page_refers_to_another_host(web: WebApp) -> None:
    admin = web.logged_in()
    admin.upload("aids.csv", AIDS_CSV.read_bytes())
    run = admin.start_run("aids.csv", display_name="offline")
    pages = ["/", "/runs/new", "/tables/aids.csv", run, f"{run}/progress", "/keys"]
    pages += ["/admin/users", "/audit", "/does-not-exist-page"]
    visitor = web.browser()
    pages_of = [(admin, p) for p in pages] + [
        (visitor, p) for p in ("/login", "/password/forgot", "/password/reset")
    ]
    checked = 0
    for browser, path in pages_of:
        response = browser.get(path)
        html = response.text
        if "html" in response.headers["content-type"]:
            # the browser may post the page's forms and load its own assets, from here only
            # (the platform's default policy, 'form-action none', would block every form)
            policy = response.headers["content-security-policy"]
            assert "form-action 'self'" in policy and "script-src 'self'" in policy, path
            assert "http" not in policy and "*" not in policy, path
        references = _REFERENCES.findall(html) + _CSS_URLS.findall(html)
        assert references or path.endswith("progress") or "does-not-exist" in path, path
        outside = [r for r in references if _external(r)]
        assert not outside, (path, outside)
        checked += len(references)
    assert checked > 50
    for asset in STATIC.iterdir():
        text = asset.read_text(encoding="utf-8")
        text = text.replace('xmlns="http://www.w3.org/2000/svg"', "")  # a name, not a link
        assert "http://" not in text and "https://" not in text, asset.name
        assert not [u for u in _CSS_URLS.findall(text) if _external(u)], asset.name
    for template in TEMPLATES.iterdir():
        assert not [r for r in _REFERENCES.findall(template.read_text()) if _external(r)]


# -- API keys, users, audit log, languages -------------------------------------------------------


def test_an_api_key_is_shown_once_works_and_can_be_revoked(web: WebApp) -> None:
    person = web.person()
    browser = web.logged_in(person)
    assert "No key yet" in text_of(browser.get("/keys").text)
    created = browser.submit("/keys", {"name": "notebook", "days": "7"}, page="/keys")
    assert created.status_code == 200
    key = re.search(r'value="(avatars_api_key\.[^"]+)"', created.text)
    assert key, text_of(created.text)
    plaintext = key.group(1)
    api = web.browser().client
    headers = {"Authorization": f"api-key-v1 {plaintext}"}
    assert api.get("/api/users/me", headers=headers).json()["email"] == person.email
    listing = browser.get("/keys")
    assert plaintext not in listing.text and "notebook" in listing.text
    assert "active" in text_of(listing.text)
    key_id = re.search(r"/keys/([0-9a-f-]{36})/revoke", listing.text)
    assert key_id
    revoked = browser.submit(f"/keys/{key_id.group(1)}/revoke", page="/keys")
    assert revoked.status_code == 303
    assert "revoked" in text_of(browser.get("/keys").text)
    assert api.get("/api/users/me", headers=headers).status_code == 401
    stranger = web.logged_in(web.person(organization="elsewhere"))
    assert stranger.submit(f"/keys/{key_id.group(1)}/revoke", page="/keys").status_code == 404


def test_admins_manage_their_organizations_users(web: WebApp) -> None:
    admin = web.logged_in()
    page = admin.get("/admin/users")
    assert page.status_code == 200 and ADMIN_EMAIL in page.text
    short = admin.submit(
        "/admin/users", {"email": "new@example.com", "password": "short"}, page="/admin/users"
    )
    assert short.status_code == 422 and "at least 8 characters" in text_of(short.text)
    added = admin.submit(
        "/admin/users",
        {"email": "new@example.com", "password": "new-user-pw", "role": "user"},
        page="/admin/users",
    )
    assert added.status_code == 303
    listing = admin.get("/admin/users")
    assert "new@example.com was added" in text_of(listing.text)
    newcomer = web.browser()
    newcomer.login("new@example.com", "new-user-pw")
    assert newcomer.get("/admin/users").status_code == 403
    assert "needs an organization administrator" in text_of(newcomer.get("/admin/users").text)
    user_id = re.search(
        r'/admin/users/([0-9a-f-]{36})/delete" class="inline">\s*<input[^>]*>\s*'
        r'<button[^>]*aria-label="Remove new@example.com"',
        listing.text,
    )
    assert user_id, listing.text
    removed = admin.submit(f"/admin/users/{user_id.group(1)}/delete", page="/admin/users")
    assert removed.status_code == 303
    assert "new@example.com was removed" in text_of(admin.get("/admin/users").text)
    assert newcomer.get("/").headers["location"] == "/login"  # a removed user's session ends
    outsider_admin = web.logged_in(web.person(organization="elsewhere", admin=True))
    assert ADMIN_EMAIL not in outsider_admin.get("/admin/users").text


def test_the_audit_log_shows_who_did_what(web: WebApp) -> None:
    admin = web.logged_in()
    admin.upload("iris.csv", IRIS_CSV.read_bytes())
    page = text_of(admin.get("/audit").text)
    assert "login" in page and ADMIN_EMAIL in page
    assert "iris.csv" in page and "create" in page
    person = web.person()
    own = text_of(web.logged_in(person).get("/audit").text)
    assert "iris.csv" not in own  # a user sees their own events only


def test_pages_speak_french_when_asked_and_remember_the_choice(web: WebApp) -> None:
    browser = web.browser()
    french = browser.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr">' in french.text and "Connexion" in text_of(french.text)
    chosen = browser.submit("/language", {"language": "en", "next": "/login"})
    assert chosen.status_code == 303 and chosen.headers["location"] == "/login"
    english = browser.get("/login", headers={"Accept-Language": "fr"})
    assert '<html lang="en">' in english.text and "Log in" in text_of(english.text)
    browser.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    browser.submit("/language", {"language": "fr", "next": "//evil.example/"}, page="/")
    home = browser.get("/")
    assert "Vos traitements" in text_of(home.text)  # remembered after the login, and...
    assert browser.submit("/language", {"language": "de"}, page="/").status_code == 422


def test_the_catalogue_has_both_languages_for_every_key_a_page_uses() -> None:
    assert i18n.check_catalogue() == []
    used = set()
    for template in TEMPLATES.iterdir():
        used |= set(re.findall(r"""t\(\s*'([a-z0-9_]+)'\s*[,)]""", template.read_text()))
    missing = sorted(key for key in used if not i18n.has_key(key))
    assert not missing, missing
    computed = {f"status_{s.value}" for s in JobStatus}
    computed |= {f"job_{k.value}" for k in JobKind} | {"job_report_pia"}
    computed |= {f"choice_{c}" for c in analysis.IDENTIFIER_CHOICES}
    computed |= {"verdict_pass", "verdict_fail", "verdict_unknown", "verdict_no_privacy"}
    computed |= {f"why_{kind.value}" for kind in IdentifierKind}
    computed |= {"advice_target_met", "advice_target_missed"}
    computed |= {"role_admin", "role_user", "key_active", "key_revoked", "key_expired"}
    assert not sorted(k for k in computed if not i18n.has_key(k))


# -- mistakes -----------------------------------------------------------------------------------


def test_bad_input_gets_a_page_that_names_the_problem(web: WebApp) -> None:
    browser = web.logged_in()
    not_a_table = browser.upload("notes.txt", b"hello")
    assert not_a_table.status_code == 422
    assert "only .csv and .parquet" in not_a_table.json()["message"]
    empty = browser.upload("empty.csv", b"")
    assert empty.status_code == 422 and "empty" in empty.json()["message"]
    browser.upload("one-row.csv", b"a,b\n1,2\n")
    assert browser.get("/tables/one-row.csv").status_code == 422
    assert browser.get("/tables/missing.csv").status_code == 404
    browser.upload("iris.csv", IRIS_CSV.read_bytes())
    page = browser.get("/tables/iris.csv")
    form = {"csrf_token": csrf_of(page.text), "display_name": "bad k", "k": "1"}
    refused = browser.client.post("/tables/iris.csv/run", data=form)
    assert refused.status_code == 422
    assert "k: Input should be greater than or equal to 2 (got 1)" in text_of(refused.text)
    assert 'value="bad k"' in refused.text  # what was typed is kept
    slash = browser.client.post(
        "/tables/iris.csv/run", data={**form, "k": "10", "display_name": "a/b"}
    )
    assert slash.status_code == 422 and "must not be empty nor contain" in text_of(slash.text)
    assert browser.get("/runs/not-a-uuid").status_code == 404
    assert browser.get("/jobs/nope").status_code == 404


def test_the_upload_form_works_without_javascript(web: WebApp) -> None:
    browser = web.logged_in()
    token = browser.csrf("/runs/new")
    sent = browser.client.post(
        "/runs/new",
        data={"csrf_token": token},
        files={"file": ("iris.csv", IRIS_CSV.read_bytes(), "text/csv")},
    )
    assert sent.status_code == 303 and sent.headers["location"] == "/tables/iris.csv"
    check = text_of(browser.get("/tables/iris.csv").text)
    assert "150 rows and 5 columns" in check and "Identifies people" not in check
    assert "iris.csv" in text_of(browser.get("/runs/new").text)
    nothing = browser.client.post("/runs/new", data={"csrf_token": token})
    assert nothing.status_code == 422 and "Choose a file first" in text_of(nothing.text)


def test_a_parquet_table_with_an_unusual_name_gets_an_sdk_resource_set(web: WebApp) -> None:
    browser = web.logged_in()
    buffer = io.BytesIO()
    pd.read_csv(IRIS_CSV).to_parquet(buffer)
    name = "iris data (v2).parquet"
    assert browser.upload(name, buffer.getvalue()).status_code == 200
    page = browser.get(f"/tables/{name}")
    assert page.status_code == 200 and "150 rows and 5 columns" in text_of(page.text)
    run = browser.start_run(name, display_name="parquet run", k="7", report_language="fr")
    with web.state.db.reading() as session:
        row = session.get(ResourceSet, uuid.UUID(run.rsplit("/", 1)[1]))
        assert row is not None
        text = row.yaml
    config = RunnerConfig.from_yaml(text)  # what the SDK's create_runner_from_id reads
    assert list(config.tables) == ["iris data (v2)"]
    assert config.tables["iris data (v2)"].file == name
    assert config.avatarization["iris data (v2)"]["k"] == 7
    assert config.reports == {"basic": ("pdf", "fr"), "pia": ("docx", "fr")}
    assert parse_resource_set(text).display_name == "parquet run"
