"""Every string of the web pages, in English and French, side by side.

Metric names, their meanings, verdict sentences and figure titles come from the engine's own
catalogue (:mod:`avatars.engine.texts`), so that the pages and the reports say the same thing;
this one holds what only the web application says. A page's language is the one chosen with
the language switch (remembered in the session), else the browser's preference, else English.
"""

from __future__ import annotations

from avatars.engine.texts import LANGUAGES, Language

DEFAULT_LANGUAGE: Language = "en"
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "fr": "Français"}

_TEXT: dict[str, tuple[str, str]] = {
    # frame
    "app_name": ("Avatar platform", "Plateforme Avatar"),
    "skip_to_content": ("Skip to content", "Aller au contenu"),
    "main_navigation": ("Main navigation", "Navigation principale"),
    "nav_runs": ("Runs", "Traitements"),
    "nav_new_run": ("New run", "Nouveau traitement"),
    "nav_keys": ("API keys", "Clés d'API"),
    "nav_users": ("Users", "Utilisateurs"),
    "nav_audit": ("Audit log", "Journal d'audit"),
    "signed_in_as": ("Signed in as {email}", "Connecté en tant que {email}"),
    "log_out": ("Log out", "Se déconnecter"),
    "language": ("Language", "Langue"),
    "change_language": ("Change", "Changer"),
    "footer": (
        "Avatars are synthetic records built from each individual's neighbours; their metrics "
        "say how well individuals are hidden and how much signal is kept.",
        "Les avatars sont des enregistrements synthétiques construits à partir des voisins de "
        "chaque individu ; leurs métriques disent à quel point les individus sont cachés et "
        "combien de signal est conservé.",
    ),
    # login and passwords
    "login_title": ("Log in", "Connexion"),
    "login_intro": (
        "Log in with your e-mail address (or user name) and password.",
        "Connectez-vous avec votre adresse e-mail (ou nom d'utilisateur) et votre mot de passe.",
    ),
    "email_or_username": ("E-mail or user name", "E-mail ou nom d'utilisateur"),
    "email": ("E-mail", "E-mail"),
    "password": ("Password", "Mot de passe"),
    "log_in": ("Log in", "Se connecter"),
    "login_failed": (
        "Incorrect user name or password.",
        "Nom d'utilisateur ou mot de passe incorrect.",
    ),
    "login_throttled": (
        "Too many failed logins: try again in {seconds} seconds.",
        "Trop d'échecs de connexion : réessayez dans {seconds} secondes.",
    ),
    "forgot_password": ("Forgot your password?", "Mot de passe oublié ?"),
    "forgot_title": ("Reset a forgotten password", "Réinitialiser un mot de passe oublié"),
    "forgot_intro": (
        "Give the e-mail address of your account: a single-use reset code is sent to it (or, "
        "on a platform without e-mail, to the administrator).",
        "Indiquez l'adresse e-mail de votre compte : un code de réinitialisation à usage unique "
        "lui est envoyé (ou, sur une plateforme sans e-mail, à l'administrateur).",
    ),
    "send_reset_code": ("Send a reset code", "Envoyer un code"),
    "reset_code_sent": (
        "If this address belongs to an account, a reset code has been sent. Enter it below.",
        "Si cette adresse correspond à un compte, un code a été envoyé. Saisissez-le ci-dessous.",
    ),
    "reset_title": ("Choose a new password", "Choisir un nouveau mot de passe"),
    "reset_code": ("Reset code", "Code de réinitialisation"),
    "new_password": ("New password", "Nouveau mot de passe"),
    "new_password_repeated": ("New password, again", "Nouveau mot de passe, à nouveau"),
    "set_password": ("Set the new password", "Enregistrer le mot de passe"),
    "password_changed": (
        "Your password was changed and every session was ended: log in again.",
        "Votre mot de passe a été changé et toutes les sessions ont été fermées : "
        "reconnectez-vous.",
    ),
    "have_code": ("I have a reset code", "J'ai un code de réinitialisation"),
    "back_to_login": ("Back to the login page", "Retour à la connexion"),
    "logged_out": ("You are logged out.", "Vous êtes déconnecté."),
    # runs list
    "runs_title": ("Your runs", "Vos traitements"),
    "runs_admin_note": (
        "As an administrator you also see the runs of your organization's users.",
        "En tant qu'administrateur, vous voyez aussi les traitements des utilisateurs de votre "
        "organisation.",
    ),
    "no_runs": (
        "No run yet. Start with a table: a CSV or Parquet file.",
        "Aucun traitement pour l'instant. Commencez par une table : un fichier CSV ou Parquet.",
    ),
    "run_name": ("Name", "Nom"),
    "created": ("Created", "Créé"),
    "status": ("Status", "État"),
    "jobs": ("Jobs", "Tâches"),
    "open": ("Open", "Ouvrir"),
    "start_new_run": ("Start a new run", "Lancer un nouveau traitement"),
    # statuses
    "status_queued": ("waiting", "en attente"),
    "status_created": ("waiting", "en attente"),
    "status_pending": ("running", "en cours"),
    "status_finished": ("finished", "terminé"),
    "status_error": ("failed", "en échec"),
    "status_parent_error": (
        "not run: an earlier job failed",
        "non lancé : une tâche précédente a échoué",
    ),
    "status_lost": ("lost", "perdu"),
    "status_orphaned": ("lost", "perdu"),
    "status_cancelled": ("cancelled", "annulé"),
    # upload
    "upload_title": ("New run: your table", "Nouveau traitement : votre table"),
    "upload_intro": (
        "Choose a CSV or Parquet file with one row per individual. It is stored on this "
        "platform only, for {days} days.",
        "Choisissez un fichier CSV ou Parquet avec une ligne par individu. Il n'est stocké que "
        "sur cette plateforme, pendant {days} jours.",
    ),
    "drop_zone": (
        "Drop the file here, or choose it",
        "Déposez le fichier ici, ou choisissez-le",
    ),
    "file": ("Table file (CSV or Parquet)", "Fichier de la table (CSV ou Parquet)"),
    "upload": ("Upload", "Envoyer"),
    "upload_progress": ("Upload progress", "Progression de l'envoi"),
    "uploading": ("Uploading {name}…", "Envoi de {name}…"),
    "upload_done": ("Uploaded. Reading the table…", "Envoyé. Lecture de la table…"),
    "upload_failed": ("The upload failed: {reason}", "L'envoi a échoué : {reason}"),
    "no_file": ("Choose a file first.", "Choisissez d'abord un fichier."),
    "bad_extension": (
        "{name}: only .csv and .parquet files are accepted.",
        "{name} : seuls les fichiers .csv et .parquet sont acceptés.",
    ),
    "your_tables": ("Tables already uploaded", "Tables déjà envoyées"),
    "size": ("Size", "Taille"),
    "expires": ("Deleted on", "Supprimée le"),
    "use_table": ("Use", "Utiliser"),
    # check page
    "check_title": ("Check the table “{name}”", "Vérifier la table « {name} »"),
    "check_intro": (
        "{rows} rows and {columns} columns. Check the type of each column and decide what to "
        "do with the columns that identify people.",
        "{rows} lignes et {columns} colonnes. Vérifiez le type de chaque colonne et décidez du "
        "sort des colonnes qui identifient des personnes.",
    ),
    "column": ("Column", "Colonne"),
    "detected_type": ("Type", "Type"),
    "missing": ("Missing", "Manquant"),
    "distinct": ("Distinct values", "Valeurs distinctes"),
    "identifier": ("Identifier?", "Identifiant ?"),
    "type_of": ("Type of {column}", "Type de {column}"),
    "choice_of": ("What to do with {column}", "Que faire de {column}"),
    "not_identifier": ("no", "non"),
    "identifier_found": ("Identifies people: {why}", "Identifie des personnes : {why}"),
    "why_email": ("e-mail addresses", "adresses e-mail"),
    "why_phone": ("phone numbers", "numéros de téléphone"),
    "why_national_number": (
        "national identification numbers",
        "numéros d'identification nationaux",
    ),
    "why_uuid": ("unique identifiers (UUID)", "identifiants uniques (UUID)"),
    "why_unique_text": ("text that is (almost) unique per row", "texte (presque) unique par ligne"),
    "why_integer_sequence": (
        "a sequence of distinct integers (row numbers)",
        "une suite d'entiers distincts (numéros de ligne)",
    ),
    "why_integer_code": (
        "distinct integers with an identifier's name",
        "entiers distincts portant un nom d'identifiant",
    ),
    "why_long_number": (
        "long numbers (phone, account or national numbers)",
        "nombres longs (téléphone, compte ou numéro national)",
    ),
    "choice_drop": ("Leave out of the avatars", "Exclure des avatars"),
    "choice_key": ("The table's key (new keys)", "Clé de la table (nouvelles clés)"),
    "choice_FAKER": ("Fake values (Faker)", "Fausses valeurs (Faker)"),
    "choice_HASH_SHA256": ("Keyed SHA-256 digest", "Empreinte SHA-256 à clé"),
    "choice_UUID4": ("Random identifiers (UUID)", "Identifiants aléatoires (UUID)"),
    "identifiers_note": (
        "An identifier copied onto the avatars would let anyone find the person again, so a "
        "flagged column is never avatarized nor copied. Choose one of the three safe ways for "
        "each: leave it out, make it the table's key (new keys), or replace it by pseudonyms.",
        "Un identifiant recopié sur les avatars permettrait de retrouver la personne : une "
        "colonne signalée n'est donc ni avatarisée ni recopiée. Choisissez l'une des trois "
        "façons sûres pour chacune : l'exclure, en faire la clé de la table (nouvelles clés) "
        "ou la remplacer par des pseudonymes.",
    ),
    "identifiers_rule": (
        "Flagged by the identifier detection: e-mail addresses, phone and national numbers, "
        "UUIDs, text unique per row, integer sequences and codes with an identifier's name.",
        "Signalées par la détection d'identifiants : adresses e-mail, numéros de téléphone et "
        "nationaux, UUID, texte unique par ligne, suites d'entiers et codes portant un nom "
        "d'identifiant.",
    ),
    "parameters": ("Parameters", "Paramètres"),
    "advice_title": ("Advice", "Conseil"),
    "advice_rule": (
        "Suggested for a table of {rows} rows: k = {k}, ncp = {ncp}. Rule: k = 0.75·√n "
        "between 5 and 20, ncp = 5 or fewer when the table has fewer dimensions.",
        "Suggéré pour une table de {rows} lignes : k = {k}, ncp = {ncp}. Règle : k = 0,75·√n "
        "entre 5 et 20, ncp = 5 ou moins si la table a moins de dimensions.",
    ),
    "advice_target_title": (
        "Advice for a privacy target",
        "Conseil pour une cible de confidentialité",
    ),
    "advice_target_intro": (
        "The platform avatarizes candidate parameters on a sample of the table (the columns "
        "that identify people left out) and measures them, as a job: a few seconds to a "
        "minute, and a page follows it.",
        "La plateforme avatarise des paramètres candidats sur un échantillon de la table (sans "
        "les colonnes qui identifient des personnes) et les mesure, dans une tâche : de "
        "quelques secondes à une minute, qu'une page suit.",
    ),
    "target_metric": ("Privacy metric", "Métrique de confidentialité"),
    "target_value": ("Target (in the metric's unit)", "Cible (dans l'unité de la métrique)"),
    "advise": ("Find the parameters", "Trouver les paramètres"),
    "advice_target_met": (
        "For {targets}: k = {k}, ncp = {ncp} meet the target (measured: {measured}).",
        "Pour {targets} : k = {k}, ncp = {ncp} atteignent la cible (mesuré : {measured}).",
    ),
    "advice_target_missed": (
        "For {targets}: no candidate met the target; the closest is k = {k}, ncp = {ncp} "
        "(measured: {measured}). Leave out more columns or lower the target.",
        "Pour {targets} : aucun candidat n'atteint la cible ; le plus proche est k = {k}, "
        "ncp = {ncp} (mesuré : {measured}). Excluez d'autres colonnes ou abaissez la cible.",
    ),
    "advice_targets": (
        "After the run, the privacy metrics are checked against their targets: {targets}.",
        "Après le traitement, les métriques de confidentialité sont comparées à leurs cibles : "
        "{targets}.",
    ),
    "use_advice": ("Use the advice", "Utiliser le conseil"),
    # advice page (while the advice job waits or runs)
    "advice_wait_title": ("Advice for “{name}”", "Conseil pour « {name} »"),
    "advice_wait_intro": (
        "The platform is measuring candidate parameters for {targets} on a sample of the "
        "table: from a few seconds to a minute. The form comes back with the advice when it "
        "is ready.",
        "La plateforme mesure des paramètres candidats pour {targets} sur un échantillon de la "
        "table : de quelques secondes à une minute. Le formulaire revient avec le conseil dès "
        "qu'il est prêt.",
    ),
    "advice_failed": (
        "No advice could be found: {reason}",
        "Aucun conseil n'a pu être trouvé : {reason}",
    ),
    "advice_gone": (
        "its result is no longer available; ask for the advice again",
        "son résultat n'est plus disponible ; redemandez le conseil",
    ),
    "back_to_table": ("Back to the table", "Retour à la table"),
    "param_k": (
        "Number of neighbours, k (more = more private, less detailed)",
        "Nombre de voisins, k (plus = plus confidentiel, moins détaillé)",
    ),
    "param_ncp": (
        "Projected dimensions, ncp (empty: 5)",
        "Dimensions projetées, ncp (vide : 5)",
    ),
    "param_seed": (
        "Seed (the same seed gives the same avatars)",
        "Graine (la même graine donne les mêmes avatars)",
    ),
    "param_imputation": (
        "Missing values are filled by",
        "Les valeurs manquantes sont complétées par",
    ),
    "imputation_none": ("the default (fast k-NN)", "le défaut (k-NN rapide)"),
    "param_language": ("Language of the reports", "Langue des rapports"),
    "param_name": ("Name of the run", "Nom du traitement"),
    "run": ("Run", "Lancer"),
    "table_unreadable": (
        "The file cannot be read as a table: {reason}",
        "Le fichier ne peut pas être lu comme une table : {reason}",
    ),
    # run page
    "run_title": ("Run “{name}”", "Traitement « {name} »"),
    "progress": ("Progress", "Progression"),
    "progress_intro": (
        "The jobs run one after the other; this page follows them.",
        "Les tâches s'exécutent l'une après l'autre ; cette page les suit.",
    ),
    "job_standard": ("Avatarization", "Avatarisation"),
    "job_privacy_metrics": ("Privacy metrics", "Métriques de confidentialité"),
    "job_signal_metrics": ("Signal metrics", "Métriques de signal"),
    "job_report": ("Report (PDF and HTML)", "Rapport (PDF et HTML)"),
    "job_report_pia": ("Impact assessment (Word)", "Analyse d'impact (Word)"),
    "job_advice": ("Advice", "Conseil"),
    "cancel_run": ("Cancel the run", "Annuler le traitement"),
    "cancel_advice": ("Cancel the advice", "Annuler la recherche de paramètres"),
    "run_failed": ("The run did not finish: {reason}", "Le traitement n'a pas abouti : {reason}"),
    "verdict": ("Verdict: {verdict}", "Verdict : {verdict}"),
    "verdict_pass": ("Safe to share", "Partageable"),
    "verdict_fail": ("Not safe to share yet", "Pas encore partageable"),
    "verdict_unknown": ("Not assessed", "Non évalué"),
    "verdict_no_privacy": (
        "The privacy metrics are not available: the run cannot be judged safe.",
        "Les métriques de confidentialité ne sont pas disponibles : le traitement ne peut pas "
        "être jugé sûr.",
    ),
    "verdict_changes": ("What to change", "Que changer"),
    "web_change_more_neighbours": (
        "Each avatar is too close to its original: increase k (more neighbours blend each "
        "avatar); on the table's page, the advice for a privacy target finds the smallest k "
        "that meets it on this data.",
        "Chaque avatar est trop proche de son original : augmenter k (plus de voisins dans "
        "chaque avatar) ; sur la page de la table, le conseil pour une cible de confidentialité "
        "trouve le plus petit k qui l'atteint sur ces données.",
    ),
    "web_change_copies": (
        "Avatars copy records that only one individual has, typically on a table of coarse "
        "values (scores, codes): increase k, or drop or coarsen the columns that make records "
        "unique; the advice for a privacy target (copies of unique records) measures them for "
        "each k it tries.",
        "Des avatars recopient des enregistrements propres à un seul individu, typiquement sur "
        "une table de valeurs grossières (scores, codes) : augmenter k, ou supprimer ou "
        "regrouper les colonnes qui rendent les enregistrements uniques ; le conseil pour une "
        "cible de confidentialité (copies d'enregistrements uniques) les mesure pour chaque k.",
    ),
    "web_change_membership": (
        "The avatars stay closer to the records they were made from than to new records of the "
        "same population: increase k; the advice for a privacy target (DCR share) searches for "
        "a k that meets it.",
        "Les avatars restent plus proches des enregistrements dont ils sont issus que de "
        "nouveaux enregistrements de la même population : augmenter k ; le conseil pour une "
        "cible de confidentialité (part DCR) cherche un k qui y parvient.",
    ),
    "avatars_shape": (
        "{rows} avatars of {columns} columns.",
        "{rows} avatars de {columns} colonnes.",
    ),
    "privacy_metrics": ("Privacy metrics", "Métriques de confidentialité"),
    "signal_metrics": ("Signal metrics (utility)", "Métriques de signal (utilité)"),
    "metric": ("Metric", "Métrique"),
    "value": ("Value", "Valeur"),
    "target": ("Target", "Cible"),
    "result": ("Result", "Résultat"),
    "meaning": ("Meaning", "Signification"),
    "passed": ("Pass", "Conforme"),
    "failed": ("Fail", "Non conforme"),
    "no_target": ("No target", "Sans cible"),
    "figures": ("Figures", "Figures"),
    "figure_frame": ("Figure: {title}", "Figure : {title}"),
    "downloads": ("Downloads", "Téléchargements"),
    "download_avatars": ("Avatars (CSV)", "Avatars (CSV)"),
    "download_avatars_parquet": ("Avatars (Parquet)", "Avatars (Parquet)"),
    "download_report_pdf": ("Report (PDF)", "Rapport (PDF)"),
    "download_report_html": ("Report (HTML)", "Rapport (HTML)"),
    "download_report_docx": ("Report (Word)", "Rapport (Word)"),
    "download_pia": ("Impact assessment (Word)", "Analyse d'impact (Word)"),
    "not_ready": ("not ready yet", "pas encore prêt"),
    "metrics_pending": (
        "The metrics appear here when their jobs have finished.",
        "Les métriques apparaissent ici quand leurs tâches sont terminées.",
    ),
    "sdk_hint": (
        'From Python: manager.create_runner_from_id("{set_name}")',
        'Depuis Python : manager.create_runner_from_id("{set_name}")',
    ),
    # API keys
    "keys_title": ("API keys", "Clés d'API"),
    "keys_intro": (
        "A key lets a program (the Python SDK, a notebook) act as you. It is shown once, when "
        "it is created: copy it then.",
        "Une clé permet à un programme (le SDK Python, un notebook) d'agir en votre nom. Elle "
        "n'est montrée qu'une fois, à sa création : copiez-la à ce moment.",
    ),
    "key_name": ("Name", "Nom"),
    "key_days": ("Valid for (days)", "Valable (jours)"),
    "create_key": ("Create a key", "Créer une clé"),
    "key_created": (
        "Your new key (shown only now):",
        "Votre nouvelle clé (montrée seulement maintenant) :",
    ),
    "key_value": ("New API key", "Nouvelle clé d'API"),
    "key_expires": ("Expires", "Expire"),
    "key_last_used": ("Last used", "Dernière utilisation"),
    "key_state": ("State", "État"),
    "key_active": ("active", "active"),
    "key_revoked": ("revoked", "révoquée"),
    "key_expired": ("expired", "expirée"),
    "revoke": ("Revoke", "Révoquer"),
    "revoke_key": ("Revoke the key {name}", "Révoquer la clé {name}"),
    "no_keys": ("No key yet.", "Aucune clé pour l'instant."),
    "never": ("never", "jamais"),
    # users
    "users_title": ("Users of your organization", "Utilisateurs de votre organisation"),
    "role": ("Role", "Rôle"),
    "role_admin": ("administrator", "administrateur"),
    "role_user": ("user", "utilisateur"),
    "create_user": ("Add a user", "Ajouter un utilisateur"),
    "initial_password": ("Initial password", "Mot de passe initial"),
    "user_created": ("{email} was added.", "{email} a été ajouté."),
    "delete_user": ("Remove {email}", "Retirer {email}"),
    "remove": ("Remove", "Retirer"),
    "user_deleted": ("{email} was removed.", "{email} a été retiré."),
    "you": ("you", "vous"),
    "organizations_note": (
        "Organizations are created by the platform's operator (avatars users create "
        "--organization ...); here you manage the users of yours.",
        "Les organisations sont créées par l'exploitant de la plateforme (avatars users create "
        "--organization ...) ; vous gérez ici les utilisateurs de la vôtre.",
    ),
    # audit
    "audit_title": ("Audit log", "Journal d'audit"),
    "audit_intro": (
        "Who did what, newest first. Administrators see their whole organization.",
        "Qui a fait quoi, du plus récent au plus ancien. Les administrateurs voient toute leur "
        "organisation.",
    ),
    "when": ("When", "Quand"),
    "who": ("Who", "Qui"),
    "action": ("Action", "Action"),
    "object": ("Object", "Objet"),
    "address": ("Address", "Adresse"),
    "older": ("Older events", "Événements plus anciens"),
    "no_events": ("No event.", "Aucun événement."),
    # errors
    "error_title": ("Something went wrong", "Un problème est survenu"),
    "not_found": (
        "This page does not exist, or it is not yours.",
        "Cette page n'existe pas, ou elle n'est pas à vous.",
    ),
    "forbidden": (
        "This page needs an administrator.",
        "Cette page est réservée aux administrateurs.",
    ),
    "csrf_refused": (
        "This form has expired or did not come from this platform's pages. Go back, reload the "
        "page and try again.",
        "Ce formulaire a expiré ou ne vient pas des pages de cette plateforme. Revenez en "
        "arrière, rechargez la page et réessayez.",
    ),
    "internal": (
        "An internal error occurred; the server's log has the details.",
        "Une erreur interne s'est produite ; le journal du serveur en donne le détail.",
    ),
    "unavailable": (
        "The storage is unavailable for a moment; try again shortly.",
        "Le stockage est momentanément indisponible ; réessayez dans un instant.",
    ),
    "too_large": (
        "{name} is larger than this platform accepts ({limit}).",
        "{name} dépasse la taille acceptée par cette plateforme ({limit}).",
    ),
    "go_home": ("Go to your runs", "Aller à vos traitements"),
    "invalid_form": ("Please check the form: {reason}", "Vérifiez le formulaire : {reason}"),
}


def check_catalogue() -> list[str]:
    """Keys whose text is missing in a language (a test asserts there is none)."""
    return [key for key, pair in _TEXT.items() if len(pair) != len(LANGUAGES) or not all(pair)]


def has_key(key: str) -> bool:
    return key in _TEXT


def translate(key: str, language: Language, **values: object) -> str:
    """The text ``key`` in ``language``, ``{placeholders}`` filled from ``values``."""
    english, french = _TEXT[key]
    text = french if language == "fr" else english
    return text.format(**values) if values else text


def negotiate(chosen: str | None, accept_language: str | None) -> Language:
    """The page's language: the one chosen, else the first of the browser's that we speak."""
    if chosen in LANGUAGES:
        return chosen
    for part in (accept_language or "").split(","):
        tag = part.split(";", 1)[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return DEFAULT_LANGUAGE
