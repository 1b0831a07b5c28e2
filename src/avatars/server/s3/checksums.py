"""The ``x-amz-checksum-*`` algorithms this endpoint can verify.

CRC32 (what botocore sends by default), SHA-1 and SHA-256 need only the standard library.
CRC32C and CRC64NVME need the optional ``awscrt`` package (as they do in botocore); when
it is absent a request claiming one of them is refused with a clear 400 rather than stored
with a checksum nobody verified.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Callable
from typing import Protocol

from avatars.server.s3.errors import S3Error


class Checksum(Protocol):
    def update(self, data: bytes | memoryview) -> None: ...

    def digest(self) -> bytes: ...


class _Crc32:
    def __init__(self) -> None:
        self._value = 0

    def update(self, data: bytes | memoryview) -> None:
        self._value = zlib.crc32(data, self._value)

    def digest(self) -> bytes:
        return (self._value & 0xFFFFFFFF).to_bytes(4, "big")


class _CrtCrc:
    def __init__(self, function: Callable[[bytes | memoryview, int], int], width: int) -> None:
        self._function = function
        self._width = width
        self._value = 0

    def update(self, data: bytes | memoryview) -> None:
        self._value = self._function(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._width, "big")


def _hashlib(name: str) -> Callable[[], Checksum]:
    return lambda: hashlib.new(name)


ALGORITHMS: dict[str, Callable[[], Checksum]] = {
    "crc32": _Crc32,
    "sha1": _hashlib("sha1"),
    "sha256": _hashlib("sha256"),
}

try:  # pragma: no cover - depends on the optional awscrt wheel
    from awscrt import checksums as _crt

    ALGORITHMS["crc32c"] = lambda: _CrtCrc(_crt.crc32c, 4)
    if hasattr(_crt, "crc64nvme"):
        ALGORITHMS["crc64nvme"] = lambda: _CrtCrc(_crt.crc64nvme, 8)
except ImportError:  # pragma: no cover
    pass

#: Every algorithm S3 defines, supported here or not.
KNOWN_ALGORITHMS = ("crc32", "crc32c", "crc64nvme", "sha1", "sha256")
HEADER_PREFIX = "x-amz-checksum-"


def require_supported(algorithm: str) -> str:
    algorithm = algorithm.lower()
    if algorithm not in KNOWN_ALGORITHMS:
        raise S3Error("InvalidRequest", f"Unknown checksum algorithm {algorithm!r}.", 400)
    if algorithm not in ALGORITHMS:
        raise S3Error(
            "InvalidRequest",
            f"Checksum algorithm {algorithm.upper()} cannot be verified by this server; "
            "use CRC32, SHA1 or SHA256.",
            400,
        )
    return algorithm


def decode_b64(value: str, header: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise S3Error("InvalidRequest", f"Value for {header} header is invalid.", 400) from exc


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")
