"""Results and storage access (protocol.md §2.3 "Results and storage access", §3.4, §5.4).

Data never flows through these services: they name result files and hand out S3 credentials,
and the client moves the bytes through the ``/storage`` S3 endpoint.

Each user has one static key pair at a time (the official client sends no session token,
protocol.md §3.2); :func:`current_credentials` hands out the current one, minting a new one
when there is none or it is about to expire. The secret is derived from the server's secret
key and the key id (:func:`avatars.server.security.derive_storage_secret`), never stored.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, BinaryIO

from sqlalchemy import select

from avatars.protocol.enums import JobStatus, ObjectType, Verb
from avatars.protocol.wire import FileCredentials
from avatars.server import files, security
from avatars.server.db.models import StorageCredential, User
from avatars.server.retention import results_expired
from avatars.server.services.buckets import buckets_of, may_use_bucket
from avatars.server.services.context import Caller, Context
from avatars.server.services.errors import Conflict, NotFound
from avatars.server.services.events import record
from avatars.server.services.jobs import visible_job
from avatars.server.storage import ObjectInfo, ObjectNotFoundError

if TYPE_CHECKING:
    from avatars.server.s3 import S3Principal


def result_keys(ctx: Context, caller: Caller, job_name: str) -> dict[str, list[str]]:
    """The storage keys of a finished job's results, ``{result kind: [keys]}``.

    :class:`NotFound` when the job was deleted or its results expired (the official client
    reads "results file for job" as "expired"), :class:`Conflict` when it did not finish.
    """
    with ctx.db.reading() as session:
        job = visible_job(session, caller, job_name)
    if job.deleted_at is not None:
        raise NotFound(f"results file for job {job_name} not found: the job was deleted")
    if job.status != JobStatus.finished.value:
        why = f": {job.exception}" if job.exception else ""
        raise Conflict(f"the job has no results: it is {job.status}{why}")
    keys = [key for kind_keys in job.outputs.values() for key in kind_keys]
    days = results_expired(job.finished_at, keys, ctx.settings.dataset_expiration_days, ctx.now())
    if days is not None:
        raise NotFound(f"results file for job {job_name} expired: results are kept {days} days")
    return {kind: list(kind_keys) for kind, kind_keys in job.outputs.items()}


def open_result(
    ctx: Context, caller: Caller, job_name: str, file_name: str, *, audit: bool = True
) -> tuple[ObjectInfo, BinaryIO]:
    """One result file of a finished job, by its file name (``aids.shuffled-0.csv``): its
    description and an open handle (the caller closes it). The bytes go to the caller, so the
    reading is recorded as a download unless ``audit`` is False (a figure shown in a page)."""
    keys = result_keys(ctx, caller, job_name)
    key = next(
        (k for kind_keys in keys.values() for k in kind_keys if posixpath.basename(k) == file_name),
        None,
    )
    if key is None:
        raise NotFound.of("result file")
    try:
        info = ctx.storage.info(key)
        handle = ctx.storage.open_read(key)
    except ObjectNotFoundError:
        raise NotFound(f"results file for job {job_name} not found") from None
    if audit:
        with ctx.db.writing() as session:
            record(session, ctx, caller, Verb.download, ObjectType.file, object_name=key)
    return info, handle


def upload_url(ctx: Context, caller: Caller) -> str:
    """Where the caller uploads tables: ``s3://<bucket>/<prefix>``."""
    return files.upload_url(caller.user_id, ctx.settings.dataset_expiration_days)


# -- storage access grants -------------------------------------------------------------------------


def _allowed(ctx: Context, caller: Caller, urls: Sequence[str]) -> list[str]:
    """The ``urls`` naming a bucket the caller may use, in order."""
    allowed = []
    with ctx.db.reading() as session:
        for url in urls:
            try:
                bucket, _key = files.parse_storage_url(url)
            except files.BadStorageUrl:
                continue
            if may_use_bucket(session, caller, bucket):
                allowed.append(url)
    return allowed


def grant_access(ctx: Context, caller: Caller, url: str) -> FileCredentials:
    """Credentials to read or write the storage path ``url`` (:class:`NotFound` if the path is
    not the caller's: the same answer as for a path that does not exist)."""
    if not _allowed(ctx, caller, [url]):
        raise NotFound("file not found, or not yours")
    return current_credentials(ctx, caller.user_id)


def grant_access_batch(
    ctx: Context, caller: Caller, urls: Sequence[str]
) -> tuple[list[str], FileCredentials | None]:
    """``(the urls the caller may use, credentials for them)``; refused urls are left out,
    and there are no credentials when none is allowed."""
    allowed = _allowed(ctx, caller, urls)
    if not allowed:
        return [], None
    return allowed, current_credentials(ctx, caller.user_id)


def current_credentials(ctx: Context, user_id: uuid.UUID) -> FileCredentials:
    """The user's valid key pair, minting one if needed."""
    now = ctx.now()
    lifetime_days = ctx.settings.storage_credential_days
    # Handed out until 1 day before expiry, so a client never starts with a dying key.
    margin = min(dt.timedelta(days=1), dt.timedelta(days=lifetime_days) / 2)
    with ctx.db.reading() as session:
        current = session.scalars(
            select(StorageCredential)
            .where(
                StorageCredential.user_id == user_id,
                StorageCredential.revoked_at.is_(None),
                StorageCredential.expires_at > now + margin,
            )
            .order_by(StorageCredential.created_at.desc())
        ).first()
        key_id = current.access_key_id if current is not None else None
    if key_id is None:
        key_id = security.new_access_key_id()
        with ctx.db.writing() as session:
            session.add(
                StorageCredential(
                    access_key_id=key_id,
                    user_id=user_id,
                    created_at=now,
                    expires_at=now + dt.timedelta(days=lifetime_days),
                )
            )
    return FileCredentials(
        access_key_id=key_id,
        secret_access_key=security.derive_storage_secret(ctx.secret_key, key_id),
        jwt_token="",
    )


def principal_resolver(ctx: Context) -> Callable[[str], S3Principal | None]:
    """``resolve_principal`` for the S3 router: the principal of a key id, or None."""
    from avatars.server.s3 import S3Principal

    def resolve(access_key_id: str) -> S3Principal | None:
        if not access_key_id.startswith(security.ACCESS_KEY_ID_PREFIX) or len(access_key_id) > 32:
            return None
        with ctx.db.reading() as session:
            row = session.get(StorageCredential, access_key_id)
            if row is None or row.revoked_at is not None:
                return None
            user = session.get(User, row.user_id)
            if user is None or user.deleted_at is not None:
                return None
            return S3Principal(
                access_key_id=access_key_id,
                secret_access_key=security.derive_storage_secret(ctx.secret_key, access_key_id),
                user_id=str(user.id),
                buckets=buckets_of(session, user),
                expires_at=row.expires_at,
            )

    return resolve
