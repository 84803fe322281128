"""Every role against every HTTP action: allowed ones succeed, the others are refused.

The roles: organiser, porteur (of the atelier at hand), participant, the
public (no token), and an outsider (the organiser of another event, whose
valid token gives nothing here).
"""
import pytest

from synthese import access
from tests.conftest import sheet_update

ROLES = ["organiser", "porteur", "participant", "public", "outsider"]
ROLE_OF = {"organiser": access.ORGANISER, "porteur": access.PORTEUR, "participant": access.PARTICIPANT,
           "public": access.PUBLIC, "outsider": access.PUBLIC}


@pytest.fixture
def world(app, client):
    """An open-space event with one written and published atelier, and a token per role."""
    from synthese.documents import Pending, current_store

    event = client.post("/api/events", json={"title": "Forum", "sessions": [{"label": "Session 1"}]}).json
    org = {"Authorization": f"Bearer {event['organiser_token']}"}
    client.patch(f"/api/events/{event['slug']}", json={"open_space": True}, headers=org)
    atelier = client.post(f"/api/events/{event['slug']}/ateliers",
                          json={"title": "Emergence", "session": "Session 1", "porteur": "Sophie"}, headers=org).json
    spare = client.post(f"/api/events/{event['slug']}/ateliers", json={"title": "Spare"}, headers=org).json
    current_store().append([Pending(atelier["id"], sheet_update(synthese="Une synthèse."))])
    assert client.post(f"/api/ateliers/{atelier['id']}/publish", headers=org).status_code == 201
    participant = client.post(f"/api/events/{event['slug']}/participants",
                              json={"join_code": event["join_code"], "name": "Anna"}).json
    client.post(f"/api/events/{event['slug']}/participants",
                json={"join_code": event["join_code"], "name": "Basile"})
    bystander_id = next(m["id"] for m in client.get(f"/api/events/{event['slug']}/members", headers=org).json
                        if m["name"] == "Basile")
    outsider = client.post("/api/events", json={"title": "Other"}).json
    tokens = {"organiser": event["organiser_token"], "porteur": atelier["porteur_token"],
              "participant": participant["token"], "public": None, "outsider": outsider["organiser_token"]}
    return {"slug": event["slug"], "atelier": atelier["id"], "spare": spare["id"], "member": bystander_id,
            "tokens": tokens}


SHEET_MD = "# Atelier 9 - Importé\n\n## Question\n\nQ ?\n"

#: action -> (method, path, request kwargs); {slug}, {atelier}, {spare} are filled in.
CALLS = {
    "event.manage": ("PATCH", "/api/events/{slug}", {"json": {"description": "Nouvelle description"}}),
    "event.manage/sessions": ("POST", "/api/events/{slug}/sessions", {"json": {"label": "Session 9"}}),
    "event.dashboard": ("GET", "/api/events/{slug}/dashboard", {}),
    "event.export": ("GET", "/api/events/{slug}/export.md", {}),
    "event.export/zip": ("GET", "/api/events/{slug}/export.zip?source=published", {}),
    "event.export/docx": ("GET", "/api/events/{slug}/export.docx", {}),
    "event.import": ("POST", "/api/events/{slug}/import",
                     {"data": SHEET_MD, "content_type": "text/markdown"}),
    "event.members": ("GET", "/api/events/{slug}/members", {}),
    "event.members/revoke": ("POST", "/api/events/{slug}/members/{member}/revoke", {}),
    "event.members/link": ("POST", "/api/events/{slug}/organiser-links", {}),
    "atelier.create|atelier.propose": ("POST", "/api/events/{slug}/ateliers",
                               {"json": {"title": "Nouveau", "question": "Et si ?", "session": "Session 1"}}),
    "atelier.edit": ("PATCH", "/api/ateliers/{atelier}", {"json": {"place": "Salle 2"}}),
    "atelier.remove": ("DELETE", "/api/ateliers/{spare}", {}),
    "atelier.merge": ("POST", "/api/ateliers/{spare}/merge", {"json": {"into": "{atelier}"}}),
    "sheet.publish": ("POST", "/api/ateliers/{atelier}/publish", {}),
    "sheet.unpublish": ("POST", "/api/ateliers/{atelier}/unpublish", {}),
}


def allowed(call: str, role: str) -> bool:
    actions = call.split("/")[0].split("|")
    return any(access.can(ROLE_OF[role], action) for action in actions)


def fill(value, world):
    if isinstance(value, str):
        out = value.format(slug=world["slug"], atelier=world["atelier"], spare=world["spare"], member=world["member"])
        return int(out) if value == "{atelier}" else out
    if isinstance(value, dict):
        return {k: fill(v, world) for k, v in value.items()}
    return value


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("call", sorted(CALLS))
def test_http_permission_matrix(client, world, call, role):
    method, path, kwargs = CALLS[call]
    token = world["tokens"][role]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.open(fill(path, world), method=method, headers=headers, **fill(kwargs, world))
    if allowed(call, role):
        assert 200 <= response.status_code < 300, (call, role, response.get_data(as_text=True))
    else:
        expected = 401 if token is None else 403
        assert response.status_code == expected, (call, role, response.get_data(as_text=True))
        assert response.json["error"]["code"] in ("unauthorized", "forbidden")


@pytest.mark.parametrize("role", ROLES)
def test_reading_sheets_by_role(client, world, role):
    """Members read the live sheet; anyone else the published version only."""
    token = world["tokens"][role]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    sheet = client.get(f"/api/ateliers/{world['atelier']}", headers=headers)
    assert sheet.status_code == 200
    assert sheet.json["live"] is access.can(ROLE_OF[role], "sheet.read_live")
    assert sheet.json["fields"]["synthese"] == "Une synthèse."
    # The unpublished spare sheet: members only; the others cannot tell it exists.
    spare = client.get(f"/api/ateliers/{world['spare']}", headers=headers)
    assert spare.status_code == (200 if access.can(ROLE_OF[role], "sheet.read_live") else 404)
    event = client.get(f"/api/events/{world['slug']}", headers=headers).json
    assert ("join_code" in event) is access.can(ROLE_OF[role], "event.read_members")
    assert len(event["ateliers"]) == (2 if access.can(ROLE_OF[role], "event.read_members") else 1)


def test_participant_cannot_edit_an_atelier_they_do_not_host(client, world):
    other = client.post(f"/api/events/{world['slug']}/ateliers",
                        json={"title": "À moi", "question": "Et si ?"},
                        headers={"Authorization": f"Bearer {world['tokens']['participant']}"}).json
    # The proposer hosts the new atelier, not the first one.
    mine = {"Authorization": f"Bearer {other['porteur_token']}"}
    assert client.patch(f"/api/ateliers/{other['id']}", json={"place": "Salle 3"}, headers=mine).status_code == 200
    assert client.patch(f"/api/ateliers/{world['atelier']}", json={"place": "x"}, headers=mine).status_code == 403


def test_restore_and_history_by_role(client, world):
    """Only the porteur and the organiser restore; members read the history."""
    for role in ROLES:
        token = world["tokens"][role]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        restored = client.post(f"/api/ateliers/{world['atelier']}/restore", json={"version": 1}, headers=headers)
        listed = client.get(f"/api/ateliers/{world['atelier']}/history", headers=headers)
        if access.can(ROLE_OF[role], "sheet.restore"):
            assert restored.status_code == 200, restored.json
        else:
            assert restored.status_code == (401 if token is None else 403)
        assert listed.status_code == (200 if access.can(ROLE_OF[role], "sheet.read_live")
                                      else 401 if token is None else 403)
