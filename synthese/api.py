"""The JSON API (contract section 2): thin views over the domain modules."""
import secrets

from flask import Response, current_app, request, url_for
from flask_smorest import Blueprint

from . import access, documents, events, schemas, tokens
from .errors import ApiError
from .extensions import db
from .markdown import sheet_markdown
from .models import Atelier, Credential

blp = Blueprint("api", __name__, url_prefix="/api", description="Synthèse HTTP API")


def bearer_credential() -> Credential | None:
    """The credential of the request's Bearer token; 401 if a bad one is given."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    credential = tokens.find(token.strip()) if scheme.lower() == "bearer" else None
    if credential is None:
        raise ApiError(401, "unauthorized", "This token is not valid.")
    return credential


def _event(slug: str):
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
        status = 403 if exc.code == "bad_code" else 422
        raise ApiError(status, exc.code, exc.message) from None


def sign_in_url(token: str) -> str:
    return url_for("pages.sign_in", token=token, _external=True)


@blp.post("/events")
@blp.arguments(schemas.EventCreate)
@blp.response(201, schemas.EventCreated)
def create_event(data):
    """Create an event; returns its join code and the organiser's secret token."""
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


@blp.post("/events/<slug>/ateliers")
@blp.arguments(schemas.AtelierCreate)
@blp.response(201, schemas.AtelierCreated)
def create_atelier(data, slug):
    """Create an atelier (organiser); returns the porteur's secret token."""
    event = _event(slug)
    if not access.can(access.role_for_event(bearer_credential(), event), "atelier.create"):
        raise ApiError(403, "forbidden", "Only the organiser may create ateliers.")
    created = _domain(events.create_atelier, event, **data)
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


@blp.post("/events/<slug>/participants")
@blp.arguments(schemas.JoinRequest)
@blp.response(201, schemas.Joined)
def join_event(data, slug):
    """Join an event with its code; returns the participant's secret token."""
    event = _event(slug)
    created = _domain(events.join, event, data["join_code"], data["name"], data["organisation"])
    return {
        "token": created.token,
        "url": sign_in_url(created.token),
        "event": event.slug,
        "name": created.obj.name,
    }


def _readable_sheet(atelier_id: int):
    atelier = _atelier(atelier_id)
    role = access.role_for_atelier(bearer_credential(), atelier)
    if not access.can(role, "sheet.read_live"):
        # Anyone else reads published versions, which come with publishing.
        raise ApiError(404, "not_found", "This sheet is not published.")
    return atelier, documents.current_store().fields(atelier.id)


@blp.get("/ateliers/<int:atelier_id>")
@blp.response(200, schemas.SheetOut)
def get_sheet(atelier_id):
    """The sheet: live for members of its event."""
    atelier, fields = _readable_sheet(atelier_id)
    return {
        "id": atelier.id,
        "event": atelier.event.slug,
        "title": events.full_title(atelier),
        "theme": atelier.title,
        "number": atelier.number,
        "session": atelier.session.label if atelier.session else None,
        "status": "writing" if any(v.strip() for v in fields.values()) else "empty",
        "edited_at": atelier.document.edited_at,
        "fields": fields,
    }


@blp.get("/ateliers/<int:atelier_id>/sheet.md")
@blp.response(200, {"type": "string"}, content_type="text/markdown")
def get_sheet_markdown(atelier_id):
    """The sheet as markdown."""
    atelier, fields = _readable_sheet(atelier_id)
    return Response(sheet_markdown(atelier, fields), mimetype="text/markdown; charset=utf-8")
