"""The YAML resource set: the documents a client uploads to describe a run (protocol.md §4).

A resource set is one multi-document YAML string. Each document is ``{kind, metadata: {name},
spec}`` (``AvatarMetadata`` also has top-level ``annotations``). This module gives them
pydantic models, parses a set with :func:`parse_resource_set` and writes one back with
:meth:`ResourceSet.to_yaml`, so that the server validates what it receives and the SDK builds
what it sends with the same code.

Validation reports every problem it finds, each naming the document (its kind and
``metadata.name``), the field and the problem, e.g.
``AvatarParameters 'standard': spec.avatarization.iris.k: Input should be greater than or
equal to 2``. Parameter ranges are in :mod:`avatars.protocol.parameters`, the schema's pieces
in :mod:`avatars.protocol.schema`.

Tolerance: fields this module does not know are kept (newer clients add some), and documents
of unknown kinds are kept as :class:`GenericDocument`; only a job that needs one fails.
Bounds: a set is at most :data:`MAX_YAML_BYTES` long, nests at most :data:`MAX_YAML_DEPTH`
levels and expands (aliases included) to at most :data:`MAX_YAML_NODES` values; all are
checked before the documents are built.

Pure pydantic and PyYAML: no server import.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from avatars.protocol.enums import (
    AdviceType,
    DocumentKind,
    OutputFormat,
    ReportLanguage,
    ReportType,
)
from avatars.protocol.errors import validation_issues
from avatars.protocol.parameters import (
    AvatarizationFastDPParameters,
    AvatarizationOpenDPParameters,
    AvatarizationParameters,
    PrivacyMetricsParameters,
    ResultsSpec,
    SignalMetricsParameters,
    TimeSeriesParameters,
)
from avatars.protocol.schema import Table

__all__ = [
    "DOCUMENT_TYPES",
    "MAX_YAML_BYTES",
    "MAX_YAML_DEPTH",
    "MAX_YAML_NODES",
    "PARAMETER_KINDS",
    "AdviceDocument",
    "AdviceOptions",
    "AdviceSpec",
    "AvatarizationDocument",
    "Document",
    "GenericDocument",
    "Metadata",
    "MetadataDocument",
    "MetadataSpec",
    "ParametersSpec",
    "PrivacyMetricsDocument",
    "ReportDocument",
    "ReportSpec",
    "ResourceSet",
    "ResourceSetError",
    "ResourceSetIssue",
    "Results",
    "SchemaDocument",
    "SchemaSpec",
    "SignalMetricsDocument",
    "VolumeDocument",
    "VolumeSpec",
    "check_yaml_bounds",
    "parse_document",
    "parse_resource_set",
    "sort_documents",
]

#: Largest resource set accepted, in bytes of YAML text.
MAX_YAML_BYTES = 16 * 1024 * 1024
#: Deepest nesting of mappings and sequences accepted (real sets nest about 8 levels).
MAX_YAML_DEPTH = 64
#: Most values (scalars, mappings, sequences) a set may hold once its aliases are expanded
#: (real sets hold a few hundred).
MAX_YAML_NODES = 1_000_000

#: Kept under the old name: the results spec of a parameters document.
Results = ResultsSpec


class _Spec(BaseModel):
    # Unknown fields are kept: a newer client's additions survive a round trip.
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Metadata(_Spec):
    name: Annotated[str, Field(min_length=1)]


# -- specs ------------------------------------------------------------------------------------


class MetadataSpec(_Spec):
    display_name: str | None = None
    pia_metadata: dict[str, Any] | None = None


class VolumeSpec(_Spec):
    url: str


class SchemaSpec(_Spec):
    tables: Annotated[list[Table], Field(min_length=1)]
    schema_ref: str | None = None
    check_links_between_tables: bool | None = None


class ParametersSpec(_Spec):
    # ``schema`` shadows a BaseModel attribute, hence the alias.
    schema_name: str = Field(alias="schema")
    avatarization: dict[str, AvatarizationParameters] | None = None
    avatarization_open_dp: dict[str, AvatarizationOpenDPParameters] | None = None
    avatarization_fast_dp: dict[str, AvatarizationFastDPParameters] | None = None
    avatarization_ref: str | None = None
    time_series: dict[str, TimeSeriesParameters] | None = None
    time_series_ref: str | None = None
    privacy_metrics: dict[str, PrivacyMetricsParameters] | None = None
    signal_metrics: dict[str, SignalMetricsParameters] | None = None
    results: ResultsSpec | None = None
    seed: Annotated[int, Field(ge=0)] | None = None
    compute_figures: bool | None = None
    input: dict[str, Any] | None = None


class ReportSpec(_Spec):
    report_type: ReportType = ReportType.BASIC
    output_format: OutputFormat = OutputFormat.PDF
    language: ReportLanguage = ReportLanguage.EN
    results: ResultsSpec | None = None


class AdviceOptions(_Spec):
    advisor_type: list[AdviceType] = Field(default_factory=lambda: [AdviceType.PARAMETERS])
    #: Privacy targets the advised parameters must meet, ``{metric: threshold}`` (this
    #: platform's extension): a number in the metric's unit with its usual comparison
    #: (``hidden_rate: 90`` means above 90 %), or a target string (``"> 90"``). The advice
    #: then measures candidates instead of reading the data's shape.
    targets: dict[str, int | float | str] | None = None


class AdviceSpec(_Spec):
    schema_name: str = Field(alias="schema")
    advice: AdviceOptions = Field(default_factory=AdviceOptions)
    results: ResultsSpec | None = None


# -- documents --------------------------------------------------------------------------------


class Document(_Spec):
    """One YAML document. Subclasses fix ``kind`` and type ``spec``."""

    KIND: ClassVar[str] = ""
    kind: str
    metadata: Metadata
    spec: Any = None

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def label(self) -> str:
        """How errors name this document: its kind and name."""
        return f"{self.kind} '{self.metadata.name}'"


class MetadataDocument(Document):
    KIND: ClassVar[str] = DocumentKind.METADATA.value
    spec: MetadataSpec | None = None
    annotations: dict[str, Any] | None = None


class VolumeDocument(Document):
    KIND: ClassVar[str] = DocumentKind.VOLUME.value
    spec: VolumeSpec


class SchemaDocument(Document):
    KIND: ClassVar[str] = DocumentKind.SCHEMA.value
    spec: SchemaSpec

    def table(self, name: str) -> Table | None:
        return next((t for t in self.spec.tables if t.name == name), None)


class AvatarizationDocument(Document):
    KIND: ClassVar[str] = DocumentKind.AVATARIZATION_PARAMETERS.value
    spec: ParametersSpec


class PrivacyMetricsDocument(Document):
    KIND: ClassVar[str] = DocumentKind.PRIVACY_METRICS_PARAMETERS.value
    spec: ParametersSpec


class SignalMetricsDocument(Document):
    KIND: ClassVar[str] = DocumentKind.SIGNAL_METRICS_PARAMETERS.value
    spec: ParametersSpec


class ReportDocument(Document):
    KIND: ClassVar[str] = DocumentKind.REPORT.value
    spec: ReportSpec = Field(default_factory=ReportSpec)


class AdviceDocument(Document):
    KIND: ClassVar[str] = DocumentKind.ADVICE.value
    spec: AdviceSpec


class GenericDocument(Document):
    """A document of a kind this version does not know; kept as is."""


DOCUMENT_TYPES: dict[str, type[Document]] = {
    cls.KIND: cls
    for cls in (
        MetadataDocument,
        VolumeDocument,
        SchemaDocument,
        AvatarizationDocument,
        PrivacyMetricsDocument,
        SignalMetricsDocument,
        ReportDocument,
        AdviceDocument,
    )
}

#: Kinds that a job can be created from (``parameters_name`` names one of these).
PARAMETER_KINDS = (
    AvatarizationDocument.KIND,
    PrivacyMetricsDocument.KIND,
    SignalMetricsDocument.KIND,
    ReportDocument.KIND,
    AdviceDocument.KIND,
)
#: The order the official client writes documents in (avatar-yaml ``models/config.py``).
_KIND_ORDER = {
    kind: i
    for i, kind in enumerate(["AvatarMetadata", "AvatarVolume", "AvatarSchema", *PARAMETER_KINDS])
}


# -- errors -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceSetIssue:
    document: str  # "AvatarParameters 'standard'", or "document 3" when it has no name
    field: str  # dotted path, e.g. "spec.avatarization.iris.k"; "" for the whole document
    problem: str

    def __str__(self) -> str:
        where = f"{self.document}: {self.field}" if self.field else self.document
        return f"{where}: {self.problem}"

    def as_dict(self) -> dict[str, str]:
        return {"document": self.document, "field": self.field, "problem": self.problem}


class ResourceSetError(ValueError):
    """The YAML is not a valid resource set; ``issues`` lists every problem found."""

    def __init__(self, issues: list[ResourceSetIssue]) -> None:
        self.issues = issues
        shown = "; ".join(str(i) for i in issues[:10])
        more = f" (and {len(issues) - 10} more)" if len(issues) > 10 else ""
        super().__init__(f"invalid resource set: {shown}{more}")


def _dotted(loc: Iterable[Any]) -> str:
    return ".".join(str(part) for part in loc)


def _issues_from_validation(label: str, exc: ValidationError) -> list[ResourceSetIssue]:
    return [ResourceSetIssue(label, field, problem) for field, problem in validation_issues(exc)]


# -- the set ----------------------------------------------------------------------------------


class ResourceSet:
    """The documents of one set, in order, with lookups by name."""

    def __init__(self, documents: list[Document]) -> None:
        self.documents = documents

    def __iter__(self) -> Iterator[Document]:
        return iter(self.documents)

    def __len__(self) -> int:
        return len(self.documents)

    # lookups
    def get(self, name: str, kinds: Iterable[str] | None = None) -> Document | None:
        wanted = set(kinds) if kinds is not None else None
        for doc in self.documents:
            if doc.name == name and (wanted is None or doc.kind in wanted):
                return doc
        return None

    def of_kind(self, kind: str) -> list[Document]:
        return [d for d in self.documents if d.kind == kind]

    def parameters(self, name: str) -> Document | None:
        """The parameters document a job named ``name`` would run."""
        return self.get(name, PARAMETER_KINDS)

    def schema(self, name: str) -> SchemaDocument | None:
        doc = self.get(name, [SchemaDocument.KIND])
        return doc if isinstance(doc, SchemaDocument) else None

    def volume(self, name: str) -> VolumeDocument | None:
        doc = self.get(name, [VolumeDocument.KIND])
        return doc if isinstance(doc, VolumeDocument) else None

    @property
    def display_name(self) -> str | None:
        for doc in self.of_kind(MetadataDocument.KIND):
            if isinstance(doc, MetadataDocument) and doc.spec and doc.spec.display_name:
                return doc.spec.display_name
        return None

    def original_schema(self, schema: SchemaDocument) -> SchemaDocument:
        """Follow ``schema_ref`` to the schema that holds the original data."""
        seen = {schema.name}
        while schema.spec.schema_ref:
            parent = self.schema(schema.spec.schema_ref)
            if parent is None or parent.name in seen:
                break
            seen.add(parent.name)
            schema = parent
        return schema

    # writing
    def to_data(self) -> list[dict[str, Any]]:
        return [
            doc.model_dump(mode="json", by_alias=True, exclude_none=True) for doc in self.documents
        ]

    def to_yaml(self) -> str:
        """The set as the client sends it: documents separated by ``---``, ``None`` omitted."""
        return "\n---\n".join(
            yaml.safe_dump(data, sort_keys=False, allow_unicode=True) for data in self.to_data()
        )

    def merged(self, other: ResourceSet) -> ResourceSet:
        """This set with ``other``'s documents added (``POST /resources/{set_name}``)."""
        return ResourceSet([*self.documents, *other.documents])

    # validation
    def reference_issues(self) -> list[ResourceSetIssue]:
        """Problems between documents: dangling names, tables missing from a schema..."""
        issues: list[ResourceSetIssue] = []
        seen: dict[tuple[str, str], str] = {}
        for doc in self.documents:
            group = "parameters" if doc.kind in PARAMETER_KINDS else doc.kind
            key = (group, doc.name)
            if key in seen:
                issues.append(
                    ResourceSetIssue(
                        doc.label, "metadata.name", f"the name is already used by {seen[key]}"
                    )
                )
            else:
                seen[key] = doc.label
        for doc in self.documents:
            if isinstance(doc, SchemaDocument):
                issues += self._schema_issues(doc)
            elif isinstance(
                doc, AvatarizationDocument | PrivacyMetricsDocument | SignalMetricsDocument
            ):
                issues += self._parameters_issues(doc)
            elif isinstance(doc, AdviceDocument) and self.schema(doc.spec.schema_name) is None:
                issues.append(self._missing_schema(doc, doc.spec.schema_name))
        return issues

    @staticmethod
    def _missing_schema(doc: Document, name: str) -> ResourceSetIssue:
        return ResourceSetIssue(doc.label, "spec.schema", f"no AvatarSchema named '{name}'")

    def _schema_issues(self, doc: SchemaDocument) -> list[ResourceSetIssue]:
        issues: list[ResourceSetIssue] = []

        def add(field: str, problem: str) -> None:
            issues.append(ResourceSetIssue(doc.label, field, problem))

        ref = doc.spec.schema_ref
        parent = self.schema(ref) if ref else None
        if ref and parent is None:
            add("spec.schema_ref", f"no AvatarSchema named '{ref}'")
        names = [t.name for t in doc.spec.tables]
        for i, table in enumerate(doc.spec.tables):
            where = f"spec.tables.{i}"
            if names.count(table.name) > 1:
                add(f"{where}.name", f"table '{table.name}' is declared twice")
            if ref:
                if parent is not None and parent.table(table.name) is None:
                    add(f"{where}.name", f"table '{table.name}' is not in schema '{ref}'")
                data = table.avatars_data
                if data is not None and not data.auto and not data.file:
                    add(f"{where}.avatars_data", "expected 'auto: true' or a 'file'")
            elif table.data is None or not table.data.file:
                add(f"{where}.data.file", f"table '{table.name}' needs a data file")
            fields = [c.field for c in table.columns or []]
            for j, column in enumerate(table.columns or []):
                if fields.count(column.field) > 1:
                    add(f"{where}.columns.{j}.field", f"column '{column.field}' is declared twice")
            for j, link in enumerate(table.links or []):
                if link.to.table not in names:
                    add(f"{where}.links.{j}.to.table", f"no table '{link.to.table}' in this schema")
        return issues

    def _parameters_issues(
        self, doc: AvatarizationDocument | PrivacyMetricsDocument | SignalMetricsDocument
    ) -> list[ResourceSetIssue]:
        spec = doc.spec
        schema = self.schema(spec.schema_name)
        if schema is None:
            return [self._missing_schema(doc, spec.schema_name)]
        issues: list[ResourceSetIssue] = []

        def add(field: str, problem: str) -> None:
            issues.append(ResourceSetIssue(doc.label, field, problem))

        tables = {t.name for t in schema.spec.tables}
        maps = {
            "avatarization": spec.avatarization,
            "avatarization_open_dp": spec.avatarization_open_dp,
            "avatarization_fast_dp": spec.avatarization_fast_dp,
            "time_series": spec.time_series,
            "privacy_metrics": spec.privacy_metrics,
            "signal_metrics": spec.signal_metrics,
        }
        if isinstance(doc, AvatarizationDocument) and not any(maps[m] for m in list(maps)[:4]):
            add("spec", f"expected one of {', '.join(list(maps)[:4])}")
        for field, per_table in maps.items():
            for table in per_table or {}:
                if table not in tables:
                    add(
                        f"spec.{field}.{table}", f"table '{table}' is not in schema '{schema.name}'"
                    )
        avatarizations = list(maps)[:3]
        for table in tables:
            given = [m for m in avatarizations if table in (maps[m] or {})]
            if len(given) > 1:
                add(
                    f"spec.{given[1]}.{table}",
                    f"table '{table}' has parameters in both {given[0]} and {given[1]}: k and "
                    "epsilon are exclusive, keep one (k-avatars, OpenDP or FastDP)",
                )
        ref = spec.avatarization_ref
        if ref and self.get(ref, [AvatarizationDocument.KIND]) is None:
            add("spec.avatarization_ref", f"no AvatarParameters named '{ref}'")
        return issues


def check_yaml_bounds(
    text: str,
    *,
    max_bytes: int = MAX_YAML_BYTES,
    max_depth: int = MAX_YAML_DEPTH,
    max_nodes: int = MAX_YAML_NODES,
) -> None:
    """Refuse a YAML text that is too long, nests too deeply or expands to too many nodes,
    before building anything.

    PyYAML's parser is iterative but its constructor recurses: a document nested thousands
    of levels deep would exhaust the stack. Aliases are shared when loaded but expanded by
    whatever walks the documents later (validation, serialization): nine levels of ten
    aliases of the one before ("billion laughs") are a few hundred bytes and 10^9 nodes. So
    the events are counted, each alias as the size of the node it repeats, which costs one
    more pass over a text of a few kilobytes.
    """
    size = len(text.encode("utf-8", errors="replace"))
    if size > max_bytes:
        problem = f"the resource set is {size} bytes long, more than the limit of {max_bytes}"
        raise ResourceSetError([ResourceSetIssue("YAML", "", problem)])
    depth = nodes = 0
    open_nodes: list[tuple[str | None, int]] = []  # (anchor, node count at its start)
    sizes: dict[str, int] = {}  # anchor -> nodes of the anchored node, aliases expanded
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                depth += 1
                if depth > max_depth:
                    problem = f"the YAML nests more than {max_depth} levels deep"
                    raise ResourceSetError([ResourceSetIssue("YAML", "", problem)])
                nodes += 1
                open_nodes.append((event.anchor, nodes))
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                depth -= 1
                anchor, start = open_nodes.pop()
                if anchor is not None:
                    sizes[anchor] = nodes - start + 1
            elif isinstance(event, yaml.ScalarEvent):
                nodes += 1
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.AliasEvent):
                nodes += sizes.get(event.anchor or "", 1)
            if nodes > max_nodes:
                problem = f"the YAML expands to more than {max_nodes} values (aliases included)"
                raise ResourceSetError([ResourceSetIssue("YAML", "", problem)])
    except yaml.YAMLError as exc:
        raise ResourceSetError([ResourceSetIssue("YAML", "", f"not valid YAML: {exc}")]) from None


def parse_document(data: Any, index: int = 0) -> Document:
    """One document from its parsed YAML; raises :class:`ResourceSetError`."""
    label = f"document {index + 1}"
    if not isinstance(data, dict):
        problem = "expected a mapping with kind, metadata and spec"
        raise ResourceSetError([ResourceSetIssue(label, "", problem)])
    kind = data.get("kind")
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if isinstance(kind, str) and isinstance(name, str) and name:
        label = f"{kind} '{name}'"
    elif isinstance(kind, str):
        label = f"{kind} ({label})"
    if not isinstance(kind, str) or not kind:
        raise ResourceSetError([ResourceSetIssue(label, "kind", "Field required")])
    cls = DOCUMENT_TYPES.get(kind, GenericDocument)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise ResourceSetError(_issues_from_validation(label, exc)) from None


def parse_resource_set(text: str, *, check_references: bool = True) -> ResourceSet:
    """Parse and validate a multi-document YAML resource set.

    Raises :class:`ResourceSetError` listing every problem (YAML syntax, fields, references).
    """
    check_yaml_bounds(text)
    try:
        raw = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise ResourceSetError([ResourceSetIssue("YAML", "", f"not valid YAML: {exc}")]) from None
    if not raw:
        raise ResourceSetError([ResourceSetIssue("YAML", "", "the resource set has no document")])
    documents: list[Document] = []
    issues: list[ResourceSetIssue] = []
    for i, data in enumerate(raw):
        try:
            documents.append(parse_document(data, i))
        except ResourceSetError as exc:
            issues += exc.issues
    if issues:
        raise ResourceSetError(issues)
    result = ResourceSet(documents)
    if check_references:
        issues = result.reference_issues()
        if issues:
            raise ResourceSetError(issues)
    return result


def sort_documents(documents: list[Document]) -> list[Document]:
    """Documents in the order the official client writes them (stable within a kind)."""
    return sorted(documents, key=lambda d: _KIND_ORDER.get(d.kind, len(_KIND_ORDER)))
