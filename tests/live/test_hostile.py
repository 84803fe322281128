"""Someone in the room with the join code, a raw socket and bad intentions.

Real server, real sockets, the real database. Each attack here broke a
sheet, the commit pipeline or the room before the server checked updates
against the sheet (synthese/yjs.py), dropped refused rows alone, and bounded
what a socket may ask for.
"""
import time

import psutil
import requests
import socketio

from tests.conftest import LiveServer
from tests.ysocket import YClient, wait_until
from tests.yjs_craft import Item, update, varuint


def fields(live, room) -> dict:
    response = live.get(f"/api/ateliers/{room['id']}", token=room["organiser"])
    assert response.status_code == 200, response.text
    return response.json()["fields"]


def honest_client(live, room, text="hello world") -> YClient:
    client = YClient(live.base_url, room["id"], room["porteur"], "porteur").connect()
    client.append("synthese", text)
    client.wait_saved()
    return client


def client_id(client: YClient) -> int:
    return client.doc.client_id


def refusal(attacker: YClient, data: bytes) -> str:
    """Send a raw update; the reason the server gives for refusing it."""
    before = len(attacker.refusals)
    attacker.send_raw("sync-update", data)
    wait_until(lambda: len(attacker.refusals) > before, message="the sender is told")
    return attacker.refusals[before]


def test_an_item_whose_parent_is_an_item_is_refused_and_the_sheet_lives_on(tmp_path):
    """The 12 bytes of the hardening issue: they made every read of the sheet,
    and every later commit of the process, fail, even after a restart."""
    live = LiveServer(tmp_path).start()
    try:
        room = live.new_atelier()
        porteur = honest_client(live, room)
        attacker = YClient(live.base_url, room["id"], room["participant"], "attacker").connect()
        bad = update({666: (0, [Item("X", parent=(client_id(porteur), 0))])})
        assert "parent is an item" in refusal(attacker, bad)
        # Everyone else goes on: writing, reading, publishing, exporting.
        porteur.append("synthese", " !")
        porteur.wait_saved()
        assert fields(live, room)["synthese"] == "hello world !"
        assert live.post(f"/api/ateliers/{room['id']}/publish", {}, token=room["porteur"])["version"] == 1
        export = live.get(f"/api/events/{room['slug']}/export.md", token=room["organiser"])
        assert export.status_code == 200 and "hello world !" in export.text
        porteur.disconnect()
        attacker.disconnect()
        live.stop()
        live.start()
        assert fields(live, room)["synthese"] == "hello world !"
    finally:
        live.stop()


def test_text_no_editor_would_show_is_refused(live):
    """A string at clock 2^32-1 of an unknown client (pycrdt integrates it,
    Yjs keeps it pending for ever), and an item whose origins lie in two
    texts (the server's Synthèse became "!")."""
    room = live.new_atelier()
    porteur = honest_client(live, room)
    attacker = YClient(live.base_url, room["id"], room["participant"], "attacker").connect()
    assert "out of range" in refusal(attacker, update({4242: (2**32 - 1, [Item("http://phish.example", parent="synthese")])}))
    assert "past 0" in refusal(attacker, update({4242: (7, [Item("http://phish.example", parent="synthese")])}))
    question = YClient(live.base_url, room["id"], room["participant"], "q").connect()
    question.append("question", "Q")
    question.wait_saved()
    across = update({4343: (0, [Item("!", origin=(client_id(porteur), 4), right=(client_id(question), 0))])})
    assert "between two texts" in refusal(attacker, across)
    assert fields(live, room)["synthese"] == "hello world"
    assert "phish" not in live.get(f"/api/events/{room['slug']}/export.md", token=room["organiser"]).text
    for c in (porteur, attacker, question):
        c.disconnect()


def test_nobody_can_write_under_someone_elses_client_id(live):
    """The next clocks of another person's client ID, sent first: their real
    text would then be skipped as already known, and lost."""
    room = live.new_atelier()
    porteur = honest_client(live, room)
    attacker = YClient(live.base_url, room["id"], room["participant"], "attacker").connect()
    stolen = update({client_id(porteur): (11, [Item(" — faux", origin=(client_id(porteur), 10))])})
    assert "someone else" in refusal(attacker, stolen)
    porteur.append("synthese", " et la suite")
    porteur.wait_saved()
    assert fields(live, room)["synthese"] == "hello world et la suite"
    porteur.disconnect()
    attacker.disconnect()


def test_a_copy_of_someone_elses_text_is_taken_only_as_far_as_they_vouch_themselves(live):
    """The recovery after a crash takes someone else's structs in an answer
    to the server, up to the clock their owner says it has: a forger cannot
    go past it, nor vouch for the owner with a state vector of its own."""
    room = live.new_atelier()
    porteur = honest_client(live, room)  # "hello world": clocks 0-10, and it answered the server
    # Its own sync request: it vouches for its client up to clock 11.
    porteur.sio.call("sync-step-1", porteur.doc.get_state(), namespace=porteur.namespace)
    accomplice_token = live.post(f"/api/events/{room['slug']}/participants",
                                 {"join_code": room["join_code"], "name": "Complice"})["token"]
    accomplice = YClient(live.base_url, room["id"], accomplice_token, "accomplice").connect()
    # It says the porteur's client reached clock 100.
    forged_sv = bytes([1]) + varuint(client_id(porteur)) + varuint(100)
    accomplice.sio.call("sync-step-1", forged_sv, namespace=accomplice.namespace)
    forged = update({client_id(porteur): (11, [Item(" — faux", origin=(client_id(porteur), 10))])})
    attacker = YClient(live.base_url, room["id"], room["participant"], "attacker")
    attacker._answer_step_1 = lambda state_vector: forged
    attacker.connect()
    wait_until(lambda: attacker.refusals, message="the forged answer's refusal")
    assert "someone else" in attacker.refusals[0]
    porteur.append("synthese", " et la suite")
    porteur.wait_stored()
    assert fields(live, room)["synthese"] == "hello world et la suite"
    for client in (porteur, accomplice, attacker):
        client.disconnect()


def test_removing_an_atelier_closes_its_porteurs_sockets_on_the_other_sheets(live):
    """Its porteur's credential goes with it: a socket of theirs left open on
    another atelier made every commit fail on its foreign key, retried for
    ever (on SQLite holding the write lock: joins answered 503)."""
    room = live.new_atelier()
    other = live.post(f"/api/events/{room['slug']}/ateliers",
                      {"title": "Autre", "session": "Session 1", "number": 3}, token=room["organiser"])
    porteur_elsewhere = YClient(live.base_url, other["id"], room["porteur"], "porteur").connect()
    bystander = YClient(live.base_url, other["id"], other["porteur_token"], "other").connect()
    response = requests.delete(f"{live.base_url}/api/ateliers/{room['id']}", timeout=10,
                               headers={"Authorization": f"Bearer {room['organiser']}"})
    assert response.status_code == 204, response.text
    wait_until(lambda: not porteur_elsewhere.connected, message="the removed porteur's other socket is closed")
    assert porteur_elsewhere.revoked
    # Everyone else's edits are stored; the service answers.
    bystander.append("synthese", "suite")
    bystander.wait_saved()
    assert live.get("/healthz").status_code == 200
    live.post(f"/api/events/{room['slug']}/participants", {"join_code": room["join_code"], "name": "Léa"})
    bystander.disconnect()


def test_presence_colours_and_names_are_checked(live):
    """A colour holding CSS became a full-page overlay in every reader's page."""
    room = live.new_atelier()
    watcher = YClient(live.base_url, room["id"], room["participant"], "watcher").connect()
    seen = []
    watcher.sio.on("awareness-update", lambda data: (watcher._on_awareness(data), seen.append(bytes(data))),
                   namespace=watcher.namespace)
    attacker = YClient(live.base_url, room["id"], room["participant"], "attacker").connect()
    attacker.announce(9001, 1, '{"user":{"name":"x","color":"red;position:fixed;inset:0;z-index:9"}}')
    attacker.announce(9001, 2, '{"user":{"name":"' + "L" * 5000 + '","color":"#aa3300"}}')
    attacker.announce(9001, 3, '{"user":{"name":"Léa","color":"#aa3300"}}')
    wait_until(lambda: 9001 in watcher.presence, message="the valid presence arrives")
    assert not any(b"position" in data or b"LLLL" in data for data in seen)
    watcher.disconnect()
    attacker.disconnect()


def test_one_token_opens_a_bounded_number_of_sockets(live):
    room = live.new_atelier()
    opened, refused = [], 0
    for i in range(30):
        client = YClient(live.base_url, room["id"], room["participant"], f"c{i}")
        try:
            opened.append(client.connect())
        except socketio.exceptions.ConnectionError:
            refused += 1
    assert len(opened) == 20 and refused == 10
    for client in opened:
        client.disconnect()
    # Once closed, they can be opened again.
    wait_until(lambda: _can_connect(live, room), message="sockets freed")


def _can_connect(live, room) -> bool:
    try:
        YClient(live.base_url, room["id"], room["participant"]).connect().disconnect()
        return True
    except socketio.exceptions.ConnectionError:
        return False


def test_a_sheet_has_a_quota(tmp_path):
    """Valid updates of one-character items grew the server by 600 MiB and
    made each read of the sheet block the loop for a second."""
    live = LiveServer(tmp_path, env={"SYNTHESE_MAX_SHEET_STRUCTS": "2000"}).start()
    try:
        room = live.new_atelier()
        attacker = YClient(live.base_url, room["id"], room["participant"], "attacker").connect()
        me = 777_001
        clock = 0
        for batch in range(5):
            # Each character after the first one: an item of its own.
            items = [Item("x", parent="discussion") if clock == 0 and i == 0 else Item("x", origin=(me, 0))
                     for i in range(1000)]
            attacker.send_raw("sync-update", update({me: (clock, items)}))
            clock += 1000
            time.sleep(0.3)
        wait_until(lambda: any("full" in r for r in attacker.refusals), message="the sheet is full")
        assert len(fields(live, room)["discussion"]) <= 2000
        attacker.disconnect()
    finally:
        live.stop()


def test_a_socket_cannot_make_the_server_queue_copies_of_the_sheet(live):
    """1 KB of sync requests, each answered with the whole sheet and never
    read, grew the server by 690 MiB."""
    room = live.new_atelier()
    porteur = honest_client(live, room, "x" * 200_000)
    server = psutil.Process(live.proc.pid)
    before = server.memory_info().rss
    greedy = YClient(live.base_url, room["id"], room["participant"], "greedy").connect()
    answers = []
    for _ in range(300):
        greedy.sio.emit("sync-step-1", b"\x00", namespace=greedy.namespace,
                        callback=lambda diff=None: answers.append(len(diff or b"")))
    # Each request answered, or the socket dropped for leaving too much unread.
    wait_until(lambda: len(answers) == 300 or not greedy.connected, message="answers or a drop")
    whole = [n for n in answers if n > 100_000]
    # A burst of a few whole sheets, then nothing but refusals: empty updates
    # (2 bytes), which the stock client applies without error.
    assert 1 <= len(whole) <= 8, len(whole)
    assert set(answers) - set(whole) <= {2}
    grown = (server.memory_info().rss - before) / 2**20
    assert grown < 40, f"the server grew by {grown:.0f} MiB"
    porteur.append("synthese", "!")
    porteur.wait_saved()
    porteur.disconnect()
    greedy.disconnect()


def test_an_awareness_flood_is_not_relayed_to_everyone(live):
    room = live.new_atelier()
    bystander = YClient(live.base_url, room["id"], room["participant"], "bystander").connect()
    counted = []
    bystander.sio.on("awareness-update", lambda data: counted.append(len(data)), namespace=bystander.namespace)
    attacker = YClient(live.base_url, room["id"], room["participant"], "attacker").connect()
    for clock in range(1, 2001):
        attacker.announce(9002, clock, '{"user":{"name":"Flood","color":"#000000"}}')
    time.sleep(1)
    # A burst of 60, then 20 a second: not two thousand.
    assert len(counted) < 200, len(counted)
    bystander.disconnect()
    attacker.disconnect()


def test_presence_comes_back_after_a_blip(live):
    """The stock clients echo each removal the server relays; the server then
    filed the returning person's client ID under the echoing socket, and
    everyone held their removal at a clock past the one they came back with."""
    room = live.new_atelier()
    bob = YClient(live.base_url, room["id"], room["participant"], "bob").connect()
    bob.announce(2, 1, '{"user":{"name":"Bob"}}')

    # Bob's client behaves as the stock one: it sends back every change it receives.
    def echo(data):
        bob.sio.emit("awareness-update", bytes(data), namespace=bob.namespace)
    bob.sio.on("awareness-update", lambda data: (bob._on_awareness(data), echo(data)), namespace=bob.namespace)
    anna = YClient(live.base_url, room["id"], room["participant"], "anna").connect()
    anna.announce(1, 5, '{"user":{"name":"Anna"}}')
    wait_until(lambda: 1 in bob.presence, message="bob sees anna")
    for blip in range(3):
        anna.disconnect()
        wait_until(lambda: 1 not in bob.presence, message="anna left")
        time.sleep(0.2)
        anna = YClient(live.base_url, room["id"], room["participant"], "anna").connect()
        anna.announce(1, 5 + blip, '{"user":{"name":"Anna"}}')
        wait_until(lambda: 1 in bob.presence, timeout=1.0, message=f"bob sees anna again (blip {blip})")
    anna.announce(1, 50, '{"user":{"name":"Anna"},"section":"synthese"}')
    wait_until(lambda: "synthese" in bob.presence.get(1, ""), timeout=1.0, message="anna's moves are followed")
    anna.disconnect()
    bob.disconnect()


def test_partial_and_idle_http_requests_are_timed_out_and_websockets_are_not(tmp_path):
    """A request sent a byte at a time, or never finished, held its
    connection for ever: a few hundred of them exhaust the file descriptors."""
    import socket

    live = LiveServer(tmp_path, env={"SYNTHESE_HTTP_TIMEOUT": "1"}).start()
    try:
        room = live.new_atelier()
        writer = YClient(live.base_url, room["id"], room["porteur"], "writer").connect()
        dripping = socket.create_connection(("127.0.0.1", live.port), timeout=10)
        dripping.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        idle = socket.create_connection(("127.0.0.1", live.port), timeout=10)
        started = time.monotonic()
        for conn in (dripping, idle):
            # Closed by the server (the dripping one after a 4xx answer).
            while conn.recv(4096):
                pass
        assert time.monotonic() - started < 5
        # A quiet WebSocket outlives the timeout.
        time.sleep(1.5)
        writer.append("synthese", "toujours là")
        writer.wait_saved()
        writer.disconnect()
    finally:
        live.stop()


def test_a_crafted_binary_event_cannot_reach_another_room_nor_slip_text_in(live):
    """The stock client's form of a binary event is read without python-socketio
    (overrides.fast_binary_events): a head naming a room the socket never joined
    delivers nothing there, and a text attachment is refused like any bad update."""
    from pycrdt import Doc, Text

    room, other = live.new_atelier(), live.new_atelier(title="Commande publique")
    porteur = honest_client(live, room)
    attacker = YClient(live.base_url, other["id"], other["participant"], "attacker").connect()
    doc = Doc()
    doc.get("synthese", type=Text).insert(0, "PIRATE")
    forged = doc.get_update()
    eio = attacker.sio.eio
    eio.send(f'51-/yjs|atelier-{room["id"]},["sync-update",{{"_placeholder":true,"num":0}}]')
    eio.send(forged)
    before = len(attacker.refusals)
    eio.send(f'51-/yjs|atelier-{other["id"]},["sync-update",{{"_placeholder":true,"num":0}}]')
    eio.send("PIRATE")
    wait_until(lambda: len(attacker.refusals) > before, message="the text attachment is refused")
    # The attacker's own socket still works; neither room took the forged bytes.
    attacker.append("question", "Q")
    attacker.wait_saved()
    assert fields(live, room)["synthese"] == "hello world"
    assert "PIRATE" not in porteur.text("synthese")
    assert fields(live, other)["synthese"] == "" and fields(live, other)["question"] == "Q"
    porteur.disconnect()
    attacker.disconnect()
