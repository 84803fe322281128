"""Who may do what: roles and the one table of permissions.

Every HTTP view and socket handler asks ``can(role, action)`` with the role
the requester holds for the atelier or event at hand.
"""
from .models import Atelier, Credential, Event

ORGANISER = "organiser"
PORTEUR = "porteur"
PARTICIPANT = "participant"
PUBLIC = "public"

#: Roles ordered from most to least powerful.
ROLES = (ORGANISER, PORTEUR, PARTICIPANT, PUBLIC)

#: action -> roles allowed to do it.
PERMISSIONS: dict[str, frozenset[str]] = {
    "event.manage": frozenset({ORGANISER}),
    "event.export": frozenset({ORGANISER}),
    "atelier.create": frozenset({ORGANISER}),
    "sheet.read_live": frozenset({ORGANISER, PORTEUR, PARTICIPANT}),
    "sheet.write": frozenset({ORGANISER, PORTEUR, PARTICIPANT}),
    "sheet.publish": frozenset({ORGANISER, PORTEUR}),
    "presence.announce": frozenset({ORGANISER, PORTEUR, PARTICIPANT}),
}


def can(role: str, action: str) -> bool:
    return role in PERMISSIONS[action]


def role_for_atelier(credential: Credential | None, atelier: Atelier) -> str:
    """The role a credential gives on one atelier."""
    if credential is None or credential.event_id != atelier.event_id:
        return PUBLIC
    if credential.role == ORGANISER:
        return ORGANISER
    if credential.role == PORTEUR and credential.atelier_id == atelier.id:
        return PORTEUR
    # Participants, and porteurs of other ateliers, may join any atelier of the event.
    return PARTICIPANT


def role_for_event(credential: Credential | None, event: Event) -> str:
    """The role a credential gives on a whole event."""
    if credential is None or credential.event_id != event.id:
        return PUBLIC
    return ORGANISER if credential.role == ORGANISER else PARTICIPANT


def best(credentials, role_of) -> tuple[str, Credential | None]:
    """The most powerful role among several credentials, and the one giving it."""
    found = [(ROLES.index(role_of(c)), c) for c in credentials]
    if not found:
        return PUBLIC, None
    rank, credential = min(found, key=lambda pair: pair[0])
    role = ROLES[rank]
    return role, (credential if role != PUBLIC else None)
