"""The report's section on linked tables: warnings, the relations between tables, and every
privacy computation (one line per table, computation type and reference individual).

A linked schema's report has a section per table like any report (built from each table's
headline documents); this section adds what no single table shows. Its input, ``linked``, is
JSON-ready (the server builds it from the metrics files)::

    {"warnings": ["link doctor.d_id → visit.doctor_id uses sensitive_original_order_..."],
     "links": [LinkSignalMetrics.to_dict(), ...],          # the signal documents' relations
     "privacy": [{"table", "computation_type", "reference", "hidden_rate"}, ...]}

Its own texts are kept here (English and French), beside the section that uses them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from avatars.engine.reports.document import Document, Heading, Paragraph, Table
from avatars.engine.texts import Language, format_number, format_percent

_TEXT: dict[str, tuple[str, str]] = {
    "linked_tables": ("Linked tables", "Tables liées"),
    "linked_text": (
        "The tables were avatarized together: each table from its own records enriched with "
        "its parents' variables and its children's summaries, then avatar children were "
        "attached to avatar parents by each link's method, with new pseudonymous keys. Series "
        "tables were avatarized with their individual table.",
        "Les tables ont été avatarisées ensemble : chaque table à partir de ses propres "
        "enregistrements enrichis des variables de ses parents et des résumés de ses enfants, "
        "puis les avatars enfants ont été rattachés aux avatars parents selon la méthode de "
        "chaque lien, avec de nouvelles clés pseudonymes. Les tables de séries ont été "
        "avatarisées avec leur table d'individus.",
    ),
    "warnings": ("Warnings", "Avertissements"),
    "relations": ("Relations between tables", "Relations entre tables"),
    "link": ("Link", "Lien"),
    "method": ("Method", "Méthode"),
    "children_original": ("Children per parent (original)", "Enfants par parent (original)"),
    "children_avatars": ("Children per parent (avatars)", "Enfants par parent (avatars)"),
    "ks": ("KS statistic", "Statistique KS"),
    "correlation": ("Mean |Δ correlation|", "|Δ corrélation| moyen"),
    "relations_note": (
        "KS: the largest gap between the distributions of the number of children per parent "
        "(0 = identical). Mean |Δ correlation|: the mean gap between original and avatar "
        "correlations of each parent variable with each summary of its children.",
        "KS : le plus grand écart entre les distributions du nombre d'enfants par parent "
        "(0 = identiques). |Δ corrélation| moyen : l'écart moyen entre les corrélations "
        "originales et avatars de chaque variable du parent avec chaque résumé de ses enfants.",
    ),
    "computations": ("Privacy by computation type", "Confidentialité par type de calcul"),
    "table": ("Table", "Table"),
    "computation_type": ("Computation", "Calcul"),
    "reference": ("Individuals assessed", "Individus évalués"),
    "hidden_rate": ("Hidden rate", "Taux de protection"),
}


def _tr(key: str, language: Language) -> str:
    english, french = _TEXT[key]
    return french if language == "fr" else english


def _number(value: Any, language: Language, digits: int = 2) -> str:
    return "—" if value is None else format_number(float(value), language, digits)


def linked_section(doc: Document, linked: Mapping[str, Any], language: Language) -> None:
    """Add the section (module docstring) to ``doc``."""
    doc.add(Heading(_tr("linked_tables", language), 2))
    doc.add(Paragraph(_tr("linked_text", language), "note"))
    warnings = [str(w) for w in linked.get("warnings") or []]
    if warnings:
        doc.add(Heading(_tr("warnings", language), 3))
        doc.add(*(Paragraph(w, "fail") for w in warnings))
    links = [link for link in linked.get("links") or [] if isinstance(link, Mapping)]
    if links:
        doc.add(Heading(_tr("relations", language), 3))
        rows = []
        for link in links:
            counts = link.get("children_per_parent") or {}
            rows.append(
                (
                    f"{link.get('parent')} → {link.get('child')} ({link.get('foreign_key')})",
                    str(link.get("method")),
                    _number((counts.get("original") or {}).get("mean"), language),
                    _number((counts.get("avatars") or {}).get("mean"), language),
                    _number(link.get("children_per_parent_ks"), language, 3),
                    _number(link.get("correlation_difference_mean"), language, 3),
                )
            )
        doc.add(
            Table(
                header=(
                    _tr("link", language),
                    _tr("method", language),
                    _tr("children_original", language),
                    _tr("children_avatars", language),
                    _tr("ks", language),
                    _tr("correlation", language),
                ),
                rows=tuple(rows),
                widths=(2.6, 2.8, 1.2, 1.2, 0.9, 1.1),
                numeric=frozenset({2, 3, 4, 5}),
            ),
            Paragraph(_tr("relations_note", language), "note"),
        )
    privacy = [p for p in linked.get("privacy") or [] if isinstance(p, Mapping)]
    if privacy:
        doc.add(Heading(_tr("computations", language), 3))
        doc.add(
            Table(
                header=(
                    _tr("table", language),
                    _tr("computation_type", language),
                    _tr("reference", language),
                    _tr("hidden_rate", language),
                ),
                rows=tuple(
                    (
                        str(p.get("table")),
                        str(p.get("computation_type")),
                        str(p.get("reference") or p.get("table")),
                        "—"
                        if p.get("hidden_rate") is None
                        else format_percent(float(p["hidden_rate"]), language, 1),
                    )
                    for p in privacy
                ),
                widths=(2, 2.5, 2, 1.3),
                numeric=frozenset({3}),
            )
        )
