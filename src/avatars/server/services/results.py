"""Results and storage access (protocol.md §2.3 "Results and storage access", §3.4, §5.4).

Data never flows through these services: they name result files and hand out S3 credentials,
and the client moves the bytes through the ``/storage`` S3 endpoint.

The S3 key pairs handed out are tied to the grant (API key or login session) of the request
and short-lived: :mod:`avatars.server.services.credentials`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, BinaryIO

from avatars.protocol.enums import JobStatus, ObjectType, Verb
from avatars.protocol.wire import FileCredentials
from avatars.server import files
from avatars.server.retention import results_expired
from avatars.server.services import credentials
from avatars.server.services.buckets import may_use_bucket
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
    return credentials.current(ctx, caller)


def grant_access_batch(
    ctx: Context, caller: Caller, urls: Sequence[str]
) -> tuple[list[str], FileCredentials | None]:
    """``(the urls the caller may use, credentials for them)``; refused urls are left out,
    and there are no credentials when none is allowed."""
    allowed = _allowed(ctx, caller, urls)
    if not allowed:
        return [], None
    return allowed, credentials.current(ctx, caller)


def principal_resolver(ctx: Context) -> Callable[[str], S3Principal | None]:
    """``resolve_principal`` for the S3 router: the principal of a live key id, or None
    (:func:`avatars.server.services.credentials.resolve`)."""

    def resolve(access_key_id: str) -> S3Principal | None:
        return credentials.resolve(ctx, access_key_id)

    return resolve
