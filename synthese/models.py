"""Database models: events, their sessions and ateliers, credentials, and the
Yjs document of each atelier's sheet (a snapshot plus an append-only log)."""
from datetime import date, datetime, timezone

from sqlalchemy import JSON, BigInteger, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Event(db.Model):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Public, URL-safe identifier (readable part + random suffix).
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(String(200), default="")
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    #: IANA zone in which the event's times are shown (Pointe-à-Pitre is not Paris).
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    #: Short code participants type to join (normalised: upper case, no dash).
    join_code: Mapped[str] = mapped_column(String(16), unique=True)
    #: Open-space mode: participants propose ateliers and become their porteurs.
    open_space: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    sessions: Mapped[list["EventSession"]] = relationship(
        back_populates="event", order_by="EventSession.position", cascade="all, delete-orphan"
    )
    ateliers: Mapped[list["Atelier"]] = relationship(
        back_populates="event", cascade="all, delete-orphan"
    )


class EventSession(db.Model):
    """A time slot of an event in which several ateliers run side by side."""

    __tablename__ = "event_sessions"
    __table_args__ = (UniqueConstraint("event_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(120))
    #: Free text ("14h-15h30") as organisers write it.
    time: Mapped[str] = mapped_column(String(80), default="")
    #: Display order within the event.
    position: Mapped[int] = mapped_column(default=0)
    #: The session running now, whose ateliers joining participants see first.
    is_current: Mapped[bool] = mapped_column(default=False)

    event: Mapped[Event] = relationship(back_populates="sessions")


class Atelier(db.Model):
    __tablename__ = "ateliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("event_sessions.id", ondelete="SET NULL")
    )
    #: Number shown to people ("Atelier 2").
    number: Mapped[int] = mapped_column(default=1)
    #: Title or theme.
    title: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200), default="")
    #: Name of the porteur as announced in the programme.
    porteur_name: Mapped[str] = mapped_column(String(200), default="")
    #: The question as announced (programme or open-space proposal); the
    #: sheet's Question section starts with it and lives on in the document.
    question: Mapped[str] = mapped_column(Text, default="")
    #: Proposed by a participant in open-space mode (rather than by the organiser).
    proposed: Mapped[bool] = mapped_column(default=False)
    #: Whether its published versions are readable by anyone (unpublishing hides them).
    public: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    event: Mapped[Event] = relationship(back_populates="ateliers")
    session: Mapped[EventSession | None] = relationship()
    document: Mapped["SheetDocument"] = relationship(
        back_populates="atelier", cascade="all, delete-orphan", uselist=False
    )
    versions: Mapped[list["SheetVersion"]] = relationship(
        back_populates="atelier", order_by="SheetVersion.number", cascade="all, delete-orphan"
    )


class Credential(db.Model):
    """A secret token and the role it grants; only its hash is stored."""

    __tablename__ = "credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the token (tokens are 256-bit random, so no slow hash is needed).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: "organiser", "porteur" or "participant".
    role: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    #: The atelier a porteur hosts; None for the other roles.
    atelier_id: Mapped[int | None] = mapped_column(ForeignKey("ateliers.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), default="")
    organisation: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set when the organiser withdrew this access; the token then opens nothing.
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    event: Mapped[Event] = relationship()
    atelier: Mapped[Atelier | None] = relationship()


class SheetDocument(db.Model):
    """Head of an atelier's Yjs document: the compacted snapshot and log counters.

    The document's state is ``snapshot`` followed by every SheetUpdate whose
    ``seq`` is greater than ``snapshot_seq``. Appenders lock this row to take
    the next sequence numbers, so the log has no gap and no duplicate.
    """

    __tablename__ = "sheet_documents"

    atelier_id: Mapped[int] = mapped_column(
        ForeignKey("ateliers.id", ondelete="CASCADE"), primary_key=True
    )
    #: Yjs v1 update holding the whole document up to snapshot_seq.
    snapshot: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    #: Last log sequence number folded into the snapshot.
    snapshot_seq: Mapped[int] = mapped_column(default=0)
    #: Last log sequence number appended.
    head_seq: Mapped[int] = mapped_column(default=0)
    #: Time of the last accepted edit.
    edited_at: Mapped[datetime | None]

    atelier: Mapped[Atelier] = relationship(back_populates="document")


class SheetUpdate(db.Model):
    """One accepted Yjs update, in the order the server accepted it."""

    __tablename__ = "sheet_updates"
    __table_args__ = (UniqueConstraint("atelier_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    atelier_id: Mapped[int] = mapped_column(ForeignKey("ateliers.id", ondelete="CASCADE"))
    seq: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    #: Who sent it (None once that credential is gone).
    credential_id: Mapped[int | None] = mapped_column(
        ForeignKey("credentials.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SheetClient(db.Model):
    """Who writes under a Yjs client ID in a sheet: its first writer, alone.

    Without it, anyone could send the next clocks of another person's client
    ID, and their real text would then be skipped as already known.
    """

    __tablename__ = "sheet_clients"

    atelier_id: Mapped[int] = mapped_column(ForeignKey("ateliers.id", ondelete="CASCADE"), primary_key=True)
    #: Yjs client IDs are up to 53 bits.
    client_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    credential_id: Mapped[int | None] = mapped_column(
        ForeignKey("credentials.id", ondelete="SET NULL")
    )


class SheetVersion(db.Model):
    """A published, frozen version of a sheet."""

    __tablename__ = "sheet_versions"
    __table_args__ = (UniqueConstraint("atelier_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    atelier_id: Mapped[int] = mapped_column(ForeignKey("ateliers.id", ondelete="CASCADE"), index=True)
    #: 1, 2, ... per atelier.
    number: Mapped[int]
    #: The sheet's full title when it was published.
    title: Mapped[str] = mapped_column(String(400))
    #: Section key -> text, as published.
    fields: Mapped[dict] = mapped_column(JSON)
    #: The Yjs document as published (lets an earlier state be restored as a new edit).
    state: Mapped[bytes] = mapped_column(LargeBinary)
    #: Log sequence number the version was taken at.
    seq: Mapped[int] = mapped_column(default=0)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Name of who published it, kept even if their credential goes.
    published_by: Mapped[str] = mapped_column(String(200), default="")
    #: Ids of the sheet's photos when it was published (a photo deleted since is gone from it too).
    photos: Mapped[list] = mapped_column(JSON, default=list)
    credential_id: Mapped[int | None] = mapped_column(
        ForeignKey("credentials.id", ondelete="SET NULL")
    )

    atelier: Mapped[Atelier] = relationship(back_populates="versions")


class SheetHistory(db.Model):
    """The document as it was at a point of its log: kept by each compaction,
    so the sheet's evolution can be shown and an earlier state restored."""

    __tablename__ = "sheet_history"
    __table_args__ = (UniqueConstraint("atelier_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    atelier_id: Mapped[int] = mapped_column(ForeignKey("ateliers.id", ondelete="CASCADE"), index=True)
    #: Log sequence number the state covers.
    seq: Mapped[int]
    #: Yjs v1 update holding the whole document at ``seq``.
    state: Mapped[bytes] = mapped_column(LargeBinary)
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)


class SearchStamp(db.Model):
    """What the search index holds of one sheet: the log sequence number of
    its live text (source 'draft') or the number of its public version
    ('published', 0: none). A search re-indexes the sheets whose stamp moved,
    so no commit of an edit waits for the index (synthese/search.py)."""

    __tablename__ = "search_stamps"

    atelier_id: Mapped[int] = mapped_column(ForeignKey("ateliers.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(String(10), primary_key=True)
    stamp: Mapped[int] = mapped_column(BigInteger, default=0)


class SearchSection(db.Model):
    """One section of one sheet as the search index holds it. The full-text
    part is the database's own: an FTS5 table ``search_fts`` on SQLite, a
    ``tsv`` column with a GIN index on PostgreSQL (the migration makes them)."""

    __tablename__ = "search_sections"
    # Two searches re-indexing one sheet at once: the second's rows are refused, not doubled.
    __table_args__ = (UniqueConstraint("atelier_id", "source", "section"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    atelier_id: Mapped[int] = mapped_column(ForeignKey("ateliers.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(10))
    section: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)


class Photo(db.Model):
    """A photo of the room's boards (post-its, flip-charts), as the server
    re-encoded it: a JPEG without metadata, in the database so that every
    process serves it (synthese/photos.py)."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    atelier_id: Mapped[int] = mapped_column(ForeignKey("ateliers.id", ondelete="CASCADE"), index=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int]
    height: Mapped[int]
    #: What the photo shows, for those who cannot see it (its alternative text).
    caption: Mapped[str] = mapped_column(String(300), default="")
    credential_id: Mapped[int | None] = mapped_column(ForeignKey("credentials.id", ondelete="SET NULL"))
    #: Name of who took it, kept even if their credential goes.
    taken_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
