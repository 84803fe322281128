"""HTML pages: thin views over the domain, with the same rules as the API."""
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from sqlalchemy import text

from . import access, auth, events, tokens
from .extensions import db
from .i18n import current_lang, gettext as _
from .models import Atelier
from .security import check_csrf, csp_nonce
from .sheets import SECTIONS

bp = Blueprint("pages", __name__)

#: Presence colours, dark enough for white text and distinct side by side.
COLOURS = ["#1f6feb", "#b62324", "#1a7f37", "#8250df", "#bc4c00", "#0e7c86", "#bf3989", "#6e5400"]


def colour_for(credential_id: int) -> str:
    return COLOURS[credential_id % len(COLOURS)]


@bp.get("/")
def index():
    return render_template("index.html")


@bp.get("/healthz")
def healthz():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.get("/t/<token>")
def sign_in(token):
    """A secret link: sign this browser in with its credential."""
    credential = tokens.find(token)
    if credential is None:
        abort(404, description=_("Ce lien n'est pas valide."))
    auth.sign_in(session, credential)
    if credential.atelier_id:
        return redirect(url_for("pages.atelier", atelier_id=credential.atelier_id))
    return redirect(url_for("pages.event", slug=credential.event.slug))


@bp.route("/join", methods=["GET", "POST"], defaults={"code": ""})
@bp.route("/join/<code>", methods=["GET", "POST"])
def join(code):
    """Join an event with its code and a name."""
    form = {"code": code, "name": "", "organisation": "", "next": request.args.get("next", "")}
    if request.method == "POST":
        check_csrf()
        form = {k: request.form.get(k, "").strip()[:200] for k in form}
        event = events.event_by_code(form["code"])
        if event is None:
            flash(_("Ce code n'ouvre aucun événement."))
        elif not form["name"]:
            flash(_("Indiquez votre nom."))
        else:
            created = events.join(event, form["code"], form["name"], form["organisation"])
            auth.sign_in(session, created.obj)
            target = form["next"]
            if not (target.startswith("/ateliers/") and target[10:].isdigit()):
                target = url_for("pages.event", slug=event.slug)
            return redirect(target)
    return render_template("join.html", form=form), 200 if request.method == "GET" else 422


@bp.get("/events/<slug>")
def event(slug):
    found = events.event_by_slug(slug)
    if found is None:
        abort(404)
    role, credential = access.best(
        auth.session_credentials(session), lambda c: access.role_for_event(c, found)
    )
    if role == access.PUBLIC:
        return redirect(url_for("pages.join", code=""))
    return render_template(
        "event.html",
        event=found,
        ateliers=events.ordered_ateliers(found),
        is_organiser=access.can(role, "event.manage"),
        join_code=events.format_code(found.join_code),
        full_title=events.full_title,
    )


@bp.get("/ateliers/<int:atelier_id>")
def atelier(atelier_id):
    found = db.session.get(Atelier, atelier_id)
    if found is None:
        abort(404)
    role, credential = access.best(
        auth.session_credentials(session), lambda c: access.role_for_atelier(c, found)
    )
    if not access.can(role, "sheet.read_live"):
        form = {"code": "", "name": "", "organisation": "", "next": request.path}
        return render_template("join.html", form=form, atelier=found)
    config = {
        "atelier": found.id,
        "room": f"atelier-{found.id}",
        "canWrite": access.can(role, "sheet.write"),
        "cspNonce": csp_nonce(),
        "user": {"name": credential.name or role, "color": colour_for(credential.id)},
        "sections": [{"key": s.key, "title": s.title(current_lang())} for s in SECTIONS],
        "messages": {
            key: _(key)
            for key in [
                "Connexion…",
                "Connecté",
                "Enregistrement…",
                "Enregistré",
                "Hors ligne — vos modifications seront envoyées au retour de la connexion",
                "écrit dans",
                "vous",
                "Vous êtes dans la liste des participants.",
            ]
        },
    }
    return render_template(
        "sheet.html", atelier=found, title=events.full_title(found), config=config, sections=SECTIONS,
    )
