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
}


def current_lang() -> str:
    asked = request.args.get("lang") or request.cookies.get("lang")
    return asked if asked in LANGS else (request.accept_languages.best_match(LANGS) or "fr")


def gettext(text: str) -> str:
    return EN.get(text, text) if current_lang() == "en" else text


def init_app(app) -> None:
    app.jinja_env.globals.update(_=gettext, current_lang=current_lang)

    @app.after_request
    def remember_language(response):
        asked = request.args.get("lang")
        if asked in LANGS:
            response.set_cookie("lang", asked, max_age=365 * 24 * 3600, samesite="Lax")
        return response
