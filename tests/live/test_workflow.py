"""The event workflow against a live server: the socket side of the roles
matrix, and organiser actions that reach people connected to a sheet."""
import pytest
import requests
import socketio

from synthese import access
from tests.ysocket import YClient, wait_until

ROLE_OF = {"organiser": access.ORGANISER, "porteur": access.PORTEUR, "participant": access.PARTICIPANT,
           "public": access.PUBLIC, "outsider": access.PUBLIC}


@pytest.mark.parametrize("role", list(ROLE_OF))
def test_socket_permission_matrix(live, role):
    """Connect (sheet.read_live), write (sheet.write), announce presence (presence.announce)."""
    room = live.new_atelier()
    other = live.new_atelier()
    token = {"organiser": room["organiser"], "porteur": room["porteur"], "participant": room["participant"],
             "public": None, "outsider": other["organiser"]}[role]
    allowed = ROLE_OF[role]
    client = YClient(live.base_url, room["id"], token, role)
    if not access.can(allowed, "sheet.read_live"):
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect()
        return
    client.connect()
    watcher = YClient(live.base_url, room["id"], room["organiser"], "watcher").connect()
    client.append("discussion", f"écrit par {role}")
    client.announce(client.doc.client_id, 1, '{"user": {"name": "%s"}}' % role)
    if access.can(allowed, "sheet.write"):
        client.wait_saved()
        wait_until(lambda: watcher.text("discussion") == f"écrit par {role}", message="relayed edit")
    if access.can(allowed, "presence.announce"):
        wait_until(lambda: client.doc.client_id in watcher.presence, message="relayed presence")
    client.disconnect()
    watcher.disconnect()


def test_merge_reaches_people_connected_to_the_target(live):
    room = live.new_atelier()
    org = room["organiser"]
    source = live.post(f"/api/events/{room['slug']}/ateliers", {"title": "Doublon"}, token=org)
    writer = YClient(live.base_url, source["id"], room["participant"], "writer").connect()
    writer.append("discussion", "Idée venue de l'atelier doublon.")
    writer.append("participants", "Anna Szeremeta\n")
    writer.wait_saved()
    target_client = YClient(live.base_url, room["id"], room["porteur"], "porteur").connect()
    target_client.append("discussion", "Idée de l'atelier principal.")
    target_client.wait_saved()
    removed = []
    writer.sio.on("synthese:removed", lambda *a: removed.append(True), namespace=writer.namespace)

    response = live.post(f"/api/ateliers/{source['id']}/merge", {"into": room["id"]}, token=org, expect=200)
    assert response["id"] == room["id"]
    expected = "Idée de l'atelier principal.\n\nIdée venue de l'atelier doublon."
    wait_until(lambda: target_client.text("discussion") == expected, message="merged text relayed")
    wait_until(lambda: removed == [True], message="source room told it is gone")
    stored = live.get(f"/api/ateliers/{room['id']}", token=org).json()["fields"]
    assert stored["discussion"] == expected
    assert stored["participants"] == "Anna Szeremeta"
    assert live.get(f"/api/ateliers/{source['id']}", token=org).status_code == 404
    # The source's porteur link now opens the merged atelier as its porteur.
    merged = live.get(f"/api/ateliers/{room['id']}", token=source["porteur_token"]).json()
    assert merged["live"] is True
    writer.disconnect()
    target_client.disconnect()


def test_merging_from_the_organisers_page_tells_the_people_on_the_merged_sheet(live):
    """The page's merge is the API's: the action tells the room, whichever door called it."""
    import re

    room = live.new_atelier()
    source = live.post(f"/api/events/{room['slug']}/ateliers", {"title": "Doublon"}, token=room["organiser"])
    writer = YClient(live.base_url, source["id"], room["participant"], "writer").connect()
    writer.append("discussion", "Idée du doublon.")
    writer.wait_saved()
    removed = []
    writer.sio.on("synthese:removed", lambda *a: removed.append(True), namespace=writer.namespace)
    browser = requests.Session()
    browser.get(f"{live.base_url}/t/{room['organiser']}").raise_for_status()
    manage = browser.get(f"{live.base_url}/events/{room['slug']}/manage")
    csrf = re.search(r'name="csrf" value="([^"]+)"', manage.text)[1]

    answer = browser.post(f"{live.base_url}/ateliers/{source['id']}/merge",
                          data={"csrf": csrf, "into": room["id"], "confirmed": "yes"}, allow_redirects=False)
    assert answer.status_code == 302
    wait_until(lambda: removed == [True], message="the merged sheet's room told it is gone")
    assert live.get(f"/api/ateliers/{room['id']}", token=room["organiser"]).json()["fields"]["discussion"] \
        == "Idée du doublon."
    # What the writer still sends goes nowhere and harms nothing.
    writer.append("discussion", " Trop tard.")
    assert live.get("/healthz").ok
    writer.disconnect()


def test_removing_an_atelier_tells_its_room(live):
    room = live.new_atelier()
    client = YClient(live.base_url, room["id"], room["participant"]).connect()
    removed = []
    client.sio.on("synthese:removed", lambda *a: removed.append(True), namespace=client.namespace)
    response = requests.delete(f"{live.base_url}/api/ateliers/{room['id']}",
                               headers={"Authorization": f"Bearer {room['organiser']}"})
    assert response.status_code == 204
    wait_until(lambda: removed == [True], message="removal notice")
    # What is still sent is dropped without harming the server.
    client.append("synthese", "trop tard")
    assert live.get("/healthz").ok
    client.disconnect()


def test_revoking_someone_closes_their_sockets_and_keeps_the_others(live):
    room = live.new_atelier()
    anna = YClient(live.base_url, room["id"], room["participant"], "anna").connect()
    sophie = YClient(live.base_url, room["id"], room["porteur"], "sophie").connect()
    anna.append("synthese", "Avant. ")
    anna.wait_saved()
    revoked = []
    anna.sio.on("synthese:revoked", lambda *a: revoked.append(True), namespace=anna.namespace)

    live.revoke(room)
    wait_until(lambda: revoked == [True], message="revocation notice")
    wait_until(lambda: anna.namespace not in anna.sio.namespaces, message="socket closed by the server")
    # Connecting again with the revoked token is refused; the others write on.
    with pytest.raises(socketio.exceptions.ConnectionError):
        YClient(live.base_url, room["id"], room["participant"]).connect()
    sophie.append("synthese", "Après.")
    sophie.wait_saved()
    assert live.get(f"/api/ateliers/{room['id']}", token=room["organiser"]).json()["fields"]["synthese"] \
        == "Avant. Après."
    anna.disconnect()
    sophie.disconnect()


@pytest.mark.parametrize("origin, accepted", [(None, True), ("same", True), ("http://evil.example", False)])
def test_socket_origin_check(live, origin, accepted):
    """A page of another site cannot open a socket with the visitor's cookies."""
    import websocket

    # No Origin header: not a browser (browsers always send one on WebSocket).
    options = {"suppress_origin": True} if origin is None else {
        "origin": live.base_url if origin == "same" else origin}
    url = live.base_url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    if accepted:
        ws = websocket.create_connection(url, timeout=5, **options)
        assert ws.recv().startswith("0{")  # engine.io open packet
        ws.close()
    else:
        # gevent-websocket completes the upgrade before the application runs, so
        # the refusal is a socket closed at once, with no Engine.IO session.
        try:
            ws = websocket.create_connection(url, timeout=5, **options)
        except websocket.WebSocketBadStatusException as refused:
            assert refused.status_code == 400
        else:
            try:
                first = ws.recv()
            except (websocket.WebSocketConnectionClosedException, ConnectionError):
                first = ""
            assert not first.startswith("0{"), first
            ws.close()
    assert requests.get(live.base_url + "/healthz").ok


def test_restore_reaches_connected_clients_without_duplicating(live):
    room = live.new_atelier()
    porteur = YClient(live.base_url, room["id"], room["porteur"], "porteur").connect()
    porteur.append("synthese", "Version publiée.")
    porteur.wait_saved()
    live.post(f"/api/ateliers/{room['id']}/publish", {}, token=room["porteur"])
    porteur.append("synthese", " Une piste abandonnée.")
    reader = YClient(live.base_url, room["id"], room["participant"], "reader").connect()
    porteur.wait_saved()
    sheet = live.post(f"/api/ateliers/{room['id']}/restore", {"version": 1}, token=room["porteur"], expect=200)
    assert sheet["fields"]["synthese"] == "Version publiée."
    for client in (porteur, reader):
        wait_until(lambda c=client: c.text("synthese") == "Version publiée.", message=f"{client.name} restored")
    # The history lists the published version; writing goes on from the restored text.
    points = live.get(f"/api/ateliers/{room['id']}/history", token=room["organiser"]).json()
    assert [(p["kind"], p["id"]) for p in points] == [("version", 1)]
    reader.append("synthese", " Suite.")
    reader.wait_saved()
    wait_until(lambda: porteur.text("synthese") == "Version publiée. Suite.", message="writing goes on")
    porteur.disconnect()
    reader.disconnect()


def test_publishing_is_told_to_everyone_on_the_sheet(live):
    """The sheet pages show the publication state at once, whoever published."""
    room = live.new_atelier()
    reader = YClient(live.base_url, room["id"], room["participant"], "reader").connect()
    told = []
    reader.sio.on("synthese:publication", told.append, namespace=reader.namespace)
    writer = YClient(live.base_url, room["id"], room["porteur"], "writer").connect()
    writer.append("synthese", "À publier.")
    writer.wait_saved()
    live.post(f"/api/ateliers/{room['id']}/publish", {}, token=room["porteur"], expect=201)
    wait_until(lambda: told == [{"public": True, "version": 1}], message="publication told")
    live.post(f"/api/ateliers/{room['id']}/unpublish", {}, token=room["organiser"], expect=200)
    wait_until(lambda: told[-1:] == [{"public": False, "version": 1}], message="unpublication told")
    reader.disconnect()
    writer.disconnect()
