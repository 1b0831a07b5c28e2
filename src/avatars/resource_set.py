"""The YAML resource set, under its former module name.

Everything is defined in :mod:`avatars.protocol.documents` (documents, parsing, validation),
:mod:`avatars.protocol.schema` (tables, columns, links) and :mod:`avatars.protocol.parameters`
(per-table parameters and their ranges); this module re-exports them.
"""

from __future__ import annotations

from avatars.protocol.documents import *  # noqa: F403
from avatars.protocol.documents import __all__ as _documents_all
from avatars.protocol.parameters import *  # noqa: F403
from avatars.protocol.parameters import __all__ as _parameters_all
from avatars.protocol.schema import *  # noqa: F403
from avatars.protocol.schema import __all__ as _schema_all

__all__ = [*_documents_all, *_parameters_all, *_schema_all]
