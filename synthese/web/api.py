"""The JSON API (contract section 2): thin views over the domain modules.

Who may do what is access.PERMISSIONS; every view asks it with the role the
request's credential gives on the event or atelier at hand.
"""
import secrets

from flask import Response, current_app, request, session, url_for
from flask_smorest import Blueprint

from .. import access, ateliers, events, exporting, history, importing, members, publication, realtime, tokens
from ..documents import current_store
from ..extensions import db
from ..markdown import sheet_markdown
from ..models import Atelier, Credential, Event
from . import asking as auth, ratelimit, schemas
from .errors import ApiError

blp = Blueprint("api", __name__, url_prefix="/api", description="Synthèse HTTP API")

# -- who is asking ---------------------------------------------------------------


def bearer_credential() -> Credential | None:
    """The credential of the request's Bearer token; 401 if a bad one is given."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    credential = tokens.find(token.strip()) if scheme.lower() == "bearer" else None
    if credential is None:
        # Counted and limited after the lookup: a valid token is never refused
        # because others sent junk from the same address (a venue's NAT).
        ratelimit.hit("bad_token_ip")
        raise ApiError(401, "unauthorized", "This token is not valid.")
    return credential


def _credentials() -> list[Credential]:
    """The Bearer token's credential; for reads, a signed-in browser's too.

    Only safe methods accept the session cookie: changes need a token, so a
    page of another site cannot make a signed-in browser change anything.
    """
    credential = bearer_credential()
    if credential is not None:
        return [credential]
    if request.method in ("GET", "HEAD"):
        return auth.session_credentials(session)
    return []


def event_role(event: Event) -> tuple[str, Credential | None]:
    return access.best(_credentials(), lambda c: access.role_for_event(c, event))


def atelier_role(atelier: Atelier) -> tuple[str, Credential | None]:
    return access.best(_credentials(), lambda c: access.role_for_atelier(c, atelier))


def require(role: str, action: str) -> None:
    if not access.can(role, action):
        if role == access.PUBLIC and not _credentials():
            raise ApiError(401, "unauthorized", "This needs the token of someone who may do it.")
        raise ApiError(403, "forbidden", f"Your role ({role}) may not do this ({action}).")


def _event(slug: str) -> Event:
    event = events.event_by_slug(slug)
    if event is None:
        raise ApiError(404, "not_found", "No such event.")
    return event


def _atelier(atelier_id: int) -> Atelier:
    atelier = db.session.get(Atelier, atelier_id)
    if atelier is None:
        raise ApiError(404, "not_found", "No such atelier.")
    return atelier


def _domain(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except events.DomainError as exc:
        db.session.rollback()
        status = {"bad_code": 403, "closed": 403, "not_found": 404, "published": 409,
                  "conflict": 409}.get(exc.code, 422)
        raise ApiError(status, exc.code, exc.message) from None


def sign_in_url(token: str) -> str:
    return url_for("pages.sign_in", token=token, _external=True)


# -- events ----------------------------------------------------------------------


@blp.post("/events")
@blp.arguments(schemas.EventCreate)
@blp.response(201, schemas.EventCreated)
def create_event(data):
    """Create an event; returns its join code and the organiser's secret token."""
    ratelimit.hit("event_create_ip")
    policy = current_app.config["SYNTHESE_EVENT_CREATION"]
    if policy != "open":
        _, _, key = request.headers.get("Authorization", "").partition(" ")
        if not secrets.compare_digest(key.encode(), policy.encode()):
            raise ApiError(403, "forbidden", "Creating events needs the creation key.")
    created = _domain(events.create_event, **data)
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
    role, _ = event_role(event)
    members = access.can(role, "event.read_members")
    shown = [a for a in events.ordered_ateliers(event) if members or publication.public_version(a)]
    out = {
        "slug": event.slug,
        "title": event.title,
        "description": event.description,
        "place": event.place,
        "starts_on": event.starts_on,
        "ends_on": event.ends_on,
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
    event = _event(slug)
    require(event_role(event)[0], "event.manage")
    _domain(events.update_event, event, **data)
    return get_event(slug)


@blp.post("/events/<slug>/sessions")
@blp.arguments(schemas.SessionCreate)
@blp.response(201, schemas.SessionOut)
def create_session(data, slug):
    """Add a session (organiser)."""
    event = _event(slug)
    require(event_role(event)[0], "event.manage")
    if any(s.label == data["label"].strip() for s in event.sessions):
        raise ApiError(409, "conflict", "This event already has a session with that label.")
    found = _domain(events.session_named, event, data["label"], data["time"])
    db.session.commit()
    return {"label": found.label, "time": found.time, "current": found.is_current}


@blp.post("/events/<slug>/participants")
@blp.arguments(schemas.JoinRequest)
@blp.response(201, schemas.Joined)
def join_event(data, slug):
    """Join an event with its code; returns the participant's secret token."""
    event = _event(slug)
    # Every attempt counts (join_ip, join_code); wrong codes are limited once
    # known wrong, so that a right code is never refused for others' mistakes.
    ratelimit.hit("join_ip")
    ratelimit.hit("join_code", event.id)
    try:
        created = events.join(event, data["join_code"], data["name"], data["organisation"])
    except events.DomainError as exc:
        if exc.code == "bad_code":
            ratelimit.hit("bad_code_ip")
        raise ApiError(403 if exc.code == "bad_code" else 422, exc.code, exc.message) from None
    return {
        "token": created.token,
        "url": sign_in_url(created.token),
        "event": event.slug,
        "name": created.obj.name,
    }


@blp.get("/events/<slug>/dashboard")
@blp.response(200, schemas.Dashboard)
def dashboard(slug):
    """Every atelier's state, who is there and the last edit (organiser)."""
    event = _event(slug)
    require(event_role(event)[0], "event.dashboard")
    return dashboard_data(event)


def dashboard_data(event: Event) -> dict:
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
    require(event_role(event)[0], "event.members")
    return [member_out(c) for c in members.members(event)]


@blp.post("/events/<slug>/members/<int:credential_id>/revoke")
@blp.response(200, schemas.Member)
def revoke_member(slug, credential_id):
    """Withdraw one access: its token opens nothing any more and its live sockets close (organiser)."""
    event = _event(slug)
    role, credential = event_role(event)
    require(role, "event.members")
    revoked = _domain(members.revoke, event, credential_id, credential)
    realtime.disconnect_credential(revoked)
    return member_out(revoked)


@blp.post("/events/<slug>/organiser-links")
@blp.response(201, schemas.OrganiserLink)
def new_organiser_link(slug):
    """Another organiser link, e.g. before revoking one that leaked (organiser)."""
    event = _event(slug)
    require(event_role(event)[0], "event.members")
    token = members.new_organiser_link(event)
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
    role, credential = event_role(event)
    if access.can(role, "atelier.create"):
        created = _domain(ateliers.create_atelier, event, **data)
    else:
        require(role, "atelier.propose")
        ratelimit.hit("propose_token", credential.id)
        extra = set(data) - {"title", "session", "question"}
        if any(data.get(k) for k in extra):
            raise ApiError(403, "forbidden", "A proposal gives a title, a question and a session only.")
        created = _domain(ateliers.propose, event, credential, data["title"], data.get("question", ""),
                          data.get("session"))
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
    atelier = _atelier(atelier_id)
    role = atelier_role(atelier)[0]
    require(role, "atelier.edit")
    _domain(ateliers.update_atelier, atelier, role, **data)
    return atelier_summary(atelier)


@blp.delete("/ateliers/<int:atelier_id>")
@blp.response(204)
def delete_atelier(atelier_id):
    """Remove an atelier and its sheet (organiser; unpublish it first)."""
    atelier = _atelier(atelier_id)
    require(atelier_role(atelier)[0], "atelier.remove")
    _domain(ateliers.delete_atelier, atelier)


@blp.post("/ateliers/<int:atelier_id>/merge")
@blp.arguments(schemas.MergeRequest)
@blp.response(200, schemas.AtelierSummary)
def merge_atelier(data, atelier_id):
    """Merge this atelier into another one (organiser): its text is appended there."""
    source = _atelier(atelier_id)
    require(atelier_role(source)[0], "atelier.merge")
    target = db.session.get(Atelier, data["into"])
    if target is None or target.event_id != source.event_id:
        raise ApiError(422, "invalid", "The atelier to merge into is not in this event.")
    _domain(ateliers.merge_ateliers, source, target)
    return atelier_summary(target)


# -- sheets ----------------------------------------------------------------------


def _sheet(atelier_id: int, number: int | None) -> dict:
    """The sheet as the requester may read it: live for members, else published."""
    atelier = _atelier(atelier_id)
    role, _ = atelier_role(atelier)
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
    role, credential = atelier_role(atelier)
    require(role, "sheet.publish")
    version, new = _domain(publication.publish, atelier, credential)
    return {**version_out(atelier, version), "new": new, "public": True}, 201 if new else 200


@blp.post("/ateliers/<int:atelier_id>/unpublish")
@blp.response(200, schemas.SheetOut)
def unpublish(atelier_id):
    """Hide the sheet's published versions from the public (porteur, organiser)."""
    atelier = _atelier(atelier_id)
    require(atelier_role(atelier)[0], "sheet.unpublish")
    publication.unpublish(atelier)
    return _sheet(atelier_id, None)


@blp.get("/ateliers/<int:atelier_id>/versions")
@blp.response(200, schemas.VersionOut(many=True))
def list_versions(atelier_id):
    """Published versions, oldest first (the public sees them while the sheet is published)."""
    atelier = _atelier(atelier_id)
    if not access.can(atelier_role(atelier)[0], "sheet.read_live") and not atelier.public:
        raise ApiError(404, "not_found", "This sheet is not published.")
    return [version_out(atelier, v) for v in atelier.versions]


@blp.get("/ateliers/<int:atelier_id>/history")
@blp.response(200, schemas.HistoryPoint(many=True))
def get_history(atelier_id):
    """Earlier states of the sheet: its published versions and the states kept as it grew (members)."""
    atelier = _atelier(atelier_id)
    require(atelier_role(atelier)[0], "sheet.read_live")
    return history.points(atelier)


@blp.post("/ateliers/<int:atelier_id>/restore")
@blp.arguments(schemas.RestoreRequest)
@blp.response(200, schemas.SheetOut)
def restore(data, atelier_id):
    """Bring the sheet back to an earlier state, as a new edit that connected people receive (porteur, organiser)."""
    atelier = _atelier(atelier_id)
    role, credential = atelier_role(atelier)
    require(role, "sheet.restore")
    kind, ident = ("version", data["version"]) if "version" in data else ("history", data["point"])
    _domain(history.restore, atelier, kind, ident, credential.id)
    return _sheet(atelier_id, None)


# -- export and import -------------------------------------------------------------


@blp.get("/events/<slug>/export.md")
@blp.arguments(schemas.ExportQuery, location="query")
@blp.response(200, {"type": "string"}, content_type="text/markdown")
def export_markdown(query, slug):
    """Every sheet of the event in one markdown document with a table of contents (organiser)."""
    event = _event(slug)
    require(event_role(event)[0], "event.export")
    text = exporting.event_document(event, query["source"], query["lang"])
    return _download(text.encode(), "text/markdown; charset=utf-8",
                     f"{exporting.file_stem(event, query['source'])}.md")


@blp.get("/events/<slug>/export.zip")
@blp.arguments(schemas.ExportQuery, location="query")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/zip")
def export_zip(query, slug):
    """One markdown file per sheet with YAML front matter, zipped (organiser)."""
    event = _event(slug)
    require(event_role(event)[0], "event.export")
    data = exporting.event_zip(event, query["source"], query["lang"])
    return _download(data, "application/zip", f"{exporting.file_stem(event, query['source'])}.zip")


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
    require(event_role(event)[0], "event.import")
    if (request.content_length or 0) > importing.MAX_IMPORT_BYTES:
        raise ApiError(413, "too_large", f"Imports are limited to {importing.MAX_IMPORT_BYTES // 1024 // 1024} MiB.")
    data = request.get_data(cache=False)
    if len(data) > importing.MAX_IMPORT_BYTES:
        raise ApiError(413, "too_large", f"Imports are limited to {importing.MAX_IMPORT_BYTES // 1024 // 1024} MiB.")
    kind = request.mimetype
    if kind in ("application/zip", "application/x-zip-compressed"):
        report = importing.import_zip(event, data)
    elif kind in ("text/markdown", "text/plain", "text/x-markdown"):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(422, "invalid", "The markdown must be UTF-8 text.") from None
        report = importing.import_markdown(event, text)
    else:
        raise ApiError(415, "unsupported_media_type", "Send text/markdown or application/zip.")
    return report.as_dict(), 201 if report.created else 422
