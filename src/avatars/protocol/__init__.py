"""The Avatar protocol: the one definition of every word the server, the SDK and the CLI share.

- :mod:`~avatars.protocol.enums`      every enumerated value (job kinds and statuses, column
  types, link methods, strategies, report options, ...); standard library only, so the
  engine may use it too
- :mod:`~avatars.protocol.wire`       JSON bodies of the REST API (pydantic)
- :mod:`~avatars.protocol.schema`     tables, columns, keys, links, pseudonymization (YAML)
- :mod:`~avatars.protocol.parameters` per-table parameters and their ranges (YAML)
- :mod:`~avatars.protocol.documents`  the YAML documents and resource sets: parsing,
  validation, writing
- :mod:`~avatars.protocol.results`    names of result files (and the table names in them)

This package imports nothing else of ``avatars``. Importing it does not import pydantic: each
module is imported on its own.
"""
