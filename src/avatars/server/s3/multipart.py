"""Multipart uploads, staged in the storage outside every bucket.

Layout (storage keys; buckets never start with ``.``, so listings never show these)::

    .multipart/<upload_id>/upload.json               who started it, for which bucket/key
    .multipart/<upload_id>/parts/<NNNNN>.<md5>       one committed part (md5 = its ETag)
    .multipart/<upload_id>/incoming/<NNNNN>-<token>  a part being received

Naming committed parts by their MD5 makes CompleteMultipartUpload's check "this part
exists *with this ETag*" a plain existence test, and keeps retried or concurrent uploads
of the same part number from overwriting each other's data: the client's list of ETags
picks the exact bytes it meant. State lives in the storage (not in process memory), so
uploads survive restarts and work with several server processes.

Upload IDs are 256-bit random tokens; an upload is usable only by the access key that
created it and only for its bucket/key (otherwise: NoSuchUpload, which reveals nothing).

Completion concatenates the parts, in PartNumber order, into one atomically published
object (:meth:`Storage.concatenate`, a kernel-side copy locally): it appears whole or not
at all. The staging is deleted after the commit; on failure it stays
so the client may retry, and :func:`purge_stale_uploads` removes abandoned ones.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from avatars.server.s3.auth import S3Principal
from avatars.server.s3.errors import S3Error, invalid_argument, no_such_upload, precondition_failed
from avatars.server.s3.s3xml import ListedPart
from avatars.server.storage import AtomicWriter, ObjectInfo, ObjectNotFoundError, Storage

logger = logging.getLogger("avatars.server.s3")

STAGING_ROOT = ".multipart"
MAX_PART_NUMBER = 10_000
#: Largest single part (S3's limit).
MAX_PART_SIZE = 5 * 2**30
_UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{32,128}")
_PART_NAME = re.compile(r"(\d{5})\.([0-9a-f]{32})")
_ETAG = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Upload:
    upload_id: str
    bucket: str
    key: str
    access_key_id: str
    user_id: str
    initiated: dt.datetime

    @property
    def prefix(self) -> str:
        return f"{STAGING_ROOT}/{self.upload_id}/"


def _meta_key(upload_id: str) -> str:
    return f"{STAGING_ROOT}/{upload_id}/upload.json"


def part_key(upload_id: str, number: int, etag: str) -> str:
    return f"{STAGING_ROOT}/{upload_id}/parts/{number:05d}.{etag}"


def parse_part_number(value: str | None) -> int:
    try:
        number = int(value or "")
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_PART_NUMBER:
        raise invalid_argument(f"Part number must be an integer between 1 and {MAX_PART_NUMBER}.")
    return number


class MultipartStore:
    """Staging of multipart uploads in ``storage``. Methods are blocking (run in threads)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    # -- lifecycle -------------------------------------------------------------------------
    def create(self, principal: S3Principal, bucket: str, key: str) -> Upload:
        upload = Upload(
            upload_id=secrets.token_urlsafe(32),
            bucket=bucket,
            key=key,
            access_key_id=principal.access_key_id,
            user_id=principal.user_id,
            initiated=dt.datetime.now(dt.UTC),
        )
        meta = {
            "bucket": bucket,
            "key": key,
            "access_key_id": upload.access_key_id,
            "user_id": upload.user_id,
            "initiated": upload.initiated.isoformat(),
        }
        self.storage.write_bytes(_meta_key(upload.upload_id), json.dumps(meta).encode())
        return upload

    def load(self, upload_id: str) -> Upload:
        if not _UPLOAD_ID.fullmatch(upload_id):
            raise no_such_upload(upload_id)
        try:
            meta = json.loads(self.storage.read_bytes(_meta_key(upload_id)))
        except ObjectNotFoundError as exc:
            raise no_such_upload(upload_id) from exc
        return Upload(
            upload_id=upload_id,
            bucket=meta["bucket"],
            key=meta["key"],
            access_key_id=meta["access_key_id"],
            user_id=meta["user_id"],
            initiated=dt.datetime.fromisoformat(meta["initiated"]),
        )

    def load_for(self, upload_id: str, principal: S3Principal, bucket: str, key: str) -> Upload:
        """The upload, if ``principal`` started it for exactly ``bucket``/``key``."""
        upload = self.load(upload_id)
        if (upload.access_key_id, upload.bucket, upload.key) != (
            principal.access_key_id,
            bucket,
            key,
        ):
            raise no_such_upload(upload_id)
        return upload

    def abort(self, upload: Upload) -> None:
        self.storage.delete_prefix(upload.prefix)

    # -- parts -----------------------------------------------------------------------------
    def part_writer(self, upload: Upload, number: int) -> AtomicWriter:
        incoming = f"{upload.prefix}incoming/{number:05d}-{secrets.token_hex(8)}"
        return self.storage.writer(incoming)

    def publish_part(self, upload: Upload, number: int, incoming: str, etag: str) -> None:
        """Give a committed part its final, content-addressed name."""
        try:
            if not self.storage.exists(_meta_key(upload.upload_id)):
                raise no_such_upload(upload.upload_id)  # aborted while the part was arriving
            self.storage.copy(incoming, part_key(upload.upload_id, number, etag))
        finally:
            self.storage.delete(incoming)

    def list_parts(self, upload: Upload) -> list[ListedPart]:
        """The latest upload of each part number, in part-number order."""
        latest: dict[int, ListedPart] = {}
        for info in self.storage.list(f"{upload.prefix}parts/"):
            match = _PART_NAME.fullmatch(info.key.rsplit("/", 1)[-1])
            if not match:
                continue
            part = ListedPart(int(match[1]), match[2], info.size, info.last_modified)
            current = latest.get(part.number)
            if current is None or part.last_modified >= current.last_modified:
                latest[part.number] = part
        return [latest[number] for number in sorted(latest)]

    # -- completion ------------------------------------------------------------------------
    def check_parts(self, upload: Upload, parts: Sequence[tuple[int, str]]) -> list[str]:
        """Storage keys of the listed parts; InvalidPartOrder/InvalidPart when they can't be."""
        numbers = [number for number, _ in parts]
        if any(b <= a for a, b in itertools.pairwise(numbers)):
            raise S3Error(
                "InvalidPartOrder",
                "The list of parts was not in ascending order. Parts must be ordered by "
                "part number.",
                400,
            )
        present = {info.key for info in self.storage.list(f"{upload.prefix}parts/")}
        keys = []
        for number, etag in parts:
            key = part_key(upload.upload_id, number, etag) if _ETAG.fullmatch(etag) else None
            if not 1 <= number <= MAX_PART_NUMBER or key not in present:
                raise S3Error(
                    "InvalidPart",
                    "One or more of the specified parts could not be found. The part may not "
                    "have been uploaded, or the specified entity tag may not match the part's "
                    "entity tag.",
                    400,
                    extra={"PartNumber": str(number), "ETag": etag},
                )
            keys.append(key)
        return keys

    def assemble(
        self, upload: Upload, part_keys: Sequence[str], target: str, *, if_none_match: bool
    ) -> ObjectInfo:
        """Concatenate the parts into ``target`` atomically, then drop the staging."""
        if if_none_match and self.storage.exists(target):
            raise precondition_failed("If-None-Match")
        try:
            self.storage.concatenate(part_keys, target)
        except ObjectNotFoundError as exc:  # a part vanished (concurrent abort/complete)
            raise no_such_upload(upload.upload_id) from exc
        info = self.storage.info(target)
        self.storage.delete_prefix(upload.prefix)
        return info


def purge_stale_uploads(
    storage: Storage, max_age: dt.timedelta, *, now: dt.datetime | None = None
) -> int:
    """Delete multipart uploads started more than ``max_age`` before ``now`` (default: the
    real time); return how many.

    Clients abort failed uploads themselves, but a killed client leaves its parts behind;
    the platform should call this periodically (S3 does the same with lifecycle rules).
    """
    store = MultipartStore(storage)
    cutoff = (now or dt.datetime.now(dt.UTC)) - max_age
    upload_ids = {info.key.split("/")[1] for info in storage.list(f"{STAGING_ROOT}/")}
    purged = 0
    for upload_id in sorted(upload_ids):
        try:
            started = store.load(upload_id).initiated
        except (S3Error, ValueError, KeyError):
            started = None  # no metadata: judge by the files' age
        if started is None:
            newest = max(
                (i.last_modified for i in storage.list(f"{STAGING_ROOT}/{upload_id}/")),
                default=None,
            )
            started = newest
        if started is not None and started < cutoff:
            storage.delete_prefix(f"{STAGING_ROOT}/{upload_id}/")
            purged += 1
            logger.info("purged stale multipart upload %s", upload_id)
    return purged
