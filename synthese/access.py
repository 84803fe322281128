"""Who may do what: roles, the one table of permissions, and who is asking.

Every action (events, ateliers, publication, history, members, importing,
exporting) takes an ``Asking`` and calls its ``require`` with the event or
atelier at hand; socket handlers ask ``can(role, action)`` of the role their
connection was opened with.
"""
from dataclasses import dataclass

from .models import Atelier, Credential, Event

ORGANISER = "organiser"
PORTEUR = "porteur"
PARTICIPANT = "participant"
PUBLIC = "public"

#: Roles ordered from most to least powerful.
ROLES = (ORGANISER, PORTEUR, PARTICIPANT, PUBLIC)

MEMBERS = frozenset({ORGANISER, PORTEUR, PARTICIPANT})
EVERYONE = frozenset(ROLES)

#: action -> roles allowed to do it. The one place these rules are written;
#: tests/unit/test_access_matrix.py checks every cell over HTTP and sockets.
PERMISSIONS: dict[str, frozenset[str]] = {
    # Events
    "event.read_public": EVERYONE,
    "event.read_members": MEMBERS,
    "event.manage": frozenset({ORGANISER}),
    "event.dashboard": frozenset({ORGANISER}),
    "event.export": frozenset({ORGANISER}),
    # Search finds what the live sheets say; anyone else searches the published versions.
    "event.search_drafts": frozenset({ORGANISER}),
    "event.import": frozenset({ORGANISER}),
    "event.members": frozenset({ORGANISER}),
    # Ateliers
    "atelier.create": frozenset({ORGANISER}),
    "atelier.propose": frozenset({PORTEUR, PARTICIPANT}),
    "atelier.edit": frozenset({ORGANISER, PORTEUR}),
    "atelier.remove": frozenset({ORGANISER}),
    "atelier.merge": frozenset({ORGANISER}),
    # Sheets
    "sheet.read_published": EVERYONE,
    "sheet.read_live": MEMBERS,
    "sheet.write": MEMBERS,
    "sheet.publish": frozenset({ORGANISER, PORTEUR}),
    "sheet.unpublish": frozenset({ORGANISER, PORTEUR}),
    "sheet.restore": frozenset({ORGANISER, PORTEUR}),
    "presence.announce": MEMBERS,
}


def can(role: str, action: str) -> bool:
    return role in PERMISSIONS[action]


class Denied(Exception):
    """Raised by Asking.require(); the doors answer 401 to whoever showed no credential, 403 to others."""

    def __init__(self, role: str, action: str, anonymous: bool = False):
        super().__init__(f"{role} may not {action}")
        self.role = role
        self.action = action
        self.anonymous = anonymous


@dataclass(frozen=True)
class Asking:
    """Who is asking: the credentials a request (or a socket) presents.

    None for the public. ``operator`` is whoever runs the server's command
    line (export, import, the demo): organiser of every event.
    """

    credentials: tuple[Credential, ...] = ()
    operator: bool = False

    def on_event(self, event: Event) -> tuple[str, Credential | None]:
        """The most powerful role held on an event, and the credential giving it."""
        if self.operator:
            return ORGANISER, None
        return best(self.credentials, lambda c: role_for_event(c, event))

    def on_atelier(self, atelier: Atelier) -> tuple[str, Credential | None]:
        if self.operator:
            return ORGANISER, None
        return best(self.credentials, lambda c: role_for_atelier(c, atelier))

    def require(self, target: Event | Atelier, action: str) -> tuple[str, Credential | None]:
        """The role and credential allowed to do ``action`` on ``target``; Denied if none is."""
        role, credential = self.on_atelier(target) if isinstance(target, Atelier) else self.on_event(target)
        if not can(role, action):
            raise Denied(role, action, anonymous=not self.credentials and not self.operator)
        return role, credential


def asking(*credentials: Credential) -> Asking:
    """Who is asking, from the credentials they present."""
    return Asking(tuple(c for c in credentials if c is not None))


PUBLIC_ASKING = Asking()
OPERATOR = Asking(operator=True)


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
