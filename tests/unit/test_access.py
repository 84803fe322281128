"""The permission table and the role each credential gives."""
import pytest

from synthese import access, ateliers, events, tokens
from synthese.access import OPERATOR

# The whole matrix, written out: (role, action) -> allowed.
MEMBER = {"event.read_public", "event.read_members", "sheet.read_published", "sheet.read_live",
          "sheet.write", "presence.announce"}
EXPECTED = {
    access.ORGANISER: MEMBER | {"event.manage", "event.dashboard", "event.export", "event.import", "event.members",
                                "event.search_drafts",
                                "atelier.create", "atelier.edit", "atelier.remove", "atelier.merge",
                                "sheet.publish", "sheet.unpublish", "sheet.restore"},
    access.PORTEUR: MEMBER | {"atelier.propose", "atelier.edit", "sheet.publish", "sheet.unpublish",
                              "sheet.restore"},
    access.PARTICIPANT: MEMBER | {"atelier.propose"},
    access.PUBLIC: {"event.read_public", "sheet.read_published"},
}


@pytest.mark.parametrize("role", access.ROLES)
@pytest.mark.parametrize("action", sorted(access.PERMISSIONS))
def test_permission_matrix(role, action):
    assert access.can(role, action) == (action in EXPECTED[role])


def test_roles_on_ateliers(make_atelier):
    atelier, porteur_token, organiser_token = make_atelier()
    sibling = ateliers.create_atelier(OPERATOR, atelier.event, "Autre atelier", session="Session 2")
    participant = events.join(atelier.event, atelier.event.join_code, "Anna").token
    _, other_porteur, other_organiser = make_atelier()
    role = lambda token, a=atelier: access.role_for_atelier(tokens.find(token), a)  # noqa: E731
    assert role(organiser_token) == access.ORGANISER
    assert role(porteur_token) == access.PORTEUR
    assert role(participant) == access.PARTICIPANT
    # A porteur is a participant in the other ateliers of the event.
    assert role(porteur_token, sibling.obj) == access.PARTICIPANT
    assert role(sibling.token) == access.PARTICIPANT
    # Nobody from another event.
    assert role(other_porteur) == access.PUBLIC
    assert role(other_organiser) == access.PUBLIC
    assert access.role_for_atelier(None, atelier) == access.PUBLIC


def test_best_role_among_several_credentials(make_atelier):
    atelier, porteur_token, organiser_token = make_atelier()
    creds = [tokens.find(porteur_token), tokens.find(organiser_token)]
    role, credential = access.best(creds, lambda c: access.role_for_atelier(c, atelier))
    assert role == access.ORGANISER and credential.role == access.ORGANISER
    assert access.best([], lambda c: access.PUBLIC) == (access.PUBLIC, None)
