"""Request and response shapes of the HTTP API (they generate /api/openapi.json)."""
import marshmallow as ma
from marshmallow import validate

from ..ateliers import NUMBERS
from ..sheets import SECTION_KEYS


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
    timezone = Str(64, load_default=None, metadata={
        "description": "IANA time zone of the event's times (default: the server's SYNTHESE_TIMEZONE)"})
    sessions = ma.fields.List(ma.fields.Nested(SessionSpec), load_default=list,
                              validate=validate.Length(max=50))


class OrganiserLink(ma.Schema):
    organiser_token = ma.fields.String(metadata={"description": "Secret: grants the organiser role"})
    organiser_url = ma.fields.String(metadata={"description": "Secret link that signs a browser in as organiser"})


class EventCreated(OrganiserLink):
    slug = ma.fields.String()
    title = ma.fields.String()
    join_code = ma.fields.String(metadata={"description": "Short code participants type to join"})
    join_url = ma.fields.String(metadata={"description": "Page where people join with the code"})


class AtelierCreate(Base):
    title = Str(200, required=True, metadata={"description": "Title or theme"})
    session = Str(120, load_default=None, allow_none=True,
                  metadata={"description": "Session label; created if new"})
    number = ma.fields.Integer(load_default=None, allow_none=True, validate=validate.Range(NUMBERS.start, NUMBERS.stop - 1))
    place = Str(200, load_default="")
    porteur = Str(200, load_default="", metadata={"description": "Name of the porteur"})
    question = Str(2000, load_default="", metadata={
        "description": "The question as announced; the sheet's Question section starts with it "
                       "(required for an open-space proposal)"})


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
    status = ma.fields.String(metadata={"description": "empty, writing or published"})
    version = ma.fields.Integer(allow_none=True, metadata={
        "description": "The version shown (the public and ?version=N), else the latest published"})
    public = ma.fields.Boolean(metadata={"description": "Whether published versions are public"})
    live = ma.fields.Boolean(metadata={"description": "True: the sheet as written now; false: a frozen version"})
    published_at = ma.fields.DateTime(allow_none=True)
    edited_at = ma.fields.DateTime(allow_none=True)
    fields = ma.fields.Nested(Fields)


class EventUpdate(Base):
    title = Str(200)
    description = Str(5000)
    place = Str(200)
    starts_on = ma.fields.Date(allow_none=True)
    ends_on = ma.fields.Date(allow_none=True)
    timezone = Str(64, metadata={"description": "IANA time zone of the event's times"})
    open_space = ma.fields.Boolean(metadata={"description": "Participants may propose ateliers"})
    current_session = Str(120, allow_none=True, metadata={"description": "Label of the session running now"})


class SessionCreate(Base):
    label = Str(120, required=True)
    time = Str(80, load_default="")


class SessionOut(ma.Schema):
    label = ma.fields.String()
    time = ma.fields.String()
    current = ma.fields.Boolean()


class AtelierSummary(ma.Schema):
    id = ma.fields.Integer()
    number = ma.fields.Integer()
    title = ma.fields.String(metadata={"description": "Title or theme"})
    full_title = ma.fields.String(metadata={"description": "'Atelier 2 - Emergence - Session 1'"})
    session = ma.fields.String(allow_none=True)
    place = ma.fields.String()
    porteur = ma.fields.String()
    question = ma.fields.String()
    proposed = ma.fields.Boolean()
    status = ma.fields.String(metadata={"description": "empty, writing or published"})
    version = ma.fields.Integer(allow_none=True, metadata={"description": "Latest published version"})
    url = ma.fields.String()


class EventOut(ma.Schema):
    slug = ma.fields.String()
    title = ma.fields.String()
    description = ma.fields.String()
    place = ma.fields.String()
    starts_on = ma.fields.Date(allow_none=True)
    ends_on = ma.fields.Date(allow_none=True)
    timezone = ma.fields.String()
    open_space = ma.fields.Boolean()
    role = ma.fields.String(metadata={"description": "Your role: organiser, participant or public"})
    join_code = ma.fields.String(metadata={"description": "Members only"})
    join_url = ma.fields.String(metadata={"description": "Members only"})
    sessions = ma.fields.List(ma.fields.Nested(SessionOut))
    ateliers = ma.fields.List(ma.fields.Nested(AtelierSummary),
                              metadata={"description": "The public sees published sheets only"})


class AtelierPropose(Base):
    title = Str(200, required=True, metadata={"description": "Title or theme"})
    question = Str(2000, required=True)
    session = Str(120, load_default=None, allow_none=True)


class AtelierUpdate(Base):
    title = Str(200)
    session = Str(120, allow_none=True)
    number = ma.fields.Integer(validate=validate.Range(NUMBERS.start, NUMBERS.stop - 1))
    place = Str(200)
    porteur = Str(200)
    question = Str(2000)


class MergeRequest(Base):
    into = ma.fields.Integer(required=True, metadata={"description": "Id of the atelier that stays"})


class VersionQuery(Base):
    version = ma.fields.Integer(load_default=None, validate=validate.Range(1, 1_000_000),
                                metadata={"description": "A published version (default: live for members, "
                                                         "latest published for the public)"})


class VersionOut(ma.Schema):
    version = ma.fields.Integer()
    title = ma.fields.String()
    published_at = ma.fields.DateTime()
    published_by = ma.fields.String()
    url = ma.fields.String(metadata={"description": "Page of this version"})


class Published(VersionOut):
    new = ma.fields.Boolean(metadata={"description": "False when nothing changed since the last version"})
    public = ma.fields.Boolean()


class HistoryPoint(ma.Schema):
    kind = ma.fields.String(metadata={"description": "version (published) or history (kept at a compaction)"})
    id = ma.fields.Integer(metadata={"description": "Version number, or history point id"})
    seq = ma.fields.Integer(metadata={"description": "Position in the sheet's log of edits"})
    at = ma.fields.DateTime()
    by = ma.fields.String()


class RestoreRequest(Base):
    version = ma.fields.Integer(validate=validate.Range(1, 1_000_000))
    point = ma.fields.Integer(validate=validate.Range(1, 2**62), metadata={"description": "A history point id"})

    @ma.validates_schema
    def one_of(self, data, **kwargs):
        if ("version" in data) == ("point" in data):
            raise ma.ValidationError("Give either a version or a history point.")


class ExportQuery(Base):
    source = ma.fields.String(load_default="draft", validate=validate.OneOf(["draft", "published"]),
                              metadata={"description": "draft: what is written now; published: latest "
                                                       "published versions only"})
    lang = ma.fields.String(load_default="fr", validate=validate.OneOf(["fr", "en"]))


class SearchQuery(Base):
    q = Str(200, required=True, metadata={"description": "Words to find (case, accents and plurals ignored)"})
    section = ma.fields.String(load_default=None, validate=validate.OneOf(SECTION_KEYS))


class SearchHit(ma.Schema):
    atelier = ma.fields.Dict(metadata={"description": "{id, title}"})
    section = ma.fields.String()
    snippet = ma.fields.String(metadata={"description": "The text around the first match, as plain text"})
    highlights = ma.fields.List(ma.fields.List(ma.fields.Integer()),
                                metadata={"description": "[start, end) of each match in the snippet"})
    url = ma.fields.String(metadata={"description": "The sheet's page, at the section"})


class SearchResults(ma.Schema):
    results = ma.fields.List(ma.fields.Nested(SearchHit))


class ThemesQuery(Base):
    source = ma.fields.String(load_default="draft", validate=validate.OneOf(["draft", "published"]))


class ThemeEvidence(ma.Schema):
    atelier = ma.fields.Integer()
    sentence = ma.fields.String(metadata={"description": "The sentence of that sheet that shows the theme best"})


class ThemeOut(ma.Schema):
    label = ma.fields.String()
    terms = ma.fields.List(ma.fields.String())
    ateliers = ma.fields.List(ma.fields.Integer(), metadata={"description": "Ids of the ateliers that speak of it"})
    evidence = ma.fields.List(ma.fields.Nested(ThemeEvidence))


class Themes(ma.Schema):
    themes = ma.fields.List(ma.fields.Nested(ThemeOut))


class PhotoOut(ma.Schema):
    id = ma.fields.Integer()
    url = ma.fields.String()
    width = ma.fields.Integer()
    height = ma.fields.Integer()
    caption = ma.fields.String(metadata={"description": "What the photo shows (its alternative text)"})
    taken_by = ma.fields.String()
    created_at = ma.fields.DateTime()


class PhotoList(ma.Schema):
    photos = ma.fields.List(ma.fields.Nested(PhotoOut))


class ImportReport(ma.Schema):
    created = ma.fields.List(ma.fields.Dict(), metadata={"description": "Ateliers created"})
    problems = ma.fields.List(ma.fields.String(), metadata={"description": "What could not be read"})


class PresentPerson(ma.Schema):
    name = ma.fields.String()
    role = ma.fields.String()


class DashboardQuery(Base):
    excerpt = ma.fields.Boolean(load_default=False,
                                metadata={"description": "Also the start of each sheet's Synthèse (the event's wall)"})


class DashboardRow(AtelierSummary):
    present = ma.fields.List(ma.fields.Nested(PresentPerson))
    synthese = ma.fields.String(metadata={"description": "The start of the Synthèse, with ?excerpt=true"})
    edited_at = ma.fields.DateTime(allow_none=True)
    published_at = ma.fields.DateTime(allow_none=True)
    edited_since_published = ma.fields.Boolean()


class Dashboard(ma.Schema):
    ateliers = ma.fields.List(ma.fields.Nested(DashboardRow))
    present = ma.fields.Integer(metadata={"description": "People connected to a sheet"})


class Member(ma.Schema):
    id = ma.fields.Integer()
    role = ma.fields.String(metadata={"description": "organiser, porteur or participant"})
    name = ma.fields.String()
    organisation = ma.fields.String()
    atelier = ma.fields.Integer(allow_none=True, metadata={"description": "The atelier a porteur hosts"})
    created_at = ma.fields.DateTime()
    revoked = ma.fields.Boolean(metadata={"description": "Whether the organiser withdrew this access"})
