"""The organiser's pages: create an event, manage its sessions and ateliers,
show the join code and QR code, import and export."""
import re
from datetime import date

from flask import (Blueprint, current_app, flash, redirect, render_template, request, url_for)

from .. import access, ateliers, events, importing, members
from ..events import DomainError
from ..extensions import db
from ..i18n import N_, gettext as _
from ..models import Atelier
from . import asking, ratelimit
from .api import sign_in_url
from .pages import atelier_or_404, domain_flash, event_or_404, flash_link, forbidden, form_number, qr_svg, unconfirmed

bp = Blueprint("organise", __name__)
bp.register_error_handler(access.Denied, forbidden)

#: The zones offered on the event's form: metropolitan France, then the
#: overseas territories and a few neighbours (the API takes any IANA zone).
TIMEZONES = {
    "Europe/Paris": N_("France métropolitaine (Paris)"),
    "America/Guadeloupe": N_("Guadeloupe, Saint-Martin, Saint-Barthélemy"),
    "America/Martinique": N_("Martinique"),
    "America/Cayenne": N_("Guyane"),
    "Indian/Reunion": N_("La Réunion"),
    "Indian/Mayotte": N_("Mayotte"),
    "America/Miquelon": N_("Saint-Pierre-et-Miquelon"),
    "Pacific/Noumea": N_("Nouvelle-Calédonie"),
    "Pacific/Tahiti": N_("Polynésie française (Tahiti)"),
    "Pacific/Wallis": N_("Wallis-et-Futuna"),
    "Europe/Brussels": N_("Belgique"),
    "Europe/Zurich": N_("Suisse"),
    "America/Montreal": N_("Québec"),
    "Africa/Dakar": N_("Sénégal"),
    "UTC": N_("UTC"),
}


def _form(*names, limit=200) -> dict[str, str]:
    return {name: request.form.get(name, "").strip()[:limit] for name in names}


def _date(value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DomainError("invalid", "Dates are written YYYY-MM-DD.") from None


#: A time at the end of a session's line: "10h", "10h-11h30", "9:30 – 11:00", "14h à 15h30".
TIME_AT_END = re.compile(r"^(?P<label>.*?)[\s,;|–—-]+(?P<time>\d{1,2}\s*[h:.]\s*\d{0,2}"
                         r"(?:\s*(?:-|–|—|à|to)\s*\d{1,2}\s*[h:.]\s*\d{0,2})?)\s*$")


TIME_ONLY = re.compile(r"\d{1,2}\s*[h:.]\s*\d{0,2}")


def _sessions(text: str) -> list[dict]:
    """One session per line, its time after it if any: "Session 1 10h-11h30",
    "Session 1 | 10h-11h30" or "Matin, 9h30 - 12h" (no AltGr needed)."""
    found = []
    for line in text.splitlines():
        label, bar, time = line.partition("|")
        if not bar:
            match = TIME_AT_END.match(line.strip())
            # A line that is only a time ("10h-12h") names its session by it.
            if match and match["label"].strip() and not TIME_ONLY.fullmatch(match["label"].strip()):
                label, time = match["label"], match["time"]
            else:
                label, time = line, ""
        if label.strip():
            found.append({"label": label.strip()[:120], "time": time.strip()[:80]})
    return found[:50]


@bp.route("/events/new", methods=["GET", "POST"])
def new_event():
    policy = current_app.config["SYNTHESE_EVENT_CREATION"]
    form = _form("title", "place", "starts_on", "ends_on", "sessions", "key", "timezone") | _form(
        "description", limit=5000)
    form["timezone"] = form["timezone"] or current_app.config["SYNTHESE_TIMEZONE"]
    if request.method == "POST":
        ratelimit.hit("event_create_ip")
        form["sessions"] = request.form.get("sessions", "")[:6000]
        try:
            created = events.create_event(
                access.PUBLIC_ASKING, form["title"], description=form["description"], place=form["place"],
                starts_on=_date(form["starts_on"]), ends_on=_date(form["ends_on"]),
                sessions=_sessions(form["sessions"]), key=form["key"], timezone=form["timezone"],
            )
        except DomainError as exc:
            flash(_(exc.message), "error")
        else:
            asking.sign_in(created.credential)
            flash_link(_("Votre lien d'organisation : gardez-le, il ne sera plus affiché"),
                       sign_in_url(created.token))
            return redirect(url_for("organise.manage", slug=created.obj.slug))
        return render_template("event_new.html", form=form, needs_key=policy != "open", timezones=TIMEZONES), 422
    return render_template("event_new.html", form=form, needs_key=policy != "open", timezones=TIMEZONES)


@bp.get("/events/<slug>/manage")
def manage(slug):
    event = event_or_404(slug)
    role, credential = asking.page().require(event, "event.manage")
    return render_template(
        "event_manage.html", event=event, ateliers=events.ordered_ateliers(event),
        full_title=events.full_title, join_code=events.format_code(event.join_code),
        members=members.members(event) if access.can(role, "event.members") else [], me=credential,
        timezones=TIMEZONES,
    )


@bp.post("/events/<slug>/manage/details")
def update_details(slug):
    event = event_or_404(slug)
    form = _form("title", "place", "starts_on", "ends_on", "timezone") | _form("description", limit=5000)
    try:
        changes = {**form, "starts_on": _date(form["starts_on"]), "ends_on": _date(form["ends_on"]),
                   "timezone": form["timezone"] or event.timezone,
                   "open_space": request.form.get("open_space") == "on"}
    except DomainError as exc:
        flash(_(exc.message), "error")
    else:
        if domain_flash(events.update_event, asking.page(), event, **changes):
            flash(_("Événement enregistré."))
    return redirect(url_for("organise.manage", slug=slug))


@bp.post("/events/<slug>/manage/code")
def change_code(slug):
    event = event_or_404(slug)
    asking.page().require(event, "event.manage")
    ask = unconfirmed(_("Changer le code de « {title} » ?").format(title=event.title),
                      _("Le code {code}, ses liens et ses QR codes imprimés n'ouvriront plus l'événement ; "
                        "les personnes déjà entrées gardent leur accès.").format(
                          code=events.format_code(event.join_code)),
                      _("Changer de code"), url_for("organise.manage", slug=slug))
    if ask:
        return ask
    events.change_join_code(asking.page(), event)
    flash(_("Nouveau code : {code}. L'ancien n'ouvre plus l'événement ; les personnes déjà entrées gardent leur accès.")
          .format(code=events.format_code(event.join_code)))
    return redirect(url_for("organise.manage", slug=slug))


@bp.post("/events/<slug>/manage/members/<int:credential_id>/revoke")
def revoke_member(slug, credential_id):
    event = event_or_404(slug)
    asking.page().require(event, "event.members")
    who = domain_flash(members.member, event, credential_id)
    if who is None:
        return redirect(url_for("organise.manage", slug=slug) + "#members")
    ask = unconfirmed(_("Retirer l'accès de « {name} » ?").format(name=who.name or _("(sans nom)")),
                      _("Son lien n'ouvrira plus rien et ses pages ouvertes s'arrêtent ; ce qui est écrit reste."),
                      _("Retirer l'accès"), url_for("organise.manage", slug=slug) + "#members")
    if ask:
        return ask
    revoked = domain_flash(members.revoke, asking.page(), event, credential_id)
    if revoked:
        flash(_("L'accès de « {name} » est retiré : son lien n'ouvre plus rien et ses pages ouvertes s'arrêtent.")
              .format(name=revoked.name))
    return redirect(url_for("organise.manage", slug=slug) + "#members")


@bp.post("/events/<slug>/manage/organiser-link")
def organiser_link(slug):
    token = members.new_organiser_link(asking.page(), event_or_404(slug))
    flash_link(_("Nouveau lien d'organisation : gardez-le, il ne sera plus affiché"), sign_in_url(token))
    return redirect(url_for("organise.manage", slug=slug) + "#members")


@bp.post("/events/<slug>/manage/sessions")
def add_session(slug):
    form = _form("label", "time")
    if domain_flash(events.add_session, asking.page(), event_or_404(slug), form["label"], form["time"][:80]):
        flash(_("Session ajoutée."))
    return redirect(url_for("organise.manage", slug=slug) + "#sessions")


@bp.post("/events/<slug>/manage/current")
def set_current(slug):
    event = event_or_404(slug)
    if domain_flash(events.update_event, asking.page(), event, current_session=request.form.get("session") or None):
        flash(_("Session en cours enregistrée."))
    return redirect(url_for("organise.manage", slug=slug) + "#sessions")


@bp.post("/events/<slug>/manage/ateliers")
def add_atelier(slug):
    event = event_or_404(slug)
    form = _form("title", "place", "porteur", "number") | _form("question", limit=2000)
    created = domain_flash(ateliers.create_atelier, asking.page(), event, form["title"],
                           session=request.form.get("session") or None, number=form_number(form["number"]),
                           place=form["place"], porteur=form["porteur"], question=form["question"])
    if created:
        flash_link(_("Lien du porteur de « {title} » : envoyez-le-lui, il ne sera plus affiché").format(
            title=events.full_title(created.obj)), sign_in_url(created.token))
    return redirect(url_for("organise.manage", slug=slug) + "#ateliers")


@bp.post("/ateliers/<int:atelier_id>/porteur-link")
def porteur_link(atelier_id):
    atelier = atelier_or_404(atelier_id)
    token = ateliers.new_porteur_link(asking.page(), atelier)
    flash_link(_("Nouveau lien du porteur de « {title} » (l'ancien reste valable)").format(
        title=events.full_title(atelier)), sign_in_url(token))
    return redirect(url_for("organise.manage", slug=atelier.event.slug) + "#ateliers")


@bp.post("/ateliers/<int:atelier_id>/remove")
def remove_atelier(atelier_id):
    atelier = atelier_or_404(atelier_id)
    slug, title = atelier.event.slug, events.full_title(atelier)
    asking.page().require(atelier, "atelier.remove")
    ask = unconfirmed(_("Supprimer « {title} » ?").format(title=title),
                      _("La fiche et son texte seront effacés, et les personnes qui l'ont ouverte en seront "
                        "averties. Cela ne peut pas être annulé."),
                      _("Supprimer"), url_for("organise.manage", slug=slug) + "#ateliers")
    if ask:
        return ask
    if domain_flash(ateliers.delete_atelier, asking.page(), atelier):
        flash(_("« {title} » a été supprimé.").format(title=title))
    return redirect(url_for("organise.manage", slug=slug) + "#ateliers")


@bp.post("/ateliers/<int:atelier_id>/merge")
def merge_atelier(atelier_id):
    source = atelier_or_404(atelier_id)
    slug, title = source.event.slug, events.full_title(source)
    asking.page().require(source, "atelier.merge")
    into = db.session.get(Atelier, request.form.get("into", type=int) or 0)
    into = into if into is not None and into.event_id == source.event_id else None
    ask = unconfirmed(_("Fusionner « {source} » dans « {target} » ?").format(
                          source=title, target=events.full_title(into) if into else "?"),
                      _("Son texte sera ajouté à l'autre fiche, puis elle sera supprimée. Cela ne peut pas être "
                        "annulé."),
                      _("Fusionner"), url_for("organise.manage", slug=slug) + "#ateliers")
    if ask:
        return ask
    target = domain_flash(ateliers.merge_ateliers, asking.page(), source, request.form.get("into", type=int) or 0)
    if target is not None:
        flash(_("« {source} » a été fusionné dans « {target} ».").format(
            source=title, target=events.full_title(target)))
    return redirect(url_for("organise.manage", slug=slug) + "#ateliers")


@bp.post("/events/<slug>/manage/import")
def import_sheets(slug):
    event = event_or_404(slug)
    who = asking.page()
    who.require(event, "event.import")  # before the file is read
    upload = request.files.get("file")
    pasted = request.form.get("markdown", "")
    if upload and upload.filename:
        data = upload.read(importing.MAX_IMPORT_BYTES + 1)
        if len(data) > importing.MAX_IMPORT_BYTES:
            report = importing.Report(problems=[_("Le fichier est trop gros (5 Mo au plus).")])
        elif upload.filename.lower().endswith(".zip"):
            report = importing.import_zip(who, event, data)
        else:
            try:
                report = importing.import_markdown(who, event, data.decode("utf-8"), upload.filename)
            except UnicodeDecodeError:
                report = importing.Report(problems=[_("Le fichier n'est pas du texte UTF-8.")])
    elif pasted.strip():
        report = importing.import_markdown(who, event, pasted[: importing.MAX_IMPORT_BYTES])
    else:
        report = importing.Report(problems=[_("Choisissez un fichier ou collez du markdown.")])
    return render_template("import_report.html", event=event, report=report,
                           created=[db.session.get(Atelier, c["id"]) for c in report.created],
                           full_title=events.full_title), 200 if report.created else 422


@bp.get("/events/<slug>/qr")
def qr(slug):
    """A page to project or print: the code, the link and a QR code, large."""
    event = event_or_404(slug)
    asking.page().require(event, "event.read_members")
    join_url = url_for("pages.join", code=event.join_code, _external=True)
    return render_template("qr.html", title=event.title, join_url=join_url, qr_svg=qr_svg(join_url),
                           lead=_("Rejoignez-nous depuis votre téléphone ou votre ordinateur"),
                           back_url=url_for("pages.event", slug=event.slug), back_label=_("Retour à l'événement"),
                           join_code=events.format_code(event.join_code))
