"""The y-socket.io server against real sockets and the real database."""
import random
import sqlite3
import threading
import time

import pytest
import socketio
from pycrdt import Doc, Text

from synthese.realtime.awareness import Entry, encode
from tests.conftest import LiveServer
from tests.ysocket import YClient, wait_until, write_concurrently


def api_fields(live, room):
    response = live.get(f"/api/ateliers/{room['id']}", token=room["organiser"])
    assert response.status_code == 200, response.text
    return response.json()["fields"]


def test_sync_both_ways(live):
    room = live.new_atelier()
    anna = YClient(live.base_url, room["id"], room["participant"], "anna").connect()
    anna.append("question", "Comment accompagner les transformations en Théorie U ?")
    anna.wait_saved()
    # A newcomer gets the stored document through sync step 1...
    sophie = YClient(live.base_url, room["id"], room["porteur"], "sophie").connect()
    assert sophie.text("question") == "Comment accompagner les transformations en Théorie U ?"
    # ...and later edits through relayed updates, both ways.
    sophie.append("synthese", "Proposer une expérimentation 😀")
    wait_until(lambda: anna.text("synthese") == "Proposer une expérimentation 😀", message="relay to anna")
    anna.append("participants", "Anna Szeremeta\n")
    wait_until(lambda: sophie.text("participants") == "Anna Szeremeta\n", message="relay to sophie")
    anna.wait_saved()
    assert api_fields(live, room) == sophie.fields()
    anna.disconnect()
    sophie.disconnect()


def test_a_burst_of_updates_reaches_the_room_merged(live):
    """A room is relayed at most every few milliseconds (Realtime.relay_every):
    what its writers send meanwhile reaches everyone as fewer, merged messages."""
    room = live.new_atelier()
    writer = YClient(live.base_url, room["id"], room["participant"], "anna").connect()
    reader = YClient(live.base_url, room["id"], room["porteur"], "sophie").connect()
    # Its first update claims its client ID: relayed once committed, with what followed it.
    writer.append("question", "Comment ?")
    writer.wait_saved()
    wait_until(lambda: reader.text("question") == "Comment ?", message="the claim reaches the reader")
    before = reader.received_updates
    words = [f"idée {i}; " for i in range(20)]
    for word in words:
        writer.append("synthese", word)
    wait_until(lambda: reader.text("synthese") == "".join(words), message="the burst reaches the reader")
    assert 1 <= reader.received_updates - before < len(words)
    writer.wait_saved()
    assert api_fields(live, room)["synthese"] == "".join(words)
    writer.disconnect()
    reader.disconnect()


def test_server_pulls_edits_made_before_connecting(live):
    """Edits a client holds when it (re)connects reach the server by its sync step 1."""
    room = live.new_atelier()
    offline = YClient(live.base_url, room["id"], room["participant"])
    offline.append("discussion", "Vigilance sur le cloisonnement")
    offline.connect()
    offline.wait_saved()
    assert api_fields(live, room)["discussion"] == "Vigilance sur le cloisonnement"
    offline.disconnect()


def test_seeded_porteur_section(live):
    room = live.new_atelier(porteur="Sophie Largeau, Ville de Paris")
    client = YClient(live.base_url, room["id"], room["participant"]).connect()
    assert client.text("porteur") == "Sophie Largeau, Ville de Paris"
    client.disconnect()


@pytest.mark.parametrize(
    "who",
    ["missing", "forged", "other_event_participant", "other_event_organiser", "unknown_atelier"],
)
def test_connection_refused_without_a_valid_token(live, who):
    room = live.new_atelier()
    other = live.new_atelier()
    atelier_id, token = room["id"], {
        "missing": None,
        "forged": room["participant"][:-4] + "AAAA",
        "other_event_participant": other["participant"],
        "other_event_organiser": other["organiser"],
        "unknown_atelier": room["participant"],
    }[who]
    if who == "unknown_atelier":
        atelier_id = 999_999
    client = YClient(live.base_url, atelier_id, token)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect()


def test_participant_token_opens_every_atelier_of_its_event(live):
    room = live.new_atelier()
    second = live.post(
        f"/api/events/{room['slug']}/ateliers", {"title": "Commande publique"}, token=room["organiser"]
    )
    for token in (room["participant"], room["porteur"], room["organiser"]):
        client = YClient(live.base_url, second["id"], token).connect()
        assert client.connected
        client.disconnect()


def _valid_update(text: str) -> bytes:
    doc = Doc()
    doc.get("synthese", type=Text).insert(0, text)
    return doc.get_update()


BAD_UPDATES = {
    "garbage": bytes(range(7, 200, 3)),
    "truncated": _valid_update("Une phrase entière qui sera coupée")[:-9],
    "empty": b"",
    "text_not_binary": "sync-update as a string",
    "number": 42,
    # Valid Yjs, but above SYNTHESE_MAX_UPDATE_BYTES (512 KiB).
    "oversized": _valid_update("x" * 600_000),
}


@pytest.mark.parametrize("kind", list(BAD_UPDATES))
def test_bad_document_updates_are_refused(live, kind):
    room = live.new_atelier()
    writer = YClient(live.base_url, room["id"], room["porteur"], "writer").connect()
    writer.append("synthese", "Texte déjà enregistré.")
    writer.wait_saved()
    before = api_fields(live, room)
    attacker = YClient(live.base_url, room["id"], room["participant"], "attacker").connect()
    watcher = YClient(live.base_url, room["id"], room["organiser"], "watcher").connect()
    received = watcher.received_updates

    attacker.send_raw("sync-update", BAD_UPDATES[kind])
    time.sleep(0.3)
    assert api_fields(live, room) == before
    assert watcher.received_updates == received
    assert attacker.connected  # refused, not thrown out
    # Everyone else is still served.
    writer.append("synthese", " Suite.")
    wait_until(lambda: watcher.text("synthese") == "Texte déjà enregistré. Suite.", message="relay")
    writer.wait_saved()
    assert api_fields(live, room)["synthese"] == "Texte déjà enregistré. Suite."
    for c in (writer, attacker, watcher):
        c.disconnect()


def test_message_beyond_transport_limit_drops_only_that_socket(live):
    room = live.new_atelier()
    attacker = YClient(live.base_url, room["id"], room["participant"]).connect()
    watcher = YClient(live.base_url, room["id"], room["organiser"]).connect()
    attacker.send_raw("sync-update", b"\x01" * 3_000_000)
    wait_until(lambda: not attacker.connected, message="attacker dropped")
    writer = YClient(live.base_url, room["id"], room["porteur"]).connect()
    writer.append("question", "Toujours là ?")
    wait_until(lambda: watcher.text("question") == "Toujours là ?", message="relay after drop")
    watcher.disconnect()
    writer.disconnect()


BAD_AWARENESS = {
    "garbage": b"\xff\xff\xff\xff\xff\xff\xff\xff\xff",
    "truncated": encode([Entry(12345, 1, '{"user":{"name":"Anna"}}')])[:-5],
    "not_json": encode([Entry(12345, 1, "{not json")]),
    "not_object": encode([Entry(12345, 1, "[1,2,3]")]),
    "oversized": encode([Entry(12345, 1, '{"user":{"name":"' + "A" * 20_000 + '"}}')]),
    "text_not_binary": "awareness",
}


@pytest.mark.parametrize("kind", list(BAD_AWARENESS))
def test_bad_awareness_updates_are_refused(live, kind):
    room = live.new_atelier()
    attacker = YClient(live.base_url, room["id"], room["participant"]).connect()
    watcher = YClient(live.base_url, room["id"], room["organiser"]).connect()
    attacker.send_raw("awareness-update", BAD_AWARENESS[kind])
    time.sleep(0.3)
    assert watcher.presence == {}
    # A well-formed one afterwards still goes through.
    attacker.announce(12345, 2, '{"user":{"name":"Anna"}}')
    wait_until(lambda: 12345 in watcher.presence, message="valid awareness relayed")
    attacker.disconnect()
    watcher.disconnect()


def test_presence_reaches_newcomers_and_leaves_with_the_socket(live):
    room = live.new_atelier()
    anna = YClient(live.base_url, room["id"], room["participant"]).connect()
    anna.announce(111, 1, '{"user":{"name":"Anna","color":"#1f6feb"},"section":"synthese"}')
    time.sleep(0.2)
    started = time.monotonic()
    sophie = YClient(live.base_url, room["id"], room["porteur"]).connect()
    wait_until(lambda: 111 in sophie.presence, timeout=1, message="presence within a second")
    assert time.monotonic() - started < 1
    assert '"section":"synthese"' in sophie.presence[111]
    anna.disconnect()
    wait_until(lambda: 111 not in sophie.presence, message="presence removed on disconnect")
    sophie.disconnect()


def test_presence_cannot_be_spoofed_by_another_socket(live):
    room = live.new_atelier()
    anna = YClient(live.base_url, room["id"], room["participant"]).connect()
    anna.announce(111, 1, '{"user":{"name":"Anna"}}')
    watcher = YClient(live.base_url, room["id"], room["organiser"]).connect()
    wait_until(lambda: 111 in watcher.presence, message="anna present")
    mallory = YClient(live.base_url, room["id"], room["porteur"]).connect()
    mallory.announce(111, 5, "null")  # try to make Anna disappear
    mallory.announce(111, 6, '{"user":{"name":"Mallory"}}')
    time.sleep(0.3)
    assert watcher.presence[111] == '{"user":{"name":"Anna"}}'
    for c in (anna, watcher, mallory):
        c.disconnect()


def test_many_clients_with_offline_edits_converge(live):
    """Concurrent edits in every section, disconnections with offline edits: all converge."""
    room = live.new_atelier()
    rng = random.Random(20261122)
    tokens = [room["participant"], room["porteur"], room["organiser"], room["participant"], room["participant"]]
    clients = [YClient(live.base_url, room["id"], t, f"c{i}").connect() for i, t in enumerate(tokens)]
    sections = ["question", "synthese", "porteur", "participants", "discussion"]

    def boundary(local, text):
        """A position between markers, so that markers stay whole and checkable."""
        return local.choice([0] + [j + 1 for j, ch in enumerate(text) if ch in ">]"])

    def work(i, client):
        local = random.Random(rng.random())
        for step in range(60):
            if step in (20, 40) and i % 2 == 0:
                client.disconnect()
                for _ in range(8):  # offline edits
                    key = local.choice(sections)
                    client.insert(key, boundary(local, client.text(key)), f"[o{i}.{step}]")
                client.connect()
            key = local.choice(sections)
            client.insert(key, boundary(local, client.text(key)), f"<{i}.{step}>")
            time.sleep(local.uniform(0, 0.02))

    write_concurrently(clients, work)
    stored = api_fields(live, room)
    for c in clients:
        wait_until(lambda c=c: c.fields() == stored, message=f"{c.name} converged")
    # Nothing lost: every marker of every client is in the stored text.
    everything = "".join(stored.values())
    for i in range(len(clients)):
        for step in range(60):
            assert f"<{i}.{step}>" in everything
    for c in clients:
        c.disconnect()


def test_database_locked_while_people_write_loses_nothing(tmp_path, request):
    """Someone holds SQLite's write lock for 2 s while three people write.

    The server keeps serving, retries, refuses what its (tiny) queue cannot
    hold, pulls it again from the senders afterwards, and nothing is lost.
    """
    server = LiveServer(tmp_path, env={"SYNTHESE_UPDATE_QUEUE": "5"}).start()
    request.addfinalizer(server.stop)
    room = server.new_atelier()
    clients = [YClient(server.base_url, room["id"], room["participant"], f"c{i}").connect() for i in range(3)]
    # Released by another thread below, one user at a time.
    lock = sqlite3.connect(tmp_path / "live.db", isolation_level=None, timeout=10, check_same_thread=False)
    lock.execute("BEGIN IMMEDIATE")

    def burst(i, client):
        for n in range(40):
            client.append("discussion", f"<{i}.{n}>")
            time.sleep(0.01)

    answered_while_locked = []

    def release_later():
        time.sleep(1)
        answered_while_locked.append(server.get("/").status_code)
        time.sleep(1)
        lock.execute("COMMIT")
        lock.close()

    releaser = threading.Thread(target=release_later)
    releaser.start()
    write_concurrently(clients, burst, saved_timeout=30)
    releaser.join()
    # The server still answered while the database was locked.
    assert answered_while_locked == [200]
    assert "could not store" in server.log() and "update queue full" in server.log()
    stored = api_fields(server, room)["discussion"]
    assert all(f"<{i}.{n}>" in stored for i in range(3) for n in range(40))
    for c in clients:
        wait_until(lambda c=c: c.text("discussion") == stored, message=f"{c.name} converged")
        c.disconnect()


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_sigkill_after_edits_loses_nothing(tmp_path, request, database):
    url = request.getfixturevalue("postgres_url") if database == "postgres" else None
    server = LiveServer(tmp_path, database_url=url).start()
    request.addfinalizer(server.stop)
    room = server.new_atelier()
    writer = YClient(server.base_url, room["id"], room["participant"], "writer").connect()
    reader = YClient(server.base_url, room["id"], room["porteur"], "reader").connect()
    for i in range(200):
        writer.append("discussion", f"ligne {i} — é😀\n")
    # The relay comes after the commit: once the reader has it, it is durable.
    expected = writer.text("discussion")
    wait_until(lambda: reader.text("discussion") == expected, message="reader got everything")
    server.kill()
    writer.sio = reader.sio = None
    server.start()
    again = YClient(server.base_url, room["id"], room["organiser"], "again").connect()
    assert again.text("discussion") == expected
    assert server.get(f"/api/ateliers/{room['id']}", token=room["organiser"]).json()["fields"]["discussion"] == expected
    again.disconnect()
