"""``avatars serve``, ``avatars users ...`` and ``avatars api-keys ...``.

Every command reads the same settings as the server (``AVATAR_*`` variables); ``--data-dir``
overrides ``AVATAR_DATA_DIR`` (default ``./avatars-data``), and with it the default database
and storage locations.

``serve`` creates the platform's database on first start. ``users`` and ``api-keys`` work on
an existing one only: run from another folder, they would otherwise have made a new, empty
platform next to the real one, and a user or key that no server knows.
"""

from __future__ import annotations

import logging
import os
import re
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from avatars.server.config import Settings
    from avatars.server.db import Database

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Folder of the embedded database, storage and secret key (AVATAR_DATA_DIR; "
        "default ./avatars-data)",
    ),
]


def _settings(data_dir: Path | None) -> Settings:
    from avatars.server.config import Settings

    if data_dir is not None:
        os.environ["AVATAR_DATA_DIR"] = str(data_dir)
    return Settings()


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _missing_platform(settings: Settings) -> str:
    """Why there is no platform database where ``settings`` point, and what to do."""
    from sqlalchemy.engine import make_url

    if settings.is_sqlite:
        where = (
            f"no platform database in {settings.data_dir} (there is no "
            f"{make_url(settings.database_url).database})"
        )
        pointer = (
            "Give the folder `avatars serve` uses (it prints it at start) with --data-dir DIR "
            "or AVATAR_DATA_DIR, or run this command from the folder `avatars serve` runs in"
        )
    else:
        shown = make_url(settings.database_url).render_as_string(hide_password=True)
        where = f"the database {shown} (AVATAR_DATABASE_URL) holds no platform"
        pointer = "Point AVATAR_DATABASE_URL at the database `avatars serve` uses"
    return (
        f"{where}.\n{pointer}. This command never creates a platform: `avatars serve` creates "
        "its database on first start."
    )


def _has_platform_schema(db: Database) -> bool:
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with db.connection() as connection:
            inspector = inspect(connection)
            return bool(inspector.has_table("alembic_version") and inspector.has_table("users"))
    except SQLAlchemyError:
        return False


def _platform_database(settings: Settings) -> Database | None:
    """The existing platform database of ``settings``, upgraded to the newest schema, or None
    when there is none (nothing is created then)."""
    from sqlalchemy.engine import make_url

    from avatars.server.db import Database, upgrade_database

    if settings.is_sqlite:
        path = make_url(settings.database_url).database
        if not path or path == ":memory:" or not Path(path).is_file():
            return None
    db = Database(settings.database_url, pool_size=2)
    if not _has_platform_schema(db):
        db.dispose()
        return None
    upgrade_database(db)
    return db


def _platform(data_dir: Path | None) -> tuple[Settings, Database]:
    """The settings and the platform database the command works on; exits with a message
    when there is none."""
    settings = _settings(data_dir)
    db = _platform_database(settings)
    if db is None:
        raise _fail(_missing_platform(settings))
    return settings, db


def _database(data_dir: Path | None) -> Database:
    return _platform(data_dir)[1]


class _RedactTokens(logging.Filter):
    """Hide the refresh token that clients send in the query string (``POST
    /refresh?token=...``, protocol.md §2.2) and the signature of presigned storage URLs from
    the access log: logs must hold no secret."""

    _TOKEN = re.compile(r"((?:token|X-Amz-Signature|X-Amz-Security-Token)=)[^&\s]+", re.I)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            args[2] = self._TOKEN.sub(r"\1[redacted]", str(args[2]))
            record.args = tuple(args)
        return True


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    data_dir: DataDir = None,
    workers: Annotated[
        int | None, typer.Option(help="Jobs run at once (AVATAR_WORKERS, default 1)")
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error")] = "info",
    mcp: Annotated[
        bool,
        typer.Option(
            "--mcp", help="Also serve the MCP tools at /mcp for assistants (AVATAR_MCP=1)"
        ),
    ] = False,
) -> None:
    """Run the platform: API under /api, S3 storage under /storage, jobs in local workers.

    On an empty platform (no user, no AVATAR_ADMIN_EMAIL/AVATAR_ADMIN_PASSWORD) the server
    says at start how to create the first admin."""
    import uvicorn

    from avatars.server.main import create_app

    if workers is not None:
        os.environ["AVATAR_WORKERS"] = str(workers)
    if mcp:
        os.environ["AVATAR_MCP"] = "1"
    settings = _settings(data_dir)
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    typer.echo(
        f"avatars: data in {settings.data_dir}, serving http://{host}:{port}/ (web pages) "
        f"and http://{host}:{port}/api",
        err=True,
    )
    if settings.mcp:
        typer.echo(f"avatars: MCP for assistants at http://{host}:{port}/mcp", err=True)
    # Everything this process and its workers create (database, journals, uploads, results,
    # temporary files) is for the platform's account alone (docs/security.md).
    os.umask(0o077)
    app = create_app(settings)
    logging.getLogger("uvicorn.access").addFilter(_RedactTokens())
    # Forwarded headers are the application's business: it believes them only from the
    # proxies of AVATAR_TRUSTED_PROXIES (uvicorn would trust any loopback client).
    # uvicorn stops gracefully on SIGTERM, then raises the signal again; with the default
    # handler the process would die at once, skipping the interpreter's exit (the worker
    # pool's queues would be reported as "leaked semaphore objects"). The stop was asked for
    # and went well: end normally, with status 0, as after Ctrl+C.
    signal.signal(signal.SIGTERM, _exit_normally)
    uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=False)


def _exit_normally(signum: int, frame: object) -> None:
    raise SystemExit(0)


users_app = typer.Typer(help="Manage users.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="The user's e-mail (their login)")],
    password: Annotated[
        str | None,
        typer.Option(help="Password (asked for when omitted; AVATAR_NEW_PASSWORD also works)"),
    ] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an admin")] = False,
    organization: Annotated[str, typer.Option(help="Organization (created if needed)")] = "default",
    username: Annotated[str | None, typer.Option(help="Optional user name")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a user (and their organization if needed)."""
    from avatars.server.services import accounts
    from avatars.server.services.errors import ServiceError

    settings, db = _platform(data_dir)  # before the password prompt: no platform, no question
    try:
        password = password or os.environ.get("AVATAR_NEW_PASSWORD")
        if password is None:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        with db.writing() as session:
            org = accounts.get_or_create_organization(session, organization)
            user = accounts.create_user(
                session,
                organization_id=org.id,
                email=email,
                username=username,
                password=password,
                role=accounts.ADMIN_ROLE if admin else accounts.USER_ROLE,
                min_password_length=settings.password_min_length,
            )
            typer.echo(
                f"created {user.role} {user.email} ({user.id}) in organization {organization}"
            )
    except ServiceError as exc:
        raise _fail(exc.message) from None
    finally:
        db.dispose()


@users_app.command("list")
def users_list(data_dir: DataDir = None) -> None:
    """List the users."""
    from avatars.server.services import accounts

    db = _database(data_dir)
    try:
        with db.reading() as session:
            for user, org in accounts.list_all_users(session):
                typer.echo(f"{user.id}  {user.role:5}  {user.email}  ({org})")
    finally:
        db.dispose()


@users_app.command("reset-password")
def users_reset_password(
    email: Annotated[str, typer.Option(help="The user's e-mail or user name")],
    data_dir: DataDir = None,
) -> None:
    """Issue a password-reset token for a user and print it, to hand over to them.

    This is how passwords are reset on a platform without SMTP (AVATAR_SMTP_HOST): the
    server never writes a reset token to its log. The token is single use and valid
    AVATAR_PASSWORD_RESET_MINUTES (default 60)."""
    from avatars.server.clock import utc_now
    from avatars.server.services import accounts

    settings, db = _platform(data_dir)
    try:
        with db.writing() as session:
            user = accounts.find_login_user(session, email)
            if user is None:
                raise _fail(f"no user {email}")
            minutes = settings.password_reset_minutes
            token = accounts.new_reset_token(session, user, minutes=minutes, now=utc_now())
            address = user.email
        typer.echo(token)
        typer.echo(
            f"Reset token for {address}: single use, valid {minutes:g} minutes. The user sets "
            "a new password with it (e-mail, token, new password) through POST "
            "/api/login/reset_password, Manager.reset_password(...) or "
            "ApiClient.reset_password(...).",
            err=True,
        )
    finally:
        db.dispose()


@keys_app.command("create")
def api_keys_create(
    email: Annotated[str, typer.Option(help="The user the key belongs to")],
    name: Annotated[str, typer.Option(help="A label for the key")] = "cli",
    days: Annotated[int, typer.Option(help="Lifetime: 30, 60, 120, 365 or 3650 days")] = 365,
    data_dir: DataDir = None,
) -> None:
    """Create an API key for a user and print it (it is shown only once)."""
    from avatars.protocol.enums import ExpirationDays
    from avatars.server.services import accounts, keys

    if days not in {int(d) for d in ExpirationDays}:
        raise _fail("--days must be one of 30, 60, 120, 365, 3650", code=2)
    db = _database(data_dir)
    try:
        with db.writing() as session:
            user = accounts.find_login_user(session, email)
            if user is None:
                raise _fail(f"no user {email}")
            _, plaintext = keys.issue_key(session, user.id, name, days)
        typer.echo(plaintext)
    finally:
        db.dispose()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
    app.add_typer(keys_app, name="api-keys")
