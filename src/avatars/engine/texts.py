"""Every user-facing string of the reports and figures, in English and French, and how numbers
and dates are printed.

Keeping the two languages side by side in one table makes a missing translation visible in
review and lets a test check that both languages have every key. Metric field names stay the
JSON names (``hidden_rate``); what a reader sees comes from :func:`metric_name` and
:func:`metric_meaning`. The French vocabulary of the three criteria is the CNIL's translation
of the Article 29 Working Party's Opinion 05/2014 on anonymisation techniques:
individualisation, corrélation, inférence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal

Language = Literal["en", "fr"]
LANGUAGES: tuple[Language, ...] = ("en", "fr")


def check_language(language: str) -> Language:
    """``language`` as a :data:`Language`; a ValueError names the accepted values."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    return language


# -- sentences and labels: key -> (English, French) ------------------------------------------
_TEXT: dict[str, tuple[str, str]] = {
    # titles
    "report_title": ("Avatar anonymization report", "Rapport d'anonymisation Avatar"),
    "html_title": (
        "Avatar anonymization: analyst report",
        "Anonymisation Avatar : rapport d'analyse",
    ),
    "pia_title": (
        "Privacy impact assessment of the anonymized table “{table}”",
        "Analyse d'impact relative à la protection des données de la table anonymisée « {table} »",
    ),
    "generated_on": (
        "Generated on {date} by {engine} {version}.",
        "Généré le {date} par {engine} {version}.",
    ),
    "display_name": ("Project: {name}", "Projet : {name}"),
    "table_heading": ("Table “{table}”", "Table « {table} »"),
    # sections
    "summary": ("Summary", "Synthèse"),
    "dataset": ("Dataset", "Jeu de données"),
    "columns": ("Columns", "Colonnes"),
    "parameters": ("Parameters", "Paramètres"),
    "privacy_metrics": ("Privacy metrics", "Métriques de confidentialité"),
    "signal_metrics": ("Signal metrics (utility)", "Métriques de signal (utilité)"),
    "variables_signal": (
        "Distribution distance per variable",
        "Distance des distributions par variable",
    ),
    "figures": ("Figures", "Figures"),
    "conclusion": ("Conclusion", "Conclusion"),
    "method": ("About the method", "À propos de la méthode"),
    "context": ("Context of the processing", "Contexte du traitement"),
    "criteria_overview": ("Risk criteria overview", "Synthèse des critères de risque"),
    "residual_risk": ("Residual risk", "Risque résiduel"),
    "overall_residual_risk": ("Overall residual risk", "Risque résiduel global"),
    "measures": ("Measures taken", "Mesures mises en œuvre"),
    "limitations": ("Limitations", "Limites"),
    "signatures": ("Approval", "Validation"),
    # dataset summary
    "rows": ("Rows", "Lignes"),
    "n_columns": ("Columns", "Colonnes"),
    "numeric_columns": ("Numeric columns", "Colonnes numériques"),
    "categorical_columns": ("Categorical columns", "Colonnes catégorielles"),
    "datetime_columns": ("Date columns", "Colonnes de dates"),
    "missing_cells": ("Missing values", "Valeurs manquantes"),
    "avatar_rows": ("Avatar rows", "Lignes d'avatars"),
    "column": ("Column", "Colonne"),
    "type": ("Type", "Type"),
    "missing": ("Missing", "Manquant"),
    "distinct": ("Distinct values", "Valeurs distinctes"),
    "unknown": ("unknown", "inconnu"),
    "none": ("none", "aucun"),
    "not_available": ("not available", "non disponible"),
    "columns_truncated": (
        "Only the first {shown} of {total} columns are listed.",
        "Seules les {shown} premières colonnes sur {total} sont listées.",
    ),
    # column types
    "type_int": ("integer", "entier"),
    "type_float": ("decimal", "décimal"),
    "type_bool": ("boolean", "booléen"),
    "type_category": ("categorical", "catégoriel"),
    "type_datetime": ("date", "date"),
    "type_datetime_tz": ("date (time zone)", "date (fuseau horaire)"),
    # parameters
    "parameter": ("Parameter", "Paramètre"),
    "value_col": ("Value", "Valeur"),
    "param_k": ("Number of neighbours (k)", "Nombre de voisins (k)"),
    "param_ncp": ("Projected dimensions (ncp)", "Dimensions projetées (ncp)"),
    "param_seed": ("Seed", "Graine aléatoire"),
    "param_projection": ("Projection", "Projection"),
    "param_explained": (
        "Variance explained by the ncp dimensions",
        "Variance expliquée par les ncp dimensions",
    ),
    "param_imputation": ("Imputation of missing values", "Imputation des valeurs manquantes"),
    "param_exclude": ("Excluded variables", "Variables exclues"),
    "param_exclude_method": (
        "Re-attachment of excluded variables",
        "Rattachement des variables exclues",
    ),
    "param_weights": ("Column weights", "Poids des colonnes"),
    "param_keys": ("Keys (new keys for the avatars)", "Clés (nouvelles clés pour les avatars)"),
    "param_pseudonymized": ("Pseudonymized columns", "Colonnes pseudonymisées"),
    "param_assignment": ("Categorical assignment", "Affectation des modalités"),
    "param_known": ("Known variables (attacker)", "Variables connues (attaquant)"),
    "param_target": ("Target variable (attacker)", "Variable cible (attaquant)"),
    "param_metric_ncp": ("Dimensions of the metric space", "Dimensions de l'espace des métriques"),
    "param_duration": ("Avatarization time", "Durée de l'avatarisation"),
    "parameters_unknown": (
        "The avatarization parameters were not available to this report.",
        "Les paramètres de l'avatarisation n'étaient pas disponibles pour ce rapport.",
    ),
    # metric tables
    "metric": ("Metric", "Métrique"),
    "value": ("Value", "Valeur"),
    "target": ("Target", "Cible"),
    "result": ("Result", "Résultat"),
    "meaning": ("Meaning", "Signification"),
    "criterion": ("Criterion", "Critère"),
    "metrics_col": ("Metrics", "Métriques"),
    "verdict_pass": ("Pass", "Conforme"),
    "verdict_fail": ("Fail", "Non conforme"),
    "verdict_none": ("No target", "Sans cible"),
    "verdict_not_computed": ("Not computed", "Non calculé"),
    "provisional_note": (
        "* Provisional: the platform has not published this metric's exact definition; the value "
        "follows our documented reading of it (Avatar-compatible, provisional).",
        "* Provisoire : la définition exacte de cette métrique n'est pas publiée par la "
        "plateforme ; la valeur suit notre lecture documentée (compatible Avatar, provisoire).",
    ),
    "no_privacy_metrics": (
        "No privacy metrics were available to this report.",
        "Aucune métrique de confidentialité n'était disponible pour ce rapport.",
    ),
    "no_signal_metrics": (
        "No signal metrics were available to this report.",
        "Aucune métrique de signal n'était disponible pour ce rapport.",
    ),
    "hellinger_col": ("Hellinger distance", "Distance de Hellinger"),
    "missing_original": ("Missing (originals)", "Manquant (originaux)"),
    "missing_avatars": ("Missing (avatars)", "Manquant (avatars)"),
    "variables_truncated": (
        "The {shown} variables with the largest distance are listed (of {total}).",
        "Les {shown} variables de plus grande distance sont listées (sur {total}).",
    ),
    # verdicts
    "all_targets_met": (
        "All {n} privacy targets are met.",
        "Les {n} cibles de confidentialité sont toutes atteintes.",
    ),
    "targets_failed": (
        "{failed} of {n} privacy targets are not met: {names}.",
        "{failed} cibles de confidentialité sur {n} ne sont pas atteintes : {names}.",
    ),
    "no_targets": (
        "No privacy target could be checked.",
        "Aucune cible de confidentialité n'a pu être vérifiée.",
    ),
    "conclusion_pass": (
        "The avatars of “{table}” meet every privacy target computed for them. Together with the "
        "signal metrics above, this supports sharing them under the conditions described in the "
        "privacy impact assessment.",
        "Les avatars de « {table} » atteignent toutes les cibles de confidentialité calculées. "
        "Avec les métriques de signal ci-dessus, cela justifie leur partage dans les conditions "
        "décrites par l'analyse d'impact.",
    ),
    "conclusion_fail": (
        "The avatars of “{table}” do not meet the following privacy targets: {names}. Review the "
        "parameters (for instance a larger k) before sharing them.",
        "Les avatars de « {table} » n'atteignent pas les cibles de confidentialité suivantes : "
        "{names}. Revoir les paramètres (par exemple un k plus grand) avant de les partager.",
    ),
    "conclusion_unknown": (
        "No privacy target could be checked for “{table}”: run the privacy metrics before sharing "
        "the avatars.",
        "Aucune cible de confidentialité n'a pu être vérifiée pour « {table} » : calculer les "
        "métriques de confidentialité avant de partager les avatars.",
    ),
    "signal_summary": (
        "Signal: {met} of {n} utility targets met.",
        "Signal : {met} cibles d'utilité atteintes sur {n}.",
    ),
    # the privacy verdict in words (metric_rows.PrivacyVerdict)
    "verdict_unknown": (
        "No privacy target could be checked: compute the privacy metrics before sharing the "
        "avatars.",
        "Aucune cible de confidentialité n'a pu être vérifiée : calculer les métriques de "
        "confidentialité avant de partager les avatars.",
    ),
    "verdict_all_met": (
        "Pass: all {n} privacy targets are met ({names}).",
        "Conforme : les {n} cibles de confidentialité sont atteintes ({names}).",
    ),
    "verdict_missed": (
        "Fail: {failed} of {n} privacy targets are missed: {missed}.",
        "Non conforme : {failed} cibles de confidentialité sur {n} ne sont pas atteintes : "
        "{missed}.",
    ),
    "verdict_identifiers": (
        "Fail: the avatars carry identifiers of the original records.",
        "Non conforme : les avatars portent des identifiants des enregistrements d'origine.",
    ),
    "verdict_met": ("Met: {names}.", "Atteintes : {names}."),
    "verdict_metric": ("{name} {value} (target {target})", "{name} {value} (cible {target})"),
    "change_more_neighbours": (
        "Each avatar is too close to its original: increase k (more neighbours blend each "
        "avatar); `avatars advise --target-hidden-rate 0.9` finds the smallest k that meets the "
        "targets on this data.",
        "Chaque avatar est trop proche de son original : augmenter k (plus de voisins dans "
        "chaque avatar) ; `avatars advise --target-hidden-rate 0.9` trouve le plus petit k qui "
        "atteint les cibles sur ces données.",
    ),
    "change_copies": (
        "Avatars copy records that only one individual has, typically on a table of coarse "
        "values (scores, codes): increase k, or drop or coarsen the columns that make records "
        "unique; `avatars advise` measures the copies for each k it tries.",
        "Des avatars recopient des enregistrements propres à un seul individu, typiquement "
        "sur une table de valeurs grossières (scores, codes) : augmenter k, ou supprimer ou "
        "regrouper les colonnes qui rendent les enregistrements uniques ; `avatars advise` "
        "mesure ces copies pour chaque k essayé.",
    ),
    "change_known_copies": (
        "The variables an attacker knows single out individuals among the avatars: increase k, "
        "or coarsen those variables (age bands, shorter postcodes) before the avatarization.",
        "Les variables connues d'un attaquant isolent des individus parmi les avatars : "
        "augmenter k, ou regrouper ces variables (tranches d'âge, codes postaux tronqués) avant "
        "l'avatarisation.",
    ),
    "change_unique_values": (
        "A column copies values that only one individual has: coarsen it, or exclude it with "
        "coordinate similarity.",
        "Une colonne recopie des valeurs propres à un seul individu : la regrouper, ou "
        "l'exclure avec la similarité des coordonnées.",
    ),
    "change_inference": (
        "The avatars let an attacker guess the target variable too well: increase k.",
        "Les avatars permettent de deviner trop bien la variable cible : augmenter k.",
    ),
    "change_identifiers": (
        "The avatars carry the original records' identifiers: drop the identifier columns, "
        "declare them keys (new keys) or pseudonymize them, instead of re-attaching them.",
        "Les avatars portent les identifiants des enregistrements d'origine : supprimer ces "
        "colonnes, les déclarer clés (nouvelles clés) ou les pseudonymiser au lieu de les "
        "rattacher.",
    ),
    "change_membership": (
        "The avatars stay closer to the records they were made from than to new records of the "
        "same population: increase k; `avatars advise --target-dcr-share 0.55` searches for a k "
        "that meets it.",
        "Les avatars restent plus proches des enregistrements dont ils sont issus que de "
        "nouveaux enregistrements de la même population : augmenter k ; `avatars advise "
        "--target-dcr-share 0.55` cherche un k qui y parvient.",
    ),
    "warning_original_order": (
        "Warning: the column(s) {columns} keep the original association (re-attached by row "
        "order: each avatar carries its original record's value).",
        "Attention : les colonnes {columns} gardent le lien avec les originaux (rattachées par "
        "l'ordre des lignes : chaque avatar porte la valeur de son enregistrement d'origine).",
    ),
    "warning_identifier_original_order": (
        "Warning: the identifier column(s) {columns} carry each original record's identifier on "
        "its avatar: a direct re-identification key.",
        "Attention : les colonnes identifiantes {columns} portent l'identifiant de chaque "
        "enregistrement d'origine sur son avatar : une clé de réidentification directe.",
    ),
    "warning_identifier_original_values": (
        "Warning: the identifier column(s) {columns} carry real identifiers of the original "
        "records nearest to each avatar.",
        "Attention : les colonnes identifiantes {columns} portent les vrais identifiants des "
        "enregistrements d'origine les plus proches de chaque avatar.",
    ),
    "warning_original_records": (
        "Warning: the output holds the original records themselves beside the extra avatars "
        "(data augmentation with should_anonymize_original_table=false).",
        "Attention : la sortie contient les enregistrements d'origine eux-mêmes à côté des "
        "avatars supplémentaires (augmentation avec should_anonymize_original_table=false).",
    ),
    "warnings": ("Warnings", "Avertissements"),
    # differential privacy (engine/reports/differential_privacy.py)
    "dp_heading": ("Differential privacy", "Confidentialité différentielle"),
    "dp_open": (
        "AvatarOpenDP: ε-differentially private end to end, ε = {epsilon}; unit of privacy: "
        "{unit}.",
        "AvatarOpenDP : ε-confidentialité différentielle de bout en bout, ε = {epsilon} ; "
        "unité de confidentialité : {unit}.",
    ),
    "dp_open_not_end_to_end": (
        "AvatarOpenDP with ε = {epsilon} (unit of privacy: {unit}), but NOT differentially "
        "private end to end: some steps read the original data without noise (below).",
        "AvatarOpenDP avec ε = {epsilon} (unité : {unit}), mais SANS confidentialité "
        "différentielle de bout en bout : certaines étapes lisent les données d'origine sans "
        "bruit (ci-dessous).",
    ),
    "dp_fast": (
        "AvatarFastDP: NOT differentially private end to end. Only its releases (the latent "
        "model, the columns' histograms) spend ε = {epsilon}, unit of privacy: {unit}; the "
        "projection, the clipping box and the column ranges are read from the original data "
        "without noise, so the avatars as a whole carry no formal differential-privacy "
        "guarantee.",
        "AvatarFastDP : PAS de confidentialité différentielle de bout en bout. Seules ses "
        "publications (le modèle latent, les histogrammes des colonnes) dépensent "
        "ε = {epsilon}, unité de confidentialité : {unit} ; la projection, la boîte "
        "d'écrêtage et les bornes des colonnes sont lues sans bruit dans les données "
        "d'origine : les avatars dans leur ensemble n'ont aucune garantie formelle de "
        "confidentialité différentielle.",
    ),
    "dp_budget": ("Budget per step", "Budget par étape"),
    "dp_step": ("Step", "Étape"),
    "dp_covered": ("Covered by ε", "Couverte par ε"),
    "dp_yes": ("yes", "oui"),
    "dp_no": ("NO", "NON"),
    "dp_epsilon_spent": ("ε spent: {spent} of {epsilon}.", "ε dépensé : {spent} sur {epsilon}."),
    "dp_not_covered": ("Not covered by the guarantee", "Hors de la garantie"),
    "dp_pairing": (
        "DP avatars are drawn from a model, not built from one original each: the hidden rate "
        "and local cloaking measure an arbitrary row pairing; compare DCR, NNDR and the "
        "signal metrics with k-avatars.",
        "Les avatars DP sont tirés d'un modèle, non construits chacun à partir d'un original : "
        "le taux de protection et le camouflage local mesurent un appariement arbitraire des "
        "lignes ; comparez DCR, NNDR et les métriques de signal avec les avatars k.",
    ),
    "what_to_change": ("What to change", "Que changer"),
    # method
    "method_text": (
        "Each avatar is a synthetic record built from one original individual and its k nearest "
        "neighbours in a projected space (FAMD, PCA or MCA): numeric values are random weighted "
        "means of the neighbours' values and categorical values are drawn from their weighted "
        "shares. The avatars are shuffled, so that no avatar can be traced back to its original "
        "record. Privacy metrics measure how well individuals are hidden among the avatars; "
        "signal metrics measure how well distributions and correlations are preserved.",
        "Chaque avatar est un enregistrement synthétique construit à partir d'un individu original "
        "et de ses k plus proches voisins dans un espace projeté (AFDM, ACP ou ACM) : les valeurs "
        "numériques sont des moyennes pondérées aléatoires de celles des voisins et les modalités "
        "sont tirées selon leurs parts pondérées. Les avatars sont mélangés, de sorte qu'aucun "
        "avatar ne peut être rattaché à son enregistrement d'origine. Les métriques de "
        "confidentialité mesurent à quel point les individus sont cachés parmi les avatars ; les "
        "métriques de signal mesurent la préservation des distributions et des corrélations.",
    ),
    # figures
    "originals": ("Originals", "Originaux"),
    "avatars": ("Avatars", "Avatars"),
    "difference": ("Avatars − originals", "Avatars − originaux"),
    "share_percent": ("Share (%)", "Part (%)"),
    "contribution_percent": ("Contribution (%)", "Contribution (%)"),
    "other_modalities": ("(other)", "(autres)"),
    "fig_2d_projection": (
        "Originals and avatars in the first two projected dimensions",
        "Originaux et avatars dans les deux premières dimensions projetées",
    ),
    "fig_3d_projection": (
        "Originals and avatars in the first three projected dimensions",
        "Originaux et avatars dans les trois premières dimensions projetées",
    ),
    "fig_distribution": (
        "Distribution of each variable, originals and avatars",
        "Distribution de chaque variable, originaux et avatars",
    ),
    "fig_correlation": (
        "Associations between variables, originals and avatars",
        "Associations entre variables, originaux et avatars",
    ),
    "fig_correlation_difference": (
        "Change of the associations between variables (avatars − originals)",
        "Variation des associations entre variables (avatars − originaux)",
    ),
    "fig_contribution": (
        "Contribution of each variable to the projected dimensions",
        "Contribution de chaque variable aux dimensions projetées",
    ),
    "fig_aggregate_stats": (
        "Mean and standard deviation of the numeric variables",
        "Moyenne et écart-type des variables numériques",
    ),
    "fig_metrics_summary": ("Summary of the metrics", "Synthèse des métriques"),
    "subsample_note": (
        "{shown} of {total} points drawn at random (fixed seed) per set.",
        "{shown} points sur {total} tirés au hasard (graine fixe) par ensemble.",
    ),
    "association_note": (
        "Pearson correlation between two numeric variables (−1 to 1), correlation ratio η between "
        "a numeric and a categorical variable and Cramér's V between two categorical variables "
        "(0 to 1).",
        "Corrélation de Pearson entre deux variables numériques (−1 à 1), rapport de corrélation η "
        "entre une variable numérique et une catégorielle, V de Cramér entre deux catégorielles "
        "(0 à 1).",
    ),
    "distribution_note": (
        "Histograms on all rows; bins from the originals. H: Hellinger distance (0 = identical).",
        "Histogrammes sur toutes les lignes ; classes issues des originaux. H : distance de "
        "Hellinger (0 = identiques).",
    ),
    "heatmap_truncated": (
        "The first {shown} of {total} variables are shown.",
        "Les {shown} premières variables sur {total} sont affichées.",
    ),
    "distribution_truncated": (
        "The first {shown} of {total} variables are shown.",
        "Les {shown} premières variables sur {total} sont affichées.",
    ),
    "mean": ("Mean", "Moyenne"),
    "std": ("Standard deviation", "Écart-type"),
    "no_numeric_columns": (
        "The table has no numeric column.",
        "La table n'a pas de colonne numérique.",
    ),
    # PIA
    "pia_intro": (
        "This assessment documents, for the table “{table}”, whether the avatars produced from it "
        "can still be linked to the individuals of the original data. It follows the three "
        "criteria of the Article 29 Working Party's Opinion 05/2014 on anonymisation techniques, "
        "endorsed by the EDPB: singling out, linkability and inference. Each criterion is "
        "answered by the privacy metrics computed on the avatars.",
        "Cette analyse documente, pour la table « {table} », si les avatars produits à partir "
        "d'elle peuvent encore être rattachés aux individus des données d'origine. Elle suit les "
        "trois critères de l'avis 05/2014 du groupe de travail « Article 29 » sur les techniques "
        "d'anonymisation, repris par le CEPD : individualisation, corrélation et inférence. Chaque "
        "critère est évalué par les métriques de confidentialité calculées sur les avatars.",
    ),
    "ctx_data_recipient": ("Data recipient", "Destinataire des données"),
    "ctx_data_type": ("Type of data", "Type de données"),
    "ctx_data_subject": ("Data subjects", "Personnes concernées"),
    "ctx_sensitivity_level": ("Sensitivity level", "Niveau de sensibilité"),
    "ctx_table": ("Table", "Table"),
    "ctx_records": ("Records (originals / avatars)", "Enregistrements (originaux / avatars)"),
    "ctx_method": ("Method", "Méthode"),
    "ctx_method_value": (
        "Avatar method, k = {k}, ncp = {ncp}",
        "Méthode Avatar, k = {k}, ncp = {ncp}",
    ),
    "ctx_date": ("Date of the assessment", "Date de l'analyse"),
    "ctx_targets": ("Targets", "Cibles"),
    "ctx_targets_value": (
        "The platform's default targets, which are the strictest; they do not depend on the "
        "context above.",
        "Les cibles par défaut de la plateforme, qui sont les plus strictes ; elles ne dépendent "
        "pas du contexte ci-dessus.",
    ),
    "criterion_definition": ("Definition", "Définition"),
    "not_assessed": ("Not assessed", "Non évalué"),
    "not_assessed_linkability": (
        "Not assessed: no known_variables were given to the privacy metrics. Give the variables an "
        "attacker could know (for instance age, sex, postcode) to measure this risk.",
        "Non évalué : aucune variable connue (known_variables) n'a été donnée aux métriques de "
        "confidentialité. Indiquer les variables qu'un attaquant pourrait connaître (par exemple "
        "âge, sexe, code postal) pour mesurer ce risque.",
    ),
    "not_assessed_inference": (
        "Not assessed: the inference metrics need known_variables and a target variable. Give the "
        "sensitive variable an attacker would try to infer to measure this risk.",
        "Non évalué : les métriques d'inférence nécessitent des variables connues "
        "(known_variables) et une variable cible (target). Indiquer la variable sensible qu'un "
        "attaquant chercherait à déduire pour mesurer ce risque.",
    ),
    "not_assessed_singling_out": (
        "Not assessed: no singling-out metric was available.",
        "Non évalué : aucune métrique d'individualisation n'était disponible.",
    ),
    "risk_low": ("Low", "Faible"),
    "risk_medium": ("Medium", "Moyen"),
    "risk_high": ("High", "Élevé"),
    "risk_unknown": ("Not assessed", "Non évalué"),
    "risk_rule": (
        "Residual risk per criterion: low when every metric of the criterion meets its target, "
        "high when its main metric ({main}) does not or when most of its metrics fail, medium "
        "otherwise.",
        "Risque résiduel par critère : faible quand toutes les métriques du critère atteignent "
        "leur cible, élevé quand sa métrique principale ({main}) ne l'atteint pas ou que la "
        "plupart échouent, moyen sinon.",
    ),
    "risk_statement": (
        "Residual risk for {criterion}: {risk}.",
        "Risque résiduel pour le critère {criterion} : {risk}.",
    ),
    "overall_statement": (
        "Overall residual risk (worst of the assessed criteria): {risk}.",
        "Risque résiduel global (le plus élevé des critères évalués) : {risk}.",
    ),
    "overall_unassessed": (
        "Criteria not assessed: {names}. The overall risk above does not cover them.",
        "Critères non évalués : {names}. Le risque global ci-dessus ne les couvre pas.",
    ),
    "overall_none": (
        "No criterion could be assessed: the residual risk is unknown.",
        "Aucun critère n'a pu être évalué : le risque résiduel est inconnu.",
    ),
    "measure_avatar": (
        "Every original record was replaced by a synthetic avatar generated from its {k} nearest "
        "neighbours with random weights; no original record is published.",
        "Chaque enregistrement original a été remplacé par un avatar synthétique généré à partir "
        "de ses {k} plus proches voisins avec des poids aléatoires ; aucun enregistrement "
        "original n'est publié.",
    ),
    "measure_shuffle": (
        "The avatars are delivered in random order: the link between an avatar and its original "
        "record is not published.",
        "Les avatars sont livrés dans un ordre aléatoire : le lien entre un avatar et son "
        "enregistrement d'origine n'est pas publié.",
    ),
    "measure_metrics": (
        "Privacy metrics were computed on the avatars against the original data and compared "
        "with the platform's targets (tables above).",
        "Des métriques de confidentialité ont été calculées sur les avatars par rapport aux "
        "données d'origine et comparées aux cibles de la plateforme (tableaux ci-dessus).",
    ),
    "measure_excluded": (
        "Warning: the excluded variables {names} were not avatarized; they are re-attached "
        "({method}) and must be assessed separately (they may be direct identifiers).",
        "Attention : les variables exclues {names} n'ont pas été avatarisées ; elles sont "
        "rattachées ({method}) et doivent être évaluées séparément (il peut s'agir "
        "d'identifiants directs).",
    ),
    "measure_keys": (
        "The key columns {names} were replaced by new keys: no original key is published.",
        "Les colonnes clés {names} ont été remplacées par de nouvelles clés : aucune clé "
        "d'origine n'est publiée.",
    ),
    "measure_pseudonymized": (
        "The columns {names} were replaced by pseudonyms, dealt to the avatars in an order "
        "unrelated to the original records.",
        "Les colonnes {names} ont été remplacées par des pseudonymes, attribués aux avatars dans "
        "un ordre sans rapport avec les enregistrements d'origine.",
    ),
    "measure_unshuffled": (
        "The unshuffled avatars (in the order of the original records) are sensitive: they are "
        "used only to compute the metrics and must not be shared.",
        "Les avatars non mélangés (dans l'ordre des enregistrements d'origine) sont sensibles : "
        "ils ne servent qu'au calcul des métriques et ne doivent pas être partagés.",
    ),
    "limitation_provisional": (
        "Metrics marked * follow a provisional definition (see the note under the tables).",
        "Les métriques marquées * suivent une définition provisoire (voir la note sous les "
        "tableaux).",
    ),
    "limitation_scope": (
        "The metrics measure the risk of the avatars against the original table only; linking "
        "with other data sources held by the recipient is covered only as far as the known "
        "variables given to the metrics describe them.",
        "Les métriques mesurent le risque des avatars par rapport à la seule table d'origine ; "
        "le rapprochement avec d'autres sources détenues par le destinataire n'est couvert que "
        "dans la mesure où les variables connues données aux métriques les décrivent.",
    ),
    "role": ("Role", "Rôle"),
    "name": ("Name", "Nom"),
    "date": ("Date", "Date"),
    "signature": ("Signature", "Signature"),
    "role_dpo": ("Data protection officer", "Délégué à la protection des données"),
    "role_controller": ("Data controller", "Responsable de traitement"),
    "role_author": ("Author of the assessment", "Auteur de l'analyse"),
    "opinion": ("Opinion and decision:", "Avis et décision :"),
}

# -- criteria (method.md §2.0) ---------------------------------------------------------------
_CRITERIA: dict[str, tuple[str, str]] = {
    "singling_out": ("singling out", "individualisation"),
    "linkability": ("linkability", "corrélation"),
    "inference": ("inference", "inférence"),
    "utility": ("utility", "utilité"),
}

_CRITERIA_DEFINITIONS: dict[str, tuple[str, str]] = {
    "singling_out": (
        "The possibility to isolate some or all records which identify an individual in the "
        "dataset. Here: can an attacker who holds an individual's original record find that "
        "individual's avatar, or an avatar that copies them?",
        "La possibilité d'isoler une partie ou la totalité des enregistrements identifiant un "
        "individu dans le jeu de données. Ici : un attaquant qui détient l'enregistrement "
        "original d'un individu peut-il retrouver son avatar, ou un avatar qui le recopie ?",
    ),
    "linkability": (
        "The ability to link at least two records concerning the same individual or group of "
        "individuals, in the same or in different datasets. Here: can the variables an attacker "
        "already knows single out one avatar and link it to a known individual?",
        "La capacité de relier au moins deux enregistrements concernant la même personne ou un "
        "même groupe de personnes, dans la même base ou dans deux bases différentes. Ici : les "
        "variables qu'un attaquant connaît déjà permettent-elles d'isoler un avatar et de le "
        "relier à un individu connu ?",
    ),
    "inference": (
        "The possibility to deduce, with significant probability, the value of an attribute from "
        "the values of a set of other attributes. Here: how well can an attacker guess a "
        "sensitive variable of an individual from the avatars and what they already know?",
        "La possibilité de déduire, avec une probabilité significative, la valeur d'un attribut à "
        "partir des valeurs d'un ensemble d'autres attributs. Ici : un attaquant peut-il deviner "
        "une variable sensible d'un individu à partir des avatars et de ce qu'il sait déjà ?",
    ),
}

# -- metrics: display name and one-line meaning ---------------------------------------------
_METRIC_NAMES: dict[str, tuple[str, str]] = {
    "hidden_rate": ("Hidden rate", "Taux de masquage"),
    "local_cloaking": ("Local cloaking", "Camouflage local"),
    "distance_to_closest": ("Distance to closest record (DCR)", "Distance au plus proche (DCR)"),
    "closest_distances_ratio": (
        "Closest distances ratio (NNDR)",
        "Rapport des distances les plus proches (NNDR)",
    ),
    "column_direct_match_protection": (
        "Column direct match protection",
        "Protection contre les copies de valeurs",
    ),
    "categorical_hidden_rate": ("Categorical hidden rate", "Taux de masquage catégoriel"),
    "row_direct_match_protection": (
        "Row direct match protection",
        "Protection contre les copies de lignes",
    ),
    "correlation_protection_rate": (
        "Correlation protection rate",
        "Taux de protection contre la corrélation",
    ),
    "inference_continuous": (
        "Inference protection (continuous target)",
        "Protection contre l'inférence (cible continue)",
    ),
    "inference_categorical": (
        "Inference protection (categorical target)",
        "Protection contre l'inférence (cible catégorielle)",
    ),
    "closest_rate": ("Closest rate", "Taux de proximité"),
    "unique_copy_share": (
        "Copies of unique records",
        "Copies d'enregistrements uniques",
    ),
    "unique_copy_share_known": (
        "Copies of unique known-variable combinations",
        "Copies de combinaisons uniques des variables connues",
    ),
    "identifier_protection": ("Identifier protection", "Protection des identifiants"),
    "dcr_share": ("DCR share (training vs holdout)", "Part DCR (entraînement / témoin)"),
    "membership_inference_auc": (
        "Membership inference (AUC)",
        "Inférence d'appartenance (AUC)",
    ),
    "hellinger_mean": ("Hellinger distance (mean)", "Distance de Hellinger (moyenne)"),
    "hellinger_std": ("Hellinger distance (std)", "Distance de Hellinger (écart-type)"),
    "correlation_difference_mean": (
        "Correlation difference (mean |Δρ|)",
        "Écart de corrélation (moyenne |Δρ|)",
    ),
    "correlation_difference_ratio": (
        "Correlation difference ratio",
        "Ratio d'écart de corrélation",
    ),
    "hellinger_score": (
        "Distribution preservation score",
        "Score de préservation des distributions",
    ),
    "correlation_score": (
        "Correlation preservation score",
        "Score de préservation des corrélations",
    ),
}

_METRIC_MEANINGS: dict[str, tuple[str, str]] = {
    "hidden_rate": (
        "Share of individuals for whom an attacker who picks the closest avatar picks the wrong "
        "one.",
        "Part des individus pour lesquels un attaquant qui choisit l'avatar le plus proche se "
        "trompe.",
    ),
    "local_cloaking": (
        "Typical number of other avatars at least as close to an individual as their own avatar.",
        "Nombre typique d'autres avatars au moins aussi proches d'un individu que son propre "
        "avatar.",
    ),
    "distance_to_closest": (
        "Typical distance from an avatar to the closest original individual.",
        "Distance typique entre un avatar et l'individu original le plus proche.",
    ),
    "closest_distances_ratio": (
        "Typical ratio of an avatar's closest to second-closest original; near 1, no individual "
        "stands out.",
        "Rapport typique entre le plus proche et le deuxième plus proche original d'un avatar ; "
        "proche de 1, aucun individu ne se distingue.",
    ),
    "column_direct_match_protection": (
        "Worst column: share of avatar values that do not copy a value unique to one individual.",
        "Pire colonne : part des valeurs d'avatars qui ne recopient pas une valeur propre à un "
        "seul individu.",
    ),
    "categorical_hidden_rate": (
        "Hidden rate when the attacker compares only the listed categorical variables.",
        "Taux de masquage quand l'attaquant ne compare que les variables catégorielles listées.",
    ),
    "row_direct_match_protection": (
        "Share of avatars that are not an exact copy of an original record.",
        "Part des avatars qui ne sont pas la copie exacte d'un enregistrement original.",
    ),
    "correlation_protection_rate": (
        "Share of individuals who cannot be re-identified by matching the variables an attacker "
        "knows to a single avatar.",
        "Part des individus qui ne peuvent pas être réidentifiés en rapprochant les variables "
        "connues de l'attaquant d'un seul avatar.",
    ),
    "inference_continuous": (
        "Error (%) of an attacker who guesses the target from the avatar closest to what they "
        "know.",
        "Erreur (%) d'un attaquant qui devine la cible à partir de l'avatar le plus proche de ce "
        "qu'il sait.",
    ),
    "inference_categorical": (
        "Share of wrong guesses of an attacker who infers the target from the closest avatar.",
        "Part des erreurs d'un attaquant qui déduit la cible de l'avatar le plus proche.",
    ),
    "closest_rate": (
        "Share of avatars that are not both very close to an original and isolated from the "
        "other originals.",
        "Part des avatars qui ne sont pas à la fois très proches d'un original et isolés des "
        "autres originaux.",
    ),
    "unique_copy_share": (
        "Share of avatars identical to an original record that only one individual has.",
        "Part des avatars identiques à un enregistrement d'origine propre à un seul individu.",
    ),
    "unique_copy_share_known": (
        "Share of avatars whose known variables match those of a single individual.",
        "Part des avatars dont les variables connues correspondent à un seul individu.",
    ),
    "identifier_protection": (
        "Share of avatars that do not carry their own original's identifier.",
        "Part des avatars qui ne portent pas l'identifiant de leur original.",
    ),
    "dcr_share": (
        "Share of avatars closer to a record they were made from than to a new one (50 % is "
        "ideal).",
        "Part des avatars plus proches d'un enregistrement dont ils sont issus que d'un nouveau "
        "(50 % est l'idéal).",
    ),
    "membership_inference_auc": (
        "How well an attacker tells the individuals used from new ones (0.5: a coin toss).",
        "Capacité d'un attaquant à distinguer les individus utilisés des nouveaux (0,5 : pile "
        "ou face).",
    ),
    "hellinger_mean": (
        "Average distance between the original and avatar distributions of each variable "
        "(0 = identical).",
        "Distance moyenne entre les distributions originale et avatar de chaque variable "
        "(0 = identiques).",
    ),
    "hellinger_std": (
        "Spread of that distance across variables.",
        "Dispersion de cette distance entre les variables.",
    ),
    "correlation_difference_mean": (
        "Average absolute change of the correlation between two variables.",
        "Variation absolue moyenne de la corrélation entre deux variables.",
    ),
    "correlation_difference_ratio": (
        "Relative change of the correlations between variables.",
        "Variation relative des corrélations entre variables.",
    ),
    "hellinger_score": (
        "How well each variable's distribution is preserved (0-100).",
        "Préservation de la distribution de chaque variable (0-100).",
    ),
    "correlation_score": (
        "How well the correlations between pairs of variables are preserved (0-100).",
        "Préservation des corrélations entre paires de variables (0-100).",
    ),
}


# -- PIA context values (avatar_yaml PiaMetadata enums) -------------------------------------
_CONTEXT_VALUES: dict[str, tuple[str, str]] = {
    "unknown": ("Unknown", "Inconnu"),
    "undefined": ("Undefined", "Non défini"),
    # data recipient
    "opendata": ("General public (open data)", "Grand public (open data)"),
    "contractual_thirdparty": ("Contractual third party", "Tiers contractuel"),
    "internal": ("Internal to the data controller", "Interne au responsable de traitement"),
    "outside_eu": ("Recipient outside the EU", "Destinataire hors UE"),
    "trusted_thirdparty": ("Trusted third party", "Tiers de confiance"),
    # data subject
    "patients": ("Patients", "Patients"),
    "employees": ("Employees", "Salariés"),
    "clients": ("Clients", "Clients"),
    "users": ("Service users", "Usagers"),
    "students": ("Students", "Étudiants"),
    # data type
    "health": ("Health data", "Données de santé"),
    "hr": ("Human resources data", "Données de ressources humaines"),
    "mobility": ("Mobility data", "Données de mobilité"),
    "insurance": ("Insurance data", "Données d'assurance"),
    "finance": ("Financial data", "Données financières"),
    "education": ("Education data", "Données d'éducation"),
    # sensitivity level
    "very high": ("Very high", "Très élevé"),
    "high": ("High", "Élevé"),
    "medium": ("Medium", "Moyen"),
    "low": ("Low", "Faible"),
    "very low": ("Very low", "Très faible"),
    "negligible": ("Negligible", "Négligeable"),
}


def context_value(value: str | None, language: Language) -> str:
    """A PIA context value (``contractual_thirdparty``, ``Very High``...) in words; free text
    is shown as given."""
    if value is None or not str(value).strip():
        return _pick(_CONTEXT_VALUES["unknown"], language)
    key = str(value).strip().lower()
    pair = _CONTEXT_VALUES.get(key) or _CONTEXT_VALUES.get(key.replace("_", " "))
    return _pick(pair, language) if pair else str(value)


# -- look-ups ----------------------------------------------------------------------------------
def _pick(pair: tuple[str, str], language: Language) -> str:
    return pair[0] if language == "en" else pair[1]


def tr(key: str, language: Language, **values: object) -> str:
    """The sentence ``key`` in ``language``, with ``{placeholders}`` filled from ``values``."""
    text = _pick(_TEXT[key], language)
    return text.format(**values) if values else text


def criterion_name(criterion: str, language: Language) -> str:
    pair = _CRITERIA.get(criterion)
    return _pick(pair, language) if pair else criterion.replace("_", " ")


def criterion_definition(criterion: str, language: Language) -> str:
    return _pick(_CRITERIA_DEFINITIONS[criterion], language)


def metric_name(name: str, language: Language) -> str:
    """Display name of a metric; an unknown field name is shown as its words."""
    pair = _METRIC_NAMES.get(name)
    return _pick(pair, language) if pair else name.replace("_", " ").capitalize()


def metric_meaning(name: str, language: Language, fallback: str = "") -> str:
    """One-line meaning of a metric; ``fallback`` (e.g. the engine's English description) for
    a metric this table does not know."""
    pair = _METRIC_MEANINGS.get(name)
    return _pick(pair, language) if pair else fallback


def warning_text(warning: Mapping[str, Any], language: Language) -> str:
    """An avatarization or metrics warning (``{"code", "columns", "message"}``) in words; a
    code this table does not know is shown by its message."""
    key = f"warning_{warning.get('code')}"
    if key not in _TEXT:
        return str(warning.get("message") or "")
    columns = ", ".join(
        f"“{c}”" if language == "en" else f"« {c} »" for c in warning.get("columns") or []
    )
    return tr(key, language, columns=columns)


def column_type_name(column_type: str, language: Language) -> str:
    key = f"type_{column_type}"
    return tr(key, language) if key in _TEXT else column_type


# -- numbers and dates -----------------------------------------------------------------------
#: Between a number and its unit, so that "93.74 %" never breaks across lines.
NBSP = "\u00a0"


def format_number(value: float | None, language: Language, decimals: int = 2) -> str:
    """``value`` with ``decimals`` decimals, French decimal comma and thin-space thousands."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    text = f"{value:,.{decimals}f}"
    if language == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def format_metric_value(value: float | None, unit: str, language: Language) -> str:
    """How a metric value is printed in every report (tests search the documents for it).

    Percentages with two decimals (``92.68 %``), counts as integers when they are integral
    (local cloaking is a median: ``24`` or ``24.5``), other quantities with three decimals.
    """
    if value is None or not math.isfinite(value):
        return "—"
    if unit == "%":
        return f"{format_number(value, language, 2)}{NBSP}%"
    if unit == "avatars":
        decimals = 0 if float(value).is_integer() else 1
        return format_number(value, language, decimals)
    if unit == "score":
        return format_number(value, language, 1)
    return format_number(value, language, 3)


def format_percent(value: float | None, language: Language, decimals: int = 1) -> str:
    return "—" if value is None else f"{format_number(value, language, decimals)}{NBSP}%"


def format_integer(value: int, language: Language) -> str:
    return format_number(float(value), language, 0)


def format_target(target: str | None, language: Language) -> str:
    """``"> 90"`` printed with the language's decimal mark; ``—`` when there is none."""
    if not target:
        return "—"
    if language == "fr":
        return target.replace(".", ",")
    return target


_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTHS_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def format_date(moment: date | datetime, language: Language) -> str:
    """``12 March 2026`` / ``12 mars 2026`` (no time: a report is dated, not timestamped)."""
    if language == "fr":
        day = "1er" if moment.day == 1 else str(moment.day)
        return f"{day} {_MONTHS_FR[moment.month - 1]} {moment.year}"
    return f"{moment.day} {_MONTHS_EN[moment.month - 1]} {moment.year}"  # not locale-dependent
