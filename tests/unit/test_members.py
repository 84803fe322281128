"""Who holds access to an event, and revoking it: the domain, then over HTTP."""
import pytest

from synthese import access, events, members, tokens
from synthese.tokens import from_session as session_credentials
from synthese.events import DomainError
from synthese.access import OPERATOR, asking


@pytest.fixture
def forum(make_atelier):
    atelier, porteur_token, organiser_token = make_atelier(porteur="Sophie Martin")
    event = atelier.event
    anna = events.join(event, event.join_code, "Anna Lefèvre", "Région Occitanie")
    basile = events.join(event, event.join_code, "Basile")
    return {"event": event, "atelier": atelier, "organiser": tokens.find(organiser_token),
            "porteur": tokens.find(porteur_token), "anna": (anna.obj, anna.token), "basile": (basile.obj, basile.token)}


def test_members_lists_organisers_porteurs_then_participants_by_name(forum):
    listed = members.members(forum["event"])
    assert [(c.role, c.name) for c in listed] == [
        (access.ORGANISER, "Organisation"), (access.PORTEUR, "Sophie Martin"),
        (access.PARTICIPANT, "Anna Lefèvre"), (access.PARTICIPANT, "Basile")]


def test_a_revoked_token_opens_nothing_and_others_keep_theirs(forum):
    anna, anna_token = forum["anna"]
    _, basile_token = forum["basile"]
    revoked = members.revoke(asking(forum["organiser"]), forum["event"], anna.id)
    assert revoked.revoked_at is not None
    assert tokens.find(anna_token) is None
    assert tokens.find(basile_token).name == "Basile"
    # A browser signed in with it loses it too.
    assert session_credentials({"credentials": [anna.id, forum["porteur"].id]}) == [forum["porteur"]]
    # Revoking again changes nothing.
    assert members.revoke(asking(forum["organiser"]), forum["event"], anna.id).revoked_at == revoked.revoked_at


def test_nobody_revokes_the_access_they_use_nor_one_of_another_event(forum, make_event):
    with pytest.raises(DomainError) as own:
        members.revoke(asking(forum["organiser"]), forum["event"], forum["organiser"].id)
    assert own.value.code == "conflict"
    other = make_event("Autre forum")
    with pytest.raises(DomainError) as elsewhere:
        members.revoke(asking(other.credential), other.obj, forum["anna"][0].id)
    assert elsewhere.value.code == "not_found"
    assert tokens.find(forum["anna"][1]) is not None


def test_a_new_organiser_link_lets_the_old_one_be_revoked(forum):
    new_token = members.new_organiser_link(OPERATOR, forum["event"])
    newcomer = tokens.find(new_token)
    assert newcomer.role == access.ORGANISER and newcomer.event_id == forum["event"].id
    members.revoke(asking(newcomer), forum["event"], forum["organiser"].id)
    assert [c.id for c in members.members(forum["event"]) if c.revoked_at is None and c.role == access.ORGANISER] \
        == [newcomer.id]


def test_revoking_over_http(client):
    event = client.post("/api/events", json={"title": "Forum"}).json
    org = {"Authorization": f"Bearer {event['organiser_token']}"}
    anna = client.post(f"/api/events/{event['slug']}/participants",
                       json={"join_code": event["join_code"], "name": "Anna"}).json
    listed = client.get(f"/api/events/{event['slug']}/members", headers=org).json
    assert [(m["role"], m["name"], m["revoked"]) for m in listed] == [
        ("organiser", "Organisation", False), ("participant", "Anna", False)]
    anna_id = listed[1]["id"]
    mine = {"Authorization": f"Bearer {anna['token']}"}
    assert client.get(f"/api/events/{event['slug']}", headers=mine).json.get("join_code") == event["join_code"]

    revoked = client.post(f"/api/events/{event['slug']}/members/{anna_id}/revoke", headers=org)
    assert revoked.status_code == 200 and revoked.json["revoked"] is True
    refused = client.get(f"/api/events/{event['slug']}", headers=mine)
    assert refused.status_code == 401 and refused.json["error"]["code"] == "unauthorized"
    # Signing a browser in with the revoked link does not work either.
    client.get(f"/t/{anna['token']}")
    assert "join_code" not in client.get(f"/api/events/{event['slug']}").json

    own = client.post(f"/api/events/{event['slug']}/members/{listed[0]['id']}/revoke", headers=org)
    assert own.status_code == 409
    missing = client.post(f"/api/events/{event['slug']}/members/999999/revoke", headers=org)
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"

    link = client.post(f"/api/events/{event['slug']}/organiser-links", headers=org)
    assert link.status_code == 201 and link.json["organiser_url"].endswith(link.json["organiser_token"])
