"""The JSON API (contract section 2): thin views over the domain modules.

Who may do what is access.PERMISSIONS; every view asks it with the role the
request's credential gives on the event or atelier at hand.
"""

from flask import Response, request, url_for
from flask_smorest import Api, Blueprint
from sqlalchemy import select

from .. import access, ateliers, events, exporting, history, importing, members, photos, proceedings, publication, realtime, search
from ..documents import current_store
from ..extensions import db
from ..markdown import sheet_markdown
from ..models import Atelier, Credential, Event, Photo
from . import asking, ratelimit, schemas
from .errors import ApiError, handle_http_exception, json_error

class JsonErrorApi(Api):
    """flask-smorest, answering errors in our JSON shape (errors.json_error)."""

    def handle_http_exception(self, error):
        return handle_http_exception(error)


rest = JsonErrorApi()
blp = Blueprint("api", __name__, url_prefix="/api", description="Synthèse HTTP API")

# -- who is asking, and the one error handler ------------------------------------


def _event(slug: str) -> Event:
    return db.first_or_404(select(Event).where(Event.slug == slug), description="No such event.")


def _atelier(atelier_id: int) -> Atelier:
    return db.get_or_404(Atelier, atelier_id, description="No such atelier.")


#: DomainError code -> HTTP status (anything else: 422).
STATUS = {"bad_code": 403, "forbidden": 403, "closed": 403, "not_found": 404, "published": 409, "conflict": 409,
          "unavailable": 503, "too_large": 413, "unsupported": 415}


@blp.errorhandler(events.DomainError)
def refused(exc: events.DomainError):
    db.session.rollback()
    return json_error(ApiError(STATUS.get(exc.code, 422), exc.code, exc.message))


@blp.errorhandler(access.Denied)
def denied(exc: access.Denied):
    db.session.rollback()
    if exc.anonymous and exc.role == access.PUBLIC:
        return json_error(ApiError(401, "unauthorized", "This needs the token of someone who may do it."))
    return json_error(ApiError(403, "forbidden", f"Your role ({exc.role}) may not do this ({exc.action})."))


@blp.errorhandler(asking.BadToken)
def bad_token(_exc):
    return json_error(ApiError(401, "unauthorized", "This token is not valid."))


def sign_in_url(token: str) -> str:
    return url_for("pages.sign_in", token=token, _external=True)


# -- events ----------------------------------------------------------------------


@blp.post("/events")
@blp.arguments(schemas.EventCreate)
@blp.response(201, schemas.EventCreated)
def create_event(data):
    """Create an event; returns its join code and the organiser's secret token."""
    ratelimit.hit("event_create_ip")
    # The creation key rides in the Authorization header, as a token would.
    _, _, key = request.headers.get("Authorization", "").partition(" ")
    created = events.create_event(access.PUBLIC_ASKING, **data, key=key.strip())
    event = created.obj
    return {
        "slug": event.slug,
        "title": event.title,
        "join_code": events.format_code(event.join_code),
        "join_url": url_for("pages.join", code=event.join_code, _external=True),
        "organiser_token": created.token,
        "organiser_url": sign_in_url(created.token),
    }


def atelier_summary(atelier: Atelier, status: dict | None = None) -> dict:
    status = status or publication.status(atelier)
    return {
        "id": atelier.id,
        "number": atelier.number,
        "title": atelier.title,
        "full_title": events.full_title(atelier),
        "session": atelier.session.label if atelier.session else None,
        "place": atelier.place,
        "porteur": atelier.porteur_name,
        "question": atelier.question,
        "proposed": atelier.proposed,
        "status": status["status"],
        "version": status["version"],
        "url": url_for("pages.atelier", atelier_id=atelier.id, _external=True),
    }


@blp.get("/events/<slug>")
@blp.response(200, schemas.EventOut)
def get_event(slug):
    """An event and its ateliers; the public sees only published sheets."""
    event = _event(slug)
    role, _ = asking.api().on_event(event)
    members = access.can(role, "event.read_members")
    shown = [a for a in events.ordered_ateliers(event) if members or publication.public_version(a)]
    out = {
        "slug": event.slug,
        "title": event.title,
        "description": event.description,
        "place": event.place,
        "starts_on": event.starts_on,
        "ends_on": event.ends_on,
        "timezone": event.timezone,
        "open_space": event.open_space,
        "role": role,
        "sessions": [{"label": s.label, "time": s.time, "current": s.is_current} for s in event.sessions],
        "ateliers": [atelier_summary(a) for a in shown],
    }
    if members:
        out["join_code"] = events.format_code(event.join_code)
        out["join_url"] = url_for("pages.join", code=event.join_code, _external=True)
    return out


@blp.patch("/events/<slug>")
@blp.arguments(schemas.EventUpdate)
@blp.response(200, schemas.EventOut)
def update_event(data, slug):
    """Change an event: details, open-space switch, current session (organiser)."""
    events.update_event(asking.api(), _event(slug), **data)
    return get_event(slug)


@blp.post("/events/<slug>/sessions")
@blp.arguments(schemas.SessionCreate)
@blp.response(201, schemas.SessionOut)
def create_session(data, slug):
    """Add a session (organiser)."""
    found = events.add_session(asking.api(), _event(slug), data["label"], data["time"])
    return {"label": found.label, "time": found.time, "current": found.is_current}


@blp.post("/events/<slug>/participants")
@blp.arguments(schemas.JoinRequest)
@blp.response(201, schemas.Joined)
def join_event(data, slug):
    """Join an event with its code; returns the participant's secret token."""
    event = _event(slug)
    created = ratelimit.joining(event, lambda: events.join(event, data["join_code"], data["name"],
                                                           data["organisation"]))
    return {
        "token": created.token,
        "url": sign_in_url(created.token),
        "event": event.slug,
        "name": created.obj.name,
    }


@blp.get("/events/<slug>/dashboard")
@blp.arguments(schemas.DashboardQuery, location="query")
@blp.response(200, schemas.Dashboard)
def dashboard(query, slug):
    """Every atelier's state, who is there and the last edit (organiser)."""
    event = _event(slug)
    asking.api().require(event, "event.dashboard")
    return dashboard_data(event, query["excerpt"])


#: How much of each Synthèse the event's wall shows.
EXCERPT = 280


def dashboard_data(event: Event, excerpt: bool = False) -> dict:
    ordered = events.ordered_ateliers(event)
    people = realtime.people([a.id for a in ordered])
    ids = {cid for room in people.values() for cid in room}
    names = dict(db.session.query(Credential.id, Credential.name).filter(Credential.id.in_(ids))) if ids else {}
    rows, total = [], 0
    for atelier in ordered:
        status = publication.status(atelier)
        room = people.get(atelier.id, {})
        total += len(room)
        rows.append({
            **atelier_summary(atelier, status),
            "present": sorted(({"name": names.get(cid, ""), "role": role} for cid, role in room.items()),
                              key=lambda p: p["name"].lower()),
            "edited_at": status["edited_at"],
            "published_at": status["published_at"],
            "edited_since_published": status["edited_since_published"],
            **({"synthese": current_store().fields(atelier.id)["synthese"][:EXCERPT]} if excerpt else {}),
        })
    return {"ateliers": rows, "present": total}


# -- who has access ----------------------------------------------------------------


def member_out(credential: Credential) -> dict:
    return {"id": credential.id, "role": credential.role, "name": credential.name,
            "organisation": credential.organisation, "atelier": credential.atelier_id,
            "created_at": credential.created_at, "revoked": credential.revoked_at is not None}


@blp.get("/events/<slug>/members")
@blp.response(200, schemas.Member(many=True))
def list_members(slug):
    """Every link of the event (organisers, porteurs, participants), revoked ones included (organiser)."""
    event = _event(slug)
    asking.api().require(event, "event.members")
    return [member_out(c) for c in members.members(event)]


@blp.post("/events/<slug>/members/<int:credential_id>/revoke")
@blp.response(200, schemas.Member)
def revoke_member(slug, credential_id):
    """Withdraw one access: its token opens nothing any more and its live sockets close (organiser)."""
    return member_out(members.revoke(asking.api(), _event(slug), credential_id))


@blp.post("/events/<slug>/organiser-links")
@blp.response(201, schemas.OrganiserLink)
def new_organiser_link(slug):
    """Another organiser link, e.g. before revoking one that leaked (organiser)."""
    token = members.new_organiser_link(asking.api(), _event(slug))
    return {"organiser_token": token, "organiser_url": sign_in_url(token)}


# -- ateliers --------------------------------------------------------------------


@blp.post("/events/<slug>/ateliers")
@blp.arguments(schemas.AtelierCreate)
@blp.response(201, schemas.AtelierCreated)
def create_atelier(data, slug):
    """Create an atelier (organiser), or propose one in open space (participants).

    Either way the answer holds the porteur's secret token: a participant who
    proposes becomes the porteur.
    """
    event = _event(slug)
    who = asking.api()
    role, credential = who.on_event(event)
    if access.can(role, "atelier.create"):
        created = ateliers.create_atelier(who, event, **data)
    else:
        if access.can(role, "atelier.propose"):
            ratelimit.hit("propose_token", credential.id)
        created = ateliers.propose(who, event, **data)
    atelier = created.obj
    return {
        "id": atelier.id,
        "title": atelier.title,
        "number": atelier.number,
        "session": atelier.session.label if atelier.session else None,
        "url": url_for("pages.atelier", atelier_id=atelier.id, _external=True),
        "porteur_token": created.token,
        "porteur_url": sign_in_url(created.token),
    }


@blp.patch("/ateliers/<int:atelier_id>")
@blp.arguments(schemas.AtelierUpdate)
@blp.response(200, schemas.AtelierSummary)
def update_atelier(data, atelier_id):
    """Change an atelier's title, number, session, place, porteur or question."""
    atelier = ateliers.update_atelier(asking.api(), _atelier(atelier_id), **data)
    return atelier_summary(atelier)


@blp.delete("/ateliers/<int:atelier_id>")
@blp.response(204)
def delete_atelier(atelier_id):
    """Remove an atelier and its sheet (organiser; unpublish it first)."""
    ateliers.delete_atelier(asking.api(), _atelier(atelier_id))


@blp.post("/ateliers/<int:atelier_id>/merge")
@blp.arguments(schemas.MergeRequest)
@blp.response(200, schemas.AtelierSummary)
def merge_atelier(data, atelier_id):
    """Merge this atelier into another one (organiser): its text is appended there."""
    return atelier_summary(ateliers.merge_ateliers(asking.api(), _atelier(atelier_id), data["into"]))


# -- sheets ----------------------------------------------------------------------


def _sheet(atelier_id: int, number: int | None) -> dict:
    """The sheet as the requester may read it: live for members, else published."""
    atelier = _atelier(atelier_id)
    role, _ = asking.api().on_atelier(atelier)
    live = access.can(role, "sheet.read_live") and number is None
    fields = current_store().fields(atelier.id) if live else None
    status = publication.status(atelier, fields)
    out = {
        "id": atelier.id,
        "event": atelier.event.slug,
        "theme": atelier.title,
        "number": atelier.number,
        "session": atelier.session.label if atelier.session else None,
        "public": status["public"],
        "edited_at": status["edited_at"],
    }
    if live:
        return {**out, **status, "live": True, "title": events.full_title(atelier), "fields": fields}
    if access.can(role, "sheet.read_live"):
        version = publication.version(atelier, number)
    else:
        version = publication.public_version(atelier, number)
    if version is None:
        # Unpublished and non-existent look alike to the public.
        raise ApiError(404, "not_found", "This sheet has no such published version.")
    return {**out, "status": status["status"], "live": False, "version": version.number,
            "published_at": version.published_at, "title": version.title,
            "fields": {k: version.fields.get(k, "") for k in schemas.SECTION_KEYS}}


@blp.get("/ateliers/<int:atelier_id>")
@blp.arguments(schemas.VersionQuery, location="query")
@blp.response(200, schemas.SheetOut)
def get_sheet(query, atelier_id):
    """The sheet: live for members of its event, the latest published version for anyone else."""
    return _sheet(atelier_id, query["version"])


# -- photos of the boards ---------------------------------------------------------


def photo_out(photo) -> dict:
    return {"id": photo.id, "url": url_for("api.get_photo", photo_id=photo.id, _external=True),
            "width": photo.width, "height": photo.height, "caption": photo.caption, "taken_by": photo.taken_by,
            "created_at": photo.created_at}


@blp.get("/ateliers/<int:atelier_id>/photos")
@blp.response(200, schemas.PhotoList)
def list_photos(atelier_id):
    """The sheet's photos: members see them all, anyone else those of its public version."""
    atelier = _atelier(atelier_id)
    role, _ = asking.api().on_atelier(atelier)
    if access.can(role, "sheet.read_live"):
        shown = photos.photos(atelier)
    else:
        version = publication.public_version(atelier)
        shown = photos.in_version(version) if version else []
    return {"photos": [photo_out(p) for p in shown]}


@blp.post("/ateliers/<int:atelier_id>/photos")
@blp.response(201, schemas.PhotoOut)
def add_photo(atelier_id):
    """Add a photo of the boards (multipart: ``photo``, optional ``caption``): JPEG, PNG or WebP,
    re-encoded by the server without its metadata (members)."""
    atelier = _atelier(atelier_id)
    who = asking.api()
    return photo_out(photos.add_photo(who, atelier, *ratelimit.photo_upload(who, atelier)))


@blp.get("/photos/<int:photo_id>.jpg")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="image/jpeg")
def get_photo(photo_id):
    """A photo, as the server re-encoded it (whoever may see the sheet or its public version)."""
    photo = db.get_or_404(Photo, photo_id, description="No such photo.")
    if not photos.may_see(asking.api(), photo):
        raise ApiError(404, "not_found", "No such photo.")
    response = Response(photo.data, mimetype="image/jpeg")
    # Immutable by id, but it may be deleted: kept in the reader's browser only, for an hour.
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@blp.delete("/photos/<int:photo_id>")
@blp.response(204)
def delete_photo(photo_id):
    """Delete a photo: who took it, the porteur or the organiser."""
    photos.delete_photo(asking.api(), db.get_or_404(Photo, photo_id, description="No such photo."))
    return ""


@blp.get("/ateliers/<int:atelier_id>/sheet.md")
@blp.arguments(schemas.VersionQuery, location="query")
@blp.response(200, {"type": "string"}, content_type="text/markdown")
def get_sheet_markdown(query, atelier_id):
    """The sheet as markdown (same rules as the JSON)."""
    sheet = _sheet(atelier_id, query["version"])
    return Response(sheet_markdown(sheet["title"], sheet["fields"]), mimetype="text/markdown; charset=utf-8")


def version_out(atelier: Atelier, version) -> dict:
    return {
        "version": version.number,
        "title": version.title,
        "published_at": version.published_at,
        "published_by": version.published_by,
        "url": url_for("pages.version", atelier_id=atelier.id, number=version.number, _external=True),
    }


@blp.post("/ateliers/<int:atelier_id>/publish")
@blp.response(201, schemas.Published)
def publish(atelier_id):
    """Publish the sheet as it is now: version N+1, readable by anyone (porteur, organiser)."""
    atelier = _atelier(atelier_id)
    version, new = publication.publish(asking.api(), atelier)
    return {**version_out(atelier, version), "new": new, "public": True}, 201 if new else 200


@blp.post("/ateliers/<int:atelier_id>/unpublish")
@blp.response(200, schemas.SheetOut)
def unpublish(atelier_id):
    """Hide the sheet's published versions from the public (porteur, organiser)."""
    publication.unpublish(asking.api(), _atelier(atelier_id))
    return _sheet(atelier_id, None)


@blp.get("/ateliers/<int:atelier_id>/versions")
@blp.response(200, schemas.VersionOut(many=True))
def list_versions(atelier_id):
    """Published versions, oldest first (the public sees them while the sheet is published)."""
    atelier = _atelier(atelier_id)
    if not access.can(asking.api().on_atelier(atelier)[0], "sheet.read_live") and not atelier.public:
        raise ApiError(404, "not_found", "This sheet is not published.")
    return [version_out(atelier, v) for v in atelier.versions]


@blp.get("/ateliers/<int:atelier_id>/history")
@blp.response(200, schemas.HistoryPoint(many=True))
def get_history(atelier_id):
    """Earlier states of the sheet: its published versions and the states kept as it grew (members)."""
    atelier = _atelier(atelier_id)
    asking.api().require(atelier, "sheet.read_live")
    return history.points(atelier)


@blp.post("/ateliers/<int:atelier_id>/restore")
@blp.arguments(schemas.RestoreRequest)
@blp.response(200, schemas.SheetOut)
def restore(data, atelier_id):
    """Bring the sheet back to an earlier state, as a new edit that connected people receive (porteur, organiser)."""
    kind, ident = ("version", data["version"]) if "version" in data else ("history", data["point"])
    history.restore(asking.api(), _atelier(atelier_id), kind, ident)
    return _sheet(atelier_id, None)


@blp.get("/events/<slug>/search")
@blp.arguments(schemas.SearchQuery, location="query")
@blp.response(200, schemas.SearchResults)
def search_event(query, slug):
    """Search the event's sheets: the organiser, the live sheets; anyone else, the published versions."""
    ratelimit.hit("search_ip")
    hits = search.search(asking.api(), _event(slug), query["q"], query["section"])
    return {"results": [hit_out(h) for h in hits]}


@blp.get("/events/<slug>/themes")
@blp.arguments(schemas.ThemesQuery, location="query")
@blp.response(200, schemas.Themes)
def event_themes(query, slug):
    """The themes that come back across the event's sheets, computed on the server (organiser)."""
    found = exporting.event_themes(asking.api(), _event(slug), query["source"])
    return {"themes": [{"label": t.label, "terms": t.terms, "ateliers": [i for i, _ in t.ateliers],
                        "evidence": [{"atelier": i, "sentence": s} for i, s in t.ateliers]} for t in found]}


def hit_out(hit: search.Hit) -> dict:
    return {"atelier": {"id": hit.atelier.id, "title": hit.title}, "section": hit.section, "snippet": hit.snippet,
            "highlights": [list(m) for m in hit.highlights],
            "url": url_for("pages.atelier", atelier_id=hit.atelier.id, _anchor=f"section-{hit.section}",
                           _external=True)}


# -- export and import -------------------------------------------------------------


@blp.get("/events/<slug>/export.md")
@blp.arguments(schemas.ExportQuery, location="query")
@blp.response(200, {"type": "string"}, content_type="text/markdown")
def export_markdown(query, slug):
    """Every sheet of the event in one markdown document with a table of contents (organiser)."""
    event = _event(slug)
    text = exporting.event_document(asking.api(), event, query["source"], query["lang"])
    return _download(text.encode(), "text/markdown; charset=utf-8",
                     f"{exporting.file_stem(event, query['source'])}.md")


@blp.get("/events/<slug>/export.zip")
@blp.arguments(schemas.ExportQuery, location="query")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/zip")
def export_zip(query, slug):
    """One markdown file per sheet with YAML front matter, zipped (organiser)."""
    event = _event(slug)
    data = exporting.event_zip(asking.api(), event, query["source"], query["lang"])
    return _download(data, "application/zip", f"{exporting.file_stem(event, query['source'])}.zip")


def _proceedings(fmt: str):
    def export_document(query, slug):
        event = _event(slug)
        data = exporting.event_proceedings(asking.api(), event, fmt, query["source"], query["lang"])
        return _download(data, proceedings.FORMATS[fmt], f"{exporting.file_stem(event, query['source'])}.{fmt}")

    export_document.__name__ = f"export_{fmt}"
    export_document.__doc__ = (f"The event's proceedings as {fmt.upper()}: title page, contents, sessions as "
                               "headings, every sheet with its sections (organiser).")
    blp.get(f"/events/<slug>/export.{fmt}")(
        blp.arguments(schemas.ExportQuery, location="query")(
            blp.response(200, {"type": "string", "format": "binary"}, content_type=proceedings.FORMATS[fmt])(
                export_document)))


for _fmt in proceedings.FORMATS:
    _proceedings(_fmt)


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@blp.post("/events/<slug>/import")
@blp.response(201, schemas.ImportReport)
@blp.alt_response(422, schema=schemas.ImportReport, description="Nothing could be imported")
def import_sheets(slug):
    """Create sheets from markdown (text/markdown body) or a zip of them (application/zip) (organiser).

    The report lists the ateliers created and what could not be read.
    """
    event = _event(slug)
    who = asking.api()
    who.require(event, "event.import")  # before the body is read
    if (request.content_length or 0) > importing.MAX_IMPORT_BYTES:
        raise ApiError(413, "too_large", f"Imports are limited to {importing.MAX_IMPORT_BYTES // 1024 // 1024} MiB.")
    data = request.get_data(cache=False)
    if len(data) > importing.MAX_IMPORT_BYTES:
        raise ApiError(413, "too_large", f"Imports are limited to {importing.MAX_IMPORT_BYTES // 1024 // 1024} MiB.")
    kind = request.mimetype
    if kind in ("application/zip", "application/x-zip-compressed"):
        report = importing.import_zip(who, event, data)
    elif kind in ("text/markdown", "text/plain", "text/x-markdown"):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(422, "invalid", "The markdown must be UTF-8 text.") from None
        report = importing.import_markdown(who, event, text)
    else:
        raise ApiError(415, "unsupported_media_type", "Send text/markdown or application/zip.")
    return report.as_dict(), 201 if report.created else 422
