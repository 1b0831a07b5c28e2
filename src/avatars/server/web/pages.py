"""The web pages: HTTP in, a service call, a rendered page (or a redirect) out.

Every route goes through :class:`WebRoute`, which loads the session cookie, refuses unsafe
requests without the session's CSRF token (403 page), turns the services' errors into pages
with the matching status (a job of another organization is a 404 page, as in the API), sends
visitors who are not logged in to the login page, and writes the cookie back. The pages hold no
rules of their own: accounts, keys, datasets, resources, jobs, results and events are the
services the REST API uses.
"""

from __future__ import annotations

import json
import logging
import posixpath
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from fastapi.routing import APIRoute
from starlette.datastructures import UploadFile

from avatars.engine.texts import (
    Language,
    column_type_name,
    format_date,
    format_integer,
    format_metric_value,
    format_percent,
    format_target,
    metric_meaning,
    metric_name,
)
from avatars.protocol.enums import ColumnType, ImputeMethod, JobStatus
from avatars.server.deps import client_ip, state_of
from avatars.server.errors import STATUS_OF, summarize_validation
from avatars.server.middleware import BodyTooLarge
from avatars.server.services import accounts, datasets, events, keys
from avatars.server.services.context import Caller, Context
from avatars.server.services.errors import (
    Forbidden,
    InvalidInput,
    InvalidRequest,
    NotFound,
    RateLimited,
    ServiceError,
    Unauthenticated,
)
from avatars.server.storage import StorageError
from avatars.server.web import analysis, runs, session
from avatars.server.web.i18n import LANGUAGE_NAMES, negotiate, translate

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent / "templates"

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(("html",)),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
#: What the figures served inline may do: run their own inline scripts, in an opaque origin
#: (no cookie, no access to the page), and load nothing from anywhere.
FIGURE_POLICY = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; frame-ancestors 'self'"
)

#: What the pages may do: load this server's own script, style sheet and images, talk to this
#: server (progress, uploads), post forms to it and frame its sandboxed figures; nothing from
#: another host, no inline script. (The platform's default policy, which forbids forms,
#: covers every other response.)
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)

# -- the frame every route goes through ---------------------------------------------------------


def _context(request: Request) -> Context:
    return state_of(request)


def language_of(request: Request) -> Language:
    web = session.load(request, _context(request))
    return negotiate(web.language, request.headers.get("accept-language"))


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def error_page(request: Request, status: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"message": message}, status_code=status)
    caller = getattr(request.state, "caller", None)
    return render(request, "error.html", status=status, caller=caller, message=message)


async def _sent_csrf(request: Request) -> str | None:
    header = request.headers.get(session.CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # cached on the request: the endpoint reads the same form
        value = form.get(session.CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def _login_redirect(request: Request) -> Response:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.method not in session.SAFE_METHODS or target == "/":
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


class WebRoute(APIRoute):
    """Session, CSRF and errors as pages, around every web route."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        needs_login = _depends_on(self.dependant, current_caller)

        async def route(request: Request) -> Response:
            ctx = _context(request)
            web = session.load(request, ctx)
            try:
                if request.method not in session.SAFE_METHODS:
                    if needs_login:
                        # Before a byte of the body is read (the CSRF token may be in it):
                        # a visitor who is not logged in cannot make the server read a form.
                        await run_in_threadpool(current_caller, request)
                    session.check_csrf(web, await _sent_csrf(request))
                response = await handler(request)
            except session.LoginRequired:
                response = _login_redirect(request)
            except session.CsrfRefused:
                response = error_page(request, 403, translate("csrf_refused", language_of(request)))
            except ServiceError as exc:
                status = next((c for k, c in STATUS_OF.items() if isinstance(exc, k)), 400)
                message = exc.message
                if isinstance(exc, NotFound):
                    message = translate("not_found", language_of(request))
                response = error_page(request, status, message)
            except RequestValidationError as exc:
                message = summarize_validation(list(exc.errors()))
                response = error_page(request, 422, message)
            except StorageError as exc:  # the object store is down: retrying later helps
                log.error("storage failure on %s %s: %s", request.method, request.url.path, exc)
                response = error_page(request, 503, translate("unavailable", language_of(request)))
            except BodyTooLarge:  # the request guard answers 413 (middleware.RequestGuard)
                raise
            except Exception:  # a bug: the traceback to the log, a plain page to the person
                log.exception("unexpected error on %s %s", request.method, request.url.path)
                response = error_page(request, 500, translate("internal", language_of(request)))
            response.headers.setdefault("Cache-Control", "no-store")
            session.save(request, ctx, web, response)
            return response

        return route


router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    """Whether ``call`` is among the dependencies of a route, at any depth."""
    return any(sub.call is call or _depends_on(sub, call) for sub in dependant.dependencies)


def current_caller(request: Request) -> Caller:
    known = getattr(request.state, "caller", None)
    if isinstance(known, Caller):  # checked earlier in this request (WebRoute)
        return known
    ctx = _context(request)
    caller = session.caller_of(ctx, session.load(request, ctx), ip=client_ip(request))
    if caller is None:
        raise session.LoginRequired()
    request.state.caller = caller
    return caller


def current_admin(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    if not caller.is_admin:
        raise Forbidden("this page needs an organization administrator")
    return caller


WebCaller = Annotated[Caller, Depends(current_caller)]
WebAdmin = Annotated[Caller, Depends(current_admin)]


def _flash(request: Request, key: str, **values: str) -> None:
    session.load(request, _context(request)).update(flash=json.dumps([key, values]))


def _take_flash(request: Request, language: Language) -> str | None:
    web = session.load(request, _context(request))
    if not web.flash:
        return None
    try:
        key, values = json.loads(web.flash)
        text = translate(str(key), language, **dict(values))
    except (ValueError, TypeError, KeyError):
        text = None
    web.update(flash=None)
    return text


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    caller: Caller | None = None,
    headers: dict[str, str] | None = None,
    **values: Any,
) -> HTMLResponse:
    """A page in the visitor's language, with the frame's values."""
    language = language_of(request)
    web = session.load(request, _context(request))
    values.setdefault("nav", None)

    def t(key: str, **params: Any) -> str:
        return translate(key, language, **params)

    html = _environment.get_template(template).render(
        t=t,
        lang=language,
        languages=LANGUAGE_NAMES,
        csrf=web.csrf,
        csrf_field=session.CSRF_FIELD,
        caller=caller,
        path=request.url.path,
        flash=_take_flash(request, language),
        fmt=_Formats(language),
        **values,
    )
    headers = {"Content-Security-Policy": PAGE_POLICY, **(headers or {})}
    return HTMLResponse(html, status_code=status, headers=headers)


class _Formats:
    """Numbers, dates and metric names as the reports print them, in the page's language."""

    def __init__(self, language: Language) -> None:
        self.language = language

    def integer(self, value: int | None) -> str:
        return "—" if value is None else format_integer(int(value), self.language)

    def percent(self, share: float) -> str:
        return format_percent(100 * share, self.language)

    def date(self, moment: Any) -> str:
        return format_date(moment, self.language) if moment is not None else "—"

    def when(self, moment: Any) -> str:
        return f"{format_date(moment, self.language)} {moment:%H:%M} UTC" if moment else "—"

    def metric(self, name: str) -> str:
        return metric_name(name, self.language)

    def meaning(self, name: str, fallback: str = "") -> str:
        return metric_meaning(name, self.language, fallback)

    def value(self, value: float | None, unit: str) -> str:
        return format_metric_value(value, unit, self.language)

    def target(self, target: str | None) -> str:
        return format_target(target, self.language)

    def column_type(self, kind: str) -> str:
        return column_type_name(kind, self.language)

    def size(self, size: int) -> str:
        for unit in ("B", "KB", "MB", "GB"):
            if size < 1024 or unit == "GB":
                return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
            size /= 1024  # type: ignore[assignment]
        return str(size)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _safe_next(target: str | None) -> str:
    """A local path to go to after a form (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound.of(what) from None


FormText = Annotated[str, Form(max_length=1024)]


# -- language, login, logout, passwords -----------------------------------------------------------


@router.post("/language")
def choose_language(request: Request, language: FormText = "", next: FormText = "/") -> Response:
    if language not in LANGUAGE_NAMES:
        raise InvalidInput(f"language must be one of {', '.join(LANGUAGE_NAMES)}")
    session.load(request, _context(request)).update(language=language)
    return _redirect(_safe_next(next))


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    ctx = _context(request)
    if session.caller_of(ctx, session.load(request, ctx), ip=client_ip(request)) is not None:
        return _redirect(_safe_next(next))
    return render(request, "login.html", next=_safe_next(next), username="", error=None)


@router.post("/login", response_class=HTMLResponse)
def log_in(
    request: Request, username: FormText = "", password: FormText = "", next: FormText = "/"
) -> Response:
    ctx = _context(request)
    web = session.load(request, ctx)
    language = language_of(request)
    try:
        session.log_in(ctx, web, username=username, password=password, ip=client_ip(request))
    except Unauthenticated:
        error = translate("login_failed", language)
        return render(
            request, "login.html", status=401, next=_safe_next(next), username=username, error=error
        )
    except RateLimited as exc:
        error = translate("login_throttled", language, seconds=exc.retry_after)
        return render(
            request,
            "login.html",
            status=429,
            headers={"Retry-After": str(exc.retry_after)},
            next=_safe_next(next),
            username=username,
            error=error,
        )
    return _redirect(_safe_next(next))


@router.post("/logout")
def log_out(request: Request) -> Response:
    ctx = _context(request)
    web = session.load(request, ctx)
    session.log_out(ctx, web, session.caller_of(ctx, web, ip=client_ip(request)))
    _flash(request, "logged_out")
    return _redirect("/login")


@router.get("/password/forgot", response_class=HTMLResponse)
def forgot_page(request: Request) -> Response:
    return render(request, "forgot.html")


@router.post("/password/forgot")
def forgot(request: Request, email: FormText = "") -> Response:
    if email.strip():
        accounts.request_password_reset(_context(request), email, ip=client_ip(request))
    _flash(request, "reset_code_sent")
    return _redirect(f"/password/reset?email={quote(email.strip())}")


@router.get("/password/reset", response_class=HTMLResponse)
def reset_page(request: Request, email: str = "", token: str = "") -> Response:
    return render(request, "reset.html", email=email, token=token, error=None)


@router.post("/password/reset", response_class=HTMLResponse)
def reset(
    request: Request,
    token: FormText = "",
    email: FormText = "",
    new_password: FormText = "",
    new_password_repeated: FormText = "",
) -> Response:
    ctx = _context(request)
    try:
        accounts.reset_password(
            ctx,
            token=token.strip(),
            email=email,
            new_password=new_password,
            new_password_repeated=new_password_repeated,
            ip=client_ip(request),
        )
    except (InvalidRequest, InvalidInput) as exc:
        return render(
            request, "reset.html", status=400, email=email, token=token, error=exc.message
        )
    web = session.load(request, ctx)
    session.log_out(ctx, web, None)  # the reset ended every session; forget this one's login
    _flash(request, "password_changed")
    return _redirect("/login")


# -- runs -----------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request, caller: WebCaller) -> Response:
    found = runs.list_runs(_context(request), caller)
    return render(request, "runs.html", caller=caller, nav="runs", runs=found)


@router.get("/runs/new", response_class=HTMLResponse)
def new_run(request: Request, caller: WebCaller) -> Response:
    ctx = _context(request)
    return render(
        request,
        "upload.html",
        caller=caller,
        nav="new",
        tables=runs.list_tables(ctx, caller),
        days=ctx.settings.dataset_expiration_days,
        max_bytes=ctx.settings.max_upload_bytes,
    )


async def _upload_chunks(upload: UploadFile) -> Any:
    while block := await upload.read(datasets.WRITE_BLOCK):
        yield block


@router.post("/runs/new")
async def upload_form(request: Request, caller: WebCaller) -> Response:
    """The upload without JavaScript: a multipart form (the page's script sends the raw file
    to ``PUT /uploads/{name}`` instead, with a progress bar)."""
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise InvalidInput(translate("no_file", language_of(request)))
    name = runs.check_table_name(posixpath.basename(upload.filename.replace("\\", "/")))
    await datasets.upload_dataset(
        _context(request), caller, name, _upload_chunks(upload), run_in_threadpool
    )
    return _redirect(f"/tables/{quote(name)}")


@router.put("/uploads/{name}")
async def upload_raw(request: Request, name: str, caller: WebCaller) -> Response:
    """The file as the request body, streamed to storage as it arrives."""
    runs.check_table_name(name)
    declared = request.headers.get("content-length")
    await datasets.upload_dataset(
        _context(request),
        caller,
        name,
        request.stream(),
        run_in_threadpool,
        declared_size=int(declared) if declared and declared.isdigit() else None,
    )
    return JSONResponse({"next": f"/tables/{quote(name)}"})


def _check_page(
    request: Request,
    caller: Caller,
    name: str,
    report: analysis.TableReport,
    *,
    values: dict[str, Any] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    language = language_of(request)
    advice = report.advice
    defaults = {
        "display_name": runs.table_name_of(name),
        "k": advice.k,
        "ncp": advice.ncp,
        "seed": 0,
        "imputation": advice.imputation_method or "",
        "report_language": language,
        "types": {c.name: c.type for c in report.columns},
        "choices": {c.name: analysis.IDENTIFIER_CHOICES[0] for c in report.identifiers},
        "target_metric": analysis.ADVICE_METRICS[0],
        "target_value": "",
    }
    return render(
        request,
        "check.html",
        status=status,
        caller=caller,
        nav="new",
        name=name,
        report=report,
        values={**defaults, **(values or {})},
        error=error,
        column_types=[t.value for t in ColumnType],
        identifier_choices=analysis.IDENTIFIER_CHOICES,
        imputation_methods=[m.value for m in ImputeMethod],
        targets=analysis.describe_targets(language),
        advice_metrics=[(m, metric_name(m, language)) for m in analysis.ADVICE_METRICS],
        advice_sentences=analysis.describe_advice(report.advice, language),
        default_targets=analysis.targets_checked(),
    )


@router.get("/tables/{name}", response_class=HTMLResponse)
def check_table(request: Request, name: str, caller: WebCaller) -> Response:
    report = runs.inspect_dataset(_context(request), caller, name)
    return _check_page(request, caller, name, report)


def _optional_int(text: Any, field: str) -> int | None:
    text = str(text or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(f"{field}: {text!r} is not a whole number") from None


def _check_form(form: Any, report: analysis.TableReport) -> dict[str, Any]:
    """The check page's form as the page shows it again (strings, as typed)."""
    return {
        "display_name": str(form.get("display_name", "")),
        "k": str(form.get("k", "")),
        "ncp": str(form.get("ncp", "")),
        "seed": str(form.get("seed", "")),
        "imputation": str(form.get("imputation", "")),
        "report_language": str(form.get("report_language", "en")),
        "target_metric": str(form.get("target_metric", "")),
        "target_value": str(form.get("target_value", "")),
        "types": {c.name: str(form.get(f"type-{i}", c.type)) for i, c in enumerate(report.columns)},
        "choices": {
            c.name: str(form.get(f"identifier-{i}", analysis.IDENTIFIER_CHOICES[0]))
            for i, c in enumerate(report.columns)
            if c.identifier
        },
    }


@router.post("/tables/{name}/advice", response_class=HTMLResponse)
async def advise(request: Request, name: str, caller: WebCaller) -> Response:
    """Advice for a privacy target: the check page's form (its "find the parameters" button
    posts it here) becomes an advice job; the advice's page follows it. A bad form is the
    check page again, naming the problem (422)."""
    ctx = _context(request)
    report = await run_in_threadpool(runs.inspect_dataset, ctx, caller, name)
    values = _check_form(await request.form(), report)
    choices = runs.AdviceChoices(
        dataset=name,
        target_metric=values["target_metric"],
        target_value=values["target_value"],
        types=values["types"],
        identifier_choices=values["choices"],
        form={field: values[field] for field in runs.FORM_FIELDS},
    )
    try:
        job_name = await runs.start_advice(ctx, caller, choices, run_in_threadpool)
    except InvalidInput as exc:
        message = translate("invalid_form", language_of(request), reason=exc.message)
        return _check_page(request, caller, name, report, values=values, error=message, status=422)
    return _redirect(f"/advice/{job_name}")


@router.get("/advice/{job_name}", response_class=HTMLResponse)
def advice_page(request: Request, job_name: str, caller: WebCaller) -> Response:
    """An advice for a privacy target: its progress while its job waits or runs (the page
    polls its progress fragment, or reloads without JavaScript), then the check page with the
    advised k and ncp in the form, or with the job's error."""
    ctx = _context(request)
    view = runs.advice_view(ctx, caller, job_name)
    language = language_of(request)
    if not view.done:
        wanted = analysis.describe_wanted(view.targets, language)
        return render(request, "advice.html", caller=caller, nav="new", advice=view, wanted=wanted)
    report = runs.advised_report(ctx, caller, view)
    values, error = dict(view.values), None
    if view.advice is not None:
        values.update(k=report.advice.k, ncp=report.advice.ncp)
    else:  # the job failed, or its result expired meanwhile
        reason = view.job.exception or translate(f"status_{view.job.status}", language)
        if view.job.status == JobStatus.finished.value:
            reason = translate("advice_gone", language)
        error = translate("advice_failed", language, reason=reason)
    return _check_page(request, caller, view.dataset, report, values=values, error=error)


@router.post("/advice/{job_name}/cancel")
def cancel_advice(request: Request, job_name: str, caller: WebCaller) -> Response:
    runs.cancel_advice(_context(request), caller, job_name)
    return _redirect(f"/advice/{job_name}")


@router.get("/advice/{job_name}/progress", response_class=HTMLResponse)
def advice_progress(request: Request, job_name: str, caller: WebCaller) -> Response:
    """The advice page's progress fragment (as a run's); ``X-Run-Done: 1`` once the job is
    over (the page then loads the advice)."""
    line = runs.advice_progress(_context(request), caller, job_name)
    headers = {"X-Run-Done": "1" if line.done else "0"}
    return render(request, "progress.html", caller=caller, jobs=[line], headers=headers)


@router.post("/tables/{name}/run")
async def start_run(request: Request, name: str, caller: WebCaller) -> Response:
    ctx = _context(request)
    report = await run_in_threadpool(runs.inspect_dataset, ctx, caller, name)
    values = _check_form(await request.form(), report)
    types, choices = values["types"], values["choices"]
    try:
        k = _optional_int(values["k"], "k")
        if k is None:
            raise InvalidInput("k: give the number of neighbours")
        set_name = await runs.start_run(
            ctx,
            caller,
            runs.RunChoices(
                dataset=name,
                display_name=values["display_name"],
                types=types,
                identifier_choices=choices,
                k=k,
                ncp=_optional_int(values["ncp"], "ncp"),
                seed=_optional_int(values["seed"], "seed"),
                imputation_method=values["imputation"] or None,
                language=values["report_language"],
            ),
            run_in_threadpool,
        )
    except InvalidInput as exc:
        message = translate("invalid_form", language_of(request), reason=exc.message)
        return _check_page(request, caller, name, report, values=values, error=message, status=422)
    return _redirect(f"/runs/{set_name}")


@router.get("/runs/{set_name}", response_class=HTMLResponse)
def run_page(request: Request, set_name: str, caller: WebCaller) -> Response:
    view = runs.run_view(_context(request), caller, _uuid(set_name, "run"), language_of(request))
    return render(request, "run.html", caller=caller, nav="runs", run=view)


@router.get("/runs/{set_name}/progress", response_class=HTMLResponse)
def run_progress(request: Request, set_name: str, caller: WebCaller) -> Response:
    """The progress fragment the run page polls every second; ``X-Run-Done: 1`` once every
    job is over (the page then loads the results)."""
    found = runs.run_progress(_context(request), caller, _uuid(set_name, "run"))
    done = bool(found) and all(job.done for job in found)
    headers = {"X-Run-Done": "1" if done else "0"}
    return render(request, "progress.html", caller=caller, jobs=found, headers=headers)


@router.post("/runs/{set_name}/cancel")
def cancel_run(request: Request, set_name: str, caller: WebCaller) -> Response:
    runs.cancel_run(_context(request), caller, _uuid(set_name, "run"))
    return _redirect(f"/runs/{set_name}")


@router.get("/runs/{set_name}/files/{job_name}/{file_name}")
def run_file(
    request: Request, set_name: str, job_name: str, file_name: str, caller: WebCaller, view: int = 0
) -> Response:
    """A result file: a download, or (``?view=1``) a figure shown in the page, sandboxed."""
    inline = bool(view) and file_name.endswith(".html")
    info, handle = runs.open_run_file(
        _context(request), caller, _uuid(set_name, "run"), job_name, file_name, audit=not inline
    )
    headers = {"Content-Length": str(info.size), "X-Content-Type-Options": "nosniff"}
    if inline:
        headers["Content-Security-Policy"] = FIGURE_POLICY
        headers["X-Frame-Options"] = "SAMEORIGIN"  # shown in this platform's pages only
        media = "text/html; charset=utf-8"
    else:
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(file_name)}"
        media = _media_type(file_name)
    return StreamingResponse(runs.read_blocks(handle), media_type=media, headers=headers)


def _media_type(name: str) -> str:
    for suffix, media in (
        (".csv", "text/csv; charset=utf-8"),
        (".parquet", "application/vnd.apache.parquet"),
        (".pdf", "application/pdf"),
        (".html", "text/html; charset=utf-8"),
        (".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (".json", "application/json"),
    ):
        if name.endswith(suffix):
            return media
    return "application/octet-stream"


@router.get("/jobs/{job_name}")
def job_page(request: Request, job_name: str, caller: WebCaller) -> Response:
    """A job's page is its run's page, or a web advice's page (404 for a job the caller may
    not see)."""
    return _redirect(runs.job_page(_context(request), caller, job_name))


# -- API keys -------------------------------------------------------------------------------------


def _keys_page(request: Request, caller: Caller, *, created: str | None = None) -> Response:
    ctx = _context(request)
    found = sorted(keys.list_keys(ctx, caller), key=lambda k: k.created_at, reverse=True)
    now = ctx.now()

    def state(key: Any) -> str:
        if key.revoked_at is not None:
            return "key_revoked"
        expires = (
            key.expires_at if key.expires_at.tzinfo else key.expires_at.replace(tzinfo=now.tzinfo)
        )
        return "key_expired" if expires <= now else "key_active"

    return render(
        request,
        "keys.html",
        caller=caller,
        nav="keys",
        keys=[(key, state(key)) for key in found],
        created=created,
    )


@router.get("/keys", response_class=HTMLResponse)
def keys_page(request: Request, caller: WebCaller) -> Response:
    return _keys_page(request, caller)


@router.post("/keys", response_class=HTMLResponse)
def create_key(
    request: Request, caller: WebCaller, name: FormText = "", days: FormText = "30"
) -> Response:
    name = name.strip()
    if not name or len(name) > 255:
        raise InvalidInput("the key's name must have 1 to 255 characters")
    lifetime = _optional_int(days, "days") or 30
    if not 1 <= lifetime <= 3650:
        raise InvalidInput("days: between 1 and 3650")
    _row, plaintext = keys.create_key(_context(request), caller, name, lifetime)
    return _keys_page(request, caller, created=plaintext)


@router.post("/keys/{key_id}/revoke")
def revoke_key(request: Request, key_id: str, caller: WebCaller) -> Response:
    keys.revoke_key(_context(request), caller, _uuid(key_id, "API key"))
    return _redirect("/keys")


# -- users (administrators) -----------------------------------------------------------------------


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, caller: WebAdmin) -> Response:
    found = accounts.list_users(_context(request), caller)
    return render(request, "users.html", caller=caller, nav="users", users=found, error=None)


@router.post("/admin/users", response_class=HTMLResponse)
def create_user(
    request: Request,
    caller: WebAdmin,
    email: FormText = "",
    password: FormText = "",
    role: FormText = "user",
) -> Response:
    ctx = _context(request)
    try:
        user = accounts.create_member(
            ctx, caller, email=email, password=password or None, role=role
        )
    except ServiceError as exc:
        found = accounts.list_users(ctx, caller)
        return render(
            request,
            "users.html",
            status=STATUS_OF.get(type(exc), 400),
            caller=caller,
            nav="users",
            users=found,
            error=exc.message,
        )
    _flash(request, "user_created", email=user.email)
    return _redirect("/admin/users")


@router.post("/admin/users/{user_id}/delete")
def delete_user(request: Request, user_id: str, caller: WebAdmin) -> Response:
    user = accounts.delete_member(_context(request), caller, _uuid(user_id, "user"))
    _flash(request, "user_deleted", email=user.email)
    return _redirect("/admin/users")


# -- audit log ------------------------------------------------------------------------------------

AUDIT_PAGE = 50


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, caller: WebCaller, after: str = "") -> Response:
    ctx = _context(request)
    starting_after = _uuid(after, "event") if after else None
    found = events.list_events(ctx, caller, starting_after=starting_after, limit=AUDIT_PAGE)
    people = {user.id: user.email for user in accounts.list_users(ctx, caller)}
    return render(
        request,
        "audit.html",
        caller=caller,
        nav="audit",
        events=found,
        people=people,
        more=found[-1].id if len(found) == AUDIT_PAGE else None,
    )
