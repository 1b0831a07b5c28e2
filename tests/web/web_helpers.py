"""Helpers of the web application's tests: a person's browser on the in-process application
(:class:`Browser`, a cookie jar that reads the CSRF token from the pages as a browser would),
the application with ways to make people (:class:`WebApp`), and page reading."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from avatars.server.clock import ManualClock
from avatars.server.config import Settings
from avatars.server.services import accounts

ROOT = Path(__file__).resolve().parents[2]
AIDS_CSV = ROOT / "src" / "avatars" / "data" / "aids.csv"
WBCD_CSV = ROOT / "src" / "avatars" / "data" / "wbcd.csv"
IRIS_CSV = ROOT / "src" / "avatars" / "data" / "iris.csv"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-1"
PASSWORD = "user-password-1"
START = dt.datetime(2031, 5, 17, 9, 30, tzinfo=dt.UTC)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def text_of(html: str) -> str:
    """What a person reads: the page without its tags, blanks collapsed."""
    import html as html_module

    return re.sub(r"\s+", " ", html_module.unescape(re.sub(r"<[^>]+>", " ", html))).strip()


class Browser:
    """One person's cookie jar on the application, filling forms as the pages ask."""

    def __init__(self, app: Any, base_url: str = "http://testserver") -> None:
        self.client = TestClient(app, base_url=base_url, follow_redirects=False)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def csrf(self, path: str = "/login") -> str:
        return csrf_of(self.get(path).text)

    def submit(
        self, path: str, data: dict[str, str] | None = None, *, page: str = "/login"
    ) -> httpx.Response:
        """POST a form with the CSRF token of ``page`` (as the page's form would)."""
        return self.client.post(path, data={"csrf_token": self.csrf(page), **(data or {})})

    def login(self, email: str, password: str) -> httpx.Response:
        response = self.submit("/login", {"username": email, "password": password})
        assert response.status_code == 303, response.text
        return response

    def upload(self, name: str, data: bytes) -> httpx.Response:
        token = self.csrf("/runs/new")
        return self.client.put(
            f"/uploads/{name}",
            content=data,
            headers={"X-CSRF-Token": token, "Accept": "application/json"},
        )

    def start_run(self, table: str, **fields: str) -> str:
        """Fill the check page's form as it comes (its defaults) plus ``fields``; the run's
        page URL."""
        page = self.get(f"/tables/{table}")
        assert page.status_code == 200, page.text
        form = {"csrf_token": csrf_of(page.text), **_form_defaults(page.text), **fields}
        response = self.client.post(f"/tables/{table}/run", data=form)
        assert response.status_code == 303, text_of(response.text)[:2000]
        return str(response.headers["location"])


def _form_defaults(html: str) -> dict[str, str]:
    """The values a submitted form would carry: inputs' values, selects' selected options."""
    values: dict[str, str] = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        values.setdefault(name, value)
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body) or re.search(
            r'<option value="([^"]*)"', body
        )
        if chosen:
            values[name] = chosen.group(1)
    return values


@dataclass
class Person:
    id: uuid.UUID
    email: str
    password: str
    organization_id: uuid.UUID


@dataclass
class WebApp:
    app: Any
    clock: ManualClock | None  # None: the real time (the job workers read it too)
    data_dir: Path

    @property
    def state(self) -> Any:
        return self.app.state.avatars

    def browser(self, *, https: bool = False) -> Browser:
        return Browser(self.app, "https://testserver" if https else "http://testserver")

    def person(self, *, organization: str = "default", admin: bool = False) -> Person:
        """A user made as ``avatars users create`` makes one (in that organization)."""
        email = f"person-{uuid.uuid4().hex[:8]}@example.com"
        with self.state.db.writing() as session:
            org = accounts.get_or_create_organization(session, organization)
            user = accounts.create_user(
                session,
                organization_id=org.id,
                email=email,
                password=PASSWORD,
                role="admin" if admin else "user",
            )
            return Person(user.id, email, PASSWORD, org.id)

    def logged_in(self, person: Person | None = None) -> Browser:
        browser = self.browser()
        if person is None:
            browser.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        else:
            browser.login(person.email, person.password)
        return browser


def settings_for(data_dir: Path, **values: Any) -> Settings:
    return Settings(
        data_dir=data_dir,
        admin_email=ADMIN_EMAIL,
        admin_password=ADMIN_PASSWORD,
        workers=1,
        **values,
    )


def job_names(web: WebApp, set_name: str) -> list[str]:
    """The names of a run's jobs, read from the database (what a person sees in no page)."""
    from sqlalchemy import select

    from avatars.server.db.models import Job

    with web.state.db.reading() as session:
        query = select(Job.name).where(Job.set_name == uuid.UUID(set_name))
        return list(session.scalars(query))
