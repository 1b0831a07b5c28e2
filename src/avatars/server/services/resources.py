"""Resource sets: the YAML documents describing a run (protocol.md §4), and their inputs.

Storing a set gives it a new UUID, every time. Its documents are validated
(:class:`InvalidInput` naming document, field and problem) and every input file it names is
snapshotted (``Storage.copy``: a hard link locally) into ``<user>/sets/<set>/input/``, so that
a later upload with the same name cannot change what this set's jobs read.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import yaml
from sqlalchemy.orm import Session

from avatars.protocol.documents import (
    ResourceSet,
    ResourceSetError,
    SchemaDocument,
    parse_resource_set,
)
from avatars.protocol.enums import ObjectType, Verb
from avatars.server import files
from avatars.server.db.models import ResourceSet as ResourceSetRow
from avatars.server.services.buckets import may_use_bucket
from avatars.server.services.context import Caller, Context
from avatars.server.services.errors import InvalidInput, NotFound, Unavailable
from avatars.server.services.events import record
from avatars.server.storage import StorageError

log = logging.getLogger(__name__)

MAX_DISPLAY_NAME = 1024


def invalid_set(exc: ResourceSetError) -> InvalidInput:
    """The service error of a set that does not validate, with its issues."""
    return InvalidInput(str(exc), issues=[i.as_dict() for i in exc.issues])


def visible_set(session: Session, caller: Caller, set_name: uuid.UUID) -> ResourceSetRow:
    row = session.get(ResourceSetRow, set_name)
    if row is None or not caller.can_see(row.user_id, row.organization_id):
        raise NotFound.of("resource set")
    return row


def get_set(ctx: Context, caller: Caller, set_name: uuid.UUID) -> ResourceSetRow:
    """A set the caller may see (its ``yaml`` is the text as stored)."""
    with ctx.db.reading() as session:
        return visible_set(session, caller, set_name)


def _source_key(
    session: Session,
    ctx: Context,
    caller: Caller,
    owner_id: uuid.UUID,
    resources: ResourceSet,
    volume: str | None,
    file: str,
) -> str:
    """The storage key a ``{volume, file}`` reference reads."""
    if volume in (None, "", "input"):
        return files.upload_key(owner_id, ctx.settings.dataset_expiration_days, file)
    declared = resources.volume(volume)
    if declared is None:
        raise ValueError(f"unknown volume '{volume}' (use 'input', or declare an AvatarVolume)")
    try:
        bucket, prefix = files.parse_storage_url(declared.spec.url)
    except files.BadStorageUrl as exc:
        raise ValueError(f"volume '{volume}': {exc}") from None
    if not may_use_bucket(session, caller, bucket):
        raise ValueError(f"volume '{volume}': you may not read {declared.spec.url}")
    return "/".join(p for p in (bucket, prefix, file) if p)


def snapshot_inputs(
    session: Session,
    ctx: Context,
    caller: Caller,
    owner_id: uuid.UUID,
    set_name: uuid.UUID,
    resources: ResourceSet,
    already: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Snapshot every file the schemas name; ``{"<volume>/<file>": snapshot key}``."""
    inputs: dict[str, str] = dict(already or {})
    problems: list[str] = []
    for doc in resources.of_kind(SchemaDocument.KIND):
        assert isinstance(doc, SchemaDocument)
        for table in doc.spec.tables:
            for data in (table.data, table.avatars_data, table.holdout_data):
                if data is None or not data.file:
                    continue
                ref = f"{data.volume or 'input'}/{data.file}"
                if ref in inputs:
                    continue
                try:
                    source = _source_key(
                        session, ctx, caller, owner_id, resources, data.volume, data.file
                    )
                    target = files.snapshot_key(owner_id, set_name, data.file)
                    if target in inputs.values():
                        raise ValueError(
                            f"another volume already provides a file named '{data.file}'"
                        )
                    if not ctx.storage.exists(source):
                        volume = data.volume or "input"
                        raise ValueError(
                            f"file '{data.file}' is not in volume '{volume}'; upload it first"
                        )
                    ctx.storage.copy(source, target)
                except ValueError as exc:  # includes invalid storage keys
                    problems.append(f"{doc.label}: table '{table.name}': {exc}")
                    continue
                except StorageError as exc:  # details (endpoints...) go to the log only
                    log.error("could not snapshot input file %s: %s", data.file, exc)
                    raise Unavailable("the storage backend is unavailable; retry later") from None
                inputs[ref] = target
    if problems:
        ctx.storage.delete_prefix(f"{owner_id}/{files.SETS_DIR}/{set_name}/")
        raise InvalidInput("; ".join(problems), problems=problems)
    return inputs


def check_display_name(display_name: str) -> str:
    if not display_name or len(display_name) > MAX_DISPLAY_NAME:
        raise InvalidInput(f"the display name must have 1 to {MAX_DISPLAY_NAME} characters")
    return display_name


def create_set(ctx: Context, caller: Caller, display_name: str, text: str) -> ResourceSetRow:
    """Store a new set from its YAML text, snapshotting its inputs."""
    check_display_name(display_name)
    try:
        resources = parse_resource_set(text)
    except ResourceSetError as exc:
        raise invalid_set(exc) from None
    set_name = uuid.uuid4()
    with ctx.db.reading() as session:
        inputs = snapshot_inputs(session, ctx, caller, caller.user_id, set_name, resources)
    row = ResourceSetRow(
        id=set_name,
        display_name=display_name,
        user_id=caller.user_id,
        organization_id=caller.organization_id,
        yaml=text,
        inputs=inputs,
        created_at=ctx.now(),
    )
    try:
        with ctx.db.writing() as session:
            session.add(row)
            record(
                session,
                ctx,
                caller,
                Verb.create,
                ObjectType.resource,
                object_id=set_name,
                object_name=display_name,
            )
    except Exception:
        ctx.storage.delete_prefix(f"{caller.user_id}/{files.SETS_DIR}/{set_name}/")
        raise
    return row


def append_to_set(ctx: Context, caller: Caller, set_name: uuid.UUID, text: str) -> ResourceSetRow:
    """Add the documents of ``text`` to a set (references are checked across both)."""
    try:
        added = parse_resource_set(text, check_references=False)
    except ResourceSetError as exc:
        raise invalid_set(exc) from None
    with ctx.db.reading() as session:
        row = visible_set(session, caller, set_name)
        try:
            merged = parse_resource_set(row.yaml, check_references=False).merged(added)
        except ResourceSetError as exc:  # pragma: no cover - stored sets were valid
            raise invalid_set(exc) from None
        issues = merged.reference_issues()
        if issues:
            raise invalid_set(ResourceSetError(issues))
        inputs = snapshot_inputs(session, ctx, caller, row.user_id, set_name, merged, row.inputs)
    with ctx.db.writing() as session:
        row = visible_set(session, caller, set_name)
        row.yaml = row.yaml.rstrip("\n") + "\n---\n" + text
        row.inputs = inputs
        record(
            session,
            ctx,
            caller,
            Verb.update,
            ObjectType.resource,
            object_id=set_name,
            object_name=row.display_name,
        )
        return row


def volume_yaml(
    ctx: Context,
    caller: Caller,
    *,
    volume_name: str,
    purpose: str,
    set_name: uuid.UUID | None = None,
) -> str:
    """The YAML of the caller's input or results volume (legacy, clients 1.0)."""
    url = files.upload_url(caller.user_id, ctx.settings.dataset_expiration_days)
    if purpose == "results":
        url += f"/{files.RESULTS_DIR}"
        if set_name is not None:
            url += f"/{get_set(ctx, caller, set_name).id}"
    document = {"kind": "AvatarVolume", "metadata": {"name": volume_name}, "spec": {"url": url}}
    return yaml.safe_dump(document, sort_keys=False)
