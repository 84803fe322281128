"""What a crash may and may not lose (contract section 3), on SQLite, on
PostgreSQL and with two processes behind Redis.

The server relays an accepted update to its room at once and commits it in
the next group commit. Each test holds the commits back from outside (a
write lock on SQLite, a row lock on PostgreSQL), so that a SIGKILL lands
exactly between relay and commit:

- killed after the relays, before their commit: once the people in the room
  reconnect, nothing they typed is missing (their pages send it back);
- killed once the server said "stored" (what makes the sheet page say
  "Enregistré"): nothing is missing even if nobody reconnects.
"""
import sqlite3
import threading
import time
from contextlib import contextmanager

import pytest

from tests.conftest import LiveServer, need, port_open, processes
from tests.ysocket import YClient, wait_until

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["sqlite", "postgres", "two-processes-redis"])
def servers(request, tmp_path):
    """The servers of one deployment, the database URL they share, and a way to restart them."""
    kind = request.param
    if kind == "sqlite":
        server = LiveServer(tmp_path).start()
        request.addfinalizer(server.stop)
        yield [server], server.env["SYNTHESE_DATABASE_URL"]
        return
    postgres_url = request.getfixturevalue("postgres_url")
    if kind == "postgres":
        server = LiveServer(tmp_path, database_url=postgres_url).start()
        request.addfinalizer(server.stop)
        yield [server], postgres_url
        return
    need("redis", port_open("127.0.0.1", 6379), "nothing listens on 127.0.0.1:6379")
    with processes(tmp_path, database_url=postgres_url, SYNTHESE_REDIS_URL=REDIS) as pair:
        yield pair, postgres_url


@contextmanager
def commits_held(database_url: str, atelier_id: int):
    """Nothing of this atelier can be committed meanwhile (relays still go out)."""
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")  # SQLite's write lock: appends fail busy and are retried
        try:
            yield
        finally:
            conn.rollback()
            conn.close()
        return
    import psycopg

    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        conn.execute("SELECT 1 FROM sheet_documents WHERE atelier_id = %s FOR UPDATE", (atelier_id,))
        try:
            yield
        finally:
            conn.rollback()


def stored_discussion(server, room) -> str:
    return server.get(f"/api/ateliers/{room['id']}", token=room["organiser"]).json()["fields"]["discussion"]


def tokens(text: str, prefix: str) -> list[str]:
    return [t for t in text.split() if t.startswith(prefix)]


def type_words(client: YClient, prefix: str, count: int, pause: float = 0.01) -> list[str]:
    words = [f"{prefix}{i}" for i in range(count)]
    for word in words:
        client.append("discussion", word + " ")
        time.sleep(pause)
    return words


def test_killed_between_relay_and_commit_the_room_gives_everything_back(servers, tmp_path):
    deployment, database_url = servers
    first = deployment[0]
    room = first.new_atelier()
    # Anna and the porteur on the same process (a room placed on one), Cléo,
    # with two processes, on the other one.
    anna = YClient(first.base_url, room["id"], room["participant"], "anna").connect()
    porteur = YClient(first.base_url, room["id"], room["porteur"], "porteur").connect()
    cleo_server = deployment[-1]
    cleo_token = cleo_server.post(f"/api/events/{room['slug']}/participants",
                                  {"join_code": room["join_code"], "name": "Cléo"})["token"]
    cleo = YClient(cleo_server.base_url, room["id"], cleo_token, "cleo").connect()
    # Everyone's first update is committed before anyone sees it (its claim of a client ID).
    for client in (anna, porteur, cleo):
        client.append("discussion", f"{client.name}-start ")
    for client in (anna, porteur, cleo):
        client.wait_stored()

    with commits_held(database_url, room["id"]):
        # Anna and the porteur write at once, each on the other's fresh text.
        threads = [threading.Thread(target=type_words, args=(c, f"{c.name}.", 15)) for c in (anna, porteur)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # They, and Cléo on the other process, saw each other's words before any commit...
        wait_until(lambda: "anna.14" in porteur.text("discussion") and "porteur.14" in anna.text("discussion")
                   and "anna.14" in cleo.text("discussion"), message="the relays before the commit")
        # ...which none of the database's readers shows, and no page was told "stored".
        assert tokens(stored_discussion(cleo_server, room), "anna.") == []
        assert anna.stored < anna.sent and porteur.stored < porteur.sent
        for server in deployment[:1]:
            server.kill()
    for client in (anna, porteur):
        client.sio = None  # their socket died with the server
    for server in deployment[:1]:
        server.start()
    # The porteur comes back first: the copy of Anna's words they send is not
    # theirs to give until Anna is back; then both are stored.
    porteur.connect()
    time.sleep(0.3)
    anna.connect()
    for client in (anna, porteur, cleo):
        client.wait_stored(timeout=30)
    stored = stored_discussion(first, room)
    typed = tokens(anna.text("discussion"), "anna.") + tokens(porteur.text("discussion"), "porteur.")
    assert len(typed) == 30
    for word in typed:
        assert stored.split().count(word) == 1, word
    assert stored == anna.text("discussion") == porteur.text("discussion")
    wait_until(lambda: cleo.text("discussion") == stored, message="Cléo's copy to converge")
    for client in (anna, porteur, cleo):
        client.disconnect()


def test_killed_after_stored_nothing_is_missing_even_if_nobody_comes_back(servers):
    deployment, database_url = servers
    first = deployment[0]
    room = first.new_atelier()
    anna = YClient(first.base_url, room["id"], room["participant"], "anna").connect()
    words = type_words(anna, "anna.", 20, pause=0.002)
    anna.wait_stored()
    first.kill()  # at once: no drain, no goodbye
    reader = deployment[-1] if len(deployment) > 1 else first.start()
    stored = stored_discussion(reader, room)
    assert tokens(stored, "anna.") == words


def test_while_the_commit_waits_nobody_is_told_stored_and_the_first_update_waits_too(servers):
    """The claim rule: a person's first update reaches the room only once
    committed; their later ones at once."""
    deployment, database_url = servers
    first = deployment[0]
    room = first.new_atelier()
    porteur = YClient(first.base_url, room["id"], room["porteur"], "porteur").connect()
    anna = YClient(first.base_url, room["id"], room["participant"], "anna").connect()
    anna.append("discussion", "first ")
    anna.wait_stored()
    newcomer_token = first.post(f"/api/events/{room['slug']}/participants",
                                {"join_code": room["join_code"], "name": "Bastien"})["token"]
    bastien = YClient(first.base_url, room["id"], newcomer_token, "bastien").connect()
    # With two processes, someone is in the room on the other one too (it listens to the room).
    watcher = YClient(deployment[-1].base_url, room["id"], room["organiser"], "watcher").connect()
    with commits_held(database_url, room["id"]):
        bastien.append("discussion", "bastien-first ")
        anna.append("discussion", "anna-second ")
        wait_until(lambda: "anna-second" in porteur.text("discussion") and "anna-second" in watcher.text("discussion"),
                   message="Anna's relay")
        time.sleep(0.3)
        assert "bastien-first" not in porteur.text("discussion")
        assert anna.stored < anna.sent and (bastien.stored or 0) < bastien.sent
        # A newcomer during the wait (with two processes, on the other one)
        # gets what the room was relayed, not the claim.
        late = YClient(deployment[-1].base_url, room["id"], room["organiser"], "late").connect()
        assert "anna-second" in late.text("discussion")
        assert "bastien-first" not in late.text("discussion")
    for client in (anna, bastien):
        client.wait_stored()
    wait_until(lambda: all("bastien-first" in c.text("discussion") for c in (porteur, watcher, late)),
               message="the claim's relay after its commit")
    for client in (porteur, anna, bastien, late, watcher):
        client.disconnect()


def test_a_process_that_joins_the_room_during_the_wait_gets_the_update_once_committed(servers):
    """It was not listening to the room when the relay went out: it reads
    the update from the database once the other process says it is committed."""
    deployment, database_url = servers
    if len(deployment) < 2:
        pytest.skip("one process: nobody joins elsewhere")
    first, second = deployment
    room = first.new_atelier()
    anna = YClient(first.base_url, room["id"], room["participant"], "anna").connect()
    anna.append("discussion", "first ")
    anna.wait_stored()
    with commits_held(database_url, room["id"]):
        anna.append("discussion", "while-held ")
        time.sleep(0.2)
        late = YClient(second.base_url, room["id"], room["organiser"], "late").connect()
        assert "while-held" not in late.text("discussion")
    anna.wait_stored()
    wait_until(lambda: late.text("discussion") == anna.text("discussion"), message="the committed update")
    for client in (anna, late):
        client.disconnect()
