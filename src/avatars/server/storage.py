"""The server's object storage: one root URL, a local folder or any fsspec location.

Everything the platform keeps as files (uploads, job inputs, results, multipart parts) lives
under one root, addressed by ``/``-separated keys::

    <root>/<bucket>/<key>          objects served by the S3 endpoint (bucket = owner's user id)

The root is a local folder on the embedded default (``file:///.../storage`` or a plain path)
and any fsspec URL in production (``s3://bucket/prefix`` with ``storage_options`` carrying the
endpoint and keys). Writes are atomic: an object becomes visible only when its writer closes
without error, so a failed or truncated upload never leaves a partial object behind.

Reads and writes stream in bounded chunks; nothing here holds a whole object in memory.

In a local folder, directories are created 0700 and objects 0600
(:mod:`avatars.server.private_files`): uploads are for the platform's account only.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import os
import posixpath
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import fsspec
import fsspec.asyn
from fsspec.implementations.local import LocalFileSystem

from avatars.server.private_files import PRIVATE_FILE_MODE, make_private_dirs, open_private

#: Size of the blocks streamed by :meth:`Storage.iter_read`.
READ_BLOCK_SIZE = 1024 * 1024

log = logging.getLogger(__name__)

_TMP_PREFIX = ".avatars-tmp-"


class StorageError(Exception):
    """The storage backend failed (unreachable, permission denied, ...)."""


def backend_errors() -> tuple[type[BaseException], ...]:
    """What fsspec backends raise when the store fails: OS errors, and for S3 the errors of
    botocore and aiohttp that s3fs lets through (an unreachable endpoint, for one).

    Evaluated in each ``except`` clause, when an exception reaches it: botocore and aiohttp are
    then loaded if the S3 backend is in use, and a server on a storage folder never imports
    them (about a second of start-up)."""
    types: list[type[BaseException]] = [OSError]
    botocore = sys.modules.get("botocore.exceptions")
    if botocore is not None:
        types += [botocore.BotoCoreError, botocore.ClientError]
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is not None:
        types.append(aiohttp.ClientError)
    return tuple(types)


class ObjectNotFoundError(StorageError, FileNotFoundError):
    """No object under that key."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str  # without quotes
    last_modified: dt.datetime  # timezone-aware, UTC


def _validate_key(key: str) -> str:
    """Reject keys that could escape the root or name a temporary file."""
    if not key or key.startswith("/") or "\\" in key or "\x00" in key:
        raise ValueError(f"invalid storage key: {key!r}")
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts[:-1]) or parts[-1] in (".", ".."):
        raise ValueError(f"invalid storage key: {key!r}")
    if any(part.startswith(_TMP_PREFIX) for part in parts):
        raise ValueError(f"invalid storage key: {key!r}")
    return key


class AtomicWriter:
    """A writable stream that becomes the object at ``key`` only on :meth:`commit`.

    Use it as a context manager: leaving the block normally commits, an exception discards.
    ``md5`` and ``size`` are computed on the fly (the S3 endpoint needs them for ETags).
    """

    def __init__(self, storage: Storage, key: str) -> None:
        self._storage = storage
        self.key = _validate_key(key)
        self.size = 0
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._done = False
        fs, final = storage.fs, storage.path(key)
        self._final = final
        if storage.is_local:
            parent = posixpath.dirname(final)
            make_private_dirs(parent)
            self._tmp: str | None = posixpath.join(parent, f"{_TMP_PREFIX}{uuid.uuid4().hex}")
            self._file: Any = os.fdopen(open_private(self._tmp), "wb")
        else:
            # Remote stores (S3...) publish an object only when its upload completes,
            # and discard() aborts the multipart upload: atomic by construction.
            self._tmp = None
            self._file = fs.open(final, "wb")

    @property
    def md5_hex(self) -> str:
        return self._md5.hexdigest()

    def write(self, data: bytes) -> None:
        if self._done:
            raise StorageError("write after commit or discard")
        self._md5.update(data)
        self.size += len(data)
        try:
            self._file.write(data)
        except backend_errors() as exc:
            raise StorageError(f"could not write {self.key}: {exc}") from exc

    def commit(self) -> ObjectInfo:
        if self._done:
            raise StorageError("commit after commit or discard")
        self._done = True
        try:
            self._file.close()
            if self._tmp is not None:
                os.replace(self._tmp, self._final)
        except backend_errors() as exc:
            self._cleanup()
            raise StorageError(f"could not store {self.key}: {exc}") from exc
        return self._storage.info(self.key)

    def discard(self) -> None:
        if self._done:
            return
        self._done = True
        self._cleanup()

    def _cleanup(self) -> None:
        with contextlib.suppress(Exception):
            if self._tmp is not None:
                self._file.close()
                os.unlink(self._tmp)
            else:
                self._file.discard()
                self._file.close()

    def __enter__(self) -> AtomicWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None and not self._done:
            self.commit()
        else:
            self.discard()


#: S3's limits for the parts of a multipart upload (UploadPartCopy included).
S3_MIN_PART_SIZE = 5 * 1024 * 1024
S3_MAX_PART_SIZE = 5 * 1024**3
S3_MAX_PARTS = 10_000
#: Part copies in flight at once during an in-store assembly.
_PART_COPY_CONCURRENCY = 8


async def _copy_into_multipart_upload(fs: Any, bucket: str, key: str, paths: list[str]) -> None:
    """``bucket/key`` := the concatenation of ``paths`` (``bucket/key`` strings of the same
    S3 store), copied inside the store; the upload is aborted if anything fails."""
    upload_id = (await fs._call_s3("create_multipart_upload", Bucket=bucket, Key=key))["UploadId"]
    limit = asyncio.Semaphore(_PART_COPY_CONCURRENCY)

    async def copy(number: int, path: str) -> dict[str, Any]:
        async with limit:
            out = await fs._call_s3(
                "upload_part_copy",
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                CopySource=path,
                PartNumber=number,
            )
        return {"PartNumber": number, "ETag": out["CopyPartResult"]["ETag"]}

    try:
        parts = await asyncio.gather(*(copy(n, p) for n, p in enumerate(paths, start=1)))
        await fs._call_s3(
            "complete_multipart_upload",
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": list(parts)},
        )
    except BaseException:
        with contextlib.suppress(Exception):
            await fs._call_s3("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)
        raise


class Storage:
    """Objects under one root URL, addressed by relative keys such as ``<bucket>/30d/iris.csv``."""

    def __init__(self, root_url: str, storage_options: dict[str, Any] | None = None) -> None:
        options = dict(storage_options or {})
        if "://" in root_url and not root_url.startswith("file://"):
            # Several processes (API servers, Dask workers) write the same store: a listing
            # cached by one of them would hide the others' objects.
            options.setdefault("use_listings_cache", False)
        fs, root = fsspec.core.url_to_fs(root_url, **options)
        self.fs: fsspec.AbstractFileSystem = fs
        self.root: str = root.rstrip("/")
        self.root_url = root_url
        self.is_local = isinstance(fs, LocalFileSystem)
        if self.is_local:
            make_private_dirs(self.root)

    # -- addressing ---------------------------------------------------------------------
    def path(self, key: str) -> str:
        """The backend path of ``key`` (for fsspec calls)."""
        return f"{self.root}/{_validate_key(key)}"

    def _key_of(self, path: str) -> str:
        path = path.rstrip("/")
        root = self.root
        if self.is_local:
            path, root = os.path.abspath(path), os.path.abspath(root)
        return path[len(root) + 1 :]

    # -- queries ------------------------------------------------------------------------
    def info(self, key: str) -> ObjectInfo:
        try:
            raw = self.fs.info(self.path(key))
        except FileNotFoundError as exc:
            raise ObjectNotFoundError(key) from exc
        except backend_errors() as exc:
            raise StorageError(f"could not stat {key}: {exc}") from exc
        if raw.get("type") != "file":
            raise ObjectNotFoundError(key)
        return self._object_info(key, raw)

    def _object_info(self, key: str, raw: dict[str, Any]) -> ObjectInfo:
        size = int(raw.get("size") or 0)
        if self.is_local:
            mtime = float(raw.get("mtime") or 0.0)
            modified = dt.datetime.fromtimestamp(mtime, tz=dt.UTC)
            # The local backend keeps no content hash; (size, mtime, inode) changes whenever
            # the content is replaced, which is all that ETag/If-Match need.
            token = f"{size}-{mtime!r}-{raw.get('ino', '')}".encode()
            etag = hashlib.md5(token, usedforsecurity=False).hexdigest()
        else:
            etag = str(raw.get("ETag") or raw.get("etag") or "").strip('"')
            reported = raw.get("LastModified") or raw.get("last_modified") or raw.get("mtime")
            if not isinstance(reported, dt.datetime):
                modified = dt.datetime.now(dt.UTC)
            elif reported.tzinfo is None:
                modified = reported.replace(tzinfo=dt.UTC)
            else:
                modified = reported
            if not etag:
                etag = hashlib.md5(f"{size}-{modified}".encode(), usedforsecurity=False).hexdigest()
        return ObjectInfo(key=key, size=size, etag=etag, last_modified=modified)

    def exists(self, key: str) -> bool:
        try:
            self.info(key)
        except ObjectNotFoundError:
            return False
        return True

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in key order."""
        prefix = prefix.lstrip("/")
        # List the deepest directory that contains the whole prefix, then filter.
        base = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        base_path = f"{self.root}/{base}" if base else self.root
        try:
            found = self.fs.find(base_path, detail=True)
        except FileNotFoundError:
            return
        except backend_errors() as exc:
            raise StorageError(f"could not list {prefix!r}: {exc}") from exc
        for path in sorted(found):
            raw = found[path]
            key = self._key_of(path)
            if raw.get("type") != "file" or not key.startswith(prefix):
                continue
            if any(part.startswith(_TMP_PREFIX) for part in key.split("/")):
                continue
            yield self._object_info(key, raw)

    # -- reading ------------------------------------------------------------------------
    def open_read(self, key: str) -> BinaryIO:
        try:
            return self.fs.open(self.path(key), "rb")
        except FileNotFoundError as exc:
            raise ObjectNotFoundError(key) from exc
        except backend_errors() as exc:
            raise StorageError(f"could not read {key}: {exc}") from exc

    def iter_read(
        self, key: str, start: int = 0, end: int | None = None, block_size: int = READ_BLOCK_SIZE
    ) -> Iterator[bytes]:
        """Stream bytes ``[start, end)`` of the object (``end=None``: to the end)."""
        with self.open_read(key) as handle:
            remaining = None if end is None else max(0, end - start)
            try:
                if start:
                    handle.seek(start)
                while remaining is None or remaining > 0:
                    size = block_size if remaining is None else min(block_size, remaining)
                    block = handle.read(size)
                    if not block:
                        break
                    if remaining is not None:
                        remaining -= len(block)
                    yield block
            except FileNotFoundError as exc:
                raise ObjectNotFoundError(key) from exc
            except backend_errors() as exc:
                raise StorageError(f"could not read {key}: {exc}") from exc

    def read_bytes(self, key: str) -> bytes:
        return b"".join(self.iter_read(key))

    # -- writing ------------------------------------------------------------------------
    def writer(self, key: str) -> AtomicWriter:
        """An atomic writer for ``key``: see :class:`AtomicWriter`."""
        try:
            return AtomicWriter(self, key)
        except backend_errors() as exc:
            raise StorageError(f"could not open {key} for writing: {exc}") from exc

    def write_bytes(self, key: str, data: bytes) -> ObjectInfo:
        with self.writer(key) as out:
            out.write(data)
        return self.info(key)

    def copy(self, source: str, destination: str) -> ObjectInfo:
        """Snapshot ``source`` as ``destination`` (cheap: a hard link locally, a server-side
        copy on S3). Later replacements of ``source`` do not change the copy, because writers
        always replace objects rather than modify them in place."""
        src, dst = self.path(source), self.path(destination)
        try:
            if self.is_local:
                make_private_dirs(posixpath.dirname(dst))
                tmp = posixpath.join(posixpath.dirname(dst), f"{_TMP_PREFIX}{uuid.uuid4().hex}")
                try:
                    os.link(src, tmp)  # the same file: its mode is the source's
                except OSError:  # another filesystem, or links not supported
                    self.fs.copy(src, tmp)
                    os.chmod(tmp, PRIVATE_FILE_MODE)
                os.replace(tmp, dst)
            else:
                self.fs.copy(src, dst)
        except FileNotFoundError as exc:
            raise ObjectNotFoundError(source) from exc
        except backend_errors() as exc:
            raise StorageError(f"could not copy {source} to {destination}: {exc}") from exc
        return self.info(destination)

    def concatenate(self, sources: Sequence[str], destination: str) -> ObjectInfo:
        """Atomically make ``destination`` the concatenation of ``sources`` (S3 multipart
        completion). Locally the bytes are copied inside the kernel (``copy_file_range``),
        an order of magnitude faster than through Python; elsewhere they stream through an
        atomic writer. Either way nothing is visible until the whole object is."""
        if not self.is_local:
            if self._merge_in_store(sources, destination):
                return self.info(destination)
            with self.writer(destination) as out:
                for source in sources:
                    for block in self.iter_read(source):
                        out.write(block)
            return self.info(destination)
        dst = self.path(destination)
        tmp = posixpath.join(posixpath.dirname(dst), f"{_TMP_PREFIX}{uuid.uuid4().hex}")
        try:
            make_private_dirs(posixpath.dirname(dst))
            with os.fdopen(open_private(tmp), "wb", buffering=0) as out:
                for source in sources:
                    with open(self.path(source), "rb", buffering=0) as src:
                        _copy_file(src, out)
            os.replace(tmp, dst)
        except backend_errors() as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, FileNotFoundError):
                raise ObjectNotFoundError(str(exc.filename or "")) from exc
            raise StorageError(f"could not assemble {destination}: {exc}") from exc
        return self.info(destination)

    def _merge_in_store(self, sources: Sequence[str], destination: str) -> bool:
        """On an S3 store, assemble ``destination`` inside the store: a multipart upload
        whose parts are server-side copies of ``sources`` (UploadPartCopy), so no byte goes
        through this process and the object appears whole when the upload completes.

        False, with nothing left behind, when it cannot be done: not an S3 store, parts
        outside S3's copy limits (every part but the last >= 5 MiB, each <= 5 GiB, at most
        10,000), or a store that refuses UploadPartCopy. The caller then streams."""
        if not hasattr(self.fs, "_call_s3") or not sources:
            return False
        paths = [self.path(source) for source in sources]
        try:
            sizes = [int(self.fs.info(path)["size"]) for path in paths]
        except Exception:  # a missing part: the streaming path reports it properly
            return False
        if (
            len(paths) > S3_MAX_PARTS
            or any(size < S3_MIN_PART_SIZE for size in sizes[:-1])
            or any(size > S3_MAX_PART_SIZE for size in sizes)
        ):
            return False
        bucket, key, _ = self.fs.split_path(self.path(destination))
        try:
            fsspec.asyn.sync(self.fs.loop, _copy_into_multipart_upload, self.fs, bucket, key, paths)
        except Exception as exc:  # the store declined: streaming is always possible
            log.info("in-store assembly of %s declined (%s); streaming it", destination, exc)
            return False
        self.fs.invalidate_cache(self.path(destination))
        log.debug("assembled %s inside the store from %d parts", destination, len(paths))
        return True

    def delete(self, key: str) -> None:
        """Delete one object; deleting a missing object is not an error (as in S3)."""
        path = self.path(key)
        try:
            self.fs.rm_file(path)
        except FileNotFoundError:
            pass
        except backend_errors() as exc:
            raise StorageError(f"could not delete {key}: {exc}") from exc

    def delete_prefix(self, prefix: str) -> None:
        """Delete every object under ``prefix`` (a ``/``-terminated folder-like prefix)."""
        if not prefix.endswith("/"):
            raise ValueError("delete_prefix needs a prefix ending with '/'")
        path = f"{self.root}/{prefix.rstrip('/')}"
        try:
            self.fs.rm(path, recursive=True)
        except FileNotFoundError:
            pass
        except backend_errors() as exc:
            raise StorageError(f"could not delete {prefix}: {exc}") from exc


def _copy_file(source: BinaryIO, target: BinaryIO) -> None:
    """Append ``source`` to ``target`` (raw files), in the kernel when it can."""
    remaining = os.fstat(source.fileno()).st_size
    with contextlib.suppress(OSError, AttributeError):  # no copy_file_range: plain copy
        while remaining > 0:
            copied = os.copy_file_range(source.fileno(), target.fileno(), remaining)
            if not copied:
                break
            remaining -= copied
    while block := source.read(READ_BLOCK_SIZE):
        view = memoryview(block)
        while view:  # raw files may write less than asked
            view = view[target.write(view) or 0 :]
