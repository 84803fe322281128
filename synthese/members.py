"""Who holds access to an event, and taking it back.

Every link (organiser, porteur, participant) is a credential of one event.
The organiser can see them all, revoke one (a leaked porteur link, someone
vandalising the sheets) and issue a new organiser link. A revoked token
opens nothing any more and its live sockets close, in every process.
"""
from sqlalchemy import select

from . import access, realtime
from .events import DomainError, issue_organiser
from .extensions import db
from .models import Credential, Event, utcnow

_ROLE_ORDER = {access.ORGANISER: 0, access.PORTEUR: 1, access.PARTICIPANT: 2}


def members(event: Event) -> list[Credential]:
    """The event's credentials: organisers, porteurs, then participants by name; revoked ones included."""
    found = db.session.execute(select(Credential).where(Credential.event_id == event.id)).scalars()
    return sorted(found, key=lambda c: (_ROLE_ORDER.get(c.role, 3), c.name.lower(), c.id))


def member(event: Event, credential_id: int) -> Credential:
    credential = db.session.get(Credential, credential_id)
    if credential is None or credential.event_id != event.id:
        raise DomainError("not_found", "No such access in this event.")
    return credential


def revoke(asking: access.Asking, event: Event, credential_id: int) -> Credential:
    """Withdraw one access. Revoking twice changes nothing; nobody revokes the access they use."""
    _, by = asking.require(event, "event.members")
    credential = member(event, credential_id)
    if by is not None and credential.id == by.id:
        raise DomainError("conflict", "You cannot revoke the access you are using.")
    if credential.revoked_at is None:
        credential.revoked_at = utcnow()
        db.session.commit()
    realtime.disconnect_credential(credential)
    return credential


def new_organiser_link(asking: access.Asking, event: Event) -> str:
    """Another organiser token (the first is shown once); revoke the old one if it leaked."""
    asking.require(event, "event.members")
    _, token = issue_organiser(event)
    db.session.commit()
    return token
