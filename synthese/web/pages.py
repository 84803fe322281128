"""HTML pages for everyone: sign-in links, joining, events, sheets, published
versions. Thin views over the domain, with the API's rules (access.PERMISSIONS)."""
import segno
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from markupsafe import Markup, escape
from sqlalchemy import select, text
from werkzeug.exceptions import Forbidden

from .. import access, ateliers, events, exporting, history, photos, publication, realtime, tokens
from .. import search as search_module
from ..events import DomainError
from ..extensions import db
from ..i18n import N_, current_lang, show_times_in
from ..i18n import gettext as _
from ..models import Atelier, Event, Photo
from ..rendering import to_html
from ..sheets import SECTION_KEYS, SECTIONS, participant_names
from . import asking, ratelimit
from .security import csp_nonce

bp = Blueprint("pages", __name__)

#: What the sheet page's script says, in the reader's language.
SHEET_MESSAGES = [
    N_("Connexion…"),
    N_("Connecté"),
    N_("Enregistrement…"),
    N_("Enregistré"),
    N_("Hors ligne — ce que vous écrivez est gardé sur cet appareil et partira au retour du réseau"),
    N_("écrit dans"),
    N_("vous"),
    N_("Vous êtes dans la liste des participants."),
    N_("Cet atelier a été supprimé ou fusionné dans un autre par l'organisation."),
    N_("L'organisation a retiré votre accès à cet événement."),
    N_("La fiche est pleine : vos derniers ajouts ne sont pas enregistrés."),
    N_("Vos modifications faites hors ligne sont enregistrées."),
    N_("Hors ligne"), N_("présent"), N_("présents"), N_("écrit ici"), N_("Publiée"), N_("version"), N_("Dépubliée"),
]

#: What the event's wall says, in the reader's language.
WALL_MESSAGES = [N_("Vide"), N_("En cours d'écriture"), N_("Publiée"), N_("personne pour l’instant"),
                 N_("Mis à jour à"), N_("Hors ligne, nouvel essai…")]

#: Presence colours, dark enough for white text and distinct side by side.
COLOURS = ["#1f6feb", "#b62324", "#1a7f37", "#8250df", "#bc4c00", "#0e7c86", "#bf3989", "#6e5400"]


def colour_for(credential_id: int) -> str:
    return COLOURS[credential_id % len(COLOURS)]


# -- shared by the page modules ------------------------------------------------------


def event_or_404(slug: str) -> Event:
    """The event a page is about; its times are shown in its time zone."""
    found = db.first_or_404(select(Event).where(Event.slug == slug))
    show_times_in(found.timezone)
    return found


def atelier_or_404(atelier_id: int) -> Atelier:
    """The atelier a page is about; its times are shown in its event's time zone."""
    found = db.get_or_404(Atelier, atelier_id)
    show_times_in(found.event.timezone)
    return found


def forbidden(_exc: access.Denied):
    """The pages' answer to an action refused to who is asking."""
    db.session.rollback()
    return render_template("error.html", error=Forbidden()), 403


bp.register_error_handler(access.Denied, forbidden)


def domain_flash(call, *args, **kwargs):
    """Run an action; its refusal becomes a message on the next page (None returned)."""
    try:
        return call(*args, **kwargs)
    except DomainError as exc:
        db.session.rollback()
        flash(_(exc.message), "error")
        return None


def unconfirmed(question: str, consequence: str, button: str, back: str):
    """A destructive form post goes through once confirmed: first, a page says
    what it will do and posts the same form again (no script needed). None
    once confirmed; otherwise that page, to return."""
    if request.form.get("confirmed") == "yes":
        return None
    fields = {k: v for k, v in request.form.items() if k not in ("csrf", "confirmed")}
    return render_template("confirm.html", question=question, consequence=consequence, button=button,
                           action=request.path, fields=fields, back=back)


def form_number(text: str) -> int | None:
    """A number typed in a form: None when left empty (ateliers.check_number judges the rest)."""
    text = text.strip()
    return None if not text else int(text) if text.isdigit() and len(text) < 8 else -1


def flash_link(label: str, url: str) -> None:
    """Show a secret link once (only its hash is stored: it cannot be shown again)."""
    flash({"label": label, "url": url}, "link")


# -- pages ---------------------------------------------------------------------------


@bp.get("/")
def index():
    return render_template("index.html")


@bp.get("/healthz")
def healthz():
    """For the load balancer: the database answers, and accepted edits are being stored."""
    db.session.execute(text("SELECT 1"))
    stalled = realtime.stalled()
    if stalled:
        return {"status": "stalled", **stalled}, 503
    return {"status": "ok"}


#: How the sign-in page names each role.
ROLE_NAMES = {"organiser": N_("organisateur ou organisatrice"), "porteur": N_("porteur ou porteuse de l'atelier"),
              "participant": N_("participant ou participante")}


@bp.route("/t/<token>", methods=["GET", "POST"])
def sign_in(token):
    """A secret link: sign this browser in with its credential.

    Opened directly (typed, pasted, from a QR code, from this site), it
    signs in at once. Reached from another site, it asks first: a page
    elsewhere must not sign a browser in with links of its choosing.
    """
    credential = tokens.find(token)
    if credential is None:
        asking.junk_token()
        abort(404, description=_("Ce lien n'est pas valide."))
    if request.method == "GET" and request.headers.get("Sec-Fetch-Site", "none") not in ("none", "same-origin"):
        return render_template("sign_in.html", credential=credential, event=credential.event, role_names=ROLE_NAMES)
    asking.sign_in(credential)
    if credential.atelier_id:
        return redirect(url_for("pages.atelier", atelier_id=credential.atelier_id))
    return redirect(url_for("pages.event", slug=credential.event.slug))


@bp.route("/join", methods=["GET", "POST"], defaults={"code": ""})
@bp.route("/join/<code>", methods=["GET", "POST"])
def join(code):
    """Join an event with its code and a name."""
    form = {"code": code, "name": "", "organisation": "", "next": request.args.get("next", "")}
    atelier_id = request.args.get("atelier", "")
    if atelier_id.isdigit() and len(atelier_id) < 13:
        # From an atelier's QR code: straight into that sheet, once a name is given.
        form["next"] = f"/ateliers/{atelier_id}"
        found = events.event_by_code(code) if request.method == "GET" else None
        if found is not None and access.can(asking.page().on_event(found)[0], "event.read_members"):
            return redirect(form["next"])  # already in: no second name asked
    if request.method == "POST":
        form = {k: request.form.get(k, "").strip()[:200] for k in form}
        event = events.event_by_code(form["code"])
        created = domain_flash(ratelimit.joining, event, lambda: events.join(
            event, form["code"], form["name"], form["organisation"]))
        if event is None:
            flash(_("Ce code n'ouvre aucun événement."), "error")
        elif created is not None:
            asking.sign_in(created.obj)
            target = form["next"]
            if not (target.startswith("/ateliers/") and target[10:].isdigit()):
                target = url_for("pages.event", slug=event.slug)
            return redirect(target)
    return render_template("join.html", form=form), 200 if request.method == "GET" else 422


@bp.get("/events/<slug>")
def event(slug):
    """Members: the programme, live (the organiser's dashboard); anyone else: published sheets."""
    found = event_or_404(slug)
    role, _credential = asking.page().on_event(found)
    ordered = events.ordered_ateliers(found)
    if not access.can(role, "event.read_members"):
        published = [(a, publication.public_version(a)) for a in ordered]
        return render_template("event_public.html", event=found, published=[p for p in published if p[1]])
    people = realtime.people([a.id for a in ordered])
    current = events.current_session(found)
    return render_template(
        "event.html",
        event=found,
        role=role,
        ateliers=ordered,
        current=current,
        # The current session's ateliers first: that is where people are going.
        now=[a for a in ordered if current and a.session_id == current.id],
        present={a.id: len(people.get(a.id, {})) for a in ordered},
        status={a.id: publication.status(a) for a in ordered},
        is_organiser=access.can(role, "event.dashboard"),
        themes=exporting.event_themes(asking.page(), found) if access.can(role, "event.export") else [],
        titles={a.id: events.full_title(a) for a in ordered},
        can_propose=found.open_space and access.can(role, "atelier.propose"),
        join_code=events.format_code(found.join_code),
        full_title=events.full_title,
    )


@bp.get("/events/<slug>/search")
def search(slug):
    """The event's sheets searched: live for the organiser, published versions for anyone else."""
    found = event_or_404(slug)
    q = request.args.get("q", "").strip()[:search_module.MAX_QUERY]
    section = request.args.get("section") or None
    section = section if section in SECTION_KEYS else None
    who = asking.page()
    role, _credential = who.on_event(found)
    hits = []
    if q:
        ratelimit.hit("search_ip")
        hits = search_module.search(who, found, q, section)
    return render_template("search.html", event=found, q=q, section=section, hits=hits, marked=marked,
                           live=access.can(role, "event.search_drafts"),
                           titles={s.key: s.title(current_lang()) for s in SECTIONS})


def marked(hit) -> Markup:
    """A snippet with its matches in <mark>, the rest escaped."""
    out, at = [], 0
    for start, end in hit.highlights:
        out += [escape(hit.snippet[at:start]), Markup("<mark>"), escape(hit.snippet[start:end]), Markup("</mark>")]
        at = end
    out.append(escape(hit.snippet[at:]))
    return Markup("").join(out)


@bp.app_context_processor
def search_box():
    return {"search_sections": SECTIONS}


@bp.post("/events/<slug>/propose")
def propose(slug):
    """Open space: a participant proposes an atelier and becomes its porteur."""
    found = event_or_404(slug)
    who = asking.page()
    role, credential = who.on_event(found)
    if access.can(role, "atelier.propose"):
        ratelimit.hit("propose_token", credential.id)
    title = request.form.get("title", "").strip()[:200]
    question = request.form.get("question", "").strip()[:2000]
    created = domain_flash(ateliers.propose, who, found, title, question, request.form.get("session") or None)
    if created is None:
        return redirect(url_for("pages.event", slug=slug))
    asking.sign_in(created.credential)
    flash_link(_("Votre lien de porteur, à garder pour revenir depuis un autre appareil"),
               url_for("pages.sign_in", token=created.token, _external=True))
    return redirect(url_for("pages.atelier", atelier_id=created.obj.id))


def sheet_config(found: Atelier, role: str, credential) -> dict:
    """What the sheet page's script needs (the wall's too)."""
    return {
        "atelier": found.id,
        "room": f"atelier-{found.id}",
        # This browser's copy of the sheet, per person (IndexedDB); the creation
        # time keeps a later atelier that reuses the id from finding it.
        "store": f"synthese:{found.id}:{found.created_at.isoformat()}:{credential.id}",
        "canWrite": access.can(role, "sheet.write"),
        "cspNonce": csp_nonce(),
        "user": {"name": credential.name or role, "color": colour_for(credential.id)},
        "sections": [{"key": s.key, "title": s.title(current_lang())} for s in SECTIONS],
        "messages": {key: _(key) for key in SHEET_MESSAGES},
    }


def qr_svg(url: str) -> Markup:
    """A QR code of ``url``, as inline SVG, large enough to scan from the back of a room."""
    code = segno.make(url, error="m")
    # A viewBox, no fixed size: the page sizes it (a fixed size was cropped on phones).
    return Markup(code.svg_inline(scale=10, dark="#000", light="#fff", omitsize=True,
                                  title=_("QR code du lien pour rejoindre")))


def atelier_join_url(found: Atelier) -> str:
    return url_for("pages.join", code=found.event.join_code, atelier=found.id, _external=True)


@bp.get("/ateliers/<int:atelier_id>/qr")
def atelier_qr(atelier_id):
    """A page to print or project: the QR code and link straight into this atelier's sheet."""
    found = atelier_or_404(atelier_id)
    asking.page().require(found, "sheet.read_live")
    url = atelier_join_url(found)
    return render_template(
        "qr.html", title=events.full_title(found), join_url=url, qr_svg=qr_svg(url),
        join_code=events.format_code(found.event.join_code),
        lead=_("Écrivez la synthèse de cet atelier avec nous, depuis votre téléphone"),
        back_url=url_for("pages.atelier", atelier_id=found.id), back_label=_("Retour à la fiche"))


@bp.get("/ateliers/<int:atelier_id>/wall")
def wall(atelier_id):
    """The sheet on the room's projector: live for a member's browser, else its latest published version."""
    found = atelier_or_404(atelier_id)
    role, credential = asking.page().on_atelier(found)
    if not access.can(role, "sheet.read_live"):
        version = publication.public_version(found)
        if version is None:
            abort(404)
        return render_version(found, version, role, wall=True)
    # Read-only, no presence of its own, nothing kept in the projector's browser.
    config = {**sheet_config(found, role, credential), "canWrite": False, "wall": True, "store": None}
    url = atelier_join_url(found)
    return render_template("wall.html", atelier=found, title=events.full_title(found), config=config,
                           sections=SECTIONS, qr_svg=qr_svg(url), join_url=url, photos=photos.photos(found),
                           may_delete=lambda photo: False)


@bp.get("/events/<slug>/wall")
def event_wall(slug):
    """For the organiser: every atelier of the current session on one screen, live."""
    found = event_or_404(slug)
    asking.page().require(found, "event.dashboard")
    current = events.current_session(found)
    shown = [a for a in events.ordered_ateliers(found) if current is None or a.session_id == current.id]
    config = {"url": url_for("api.dashboard", slug=slug, excerpt="true"), "timezone": found.timezone,
              "messages": {key: _(key) for key in WALL_MESSAGES}}
    return render_template("event_wall.html", event=found, current=current, ateliers=shown, config=config,
                           full_title=events.full_title)


@bp.get("/ateliers/<int:atelier_id>")
def atelier(atelier_id):
    """Members: the live sheet. Anyone else: its latest published version, or the join form."""
    found = atelier_or_404(atelier_id)
    role, credential = asking.page().on_atelier(found)
    if not access.can(role, "sheet.read_live"):
        version = publication.public_version(found)
        if version is not None:
            return render_version(found, version, role)
        form = {"code": "", "name": "", "organisation": "", "next": request.path}
        return render_template("join.html", form=form, atelier=found)
    config = sheet_config(found, role, credential)
    return render_template(
        "sheet.html", atelier=found, title=events.full_title(found), config=config, sections=SECTIONS,
        status=publication.status(found), can_publish=access.can(role, "sheet.publish"),
        can_edit=access.can(role, "atelier.edit"), photos=photos.photos(found),
        can_add_photo=access.can(role, "sheet.write"),
        may_delete=lambda photo: photos.may_delete(role, credential, photo),
    )


@bp.get("/ateliers/<int:atelier_id>/photos")
def gallery(atelier_id):
    """The sheet's photos as the page shows them: fetched again when one comes or goes."""
    found = atelier_or_404(atelier_id)
    role, credential = asking.page().require(found, "sheet.read_live")
    return render_template("_photos.html", atelier=found, photos=photos.photos(found),
                           editable=not request.args.get("wall"),
                           may_delete=lambda photo: photos.may_delete(role, credential, photo))


@bp.post("/ateliers/<int:atelier_id>/photos")
def add_photo(atelier_id):
    found = atelier_or_404(atelier_id)
    who = asking.page()
    script = request.accept_mimetypes.best == "application/json"  # the page's script: it says it itself
    try:
        photos.add_photo(who, found, *ratelimit.photo_upload(who, found))
    except DomainError as exc:
        db.session.rollback()
        if script:
            return {"error": {"code": exc.code, "message": _(exc.message)}}, 422
        flash(_(exc.message), "error")
    else:
        if script:
            return {"message": _("Photo ajoutée.")}, 201
        flash(_("Photo ajoutée."))
    return redirect(url_for("pages.atelier", atelier_id=atelier_id, _anchor="photos"))


@bp.post("/ateliers/<int:atelier_id>/photos/<int:photo_id>/delete")
def delete_photo(atelier_id, photo_id):
    found = db.get_or_404(Photo, photo_id)
    if found.atelier_id != atelier_id:
        abort(404)
    asking.page().require(found_atelier := atelier_or_404(atelier_id), "sheet.read_live")
    ask = unconfirmed(_("Supprimer cette photo ?"),
                      _("Elle disparaît de la fiche et des versions publiées qui la montraient."),
                      _("Supprimer la photo"), url_for("pages.atelier", atelier_id=found_atelier.id, _anchor="photos"))
    if ask:
        return ask
    photos.delete_photo(asking.page(), found)
    flash(_("Photo supprimée."))
    return redirect(url_for("pages.atelier", atelier_id=atelier_id, _anchor="photos"))


@bp.get("/ateliers/<int:atelier_id>/versions/<int:number>")
def version(atelier_id, number):
    """A published version: members read every one, the public those of a published sheet."""
    found = atelier_or_404(atelier_id)
    role, _credential = asking.page().on_atelier(found)
    if access.can(role, "sheet.read_live"):
        shown = publication.version(found, number)
    else:
        shown = publication.public_version(found, number)
    if shown is None:
        abort(404)
    return render_version(found, shown, role)


def render_version(atelier: Atelier, shown, role: str, wall: bool = False):
    sections = []
    for section in SECTIONS:
        body = shown.fields.get(section.key, "")
        if section.key == "participants":
            sections.append((section, None, participant_names(body)))
        else:
            sections.append((section, to_html(body), None))
    visible = atelier.versions if access.can(role, "sheet.read_live") or atelier.public else []
    return render_template(
        "sheet_public.html", atelier=atelier, shown=shown, sections=sections, versions=visible,
        shown_photos=photos.in_version(shown), may_delete=lambda photo: False,
        latest=publication.latest(atelier), member=access.can(role, "sheet.read_live"),
        can_restore=access.can(role, "sheet.restore") and not wall, wall=wall,
    )


@bp.post("/ateliers/<int:atelier_id>/publish")
def publish(atelier_id):
    found = atelier_or_404(atelier_id)
    was_public = found.public
    result = domain_flash(publication.publish, asking.page(), found)
    if result:
        shown, new = result
        if new:
            flash(_("Version {n} publiée.").format(n=shown.number))
        elif was_public:
            flash(_("Rien n'a changé depuis la version {n} : elle reste publiée.").format(n=shown.number))
        else:
            flash(_("La version {n} est de nouveau publiée.").format(n=shown.number))
    return redirect(url_for("pages.atelier", atelier_id=atelier_id))


@bp.post("/ateliers/<int:atelier_id>/unpublish")
def unpublish(atelier_id):
    found = atelier_or_404(atelier_id)
    asking.page().require(found, "sheet.unpublish")
    ask = unconfirmed(_("Dépublier « {title} » ?").format(title=events.full_title(found)),
                      _("Ses versions publiées ne seront plus lisibles par le public ; les membres de l'événement "
                        "les lisent toujours, et vous pourrez la publier de nouveau."),
                      _("Dépublier"), url_for("pages.atelier", atelier_id=atelier_id))
    if ask:
        return ask
    publication.unpublish(asking.page(), atelier_or_404(atelier_id))
    flash(_("La fiche n'est plus publique."))
    return redirect(url_for("pages.atelier", atelier_id=atelier_id))


@bp.post("/ateliers/<int:atelier_id>/versions/<int:number>/restore")
def restore(atelier_id, number):
    """Bring the live sheet back to a published version, as a new edit."""
    edit = domain_flash(history.restore, asking.page(), atelier_or_404(atelier_id), "version", number)
    if edit is not None:
        flash(_("La fiche a retrouvé le texte de la version {n}.").format(n=number))
    return redirect(url_for("pages.atelier", atelier_id=atelier_id))


@bp.route("/ateliers/<int:atelier_id>/edit", methods=["GET", "POST"])
def edit_atelier(atelier_id):
    """What the programme says of an atelier: organiser, or its porteur."""
    found = atelier_or_404(atelier_id)
    asking.page().require(found, "atelier.edit")
    if request.method == "POST":
        changes = {k: request.form.get(k, "").strip() for k in ("title", "place", "porteur", "question")}
        changes["session"] = request.form.get("session") or None
        changes["number"] = form_number(request.form.get("number", ""))
        if domain_flash(ateliers.update_atelier, asking.page(), found, **changes):
            flash(_("Atelier modifié."))
            return redirect(url_for("pages.atelier", atelier_id=atelier_id))
        return redirect(request.path)
    return render_template("atelier_edit.html", atelier=found, event=found.event)
