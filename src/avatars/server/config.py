"""The server's settings: one pydantic-settings class, read from ``AVATAR_*`` variables.

Everything defaults to the embedded setup: a data directory (``AVATAR_DATA_DIR``, default
``./avatars-data``) holding the SQLite database ``avatars.db``, the object storage folder
``storage/`` and, when ``AVATAR_SECRET_KEY`` is not given, a generated ``secret_key`` file
(mode 0600) so that tokens and storage credentials survive restarts. Nothing else is needed.

Production points ``AVATAR_DATABASE_URL`` at PostgreSQL and ``AVATAR_STORAGE_URL`` at any
fsspec location (``s3://bucket/prefix`` with ``AVATAR_STORAGE_OPTIONS`` as JSON).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import secrets
import time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATA_DIR = "avatars-data"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AVATAR_", extra="ignore", validate_default=True)

    # -- where things live ---------------------------------------------------------------
    data_dir: Path = Field(default=Path(DEFAULT_DATA_DIR), description="the embedded data folder")
    database_url: str = Field(default="", description="SQLAlchemy URL; default SQLite in data_dir")
    storage_url: str = Field(default="", description="fsspec root URL; default data_dir/storage")
    storage_options: dict[str, Any] = Field(default_factory=dict, description="fsspec options")
    # Conveniences for an S3 storage_url: folded into storage_options for s3fs.
    storage_endpoint_url: str | None = Field(default=None, description="S3 endpoint of the store")
    storage_access_key_id: str | None = None
    storage_secret_access_key: SecretStr | None = None
    public_url: str | None = Field(
        default=None, description="external base URL (https://host), else each request's own"
    )

    # -- secrets and lifetimes -----------------------------------------------------------
    secret_key: SecretStr | None = Field(
        default=None, description="signs tokens and derives storage secrets; generated if unset"
    )
    pseudonymization_secret: SecretStr | None = Field(
        default=None,
        description="keys the HASH_SHA256 pseudonyms (HMAC); derived from secret_key if unset",
    )
    access_token_minutes: float = 15.0
    refresh_token_days: float = 7.0
    password_reset_minutes: float = 60.0
    storage_credential_minutes: float = Field(
        default=60.0,
        gt=0,
        description="lifetime of the S3 key pairs /access hands out; they also end with the "
        "API key or session that obtained them",
    )

    web_session_idle_minutes: float = Field(
        default=60.0, gt=0, description="a web session unused that long ends"
    )

    # -- rate limits (avatars.server.services.ratelimit) -----------------------------------
    login_max_failures: int = Field(
        default=5, ge=1, description="failed logins of one account from one client per window"
    )
    login_max_failures_per_account: int = Field(
        default=20, ge=1, description="failed logins of one account, from any client, per window"
    )
    login_max_failures_per_client: int = Field(
        default=50, ge=1, description="failed logins from one client, to any account, per window"
    )
    login_failure_window_seconds: int = Field(default=900, ge=1)
    password_reset_max_per_address: int = Field(
        default=5, ge=1, description="reset requests for one address per hour"
    )
    password_reset_max_per_client: int = Field(
        default=30, ge=1, description="reset requests from one client per hour"
    )
    password_min_length: int = Field(default=8, ge=8, le=64)

    # -- HTTP ----------------------------------------------------------------------------
    max_request_bytes: int = Field(
        default=16 * 1024**2,
        ge=1024,
        description="largest request body of any endpoint but uploads (413 beyond); uploads "
        "(PUT /datasets, /storage) have max_upload_bytes",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="addresses or networks (CIDR) of the reverse proxies whose X-Forwarded-For "
        "and X-Forwarded-Proto are believed; none by default",
    )

    # -- jobs ----------------------------------------------------------------------------
    workers: int = Field(default=1, ge=1, description="jobs running at once in this process")
    dask_scheduler: str | None = Field(
        default=None,
        description="tcp://host:port of a Dask scheduler: jobs run on its workers instead of "
        "local processes",
    )
    dispatch_interval_seconds: float = 0.1
    heartbeat_timeout_seconds: float = Field(
        default=30.0, description="a running job silent that long is taken as lost"
    )
    job_max_attempts: int = Field(default=2, ge=1, description="runs of a job before 'lost'")

    # -- limits reported in GET /users/me --------------------------------------------------
    dataset_expiration_days: int = Field(
        default=30,
        ge=1,
        description="uploads, their snapshots and job results are deleted after that many days",
    )
    housekeeping_interval_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="how often expired data and abandoned multipart uploads are deleted",
    )
    max_rows: int = 1_000_000
    max_columns: int = 200
    max_upload_bytes: int = 2 * 1024**3
    license_type: str | None = "open-source"

    # -- first admin, mail ---------------------------------------------------------------
    admin_email: str | None = None
    admin_password: SecretStr | None = None
    admin_organization: str = "default"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "avatars@localhost"
    smtp_starttls: bool = True

    # -- figures -------------------------------------------------------------------------
    figures_plotlyjs: Literal["inline", "cdn"] = Field(
        default="inline",
        description="inline: figure files and HTML reports work offline (+4.8 MB each); cdn: "
        "small files that load plotly.js from its CDN",
    )

    # -- assistants ----------------------------------------------------------------------
    mcp: bool = Field(
        default=False,
        description="also answer MCP at /mcp (API keys as Bearer tokens; needs the mcp extra)",
    )

    log_level: str = "info"

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: Any) -> Any:
        # AVATAR_TRUSTED_PROXIES=10.0.0.5,10.1.0.0/16 (a JSON list works too).
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"trusted_proxies: {entry!r} is not an IP address or network (CIDR)"
                ) from None
        return value

    @field_validator("storage_options", mode="before")
    @classmethod
    def _json_options(cls, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value

    @model_validator(mode="after")
    def _defaults_in_data_dir(self) -> Settings:
        data_dir = self.data_dir.expanduser().resolve()
        self.data_dir = data_dir
        if not self.database_url:
            self.database_url = f"sqlite:///{data_dir / 'avatars.db'}"
        if not self.storage_url:
            self.storage_url = str(data_dir / "storage")
        if self.storage_url.startswith(("s3://", "s3a://")):
            options = self.storage_options
            client_kwargs = dict(options.get("client_kwargs") or {})
            if self.storage_endpoint_url:
                client_kwargs.setdefault("endpoint_url", self.storage_endpoint_url)
            if client_kwargs:
                options["client_kwargs"] = client_kwargs
            if self.storage_access_key_id:
                options.setdefault("key", self.storage_access_key_id)
            if self.storage_secret_access_key is not None:
                options.setdefault("secret", self.storage_secret_access_key.get_secret_value())
            # botocore's default (legacy mode, 5 attempts with growing back-off) makes every
            # call to a store that is down take ~8 s before the API can answer 503. AWS's
            # "standard" mode with 3 attempts still rides out throttling and a dropped
            # connection, and fails in about a second when the store is really gone.
            config_kwargs = dict(options.get("config_kwargs") or {})
            config_kwargs.setdefault("retries", {"mode": "standard", "total_max_attempts": 3})
            options["config_kwargs"] = config_kwargs
        return self

    # -- derived -------------------------------------------------------------------------
    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def heartbeat_interval_seconds(self) -> float:
        # Several beats per timeout, so one slow write does not make a live job look lost.
        return max(0.2, min(5.0, self.heartbeat_timeout_seconds / 6))

    def ensure_secret_key(self) -> str:
        """The secret key: given, or read from (or generated into) ``data_dir/secret_key``."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret_key"
        if not path.exists():
            from avatars.server.private_files import make_private_dirs

            make_private_dirs(self.data_dir)
            # O_EXCL: when several processes start together exactly one writes the file.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(48))
        key = ""
        for _ in range(50):  # a concurrent creator may not have written it yet
            key = path.read_text().strip()
            if key:
                break
            time.sleep(0.02)
        if not key:
            raise RuntimeError(f"the secret key file {path} is empty")
        self.secret_key = SecretStr(key)
        return key

    def pseudonymization_key(self) -> str | None:
        """The key of HASH_SHA256 pseudonyms: ``pseudonymization_secret``, else derived from
        the secret key by HMAC (one way: a worker that holds it cannot recover the secret key,
        which signs tokens). None when neither is known (a worker started without it)."""
        if self.pseudonymization_secret is not None:
            return self.pseudonymization_secret.get_secret_value() or None
        if self.secret_key is None or not self.secret_key.get_secret_value():
            return None
        key = self.secret_key.get_secret_value().encode("utf-8")
        return hmac.new(key, b"avatars pseudonymization", hashlib.sha256).hexdigest()

    def to_worker_json(self) -> str:
        """What a job worker needs, which may run on another machine (a Dask worker).

        Workers reach the database and the storage (whose credentials are in the URL and the
        storage options), but never sign tokens, derive storage keys, send mail or create users:
        the server's secret key, the SMTP and admin passwords stay in the API process. They get
        the key of the HASH_SHA256 pseudonyms (:meth:`pseudonymization_key`) instead.
        """
        data = self.model_dump(mode="json")
        # Jobs pseudonymize (HASH_SHA256) with a key derived from the secret key, not with it.
        data["pseudonymization_secret"] = self.pseudonymization_key()
        for name in ("secret_key", "admin_password", "smtp_password", "storage_secret_access_key"):
            data[name] = None
        data["admin_email"] = None
        data["storage_endpoint_url"] = None  # already folded into storage_options
        data["storage_access_key_id"] = None
        return json.dumps(data)

    @classmethod
    def from_worker_json(cls, text: str) -> Settings:
        # Constructed from the explicit values only, not from this process's environment.
        return cls.model_validate(json.loads(text))
