"""Ateliers: created by the organiser or proposed in open space, edited,
merged and removed. Each action checks who is asking, commits once, then
tells the rooms."""
from sqlalchemy import func, select

from . import access, realtime, tokens
from .documents import current_store
from .events import Created, DomainError, find_session, session_named
from .extensions import db
from .models import Atelier, Credential, Event, SheetDocument, SheetUpdate, utcnow
from .sheets import SECTION_KEYS, edit_towards, fields_from_update, participant_names, update_from_fields

#: Atelier fields an organiser (or its porteur) may change.
EDITABLE = ("title", "number", "session", "place", "porteur", "question")


#: Atelier numbers, as programmes print them.
NUMBERS = range(1, 10_000)


def check_number(number) -> int:
    if isinstance(number, bool) or not isinstance(number, int) or number not in NUMBERS:
        raise DomainError("invalid", "An atelier number is between 1 and 9999.")
    return number


def create_atelier(asking: access.Asking, event: Event, title: str, **details) -> Created:
    """The organiser adds an atelier to the programme (see ``new_atelier`` for ``details``)."""
    asking.require(event, "atelier.create")
    return new_atelier(event, title, **details)


def new_atelier(
    event: Event,
    title: str,
    session: str | None = None,
    number: int | None = None,
    place: str = "",
    porteur: str = "",
    question: str = "",
    fields: dict[str, str] | None = None,
    proposed: bool = False,
) -> Created:
    """Create an atelier, its sheet document and its porteur credential.

    The sheet starts with the porteur's name and the announced question, or
    with ``fields`` (an import), stored once as a real update: it is never
    rebuilt from text later.
    """
    title = title.strip()
    if not title:
        raise DomainError("invalid", "An atelier needs a title or theme.")
    event_session = session_named(event, session) if session else None
    number = _next_number(event, event_session) if number is None else check_number(number)
    atelier = Atelier(
        event=event,
        session=event_session,
        number=number,
        title=title,
        place=place.strip(),
        porteur_name=porteur.strip(),
        question=question.strip(),
        proposed=proposed,
    )
    db.session.add(atelier)
    db.session.flush()
    document = SheetDocument(atelier_id=atelier.id)
    db.session.add(document)
    if fields is None:
        fields = {"question": atelier.question, "porteur": atelier.porteur_name}
    elif any(fields.get(key) for key in SECTION_KEYS):
        # An imported sheet was written elsewhere: it is being written, not empty.
        document.edited_at = utcnow()
    if any(fields.get(key) for key in SECTION_KEYS):
        document.head_seq = 1
        db.session.add(SheetUpdate(atelier_id=atelier.id, seq=1, data=update_from_fields(fields)))
    credential, token = _issue_porteur(atelier)
    db.session.commit()
    return Created(atelier, token, credential)


def _issue_porteur(atelier: Atelier):
    return tokens.issue(
        role=access.PORTEUR, event_id=atelier.event_id, atelier_id=atelier.id, name=atelier.porteur_name
    )


def new_porteur_link(asking: access.Asking, atelier: Atelier) -> str:
    """Another porteur token for an atelier (the first one is shown only once)."""
    asking.require(atelier, "event.manage")
    _, token = _issue_porteur(atelier)
    db.session.commit()
    return token


def _next_number(event: Event, event_session) -> int:
    highest = db.session.execute(
        select(func.max(Atelier.number)).where(
            Atelier.event_id == event.id,
            Atelier.session_id == (event_session.id if event_session else None),
        )
    ).scalar()
    return (highest or 0) + 1


def propose(asking: access.Asking, event: Event, title: str, question: str = "", session: str | None = None,
            **more) -> Created:
    """Open space: a participant proposes an atelier and becomes its porteur.

    A proposal names its theme, question and session; the rest of the
    programme (number, place, porteur) is the organiser's.
    """
    _, proposer = asking.require(event, "atelier.propose")
    if any(more.values()):
        raise DomainError("forbidden", "A proposal gives a title, a question and a session only.")
    if not event.open_space:
        raise DomainError("closed", "This event does not take proposals.")
    if not question.strip():
        raise DomainError("invalid", "A proposal needs a question.")
    if session:
        existing_session(event, session)
    porteur = proposer.name + (f", {proposer.organisation}" if proposer.organisation else "")
    return new_atelier(
        event, title or question[:80], session=session, porteur=porteur, question=question, proposed=True
    )


def existing_session(event: Event, label: str):
    """The event's session with this label; DomainError if there is none."""
    found = find_session(event, label)
    if found is None:
        raise DomainError("invalid", "This event has no session with that label.")
    return found


def update_atelier(asking: access.Asking, atelier: Atelier, **changes) -> Atelier:
    """Change what the programme says of an atelier (its sheet is not touched).

    Only the organiser adds sessions to the programme: anyone else (its
    porteur) chooses among the event's sessions.
    """
    role, _ = asking.require(atelier, "atelier.edit")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise DomainError("invalid", f"Unknown field(s): {', '.join(sorted(unknown))}.")
    if "title" in changes:
        atelier.title = (changes["title"] or "").strip()
        if not atelier.title:
            raise DomainError("invalid", "An atelier needs a title or theme.")
    if "session" in changes:
        label = changes["session"]
        if not label:
            atelier.session = None
        elif access.can(role, "event.manage"):
            atelier.session = session_named(atelier.event, label)
        else:
            atelier.session = existing_session(atelier.event, label)
    if changes.get("number") is not None:
        atelier.number = check_number(changes["number"])
    for key, column in (("place", "place"), ("porteur", "porteur_name"), ("question", "question")):
        if key in changes:
            setattr(atelier, column, (changes[key] or "").strip())
    db.session.commit()
    return atelier


def delete_atelier(asking: access.Asking, atelier: Atelier) -> bool:
    """Remove an atelier, its sheet and its porteur's link.

    Everyone on its sheet is told and disconnected; so are its porteurs'
    sockets on the event's other sheets, as their credential goes with it.
    """
    asking.require(atelier, "atelier.remove")
    if atelier.versions and atelier.public:
        raise DomainError("published", "Unpublish this sheet before removing it.")
    atelier_id = atelier.id
    porteurs = [c.id for c in db.session.execute(
        select(Credential).where(Credential.atelier_id == atelier_id)).scalars()]
    others = [a.id for a in atelier.event.ateliers if a.id != atelier_id]
    db.session.delete(atelier)
    db.session.commit()
    current_store().forget(atelier_id)
    realtime.close_room(atelier_id)
    realtime.close_credentials(porteurs, others)
    return True


def merge_ateliers(asking: access.Asking, source: Atelier, into: int) -> Atelier:
    """Merge ``source`` into the atelier ``into`` (two open-space proposals on one theme).

    The source sheet's text is appended to the target's as a new edit that
    everyone on the target receives, its porteurs become porteurs of the
    target, and the source goes: everyone on it is told and disconnected.
    Returns the target.
    """
    asking.require(source, "atelier.merge")
    target = db.session.get(Atelier, into) if isinstance(into, int) and not isinstance(into, bool) else None
    if target is None or target.event_id != source.event_id:
        raise DomainError("invalid", "The atelier to merge into is not in this event.")
    if source.id == target.id:
        raise DomainError("invalid", "An atelier merges into another atelier of the same event.")
    if source.versions:
        raise DomainError("published", "A sheet that has been published cannot be merged away.")
    store = current_store()
    theirs = store.fields(source.id)
    state = store.state(target.id)
    ours = fields_from_update(state)
    additions = {}
    for key in SECTION_KEYS:
        text = theirs[key].strip("\n")
        if not text:
            continue
        if key == "participants":
            known = set(participant_names(ours[key]))
            new = [name for name in participant_names(text) if name not in known]
            text = "\n".join(new)
            if not text:
                continue
        elif text in ours[key]:
            continue
        if not ours[key]:
            separator = ""
        elif key == "participants":
            separator = "" if ours[key].endswith("\n") else "\n"
        else:
            separator = "\n" if ours[key].endswith("\n") else "\n\n"
        additions[key] = separator + text
    edit = edit_towards(state, {key: ours[key] + addition for key, addition in additions.items()})
    seq = store.append_edit(target.id, edit) if edit else None
    for credential in db.session.execute(
        select(Credential).where(Credential.atelier_id == source.id)
    ).scalars():
        credential.atelier_id = target.id
    if source.porteur_name and source.porteur_name not in target.porteur_name:
        target.porteur_name = ", ".join(filter(None, [target.porteur_name, source.porteur_name]))[:200]
    source_id = source.id
    db.session.delete(source)
    db.session.commit()
    store.forget(source_id)
    realtime.close_room(source_id)
    realtime.relay_edit(target.id, edit, seq)
    return target
