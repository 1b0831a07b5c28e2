"""S3's XML documents: rendering responses and parsing the few request bodies S3 defines.

Rendering goes through :mod:`xml.etree.ElementTree` so keys are always escaped. Request
bodies (CompleteMultipartUpload, DeleteObjects) come from authenticated callers but are
still parsed defensively: bounded size (enforced by the caller), no DTDs (rejected before
parsing, which rules out entity-expansion tricks), namespace-agnostic element matching
(clients send both namespaced and bare documents).
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import cast
from urllib.parse import quote

from avatars.server.s3.errors import S3Error, malformed_xml

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
XML_CONTENT_TYPE = "application/xml"


def iso8601(moment: dt.datetime) -> str:
    """S3's timestamp format in XML bodies: ``2009-10-12T17:50:30.000Z``."""
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _root(tag: str, *, namespaced: bool = True) -> ET.Element:
    return ET.Element(tag, {"xmlns": NAMESPACE} if namespaced else {})


def _add(parent: ET.Element, tag: str, text: str | int | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if text is not None:
        child.text = str(text)
    return child


DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def _serialize(root: ET.Element) -> bytes:
    return DECLARATION + ET.tostring(root, encoding="unicode").encode("utf-8")


def _bool(value: bool) -> str:
    return "true" if value else "false"


def quote_etag(etag: str) -> str:
    return f'"{etag}"'


# -- errors ------------------------------------------------------------------------------------


def error_document(error: S3Error, resource: str, request_id: str) -> bytes:
    root = _root("Error", namespaced=False)
    _add(root, "Code", error.code)
    _add(root, "Message", error.message)
    for tag, text in error.extra.items():
        _add(root, tag, text)
    _add(root, "Resource", resource)
    _add(root, "RequestId", request_id)
    return _serialize(root)


# -- buckets -----------------------------------------------------------------------------------


def list_buckets_document(owner: str, buckets: Iterable[str], created: dt.datetime) -> bytes:
    root = _root("ListAllMyBucketsResult")
    owner_el = _add(root, "Owner")
    _add(owner_el, "ID", owner)
    _add(owner_el, "DisplayName", owner)
    container = _add(root, "Buckets")
    for name in sorted(buckets):
        bucket = _add(container, "Bucket")
        _add(bucket, "Name", name)
        _add(bucket, "CreationDate", iso8601(created))
    return _serialize(root)


def location_document() -> bytes:
    # Empty LocationConstraint means us-east-1, which is what the official client signs for.
    return _serialize(_root("LocationConstraint"))


@dataclass(frozen=True)
class ListedObject:
    key: str
    size: int
    etag: str
    last_modified: dt.datetime


@dataclass
class ListingPage:
    """One page of a ListObjects answer, shared by the v1 and v2 renderers."""

    bucket: str
    prefix: str
    delimiter: str | None
    max_keys: int
    objects: list[ListedObject]
    common_prefixes: list[str]
    is_truncated: bool
    url_encode: bool


def _enc(page: ListingPage, value: str) -> str:
    # botocore asks for encoding-type=url on every listing and decodes with unquote_plus,
    # so every byte that is not unreserved (including '+') must be percent-encoded.
    return quote(value, safe="/") if page.url_encode else value


def _listing_body(root: ET.Element, page: ListingPage) -> None:
    for obj in page.objects:
        contents = _add(root, "Contents")
        _add(contents, "Key", _enc(page, obj.key))
        _add(contents, "LastModified", iso8601(obj.last_modified))
        _add(contents, "ETag", quote_etag(obj.etag))
        _add(contents, "Size", obj.size)
        _add(contents, "StorageClass", "STANDARD")
    for prefix in page.common_prefixes:
        _add(_add(root, "CommonPrefixes"), "Prefix", _enc(page, prefix))


def list_objects_v2_document(
    page: ListingPage,
    *,
    continuation_token: str | None,
    next_continuation_token: str | None,
    start_after: str | None,
) -> bytes:
    root = _root("ListBucketResult")
    _add(root, "Name", page.bucket)
    _add(root, "Prefix", _enc(page, page.prefix))
    if page.delimiter is not None:
        _add(root, "Delimiter", _enc(page, page.delimiter))
    _add(root, "MaxKeys", page.max_keys)
    _add(root, "KeyCount", len(page.objects) + len(page.common_prefixes))
    _add(root, "IsTruncated", _bool(page.is_truncated))
    if continuation_token is not None:
        _add(root, "ContinuationToken", continuation_token)
    if next_continuation_token is not None:
        _add(root, "NextContinuationToken", next_continuation_token)
    if start_after is not None:
        _add(root, "StartAfter", _enc(page, start_after))
    if page.url_encode:
        _add(root, "EncodingType", "url")
    _listing_body(root, page)
    return _serialize(root)


def list_objects_v1_document(page: ListingPage, *, marker: str, next_marker: str | None) -> bytes:
    root = _root("ListBucketResult")
    _add(root, "Name", page.bucket)
    _add(root, "Prefix", _enc(page, page.prefix))
    _add(root, "Marker", _enc(page, marker))
    if next_marker is not None:
        _add(root, "NextMarker", _enc(page, next_marker))
    if page.delimiter is not None:
        _add(root, "Delimiter", _enc(page, page.delimiter))
    _add(root, "MaxKeys", page.max_keys)
    _add(root, "IsTruncated", _bool(page.is_truncated))
    if page.url_encode:
        _add(root, "EncodingType", "url")
    _listing_body(root, page)
    return _serialize(root)


# -- objects -----------------------------------------------------------------------------------


def copy_object_document(etag: str, last_modified: dt.datetime) -> bytes:
    root = _root("CopyObjectResult")
    _add(root, "LastModified", iso8601(last_modified))
    _add(root, "ETag", quote_etag(etag))
    return _serialize(root)


def delete_result_document(
    deleted: Sequence[str], errors: Sequence[tuple[str, str, str]], *, quiet: bool
) -> bytes:
    root = _root("DeleteResult")
    if not quiet:
        for key in deleted:
            _add(_add(root, "Deleted"), "Key", key)
    for key, code, message in errors:
        err = _add(root, "Error")
        _add(err, "Key", key)
        _add(err, "Code", code)
        _add(err, "Message", message)
    return _serialize(root)


# -- multipart ---------------------------------------------------------------------------------


def initiate_multipart_document(bucket: str, key: str, upload_id: str) -> bytes:
    root = _root("InitiateMultipartUploadResult")
    _add(root, "Bucket", bucket)
    _add(root, "Key", key)
    _add(root, "UploadId", upload_id)
    return _serialize(root)


def complete_multipart_element(location: str, bucket: str, key: str, etag: str) -> ET.Element:
    root = _root("CompleteMultipartUploadResult")
    _add(root, "Location", location)
    _add(root, "Bucket", bucket)
    _add(root, "Key", key)
    _add(root, "ETag", quote_etag(etag))
    return root


def element_bytes(root: ET.Element, *, declaration: bool = True) -> bytes:
    """Serialize; without the declaration when it was already sent (keep-alive streaming)."""
    if declaration:
        return _serialize(root)
    return ET.tostring(root, encoding="unicode").encode("utf-8")


def error_element(error: S3Error, resource: str, request_id: str) -> ET.Element:
    return ET.fromstring(error_document(error, resource, request_id))


@dataclass(frozen=True)
class ListedPart:
    number: int
    etag: str
    size: int
    last_modified: dt.datetime


def list_parts_document(
    bucket: str,
    key: str,
    upload_id: str,
    parts: Sequence[ListedPart],
    *,
    marker: int,
    max_parts: int,
    is_truncated: bool,
) -> bytes:
    root = _root("ListPartsResult")
    _add(root, "Bucket", bucket)
    _add(root, "Key", key)
    _add(root, "UploadId", upload_id)
    _add(root, "PartNumberMarker", marker)
    if parts:
        _add(root, "NextPartNumberMarker", parts[-1].number)
    _add(root, "MaxParts", max_parts)
    _add(root, "IsTruncated", _bool(is_truncated))
    _add(root, "StorageClass", "STANDARD")
    for part in parts:
        el = _add(root, "Part")
        _add(el, "PartNumber", part.number)
        _add(el, "LastModified", iso8601(part.last_modified))
        _add(el, "ETag", quote_etag(part.etag))
        _add(el, "Size", part.size)
    return _serialize(root)


# -- request bodies ----------------------------------------------------------------------------


#: Deepest element nesting of a request document (S3's go 3 levels deep).
MAX_XML_DEPTH = 16


def _parse(body: bytes) -> ET.Element:
    """The root of a small request document (the caller bounds its size); no DTD or entity,
    at most :data:`MAX_XML_DEPTH` levels."""
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise malformed_xml()
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
    depth = 0
    root: ET.Element | None = None
    try:
        parser.feed(body)
        events = cast("Iterator[tuple[str, ET.Element]]", parser.read_events())
        for event, element in events:
            if event == "start":
                depth += 1
                if depth > MAX_XML_DEPTH:
                    raise malformed_xml()
                root = element if root is None else root
            else:
                depth -= 1
        parser.close()
    except ET.ParseError as exc:
        raise malformed_xml() from exc
    if root is None:
        raise malformed_xml()
    return root


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(parent: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in parent if _local(child.tag) == name]


def _text(parent: ET.Element, name: str) -> str | None:
    found = _children(parent, name)
    return None if not found else (found[0].text or "")


def parse_complete_multipart(body: bytes) -> list[tuple[int, str]]:
    """``[(PartNumber, ETag without quotes), ...]`` in document order."""
    root = _parse(body)
    if _local(root.tag) != "CompleteMultipartUpload":
        raise malformed_xml()
    parts: list[tuple[int, str]] = []
    for part in _children(root, "Part"):
        number, etag = _text(part, "PartNumber"), _text(part, "ETag")
        if number is None or etag is None:
            raise malformed_xml()
        try:
            parts.append((int(number.strip()), etag.strip().strip('"').lower()))
        except ValueError as exc:
            raise malformed_xml() from exc
    if not parts:
        raise malformed_xml()
    return parts


def parse_delete(body: bytes) -> tuple[list[str], bool]:
    """``(keys, quiet)`` of a DeleteObjects request."""
    root = _parse(body)
    if _local(root.tag) != "Delete":
        raise malformed_xml()
    quiet = (_text(root, "Quiet") or "").strip().lower() == "true"
    keys: list[str] = []
    for obj in _children(root, "Object"):
        key = _text(obj, "Key")
        if key is None:
            raise malformed_xml()
        keys.append(key)
    return keys, quiet
