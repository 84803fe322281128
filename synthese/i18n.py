"""French first, English available: ``_("texte")`` in templates and views.

Source strings are the French text; ``EN`` gives their English. The language
comes from ``?lang=``, then a remembered cookie, then the browser's preference.
"""
from flask import request

LANGS = ("fr", "en")

EN = {
    "Co-écrire la synthèse d'un atelier, ensemble, en direct.": "Co-write the synthesis of a workshop, together, live.",
    "Rejoindre un événement": "Join an event",
    "Code de l'événement": "Event code",
    "Votre nom": "Your name",
    "Organisation (facultatif)": "Organisation (optional)",
    "Rejoindre": "Join",
    "Ateliers": "Ateliers",
    "Sans session": "No session",
    "Ouvrir la fiche": "Open the sheet",
    "Porteur": "Host",
    "Code pour rejoindre": "Join code",
    "Lien pour rejoindre": "Join link",
    "Vous êtes l'organisation de cet événement.": "You are organising this event.",
    "Présents": "Present",
    "Je participe": "I take part",
    "Vous êtes dans la liste des participants.": "You are in the list of participants.",
    "écrit dans": "writing in",
    "vous": "you",
    "Connexion…": "Connecting…",
    "Connecté": "Connected",
    "Enregistrement…": "Saving…",
    "Enregistré": "Saved",
    "Hors ligne — vos modifications seront envoyées au retour de la connexion": "Offline — your edits will be sent when the connection returns",
    "Fiche de l'atelier": "Atelier sheet",
    "Retour à l'événement": "Back to the event",
    "Pour écrire dans cette fiche, rejoignez l'événement avec son code.": "To write in this sheet, join the event with its code.",
    "Ce lien n'est pas valide.": "This link is not valid.",
    "Page introuvable.": "Page not found.",
    "Une erreur est survenue.": "Something went wrong.",
    "Accueil": "Home",
    "Ce code n'ouvre aucun événement.": "This code opens no event.",
    "Indiquez votre nom.": "Please give your name.",
    "Le formulaire a expiré, merci de réessayer.": "The form expired, please try again.",
    "Langue": "Language",
    "Vous écrivez en tant que": "You are writing as",
    "Rejoindre cet atelier": "Join this atelier",
    'Actes : export': 'Proceedings: export',
    'Actions': 'Actions',
    'Afficher le code et le QR code': 'Show the code and the QR code',
    "Ajouter l'atelier": 'Add the atelier',
    'Ajouter la session': 'Add the session',
    'Atelier': 'Atelier',
    'Atelier modifié.': 'Atelier saved.',
    "Aucun atelier pour l'instant.": 'No atelier yet.',
    'Aucune': 'None',
    "Aucune fiche n'a été créée.": 'No sheet was created.',
    "Aucune fiche n'est encore publiée.": 'No sheet is published yet.',
    "Ce qui n'a pas pu être lu": 'What could not be read',
    'Cette session existe déjà.': 'This session already exists.',
    "Choisissez l'atelier dans lequel fusionner.": 'Choose the atelier to merge into.',
    'Choisissez un fichier ou collez du markdown.': 'Choose a file or paste markdown.',
    'Clé de création': 'Creation key',
    'Code': 'Code',
    "Créer l'événement": 'Create the event',
    'Dernière modification': 'Last edit',
    'Des fiches écrites ailleurs (un pad, un export) : une fiche ou un événement entier en markdown, ou un zip de fiches.': 'Sheets written elsewhere (a pad, an export): one sheet or a whole event as markdown, or a zip of sheets.',
    'Description': 'Description',
    'Début': 'Starts',
    'Dépublier': 'Unpublish',
    'Dépubliée': 'Unpublished',
    "En cours d'écriture": 'Being written',
    'Enregistrer': 'Save',
    'Enregistrer la session en cours': 'Save the current session',
    'Fiches créées': 'Sheets created',
    'Fiches publiées': 'Published sheets',
    'Fichier (.md ou .zip)': 'File (.md or .zip)',
    'Fin': 'Ends',
    'Forum ouvert : les participants proposent des ateliers et en deviennent porteurs': 'Open space: participants propose ateliers and host them',
    'Forum ouvert : proposez une question, vous en serez le porteur.': 'Open space: propose a question, you will host it.',
    'Fusionner': 'Merge',
    'Fusionner dedans': 'Merge into it',
    'Gérer': 'Manage',
    "Gérer l'événement": 'Manage the event',
    'Horaire': 'Time',
    'Import': 'Import',
    'Importer': 'Import',
    "L'événement": 'The event',
    "La clé de création n'est pas la bonne.": 'This creation key is not the right one.',
    "La fiche n'est plus publique.": 'The sheet is no longer public.',
    'Le fichier est trop gros (5 Mo au plus).': 'The file is too large (5 MB at most).',
    "Le fichier n'est pas du texte UTF-8.": 'The file is not UTF-8 text.',
    'Le numéro doit être un nombre entre 1 et 9999.': 'The number must be between 1 and 9999.',
    "Les fiches telles qu'écrites maintenant": 'The sheets as written now',
    'Les versions publiées seulement': 'Published versions only',
    'Lien du porteur de « {title} » : envoyez-le-lui, il ne sera plus affiché': 'Host link of “{title}”: send it to them, it will not be shown again',
    'Lien porteur': 'Host link',
    'Lieu': 'Place',
    'Mis à jour en direct.': 'Updated live.',
    'Mis à jour à': 'Updated at',
    'Modifier': 'Edit',
    "Modifier l'atelier": 'Edit the atelier',
    "Nouveau lien du porteur de « {title} » (l'ancien reste valable)": 'New host link of “{title}” (the old one still works)',
    'Nouvel atelier': 'New atelier',
    'Nouvelle session': 'New session',
    'Numéro': 'Number',
    'Organiser un événement': 'Organise an event',
    'Pas encore publiée': 'Not published yet',
    'Porteur (nom, organisation)': 'Host (name, organisation)',
    'Pour rejoindre': 'To join',
    'Proposer': 'Propose',
    'Proposer un atelier': 'Propose an atelier',
    'Présence et publication': 'Presence and publication',
    'Publication': 'Publication',
    'Publier': 'Publish',
    'Publier une nouvelle version': 'Publish a new version',
    'Publiée': 'Published',
    'QR code du lien pour rejoindre': 'QR code of the join link',
    'Question annoncée': 'Announced question',
    "Rejoignez-nous depuis votre téléphone ou votre ordinateur": 'Join from your phone or your computer',
    'Retour au tableau de bord': 'Back to the dashboard',
    'Retour à la fiche': 'Back to the sheet',
    "Retour à la gestion de l'événement": 'Back to managing the event',
    "Rien n'a changé depuis la version {n} : elle reste publiée.": 'Nothing changed since version {n}: it stays published.',
    'Salle': 'Room',
    'Session': 'Session',
    'Session ajoutée.': 'Session added.',
    'Session en cours': 'Current session',
    'Session en cours (ses ateliers sont proposés en premier aux participants)': 'Current session (participants see its ateliers first)',
    'Session en cours enregistrée.': 'Current session saved.',
    'Sessions': 'Sessions',
    'Supprimer': 'Remove',
    'Tableau de bord': 'Dashboard',
    'Tableau de bord hors ligne, nouvel essai…': 'Dashboard offline, trying again…',
    'Thème (titre court)': 'Theme (short title)',
    'Titre': 'Title',
    'Titre ou thème': 'Title or theme',
    'Tous les ateliers': 'All ateliers',
    'Tout a été lu.': 'Everything was read.',
    'Télécharger en markdown': 'Download as markdown',
    "Une par ligne, avec l'horaire après une barre : « Session 1 | 10h-11h30 ».": 'One per line, with the time after a bar: “Session 1 | 10:00-11:30”.',
    'Version': 'Version',
    'Version {n} publiée.': 'Version {n} published.',
    'Versions': 'Versions',
    'Vide': 'Empty',
    "Votre lien d'organisation : gardez-le, il ne sera plus affiché": 'Your organiser link: keep it, it will not be shown again',
    'Votre lien de porteur, à garder pour revenir depuis un autre appareil': 'Your host link, to keep to come back from another device',
    'Votre question': 'Your question',
    "Vous participez ? Rejoignez l'événement avec son code.": 'Taking part? Join the event with its code.',
    'dans': 'into',
    'dépubliée': 'unpublished',
    'en cours': 'now',
    "fiche en cours d'écriture": 'sheet being written',
    'modifiée depuis': 'edited since',
    'ou markdown collé': 'or pasted markdown',
    'ou ouvrez': 'or open',
    'par': 'by',
    'proposé': 'proposed',
    'publiée le': 'published on',
    'un fichier markdown': 'one markdown file',
    'un zip, une fiche par fichier': 'a zip, one sheet per file',
    'version': 'version',
    'version publiée': 'published version',
    'voir la dernière version': 'see the latest version',
    '« {source} » a été fusionné dans « {target} ».': '“{source}” was merged into “{target}”.',
    '« {title} » a été supprimé.': '“{title}” was removed.',
    'État': 'State',
    'Événement enregistré.': 'Event saved.',
    "Cet atelier a été supprimé ou fusionné dans un autre par l'organisation.": 'The organisers removed this atelier or merged it into another.',
    "Trop de tentatives : réessayez dans un moment.": "Too many attempts: try again in a moment.",
    'personne pour l’instant': 'nobody yet',
    '1 personne présente': '1 person present',
    '{n} personnes présentes': '{n} people present',
}

#: The domain's refusals are written in English (the API speaks English);
#: pages show them in French.
FR = {
    'This join code does not open this event.': "Ce code n'ouvre pas cet événement.",
    'This event does not take proposals.': 'Cet événement ne prend pas de propositions.',
    'The sheet is being published by someone else; try again.': "Quelqu'un publie la fiche en même temps : réessayez.",
    'An empty sheet cannot be published.': 'Une fiche vide ne peut pas être publiée.',
    'A proposal needs a question.': "Une proposition a besoin d'une question.",
    'A session needs a label.': "Une session a besoin d'un nom.",
    'An atelier merges into another atelier of the same event.': 'Un atelier se fusionne dans un autre atelier du même événement.',
    'An atelier needs a title or theme.': "Un atelier a besoin d'un titre ou d'un thème.",
    'An event cannot end before it starts.': 'Un événement ne peut pas finir avant de commencer.',
    'An event needs a title.': "Un événement a besoin d'un titre.",
    'Dates are written YYYY-MM-DD.': "Les dates s'écrivent AAAA-MM-JJ.",
    'Please give your name.': 'Indiquez votre nom.',
    'This event has no session with that label.': "Cet événement n'a pas de session de ce nom.",
    'A sheet that has been published cannot be merged away.': 'Une fiche déjà publiée ne peut pas être fusionnée dans une autre.',
    'Unpublish this sheet before removing it.': 'Dépubliez cette fiche avant de la supprimer.',
}


def current_lang() -> str:
    asked = request.args.get("lang") or request.cookies.get("lang")
    return asked if asked in LANGS else (request.accept_languages.best_match(LANGS) or "fr")


def gettext(text: str) -> str:
    if current_lang() == "en":
        return EN.get(text, text)
    return FR.get(text, text)


def people_count(n: int) -> str:
    if not n:
        return gettext("personne pour l’instant")
    return gettext("1 personne présente") if n == 1 else gettext("{n} personnes présentes").format(n=n)


def init_app(app) -> None:
    app.jinja_env.globals.update(_=gettext, current_lang=current_lang, people_count=people_count)

    @app.after_request
    def remember_language(response):
        asked = request.args.get("lang")
        if asked in LANGS:
            response.set_cookie("lang", asked, max_age=365 * 24 * 3600, samesite="Lax")
        return response
