"""Request and response shapes of the HTTP API (they generate /api/openapi.json)."""
import marshmallow as ma
from marshmallow import validate

from .sheets import SECTION_KEYS


class Base(ma.Schema):
    class Meta:
        # Unknown fields are an error, not silently dropped.
        unknown = ma.RAISE


def Str(max_len, required=False, **kw):
    return ma.fields.String(
        required=required,
        validate=validate.Length(min=1 if required else 0, max=max_len),
        **kw,
    )


class SessionSpec(Base):
    label = Str(120, required=True)
    time = Str(80, load_default="")


class EventCreate(Base):
    title = Str(200, required=True)
    description = Str(5000, load_default="")
    place = Str(200, load_default="")
    starts_on = ma.fields.Date(load_default=None)
    ends_on = ma.fields.Date(load_default=None)
    sessions = ma.fields.List(ma.fields.Nested(SessionSpec), load_default=list,
                              validate=validate.Length(max=50))


class EventCreated(ma.Schema):
    slug = ma.fields.String()
    title = ma.fields.String()
    join_code = ma.fields.String(metadata={"description": "Short code participants type to join"})
    join_url = ma.fields.String(metadata={"description": "Page where people join with the code"})
    organiser_token = ma.fields.String(metadata={"description": "Secret: grants the organiser role"})
    organiser_url = ma.fields.String(metadata={"description": "Secret link that signs a browser in as organiser"})


class AtelierCreate(Base):
    title = Str(200, required=True, metadata={"description": "Title or theme"})
    session = Str(120, load_default=None, allow_none=True,
                  metadata={"description": "Session label; created if new"})
    number = ma.fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 9999))
    place = Str(200, load_default="")
    porteur = Str(200, load_default="", metadata={"description": "Name of the porteur"})


class AtelierCreated(ma.Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    number = ma.fields.Integer()
    session = ma.fields.String(allow_none=True)
    url = ma.fields.String(metadata={"description": "The sheet page"})
    porteur_token = ma.fields.String(metadata={"description": "Secret: grants the porteur role"})
    porteur_url = ma.fields.String(metadata={"description": "Secret link that signs a browser in as porteur"})


class JoinRequest(Base):
    join_code = Str(32, required=True)
    name = Str(200, required=True)
    organisation = Str(200, load_default="")


class Joined(ma.Schema):
    token = ma.fields.String(metadata={"description": "Secret: grants the participant role"})
    url = ma.fields.String(metadata={"description": "Secret link that signs a browser in"})
    event = ma.fields.String(metadata={"description": "Event slug"})
    name = ma.fields.String()


Fields = ma.Schema.from_dict({key: ma.fields.String() for key in SECTION_KEYS}, name="Fields")


class SheetOut(ma.Schema):
    id = ma.fields.Integer()
    event = ma.fields.String(metadata={"description": "Event slug"})
    title = ma.fields.String(metadata={"description": "'Atelier 2 - Emergence - Session 1'"})
    theme = ma.fields.String()
    number = ma.fields.Integer()
    session = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"description": "empty or writing"})
    edited_at = ma.fields.DateTime(allow_none=True)
    fields = ma.fields.Nested(Fields)
