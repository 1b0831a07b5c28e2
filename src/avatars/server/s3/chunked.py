"""Incremental decoder of S3's ``aws-chunked`` content encoding.

botocore sends it over HTTPS (``x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER``)
and SDKs that sign chunks send it with ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]``.
After HTTP de-chunking the body looks like::

    <hex size>[;chunk-signature=<64 hex>]\\r\\n<data>\\r\\n
    ...
    0[;chunk-signature=<64 hex>]\\r\\n
    [<trailer-name>:<value>\\r\\n ...]
    [x-amz-trailer-signature:<64 hex>\\r\\n]
    \\r\\n

The decoder is fed the body in whatever pieces the network delivers and hands the payload
on as ``memoryview`` slices of those pieces, so nothing is copied or buffered except the
short framing lines: memory stays flat whatever the object size.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from avatars.server.s3.errors import S3Error, incomplete_body

#: Longest framing line accepted (a size line with a signature is ~90 bytes).
MAX_LINE = 4096
#: Largest single chunk accepted (S3 objects are at most 5 TiB).
MAX_CHUNK = 5 * 2**40

_SIZE, _DATA, _DATA_END, _TRAILER, _DONE = range(5)
_HEX = re.compile(rb"[0-9a-fA-F]{1,16}")


def malformed(message: str) -> S3Error:
    return S3Error("IncompleteBody", f"Malformed aws-chunked body: {message}", 400)


class AwsChunkedDecoder:
    """Decode ``aws-chunked`` framing incrementally.

    ``on_data(view)`` receives payload bytes (valid only during the call);
    ``on_chunk_end(signature)`` is called after each chunk, including the final empty one,
    with its ``chunk-signature`` (``None`` for unsigned framing).
    """

    def __init__(
        self,
        on_data: Callable[[memoryview], None],
        on_chunk_end: Callable[[str | None], None] | None = None,
    ) -> None:
        self._on_data = on_data
        self._on_chunk_end = on_chunk_end
        self._state = _SIZE
        self._line = bytearray()
        self._remaining = 0
        self._signature: str | None = None
        #: Trailing headers in arrival order, names lower-cased.
        self.trailers: list[tuple[str, str]] = []
        self.decoded_size = 0

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data).cast("B")
        pos, end = 0, len(view)
        while pos < end:
            state = self._state
            if state == _DATA:
                take = min(self._remaining, end - pos)
                self._on_data(view[pos : pos + take])
                pos += take
                self._remaining -= take
                self.decoded_size += take
                if not self._remaining:
                    self._state = _DATA_END
            elif state == _DATA_END:
                take = min(2 - len(self._line), end - pos)
                self._line += view[pos : pos + take]
                pos += take
                if len(self._line) == 2:
                    if self._line != b"\r\n":
                        raise malformed("chunk data is not followed by CRLF")
                    self._line.clear()
                    self._end_chunk()
                    self._state = _SIZE
            elif state in (_SIZE, _TRAILER):
                newline = _find_newline(view, pos, end)
                stop = end if newline < 0 else newline + 1
                self._line += view[pos:stop]
                pos = stop
                if len(self._line) > MAX_LINE:
                    raise malformed("framing line too long")
                if newline >= 0:
                    line = bytes(self._line)
                    self._line.clear()
                    if state == _SIZE:
                        self._size_line(line)
                    else:
                        self._trailer_line(line)
            else:
                raise malformed("data after the final chunk")

    def finish(self) -> list[tuple[str, str]]:
        """Check that the body ended where the framing says it does; return the trailers."""
        if self._state == _DONE or (self._state == _TRAILER and not self._line):
            # A missing final empty line after the trailers is tolerated: everything the
            # framing announced did arrive.
            self._state = _DONE
            return self.trailers
        raise incomplete_body("The aws-chunked body ended before its final chunk.")

    # -- framing ---------------------------------------------------------------------------
    def _size_line(self, line: bytes) -> None:
        if not line.endswith(b"\r\n"):
            raise malformed("chunk size line is not terminated by CRLF")
        size_text, _, extensions = line[:-2].partition(b";")
        if not _HEX.fullmatch(size_text.strip()):
            raise malformed("invalid chunk size")
        size = int(size_text, 16)
        if size > MAX_CHUNK:
            raise malformed("chunk too large")
        self._signature = None
        for extension in extensions.split(b";"):
            name, _, value = extension.partition(b"=")
            if name.strip() == b"chunk-signature":
                self._signature = value.strip().decode("ascii", "replace")
        if size:
            self._remaining = size
            self._state = _DATA
        else:
            self._end_chunk()
            self._state = _TRAILER

    def _trailer_line(self, line: bytes) -> None:
        text = line.rstrip(b"\r\n")
        if not text:
            self._state = _DONE
            return
        name, sep, value = text.partition(b":")
        if not sep or not name.strip():
            raise malformed("invalid trailing header")
        self.trailers.append(
            (
                name.strip().lower().decode("ascii", "replace"),
                value.strip().decode("ascii", "replace"),
            )
        )

    def _end_chunk(self) -> None:
        if self._on_chunk_end is not None:
            self._on_chunk_end(self._signature)


def _find_newline(view: memoryview, start: int, end: int) -> int:
    # memoryview has no find(); the framing lines are short, so search a bounded bytes copy.
    window = view[start : min(end, start + MAX_LINE + 2)].tobytes()
    found = window.find(b"\n")
    return -1 if found < 0 else start + found
