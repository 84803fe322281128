"""Events, their sessions, and joining them: the actions on an event."""
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date
from zoneinfo import available_timezones

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from . import access, tokens
from .extensions import db
from .models import Atelier, Event, EventSession

#: Join-code alphabet: no 0/O, 1/I/L, so a code read aloud or from a screen is typed right.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6


class DomainError(ValueError):
    """A request the domain refuses; ``code`` is machine-readable."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48] or "evenement"


def normalise_code(code: str) -> str:
    """Accept codes typed with spaces, dashes or lower case."""
    return re.sub(r"[\s-]+", "", code or "").upper()


def format_code(code: str) -> str:
    """Show a code in two halves, easier to read aloud."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def _unique(column, make) -> str:
    for _ in range(20):
        value = make()
        if db.session.execute(select(func.count()).where(column == value)).scalar() == 0:
            return value
    raise RuntimeError("could not draw a unique value")


@dataclass
class Created:
    """Something just created, with the secret token that grants its role."""

    obj: object
    token: str
    #: The credential the token belongs to (when it is not ``obj`` itself).
    credential: object = None


def check_timezone(name: str) -> str:
    if name not in available_timezones():
        raise DomainError("invalid", "Unknown time zone (an IANA name such as Europe/Paris).")
    return name


def create_event(
    asking: access.Asking,
    title: str,
    description: str = "",
    place: str = "",
    starts_on: date | None = None,
    ends_on: date | None = None,
    sessions: list[dict] | None = None,
    key: str = "",
    timezone: str | None = None,
) -> Created:
    """Create an event with its organiser credential.

    Anyone may, unless ``SYNTHESE_EVENT_CREATION`` holds a key: then only
    whoever gives it (or the server's operator).
    """
    policy = current_app.config["SYNTHESE_EVENT_CREATION"]
    if policy != "open" and not asking.operator and not secrets.compare_digest(
            (key or "").encode(), policy.encode()):
        raise DomainError("forbidden", "Creating events needs the creation key.")
    title = title.strip()
    if not title:
        raise DomainError("invalid", "An event needs a title.")
    if starts_on and ends_on and ends_on < starts_on:
        raise DomainError("invalid", "An event cannot end before it starts.")
    timezone = check_timezone(timezone or current_app.config["SYNTHESE_TIMEZONE"])
    base = slugify(title)
    event = Event(
        title=title,
        description=description,
        place=place,
        starts_on=starts_on,
        ends_on=ends_on,
        timezone=timezone,
        slug=_unique(Event.slug, lambda: f"{base}-{secrets.token_hex(3)}"),
        join_code=_unique(Event.join_code, new_code),
    )
    db.session.add(event)
    db.session.flush()
    for position, spec in enumerate(sessions or []):
        session_named(event, spec["label"], spec.get("time", ""), position)
    credential, token = issue_organiser(event)
    db.session.commit()
    return Created(event, token, credential)


def issue_organiser(event: Event):
    """A new organiser credential and its token (the caller commits)."""
    return tokens.issue(role=access.ORGANISER, event_id=event.id, name="Organisation")


#: Event fields an organiser may change after creation.
EDITABLE = ("title", "description", "place", "starts_on", "ends_on", "timezone", "open_space")


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def change_join_code(asking: access.Asking, event: Event) -> str:
    """A new join code (the old one leaked): people already in keep their access."""
    asking.require(event, "event.manage")
    event.join_code = _unique(Event.join_code, new_code)
    db.session.commit()
    return event.join_code


def update_event(asking: access.Asking, event: Event, **changes) -> Event:
    """Change an event's details, its open-space switch or its current session."""
    asking.require(event, "event.manage")
    unknown = set(changes) - set(EDITABLE) - {"current_session"}
    if unknown:
        raise DomainError("invalid", f"Unknown field(s): {', '.join(sorted(unknown))}.")
    if "title" in changes:
        changes["title"] = (changes["title"] or "").strip()
        if not changes["title"]:
            raise DomainError("invalid", "An event needs a title.")
    starts = changes.get("starts_on", event.starts_on)
    ends = changes.get("ends_on", event.ends_on)
    if starts and ends and ends < starts:
        raise DomainError("invalid", "An event cannot end before it starts.")
    if "timezone" in changes:
        check_timezone(changes["timezone"])
    if "current_session" in changes:
        set_current_session(event, changes.pop("current_session"))
    for key, value in changes.items():
        setattr(event, key, value)
    db.session.commit()
    return event


def set_current_session(event: Event, label: str | None) -> None:
    """Mark the session running now (None: no session is running)."""
    found = None
    if label:
        found = next((s for s in event.sessions if s.label == label), None)
        if found is None:
            raise DomainError("invalid", "This event has no session with that label.")
    for each in event.sessions:
        each.is_current = each is found


def current_session(event: Event) -> EventSession | None:
    return next((s for s in event.sessions if s.is_current), None)


def find_session(event: Event, label: str) -> EventSession | None:
    """The event's session with this label, if it has one."""
    label = label.strip()
    return next((found for found in event.sessions if found.label == label), None)


def add_session(asking: access.Asking, event: Event, label: str, time: str = "") -> EventSession:
    """Add a session to the event's programme."""
    asking.require(event, "event.manage")
    if find_session(event, label) is not None:
        raise DomainError("conflict", "This event already has a session with that label.")
    found = session_named(event, label, time)
    db.session.commit()
    return found


def session_named(event: Event, label: str, time: str = "", position: int | None = None) -> EventSession:
    """The event's session with this label, created if needed (the caller commits)."""
    label = label.strip()
    if not label:
        raise DomainError("invalid", "A session needs a label.")
    existing = find_session(event, label)
    if existing is not None:
        return existing
    if position is None:
        position = len(event.sessions)
    found = EventSession(event=event, label=label, time=time, position=position)
    db.session.add(found)
    db.session.flush()
    return found


def join(event: Event, join_code: str, name: str, organisation: str = "") -> Created:
    """Let a person into an event with its code; returns their credential."""
    if not secrets.compare_digest(normalise_code(join_code).encode(), event.join_code.encode()):
        raise DomainError("bad_code", "This join code does not open this event.")
    name = " ".join(name.split())
    if not name:
        raise DomainError("invalid", "Please give your name.")
    credential, token = tokens.issue(
        role=access.PARTICIPANT, event_id=event.id, name=name, organisation=organisation.strip()
    )
    db.session.commit()
    return Created(credential, token)


def event_by_slug(slug: str) -> Event | None:
    return db.session.execute(select(Event).where(Event.slug == slug)).scalar_one_or_none()


def event_by_code(code: str) -> Event | None:
    return db.session.execute(
        select(Event).where(Event.join_code == normalise_code(code))
    ).scalar_one_or_none()


def ordered_ateliers(event: Event, only: set[int] | None = None) -> list[Atelier]:
    """Ateliers by session order, then number (with their sessions and versions
    loaded); ``only``: these alone (their versions weigh)."""
    positions = {s.id: s.position for s in event.sessions}
    found = db.session.execute(
        select(Atelier)
        .where(Atelier.event_id == event.id, *([Atelier.id.in_(only)] if only is not None else []))
        .options(selectinload(Atelier.session), selectinload(Atelier.versions))
    ).scalars()
    return sorted(
        found,
        key=lambda a: (a.session_id is None, positions.get(a.session_id, 0), a.number, a.id),
    )


def full_title(atelier: Atelier) -> str:
    """'Atelier 2 - Emergence - Session 1', as sheets are titled."""
    parts = [f"Atelier {atelier.number}", atelier.title]
    if atelier.session:
        parts.append(atelier.session.label)
    return " - ".join(parts)
