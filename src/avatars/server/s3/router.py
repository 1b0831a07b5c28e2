"""The S3-compatible endpoint: a FastAPI router the platform mounts at ``/storage``.

Path-style addressing only (``/{bucket}`` and ``/{bucket}/{key}``), which is what botocore
and s3fs use for any custom endpoint. Objects of bucket ``B`` with key ``K`` are the
storage objects ``B/K``; a bucket "exists" for a principal iff it is in its ``buckets``
(buckets are per-user prefixes, nothing to create).

Every request is authenticated (SigV4) and authorized (bucket in the principal's set)
before its body is touched. Uploads stream through :mod:`.body` into the storage's atomic
writers; downloads stream from the storage in 1 MiB blocks. Errors are S3 XML documents
with S3's codes and statuses, which botocore and s3fs turn into the usual exceptions.

ETags: the storage's own version token (``Storage.info().etag``) everywhere (PUT,
CompleteMultipartUpload, HEAD, GET, listings), so that the ETag a client got from any
operation works in ``If-Match``. It is opaque, *not* the MD5 of the content (as on S3 for
multipart or KMS-encrypted objects); integrity is verified on the way in instead (SHA-256,
CRC32, Content-MD5). UploadPart answers the part's MD5, as S3 does.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import email.utils
import logging
import mimetypes
import re
import uuid
from collections.abc import AsyncIterator, Callable
from typing import BinaryIO
from urllib.parse import quote, unquote

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from avatars.server.s3 import s3xml
from avatars.server.s3.auth import (
    AuthResult,
    Clock,
    PrincipalResolver,
    S3Principal,
    authenticate,
)
from avatars.server.s3.body import BodyIngest, MemorySink, body_spec
from avatars.server.s3.checksums import require_supported
from avatars.server.s3.errors import (
    S3Error,
    access_denied,
    internal_error,
    invalid_argument,
    no_such_key,
    not_implemented,
    precondition_failed,
    storage_unavailable,
)
from avatars.server.s3.multipart import (
    MAX_PART_SIZE,
    MultipartStore,
    Upload,
    parse_part_number,
)
from avatars.server.storage import ObjectInfo, ObjectNotFoundError, Storage, StorageError

logger = logging.getLogger("avatars.server.s3")

EventHook = Callable[[str, S3Principal, str, str], None]

XML = s3xml.XML_CONTENT_TYPE
#: Block size of GET responses.
READ_BLOCK = 1024 * 1024
#: Largest XML request body (CompleteMultipartUpload with 10,000 parts is ~1 MB).
MAX_XML_BODY = 4 * 1024 * 1024
#: CompleteMultipartUpload answers normally if assembly finishes within this many
#: seconds; otherwise it starts a 200 response and sends whitespace every
#: ``KEEPALIVE_INTERVAL`` seconds until the result, like S3, so clients don't time out.
KEEPALIVE_AFTER = 5.0
KEEPALIVE_INTERVAL = 5.0
MAX_KEY_BYTES = 1024

_BUCKET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
# Sub-resources of S3's API; any present and not handled below is refused with 501
# rather than silently treated as a plain GET/PUT of the object.
_SUBRESOURCES = frozenset(
    {
        "accelerate",
        "acl",
        "analytics",
        "attributes",
        "cors",
        "delete",
        "encryption",
        "intelligent-tiering",
        "inventory",
        "legal-hold",
        "lifecycle",
        "location",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "ownershipControls",
        "partNumber",
        "policy",
        "policyStatus",
        "publicAccessBlock",
        "replication",
        "requestPayment",
        "restore",
        "retention",
        "select",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versioning",
        "versions",
        "website",
    }
)
_RESPONSE_OVERRIDES = {
    "response-content-type": "content-type",
    "response-content-disposition": "content-disposition",
    "response-content-encoding": "content-encoding",
    "response-content-language": "content-language",
    "response-cache-control": "cache-control",
    "response-expires": "expires",
}
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")

#: Objects are served as downloads, in a sandbox that runs nothing, whatever their type: an
#: HTML file put into storage must not run on the platform's origin (stored XSS), even
#: through a presigned link that asks for ``response-content-type=text/html``.
DOWNLOAD_CSP = "sandbox; default-src 'none'; frame-ancestors 'none'"
#: The platform's own HTML reports and figures are shown inline, sandboxed without
#: ``allow-same-origin``: their scripts (plotly) run in an opaque origin with no access to
#: the platform, no network and no forms.
REPORT_CSP = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval' "
    "https://cdn.plot.ly; style-src 'unsafe-inline'; img-src data: blob:; font-src data:; "
    "frame-ancestors 'self'"
)
#: A PDF runs no script on the page's origin; browsers' PDF viewers refuse sandboxes.
PDF_CSP = "frame-ancestors 'self'"
#: Decides which objects are shown inline (``inline_object(bucket, key)``).
InlinePolicy = Callable[[str, str], bool]


def attachment(key: str) -> str:
    """``Content-Disposition`` of a download named like the key's last segment."""
    name = key.rsplit("/", 1)[-1] or "download"
    ascii_name = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def http_date(moment: dt.datetime) -> str:
    return email.utils.format_datetime(moment.astimezone(dt.UTC), usegmt=True)


def _parse_http_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _etag_matches(header: str, etag: str) -> bool:
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*":
            return True
        candidate = candidate.removeprefix("W/").strip('"')
        if candidate == etag:
            return True
    return False


def check_preconditions(headers: Headers, info: ObjectInfo, *, prefix: str = "") -> bool:
    """RFC 7232 evaluation for reads: raise 412, return True for "304 Not Modified"."""
    modified = info.last_modified.replace(microsecond=0)
    if_match = headers.get(f"{prefix}if-match")
    if if_match is not None:
        if not _etag_matches(if_match, info.etag):
            raise precondition_failed("If-Match")
    else:
        since = _parse_http_date(headers.get(f"{prefix}if-unmodified-since"))
        if since is not None and modified > since:
            raise precondition_failed("If-Unmodified-Since")
    if_none_match = headers.get(f"{prefix}if-none-match")
    if if_none_match is not None:
        return _etag_matches(if_none_match, info.etag)
    since = _parse_http_date(headers.get(f"{prefix}if-modified-since"))
    return since is not None and modified <= since


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Inclusive ``(first, last)`` of a single-range ``Range`` header, None to ignore it.

    Multiple or syntactically invalid ranges are ignored (whole object, as RFC 9110 and
    S3 do); a well-formed range outside the object is 416 InvalidRange.
    """
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if not match or (not match[1] and not match[2]):
        return None
    if match[1]:
        first = int(match[1])
        last = int(match[2]) if match[2] else size - 1
        if match[2] and last < first:
            return None
        if first >= size:
            raise _invalid_range(header, size)
        return first, min(last, size - 1)
    suffix = int(match[2])
    if suffix == 0 or size == 0:
        raise _invalid_range(header, size)
    return max(0, size - suffix), size - 1


def _invalid_range(header: str, size: int) -> S3Error:
    return S3Error(
        "InvalidRange",
        "The requested range is not satisfiable",
        416,
        headers={"content-range": f"bytes */{size}"},
        extra={"RangeRequested": header, "ActualObjectSize": str(size)},
    )


def _header_safe(value: str) -> bool:
    """Whether ``value`` can be sent as an HTTP header value as it is."""
    return value.isprintable() and all(ord(char) < 256 for char in value)


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return "transfer-encoding" in request.headers or (length not in (None, "0"))


def _xml(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, headers=headers, media_type=XML)


def _empty(status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(b"", status_code=status, headers=headers, media_type=XML)


class S3Service:
    """The request handlers; one instance per mounted router."""

    def __init__(
        self,
        storage: Storage,
        resolve_principal: PrincipalResolver,
        on_event: EventHook | None,
        max_object_size: int | None,
        clock: Clock | None = None,
        inline_object: InlinePolicy | None = None,
    ) -> None:
        self.storage = storage
        self.inline_object = inline_object
        self.resolve_principal = resolve_principal
        self.clock = clock
        self.on_event = on_event
        self.max_object_size = max_object_size
        self.multipart = MultipartStore(storage)

    # -- entry point -----------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        request_id = uuid.uuid4().hex[:16].upper()
        auth: AuthResult | None = None
        try:
            auth = await authenticate(request, self.resolve_principal, clock=self.clock)
            response = await self._dispatch(request, auth)
        except S3Error as error:
            response = self._error_response(request, error, request_id, auth)
        except StorageError as exc:
            if not _is_path_conflict(exc):
                logger.exception(
                    "S3 %s %s: storage backend failure (request %s)",
                    request.method,
                    request.url.path,
                    request_id,
                )
            failure = _path_conflict() if _is_path_conflict(exc) else storage_unavailable()
            response = self._error_response(request, failure, request_id, auth)
        except Exception:
            logger.exception(
                "S3 %s %s failed (request %s)", request.method, request.url.path, request_id
            )
            response = self._error_response(request, internal_error(), request_id, auth)
        response.headers["x-amz-request-id"] = request_id
        return response

    def _error_response(
        self, request: Request, error: S3Error, request_id: str, auth: AuthResult | None
    ) -> Response:
        who = auth.principal.access_key_id if auth else "-"
        log = logger.warning if error.status >= 500 else logger.info
        log(
            "S3 %s %s -> %d %s (key %s, request %s)",
            request.method,
            request.url.path,
            error.status,
            error.code,
            who,
            request_id,
        )
        headers = dict(error.headers)
        if _has_body(request):
            # The body may be unread (rejected before upload, no 100 Continue sent): the
            # connection cannot carry another request reliably, so close it.
            headers["connection"] = "close"
        if request.method == "HEAD":
            return _empty(error.status, headers)
        return _xml(
            s3xml.error_document(error, request.url.path, request_id), error.status, headers
        )

    async def _dispatch(self, request: Request, auth: AuthResult) -> Response:
        bucket = request.path_params.get("bucket")
        key = request.path_params.get("key") or ""
        method = request.method
        query = request.query_params
        if bucket is None:
            if method in ("GET", "HEAD"):
                return self._list_buckets(auth)
            raise not_implemented(f"{method} on the service")
        self._authorize_bucket(auth, bucket)
        handled = {"location", "uploads", "uploadId", "partNumber", "delete"}
        unknown = sorted(name for name in query if name in _SUBRESOURCES - handled)
        if unknown:
            raise not_implemented(f"The ?{unknown[0]} sub-resource")
        if query.get("versionId", "null") != "null":
            raise not_implemented("Object versioning")
        if auth.presigned and (not key or method not in ("GET", "HEAD")):
            raise access_denied("Presigned URLs are accepted only for GET and HEAD of objects.")

        if not key:
            return await self._bucket_operation(request, auth, bucket)
        if method in ("GET", "HEAD"):
            if "uploadId" in query and method == "GET":
                return await self._list_parts(request, auth, bucket, key)
            return await self._get_object(request, auth, bucket, key)
        if method == "PUT":
            if "uploadId" in query or "partNumber" in query:
                if "x-amz-copy-source" in request.headers:
                    raise not_implemented("UploadPartCopy")
                return await self._upload_part(request, auth, bucket, key)
            if "x-amz-copy-source" in request.headers:
                return await self._copy_object(request, auth, bucket, key)
            return await self._put_object(request, auth, bucket, key)
        if method == "POST":
            if "uploads" in query:
                return await self._create_multipart(request, auth, bucket, key)
            if "uploadId" in query:
                return await self._complete_multipart(request, auth, bucket, key)
            raise not_implemented("This POST operation")
        if method == "DELETE":
            if "uploadId" in query:
                return await self._abort_multipart(request, auth, bucket, key)
            return await self._delete_object(auth, bucket, key)
        raise not_implemented(f"{method} on objects")

    async def _bucket_operation(self, request: Request, auth: AuthResult, bucket: str) -> Response:
        method, query = request.method, request.query_params
        if method == "HEAD":
            return _empty(headers={"x-amz-bucket-region": "us-east-1"})
        if method == "GET":
            if "location" in query:
                return _xml(s3xml.location_document())
            if "uploads" in query:
                raise not_implemented("ListMultipartUploads")
            return await self._list_objects(request, bucket)
        if method == "PUT":
            # Buckets are the principals' own prefixes: creating one that is already yours
            # succeeds (idempotent), anything else was refused by _authorize_bucket.
            await self._drain(request)
            return _empty(headers={"location": f"/{bucket}"})
        if method == "POST" and "delete" in query:
            return await self._delete_objects(request, auth, bucket)
        if method == "DELETE":
            empty = await run_in_threadpool(self._bucket_is_empty, bucket)
            if not empty:
                raise S3Error(
                    "BucketNotEmpty",
                    "The bucket you tried to delete is not empty",
                    409,
                    extra={"BucketName": bucket},
                )
            return _empty(204)
        raise not_implemented(f"{method} on buckets")

    # -- authorization and names -----------------------------------------------------------
    @staticmethod
    def _authorize_bucket(auth: AuthResult, bucket: str) -> None:
        if not _BUCKET_NAME.fullmatch(bucket):
            raise S3Error(
                "InvalidBucketName",
                "The specified bucket is not valid.",
                400,
                extra={"BucketName": bucket},
            )
        if bucket not in auth.principal.buckets:
            raise access_denied()

    def _storage_key(self, bucket: str, key: str) -> str | None:
        """The storage key of ``bucket/key``, None if the storage cannot hold that key."""
        if len(key.encode()) > MAX_KEY_BYTES:
            raise S3Error("KeyTooLongError", "Your key is too long", 400)
        storage_key = f"{bucket}/{key}"
        if key.endswith("/"):
            return None
        try:
            self.storage.path(storage_key)
        except ValueError:
            return None
        return storage_key

    def _writable_key(self, bucket: str, key: str) -> str:
        storage_key = self._storage_key(bucket, key)
        if storage_key is None:
            raise invalid_argument(
                "This server cannot store that object key (empty, '.' or '..' path segments, "
                "a trailing '/', backslashes and NUL are not supported)."
            )
        return storage_key

    def _bucket_is_empty(self, bucket: str) -> bool:
        return next(iter(self.storage.list(f"{bucket}/")), None) is None

    async def _event(self, operation: str, auth: AuthResult, bucket: str, key: str) -> None:
        if self.on_event is None:
            return
        try:
            await run_in_threadpool(self.on_event, operation, auth.principal, bucket, key)
        except Exception:  # auditing must not break the data path
            logger.exception("S3 on_event hook failed for %s %s/%s", operation, bucket, key)

    async def _drain(self, request: Request, limit: int = MAX_XML_BODY) -> bytes:
        """Read a small body (bounded): bucket configuration documents and the like."""
        data = bytearray()
        async for piece in request.stream():
            data += piece
            if len(data) > limit:
                raise S3Error("MaxMessageLengthExceeded", "Your request was too big.", 400)
        return bytes(data)

    async def _read_xml_body(
        self, request: Request, auth: AuthResult, *, checksum_headers: bool = True
    ) -> bytes:
        """Read and verify (SHA-256, checksums, Content-MD5) a small XML request body."""
        spec = body_spec(request, auth, max_size=MAX_XML_BODY, checksum_headers=checksum_headers)
        sink = MemorySink(MAX_XML_BODY)
        await BodyIngest(spec, auth, sink, max_size=MAX_XML_BODY).run(request)
        return sink.getvalue()

    # -- service and buckets ---------------------------------------------------------------
    @staticmethod
    def _list_buckets(auth: AuthResult) -> Response:
        principal = auth.principal
        created = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)  # buckets have no creation record
        return _xml(s3xml.list_buckets_document(principal.user_id, principal.buckets, created))

    async def _list_objects(self, request: Request, bucket: str) -> Response:
        query = request.query_params
        prefix = query.get("prefix", "")
        delimiter = query.get("delimiter") or None
        try:
            max_keys = max(0, min(1000, int(query.get("max-keys", "1000"))))
        except ValueError as exc:
            raise invalid_argument(
                "Provided max-keys not an integer or within integer range"
            ) from exc
        encoding = query.get("encoding-type")
        if encoding not in (None, "url"):
            raise invalid_argument("Invalid Encoding Method specified in Request")
        v2 = query.get("list-type") == "2"
        if v2:
            token = query.get("continuation-token")
            start_after = query.get("start-after")
            after = _decode_token(token) if token is not None else (start_after or "")
        else:
            token = start_after = None
            after = query.get("marker", "")
        page, last = await run_in_threadpool(
            self._list_page, bucket, prefix, delimiter, after, max_keys, encoding == "url"
        )
        if v2:
            resume = last if last is not None else after
            next_token = _encode_token(resume) if page.is_truncated else None
            body = s3xml.list_objects_v2_document(
                page,
                continuation_token=token,
                next_continuation_token=next_token,
                start_after=start_after,
            )
        else:
            next_marker = last if page.is_truncated else None
            body = s3xml.list_objects_v1_document(page, marker=after, next_marker=next_marker)
        return _xml(body)

    def _list_page(
        self,
        bucket: str,
        prefix: str,
        delimiter: str | None,
        after: str,
        max_keys: int,
        url_encode: bool,
    ) -> tuple[s3xml.ListingPage, str | None]:
        """One page of keys after ``after`` (a key or a rolled-up prefix), in key order."""
        page = s3xml.ListingPage(bucket, prefix, delimiter, max_keys, [], [], False, url_encode)
        count, last = 0, None
        skip_prefix = after if delimiter and after.endswith(delimiter) else None
        strip = len(bucket) + 1
        if ".." in prefix.split("/") or "\\" in prefix:
            return page, None  # no key can live under such a prefix; don't walk for it
        for info in self.storage.list(f"{bucket}/{prefix}"):
            key = info.key[strip:]
            if key <= after or (skip_prefix and key.startswith(skip_prefix)):
                continue
            entry: str = key
            rolled_up = False
            if delimiter:
                cut = key.find(delimiter, len(prefix))
                if cut >= 0:
                    entry, rolled_up = key[: cut + len(delimiter)], True
                    if entry == last:
                        continue
            if count >= max_keys:
                page.is_truncated = True
                break
            if rolled_up:
                page.common_prefixes.append(entry)
            else:
                page.objects.append(
                    s3xml.ListedObject(key, info.size, info.etag, info.last_modified)
                )
            count, last = count + 1, entry
        return page, last

    # -- objects: reads --------------------------------------------------------------------
    def _stat(self, storage_key: str | None, key: str) -> ObjectInfo:
        if storage_key is None:
            raise no_such_key(key)
        try:
            return self.storage.info(storage_key)
        except ObjectNotFoundError as exc:
            raise no_such_key(key) from exc

    def _open_stable(self, storage_key: str | None, key: str) -> tuple[ObjectInfo, BinaryIO]:
        """Open the object and its metadata as one version, even if it is being replaced."""
        for _ in range(5):
            info = self._stat(storage_key, key)
            assert storage_key is not None
            try:
                handle = self.storage.open_read(storage_key)
            except ObjectNotFoundError:
                continue
            if self._stat(storage_key, key).etag == info.etag:
                return info, handle
            handle.close()
        raise S3Error("SlowDown", "The object is being replaced; retry.", 503)

    async def _get_object(
        self, request: Request, auth: AuthResult, bucket: str, key: str
    ) -> Response:
        head = request.method == "HEAD"
        storage_key = self._storage_key(bucket, key)
        if head:
            info, handle = await run_in_threadpool(self._stat, storage_key, key), None
        else:
            info, handle = await run_in_threadpool(self._open_stable, storage_key, key)
        try:
            headers = {
                "etag": s3xml.quote_etag(info.etag),
                "last-modified": http_date(info.last_modified),
                "accept-ranges": "bytes",
            }
            media_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
            if check_preconditions(request.headers, info):
                if handle is not None:
                    handle.close()
                return Response(status_code=304, headers=headers, media_type=media_type)
            if request.query_params.get("partNumber", "1") != "1":
                raise S3Error(
                    "InvalidPartNumber", "The requested partnumber is not satisfiable", 416
                )
            span = parse_range(request.headers.get("range"), info.size)
            status, first, length = 200, 0, info.size
            if span is not None:
                status, first, length = 206, span[0], span[1] - span[0] + 1
                headers["content-range"] = f"bytes {span[0]}-{span[1]}/{info.size}"
            headers["content-length"] = str(length)
            for parameter, header in _RESPONSE_OVERRIDES.items():
                value = request.query_params.get(parameter)
                if value is not None and _header_safe(value):
                    headers[header] = value
            headers.setdefault("content-type", media_type)
            self._protect(headers, bucket, key)
        except BaseException:
            if handle is not None:
                handle.close()
            raise
        if handle is None:
            return Response(status_code=status, headers=headers)
        await self._event("GetObject", auth, bucket, key)
        return StreamingResponse(
            _read_blocks(handle, first, length), status_code=status, headers=headers
        )

    def _protect(self, headers: dict[str, str], bucket: str, key: str) -> None:
        """What makes a stored object harmless to open in a browser: a download in a sandbox
        (:data:`DOWNLOAD_CSP`) unless ``inline_object`` names it (the platform's reports)."""
        headers["x-content-type-options"] = "nosniff"
        if self.inline_object is not None and self.inline_object(bucket, key):
            pdf = key.endswith(".pdf")
            headers["content-security-policy"] = PDF_CSP if pdf else REPORT_CSP
            headers["x-frame-options"] = "SAMEORIGIN"
            return
        if not headers.get("content-disposition", "").lower().startswith("attachment"):
            headers["content-disposition"] = attachment(key)
        headers["content-security-policy"] = DOWNLOAD_CSP

    # -- objects: writes -------------------------------------------------------------------
    async def _check_write_conditions(self, request: Request, storage_key: str) -> None:
        if_none_match = request.headers.get("if-none-match")
        if_match = request.headers.get("if-match")
        if if_none_match is None and if_match is None:
            return
        if if_none_match is not None and if_none_match.strip() != "*":
            raise not_implemented("If-None-Match other than '*' on writes")
        try:
            info = await run_in_threadpool(self.storage.info, storage_key)
        except ObjectNotFoundError:
            info = None
        if if_none_match is not None and info is not None:
            raise precondition_failed("If-None-Match")
        if if_match is not None and (info is None or not _etag_matches(if_match, info.etag)):
            if info is None:
                raise no_such_key(storage_key.split("/", 1)[1])
            raise precondition_failed("If-Match")

    async def _put_object(
        self, request: Request, auth: AuthResult, bucket: str, key: str
    ) -> Response:
        storage_key = self._writable_key(bucket, key)
        spec = body_spec(request, auth, max_size=self.max_object_size)
        await self._check_write_conditions(request, storage_key)
        writer = await run_in_threadpool(self.storage.writer, storage_key)
        try:
            ingest = BodyIngest(spec, auth, writer, max_size=self.max_object_size)
            verified = await ingest.run(request)
            await self._check_write_conditions(request, storage_key)
            info = await run_in_threadpool(writer.commit)
        except BaseException:
            await run_in_threadpool(writer.discard)
            raise
        await self._event("PutObject", auth, bucket, key)
        return _empty(headers={"etag": s3xml.quote_etag(info.etag), **verified})

    async def _copy_object(
        self, request: Request, auth: AuthResult, bucket: str, key: str
    ) -> Response:
        target = self._writable_key(bucket, key)
        source = request.headers["x-amz-copy-source"]
        source_path, _, source_query = source.partition("?")
        if source_query and source_query not in ("versionId=null", ""):
            raise not_implemented("Copying a specific version")
        source_bucket, _, source_key = unquote(source_path).lstrip("/").partition("/")
        if not source_key:
            raise invalid_argument(
                "Copy Source must mention the source bucket and key: sourcebucket/sourcekey"
            )
        if not _BUCKET_NAME.fullmatch(source_bucket) or source_bucket not in auth.principal.buckets:
            raise access_denied()
        if _has_body(request):
            await self._drain(request, 0)
        source_storage_key = self._storage_key(source_bucket, source_key)
        info = await run_in_threadpool(self._stat, source_storage_key, source_key)
        if check_preconditions(request.headers, info, prefix="x-amz-copy-source-"):
            raise precondition_failed("x-amz-copy-source-If-None-Match")
        await self._check_write_conditions(request, target)
        try:
            assert source_storage_key is not None
            copied = await run_in_threadpool(self.storage.copy, source_storage_key, target)
        except ObjectNotFoundError as exc:
            raise no_such_key(source_key) from exc
        await self._event("CopyObject", auth, bucket, key)
        return _xml(s3xml.copy_object_document(copied.etag, copied.last_modified))

    def _delete_if_object(self, storage_key: str | None) -> bool:
        # Only objects: a "key" naming a folder of other keys is no object (S3: no-op).
        if storage_key is None or not self.storage.exists(storage_key):
            return False
        self.storage.delete(storage_key)
        return True

    async def _delete_object(self, auth: AuthResult, bucket: str, key: str) -> Response:
        storage_key = self._storage_key(bucket, key)
        if await run_in_threadpool(self._delete_if_object, storage_key):
            await self._event("DeleteObject", auth, bucket, key)
        return _empty(204)

    async def _delete_objects(self, request: Request, auth: AuthResult, bucket: str) -> Response:
        keys, quiet = s3xml.parse_delete(await self._read_xml_body(request, auth))
        if len(keys) > 1000:
            raise malformed_too_many()
        deleted: list[str] = []
        for key in keys:
            storage_key = self._storage_key(bucket, key) if key else None
            if await run_in_threadpool(self._delete_if_object, storage_key):
                await self._event("DeleteObject", auth, bucket, key)
            deleted.append(key)
        return _xml(s3xml.delete_result_document(deleted, [], quiet=quiet))

    # -- multipart -------------------------------------------------------------------------
    async def _load_upload(
        self, request: Request, auth: AuthResult, bucket: str, key: str
    ) -> Upload:
        upload_id = request.query_params.get("uploadId", "")
        return await run_in_threadpool(
            self.multipart.load_for, upload_id, auth.principal, bucket, key
        )

    async def _create_multipart(
        self, request: Request, auth: AuthResult, bucket: str, key: str
    ) -> Response:
        self._writable_key(bucket, key)
        headers: dict[str, str] = {}
        algorithm = request.headers.get("x-amz-checksum-algorithm")
        if algorithm:
            require_supported(algorithm)
            headers["x-amz-checksum-algorithm"] = algorithm.upper()
        if _has_body(request):
            await self._drain(request, 0)
        upload = await run_in_threadpool(self.multipart.create, auth.principal, bucket, key)
        return _xml(s3xml.initiate_multipart_document(bucket, key, upload.upload_id), 200, headers)

    async def _upload_part(
        self, request: Request, auth: AuthResult, bucket: str, key: str
    ) -> Response:
        number = parse_part_number(request.query_params.get("partNumber"))
        upload = await self._load_upload(request, auth, bucket, key)
        limit = (
            MAX_PART_SIZE
            if self.max_object_size is None
            else min(MAX_PART_SIZE, self.max_object_size)
        )
        spec = body_spec(request, auth, max_size=limit)
        writer = await run_in_threadpool(self.multipart.part_writer, upload, number)
        try:
            verified = await BodyIngest(spec, auth, writer, max_size=limit).run(request)
            await run_in_threadpool(writer.commit)
        except BaseException:
            await run_in_threadpool(writer.discard)
            raise
        etag = writer.md5_hex
        await run_in_threadpool(self.multipart.publish_part, upload, number, writer.key, etag)
        return _empty(headers={"etag": s3xml.quote_etag(etag), **verified})

    async def _list_parts(
        self, request: Request, auth: AuthResult, bucket: str, key: str
    ) -> Response:
        upload = await self._load_upload(request, auth, bucket, key)
        query = request.query_params
        try:
            max_parts = max(0, min(1000, int(query.get("max-parts", "1000"))))
            marker = int(query.get("part-number-marker", "0"))
        except ValueError as exc:
            raise invalid_argument("max-parts and part-number-marker must be integers") from exc
        parts = [
            p
            for p in await run_in_threadpool(self.multipart.list_parts, upload)
            if p.number > marker
        ]
        page = parts[:max_parts]
        return _xml(
            s3xml.list_parts_document(
                bucket,
                key,
                upload.upload_id,
                page,
                marker=marker,
                max_parts=max_parts,
                is_truncated=len(parts) > len(page),
            )
        )

    async def _abort_multipart(
        self, request: Request, auth: AuthResult, bucket: str, key: str
    ) -> Response:
        upload = await self._load_upload(request, auth, bucket, key)
        await run_in_threadpool(self.multipart.abort, upload)
        return _empty(204)

    async def _complete_multipart(
        self, request: Request, auth: AuthResult, bucket: str, key: str
    ) -> Response:
        target = self._writable_key(bucket, key)
        upload = await self._load_upload(request, auth, bucket, key)
        body = await self._read_xml_body(request, auth, checksum_headers=False)
        parts = s3xml.parse_complete_multipart(body)
        if_none_match = request.headers.get("if-none-match", "").strip() == "*"
        part_keys = await run_in_threadpool(self.multipart.check_parts, upload, parts)
        task = asyncio.ensure_future(
            run_in_threadpool(
                self.multipart.assemble, upload, part_keys, target, if_none_match=if_none_match
            )
        )
        await asyncio.wait({task}, timeout=KEEPALIVE_AFTER)
        location = str(request.url.replace(query=""))
        if task.done():
            info = task.result()  # raises the S3Error, if any, with its own status
            await self._event("CompleteMultipartUpload", auth, bucket, key)
            return _xml(
                s3xml.element_bytes(
                    s3xml.complete_multipart_element(location, bucket, key, info.etag)
                )
            )
        # Long assembly: commit to 200 now and keep the connection alive, as S3 does; an
        # error is then reported as an <Error> document in the 200 body (botocore knows).
        return StreamingResponse(
            self._complete_keepalive(task, request, auth, bucket, key, location),
            media_type=XML,
        )

    async def _complete_keepalive(
        self,
        task: asyncio.Future[ObjectInfo],
        request: Request,
        auth: AuthResult,
        bucket: str,
        key: str,
        location: str,
    ) -> AsyncIterator[bytes]:
        yield s3xml.DECLARATION
        while not task.done():
            await asyncio.wait({task}, timeout=KEEPALIVE_INTERVAL)
            if not task.done():
                yield b" "
        try:
            info = task.result()
        except S3Error as error:
            element = s3xml.error_element(error, request.url.path, "-")
        except Exception:
            logger.exception("S3 CompleteMultipartUpload of %s/%s failed", bucket, key)
            element = s3xml.error_element(internal_error(), request.url.path, "-")
        else:
            await self._event("CompleteMultipartUpload", auth, bucket, key)
            element = s3xml.complete_multipart_element(location, bucket, key, info.etag)
        yield s3xml.element_bytes(element, declaration=False)


def _is_path_conflict(exc: BaseException) -> bool:
    """Whether a storage failure is "a/b written where a is an object" (or the reverse)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (IsADirectoryError, NotADirectoryError, FileExistsError)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _path_conflict() -> S3Error:
    return invalid_argument(
        "This key conflicts with an existing one: this server stores keys as paths, so "
        "'a' and 'a/b' cannot both be objects."
    )


def malformed_too_many() -> S3Error:
    return S3Error("MalformedXML", "DeleteObjects accepts at most 1000 keys.", 400)


def _encode_token(marker: str) -> str:
    return base64.urlsafe_b64encode(marker.encode()).decode("ascii")


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode()
    except (binascii.Error, ValueError, UnicodeError) as exc:
        raise invalid_argument("The continuation token provided is incorrect") from exc


async def _read_blocks(handle: BinaryIO, first: int, length: int) -> AsyncIterator[bytes]:
    """Stream ``length`` bytes from ``first``; the handle is closed however the response ends."""
    try:
        if first:
            await run_in_threadpool(handle.seek, first)
        remaining = length
        while remaining > 0:
            block = await run_in_threadpool(handle.read, min(READ_BLOCK, remaining))
            if not block:
                raise StorageError("object shorter than announced")  # truncated under us
            remaining -= len(block)
            yield block
    finally:
        handle.close()


def create_s3_router(
    storage: Storage,
    resolve_principal: PrincipalResolver,
    *,
    on_event: EventHook | None = None,
    max_object_size: int | None = None,
    clock: Clock | None = None,
    inline_object: InlinePolicy | None = None,
) -> APIRouter:
    """The S3 endpoint as a router; mount it with ``app.include_router(r, prefix="/storage")``.

    ``resolve_principal(access_key_id)`` returns the key's :class:`S3Principal` or None
    (unknown or revoked); it is called in a worker thread, so it may query a database.
    ``on_event(operation, principal, bucket, key)`` is called (in a thread) after each
    successful GetObject, PutObject, CopyObject, CompleteMultipartUpload and DeleteObject,
    e.g. for download audit logs. ``max_object_size`` caps uploads (EntityTooLarge).
    ``clock`` (default: the real time) judges when a principal's key pair has expired.
    ``inline_object(bucket, key)`` names the objects a browser may show inline (sandboxed);
    every other object is served as an attachment, in a sandbox (``DOWNLOAD_CSP``).
    """
    service = S3Service(storage, resolve_principal, on_event, max_object_size, clock, inline_object)

    # Authenticates each request before its body is read and bounds uploads itself.
    async def s3_endpoint(request: Request) -> Response:
        return await service.handle(request)

    router = APIRouter()
    methods = ["GET", "HEAD", "PUT", "POST", "DELETE"]
    # ListBuckets: botocore asks for "<endpoint>" itself (no trailing slash) -> route "".
    router.add_api_route("", s3_endpoint, methods=["GET", "HEAD"], include_in_schema=False)
    router.add_api_route("/", s3_endpoint, methods=["GET", "HEAD"], include_in_schema=False)
    router.add_api_route("/{bucket}", s3_endpoint, methods=methods, include_in_schema=False)
    router.add_api_route(
        "/{bucket}/{key:path}", s3_endpoint, methods=methods, include_in_schema=False
    )
    return router
