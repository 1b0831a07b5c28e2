"""Bounds of the documents the server parses, checked before parsing.

YAML resource sets are bounded by :func:`avatars.protocol.documents.check_yaml_bounds`
(size and depth), S3 request documents by :mod:`avatars.server.s3.s3xml` (size, depth, no
DTD); JSON here: request bodies (:mod:`avatars.server.middleware`) and the JSON files a job
reads back from storage, which a user could have replaced.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Deepest nesting of arrays and objects in a JSON document (real ones nest 2 to 4 levels).
MAX_JSON_DEPTH = 64

_ESCAPE = re.compile(rb"\\.", re.S)
_STRING = re.compile(rb'"[^"]*"')
_BRACKETS = b"[]{}"
_TO_PARENS = bytes.maketrans(_BRACKETS, b"()()")
_NOT_BRACKETS = bytes(c for c in range(256) if c not in _BRACKETS)


def json_too_deep(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text ``body`` nests arrays and objects more than ``max_depth`` deep.

    Linear in the size of ``body``, without parsing it: escapes and strings are removed (two
    regular-expression passes that cannot backtrack), then innermost ``()`` pairs of the
    remaining brackets are removed ``max_depth`` times. Invalid JSON is left for the parser
    to refuse."""
    if body.count(b"[") + body.count(b"{") <= max_depth:
        return False
    text = _STRING.sub(b"", _ESCAPE.sub(b"", body))
    brackets = text.translate(_TO_PARENS, _NOT_BRACKETS)
    for _ in range(max_depth):
        reduced = brackets.replace(b"()", b"")
        if reduced == brackets:
            return False  # nothing left, or unbalanced: not deeper than this
        brackets = reduced
    return b"()" in brackets


class DocumentTooDeep(ValueError):
    pass


def load_json(data: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` of a document nesting at most ``max_depth`` levels
    (:class:`DocumentTooDeep` otherwise, ``json.JSONDecodeError`` when invalid)."""
    raw = data.encode() if isinstance(data, str) else data
    if json_too_deep(raw, max_depth):
        raise DocumentTooDeep(f"the JSON document nests more than {max_depth} levels deep")
    return json.loads(raw)
