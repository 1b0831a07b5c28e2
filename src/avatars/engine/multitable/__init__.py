"""Multi-table avatarization: linked tables in, linked avatar tables out (method.md §6.1, §2.12).

Input: :class:`Table` (data, primary key, ``individual_level``, :class:`TableParameters`) and
:class:`Link` (``parent.parent_key → child.foreign_key`` with a
:class:`~avatars.protocol.enums.LinkMethod`). Pure functions on DataFrames, an explicit seed,
no I/O::

    graph = validate_tables(tables, links)              # SchemaError naming table and column
    advice = advise_tables(tables, links)               # k per table (k=None takes it)
    result = avatarize_tables(tables, links, seed=0)    # MultiTableResult
    result.avatars()                                    # {table: deliverable DataFrame}
    privacy = privacy_metrics_tables(tables, links, result.unshuffled(), seed=0)
    signal = signal_metrics_tables(tables, links, result.avatars())

Design (Octopize's engine is closed; this is our reading of its documented outputs — the
``to_top_enriched`` / ``to_bottom_*`` computation types — and of its linkage research):

1. **Validate everything first** (:mod:`.schema`): keys present and unique, one foreign key
   per parent, no cycle, root tables individual level, links to known tables and columns,
   no orphan foreign key; then every enriched table is checked as the avatarization would
   check it. One :class:`SchemaError` lists every problem with its table and column.
2. **Enrich, then avatarize each table on its own** (:mod:`.enrichment`): a parent gets its
   number of children (as ``log(1 + n)``) and summaries of their variables (means, modality
   shares) — so that avatar parents are built from parents with similar families; a child
   gets the variables of each of its parents and their number of children — so that avatar
   children carry the parent profile they were built for. Enrichments come from the
   originals; each enriched table is avatarized with :func:`avatars.engine.avatarize` (its own
   k, ncp, types, weights, imputation, exclusions). Tables are independent at this stage.
3. **Fan-out from the avatars, distribution from the originals** (:func:`.assignment.capacities`):
   averaging neighbours' counts contracts the fan-out distribution (KS 0.16 on the synthetic
   schema), so avatar parents are *ranked* by their avatarized number of children and
   receive the original fan-outs, sorted and microaggregated in groups of
   ``min(k, 5)`` (each released fan-out is the mean of ≥ 5 original ones; the largest family
   is never released as it is), rounded to add up to the number of children. Measured KS:
   0.06 (50 doctors), 0.015 (130 patients), 0.04-0.08 (50-80 hospitals), ≤ 0.006 from 1,200
   parents on.
4. **Attach children to parents by the link's method** (:mod:`.assignment`), in the parent's
   projection (FAMD/PCA/MCA fitted on the original parents' variables and fan-out), where an
   avatar parent is its own variables and an avatar child the parent profile it carries:
   ``linear_sum_assignment`` minimizes the total distance under the capacities (exact below
   1,000 children; above, greedy start then block-wise exact re-solves, within ~1 % of the
   best solution we found, memory O(n + 500²)); ``minimum_distance_assignment`` is greedy;
   ``sensitive_original_order_assignment`` keeps the real pairing (avatar child i goes to the
   avatar of original child i's parent) and the result says so (``warnings``,
   ``keeps_original_association``). Each link is solved on its own, so a child with two
   parents (visit → patient and doctor) gets one assignment per parent.
5. **New keys** (:mod:`.keys`): random 64-bit hexadecimal tokens, never an original key value;
   foreign keys follow the assignment (referential integrity 100 %); every table is shuffled
   independently of its keys.

Measured (``benchmarks/multitable.py``, 10,000 patients and 100,000 visits, two heavily
shared cores): ``linear_sum_assignment`` end to end (avatarization, linking, every privacy
computation type, signal) 211 s wall / 49 s CPU, of which linking 109 s wall; peak memory
0.36 GB; children-per-parent KS 0.0004. Greedy: 92 s wall / 31 s CPU. More in
``docs/multitable.md``.

Pseudonymized columns (``TableParameters(pseudonymize={column: strategy})``, the single
table's strategies of :mod:`avatars.engine.pseudonymization`; ``avatarize_tables(...,
pseudonymization_secret=...)`` keys ``HASH_SHA256``): the column is not avatarized — left out
of its table's projection and neighbours, of the enrichment of the tables linked to it, of the
link spaces and of the privacy and signal metrics — and each avatar row of the table gets a
pseudonym of the column's values, dealt by a random derangement from the run's seed and
``table.column`` (no pseudonym rides on the avatar of its own original row). A pseudonymized
column cannot be a key, excluded, weighted, known to the attacker or a series table's column;
``HASH_SHA256`` without a secret is refused, naming table and column.

Independent tables: a table that no link uses and that is not a series table is avatarized
on its own rows (no enrichment: the single-table avatarization, with the single-table k advice
floor of 5), then gets new pseudonymous keys if it has a primary key (optional for it) and is
shuffled. A set may hold only independent tables, or mix them with linked ones; a link still
needs a primary key on both its tables. Their privacy is ``standalone``, their signal per table.

Series tables (method.md §6.2): a table with a time column (``Table(...,
time_series_time="t")``) linked to its individual table by ``LinkMethod.TIME_SERIES`` is not
avatarized on its own: :class:`~avatars.engine.timeseries.SeriesEncoder` turns its series into
feature columns of the individual table (fitted before any avatar is built; its parameters are
``TableParameters(time_series=SeriesParameters(...))``), which is avatarized with them, and the
avatar series are rebuilt from each avatar individual's features under its new key. One
``avatarize_tables`` call thus handles linked tables and series tables together (e.g. the
bundled ``sensors_vanilla`` with ``sensors_timeseries1`` and ``sensors_timeseries2``). Their
privacy is measured on the series features (``to_bottom_id_propagated`` and ``full_enriched``
with the individual table as reference), their signal by
:func:`~avatars.engine.timeseries.series_signal_metrics`.

Privacy (:mod:`.privacy`): per individual-level table and computation type; a table whose rows
are not persons (visits) is assessed through the person they belong to
(``to_bottom_id_propagated``). Signal (:mod:`.signal`): per table, plus per link the
children-per-parent KS statistic and parent-children correlations.

Server integration: a job handler converts the YAML's tables (``primary_key`` column,
``individual_level``, ``links`` with ``to.table``/``to.field``/``method``) and per-table
parameters into :class:`Table`/:class:`Link`, calls :func:`avatarize_tables`, writes
``result.avatars()`` (shuffled) and ``result.unshuffled()`` per table, then
:func:`privacy_metrics_tables` (one ``<table>.privacy.json`` document per entry, from
:meth:`TablePrivacyMetrics.to_dict`) and :func:`signal_metrics_tables`; it surfaces
``result.warnings`` and maps :class:`SchemaError` (an ``AvatarsEngineError``) to a failed job
whose message lists the problems.
"""

from avatars.engine.multitable.advice import advise_tables
from avatars.engine.multitable.avatarization import (
    AvatarTable,
    LinkResult,
    MultiTableResult,
    avatarize_tables,
)
from avatars.engine.multitable.privacy import TablePrivacyMetrics, privacy_metrics_tables
from avatars.engine.multitable.schema import (
    Link,
    SchemaError,
    SchemaProblem,
    SeriesLink,
    Table,
    TableGraph,
    TableParameters,
    validate_tables,
)
from avatars.engine.multitable.signal import (
    LinkSignalMetrics,
    MultiTableSignalMetrics,
    signal_metrics_tables,
)
from avatars.engine.multitable.synthetic import synthetic_hospital_schema, synthetic_hospital_tables

__all__ = [
    "AvatarTable",
    "Link",
    "LinkResult",
    "LinkSignalMetrics",
    "MultiTableResult",
    "MultiTableSignalMetrics",
    "SchemaError",
    "SchemaProblem",
    "SeriesLink",
    "Table",
    "TableGraph",
    "TableParameters",
    "TablePrivacyMetrics",
    "advise_tables",
    "avatarize_tables",
    "privacy_metrics_tables",
    "signal_metrics_tables",
    "synthetic_hospital_schema",
    "synthetic_hospital_tables",
    "validate_tables",
]
