"""Datasets: the caller's uploaded tables (this platform's addition to the protocol).

They are the files of the caller's upload prefix, the very place the S3 endpoint writes to and
``{volume: input, file: <name>}`` reads from, so a table uploaded here can be named in a
resource set at once. Bodies stream in both directions; nothing holds a whole file in memory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from avatars.protocol.enums import ObjectType, Verb
from avatars.server import files
from avatars.server.services.context import Caller, Context
from avatars.server.services.errors import InvalidInput, NotFound, TooLarge
from avatars.server.services.events import record
from avatars.server.storage import ObjectInfo, ObjectNotFoundError

#: Runs a blocking storage call away from the event loop: ``await offload(function, *args)``
#: (``fastapi.concurrency.run_in_threadpool`` in the API).
Offload = Callable[..., Awaitable[Any]]

WRITE_BLOCK = 1024 * 1024
_RESERVED = {files.RESULTS_DIR, files.SETS_DIR}


@dataclass(frozen=True)
class DatasetInfo:
    """One uploaded table: its name under the caller's prefix, its object, its expiry."""

    name: str
    info: ObjectInfo
    url: str  # s3://<bucket>/<key>
    expires_at: dt.datetime


def check_name(name: str) -> str:
    """A plain file name (no folders, not a reserved or temporary name), or InvalidInput."""
    if (
        name in (".", "..")
        or name in _RESERVED
        or any(c in name for c in "/\\\x00")
        or name.startswith(".avatars-tmp-")
    ):
        raise InvalidInput(f"invalid dataset name {name!r}: use a plain file name like iris.csv")
    return name


def _prefix(ctx: Context, caller: Caller) -> str:
    return files.upload_prefix(caller.user_id, ctx.settings.dataset_expiration_days) + "/"


def _described(ctx: Context, info: ObjectInfo, prefix: str) -> DatasetInfo:
    return DatasetInfo(
        name=info.key[len(prefix) :],
        info=info,
        url=files.s3_path(info.key),
        expires_at=info.last_modified + dt.timedelta(days=ctx.settings.dataset_expiration_days),
    )


def _event(ctx: Context, caller: Caller, verb: Verb, key: str, **details: Any) -> None:
    with ctx.db.writing() as session:
        record(
            session, ctx, caller, verb, ObjectType.file, object_name=key, details=details or None
        )


def list_datasets(ctx: Context, caller: Caller) -> list[DatasetInfo]:
    prefix = _prefix(ctx, caller)
    return [
        _described(ctx, info, prefix)
        for info in ctx.storage.list(prefix)
        if info.key[len(prefix) :].split("/", 1)[0] not in _RESERVED
    ]


async def upload_dataset(
    ctx: Context,
    caller: Caller,
    name: str,
    chunks: AsyncIterator[bytes],
    offload: Offload,
    *,
    declared_size: int | None = None,
) -> DatasetInfo:
    """Store the bytes of ``chunks`` as ``name`` (replacing it), atomically: nothing
    half-written becomes visible. Blocking storage calls go through ``offload``."""
    check_name(name)
    prefix = _prefix(ctx, caller)
    limit = ctx.settings.max_upload_bytes
    too_large = f"the file is larger than the limit of {limit} bytes"
    if declared_size is not None and declared_size > limit:
        raise TooLarge(too_large)
    writer = await offload(ctx.storage.writer, prefix + name)
    try:
        size = 0
        buffer = bytearray()
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise TooLarge(too_large)
            buffer += chunk
            if len(buffer) >= WRITE_BLOCK:
                await offload(writer.write, bytes(buffer))
                buffer.clear()
        if buffer:
            await offload(writer.write, bytes(buffer))
        if size == 0:
            raise InvalidInput("the body is empty: send the file's bytes")
        info: ObjectInfo = await offload(writer.commit)
    except BaseException:
        writer.discard()
        raise
    _event(ctx, caller, Verb.create, info.key, size=info.size)
    return _described(ctx, info, prefix)


def open_dataset(ctx: Context, caller: Caller, name: str) -> tuple[DatasetInfo, BinaryIO]:
    """A table's description and an open handle to read it (the caller closes it)."""
    check_name(name)
    prefix = _prefix(ctx, caller)
    key = prefix + name
    try:
        info = ctx.storage.info(key)
        handle = ctx.storage.open_read(key)
    except (ObjectNotFoundError, ValueError):
        raise NotFound.of("dataset") from None
    _event(ctx, caller, Verb.download, key)
    return _described(ctx, info, prefix), handle


def delete_dataset(ctx: Context, caller: Caller, name: str) -> None:
    check_name(name)
    key = _prefix(ctx, caller) + name
    if not ctx.storage.exists(key):
        raise NotFound.of("dataset")
    ctx.storage.delete(key)
    _event(ctx, caller, Verb.delete, key)
