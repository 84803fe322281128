"""Faults injected under load: a server killed while people type, a whole room
reconnecting at once after a network cut, a client offline for long."""
import random
import signal
import threading
import time

import pytest

from tests.conftest import LiveServer
from tests.ysocket import YClient, wait_until, write_concurrently


def tokens_in(text: str, prefix: str) -> list[str]:
    return [t for t in text.split() if t.startswith(prefix)]


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_stopped_during_heavy_writing_loses_and_duplicates_nothing(tmp_path, request, signum):
    """Kill -9 (a crash) or SIGTERM (a restart) while four people type;
    restart; they reconnect with what they kept: every token they typed is
    there exactly once."""
    server = LiveServer(tmp_path).start()
    request.addfinalizer(server.stop)
    room = server.new_atelier()
    clients = [YClient(server.base_url, room["id"], room["participant"], f"w{i}").connect() for i in range(4)]
    stop = threading.Event()

    def type_away(i, client):
        n = 0
        while not stop.is_set():
            client.append("discussion", f"w{i}.{n} ")
            n += 1
            time.sleep(0.005)

    threads = [threading.Thread(target=type_away, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    server.proc.send_signal(signum)  # in the middle of the stream
    code = server.proc.wait(10)
    assert code == (0 if signum == signal.SIGTERM else -signal.SIGKILL), server.log()
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join()
    for c in clients:
        c.sio = None  # the socket died with the server
    server.start()
    for c in clients:
        c.connect()
    for c in clients:
        c.wait_saved(timeout=20)
    stored = server.get(f"/api/ateliers/{room['id']}", token=room["organiser"]).json()["fields"]["discussion"]
    typed = [t for c in clients for t in tokens_in(c.text("discussion"), c.name + ".")]
    assert len(typed) > 200
    found = tokens_in(stored, "w")
    assert sorted(found) == sorted(set(found)), "a token is duplicated"
    assert set(typed) <= set(found), "a typed token is missing"
    for c in clients:
        c.disconnect()


def test_a_whole_forum_reconnects_at_once_after_a_network_cut(live):
    """30 people in 6 rooms lose the network, keep typing, and all come back at once."""
    rooms = [live.new_atelier() for _ in range(6)]
    clients = [YClient(live.base_url, room["id"], room["participant"], f"r{r}c{i}").connect()
               for r, room in enumerate(rooms) for i in range(5)]
    for c in clients:
        c.append("synthese", f"{c.name}-avant ")
    for c in clients:
        c.wait_saved()
    # The cut: every socket goes, everyone keeps typing.
    for c in clients:
        c.disconnect()
    rng = random.Random(3)
    for c in clients:
        for n in range(rng.randint(5, 20)):
            c.append("discussion", f"{c.name}-hors-ligne-{n} ")
    # All at once.
    barrier = threading.Barrier(len(clients))

    def come_back(_, c):
        barrier.wait()
        c.connect(timeout=20)

    write_concurrently(clients, come_back, saved_timeout=30)
    for r, room in enumerate(rooms):
        stored = live.get(f"/api/ateliers/{room['id']}", token=room["organiser"]).json()["fields"]
        members = [c for c in clients if c.name.startswith(f"r{r}c")]
        for c in members:
            assert all(t in stored["discussion"].split() for t in tokens_in(c.text("discussion"), c.name))
        wait_until(lambda: all(c.fields() == stored for c in members), timeout=15, message=f"room {r} converged")
    for c in clients:
        c.disconnect()


def test_a_client_offline_for_long_with_many_edits(live):
    """Thousands of edits made offline (about 100 KB of text) arrive in one sync when it comes back."""
    room = live.new_atelier()
    other = YClient(live.base_url, room["id"], room["porteur"], "porteur").connect()
    away = YClient(live.base_url, room["id"], room["participant"], "away")
    for n in range(3000):
        away.append("discussion" if n % 3 else "synthese", f"note {n} écrite hors ligne ; ")
    other.append("question", "Pendant ce temps, la question avance.")
    other.wait_saved()
    away.connect()
    away.wait_saved(timeout=20)
    wait_until(lambda: other.fields() == away.fields(), timeout=15, message="the two converge")
    stored = live.get(f"/api/ateliers/{room['id']}", token=room["organiser"]).json()["fields"]
    assert stored == away.fields()
    assert stored["discussion"].count("écrite hors ligne") == 2000
    other.disconnect()
    away.disconnect()


def test_postgresql_briefly_unavailable_while_people_write(tmp_path, request, postgres_url):
    """Every connection to PostgreSQL is cut for 3 s while two people type: the
    server keeps the edits queued, answers 503 meanwhile, and stores them all
    once the database is back."""
    from tests.faultproxy import CuttableProxy

    proxy = CuttableProxy("127.0.0.1", 5432)
    request.addfinalizer(proxy.close)
    through = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    assert through != postgres_url
    server = LiveServer(tmp_path, database_url=through).start()
    request.addfinalizer(server.stop)
    room = server.new_atelier()
    anna = YClient(server.base_url, room["id"], room["participant"], "anna").connect()
    sophie = YClient(server.base_url, room["id"], room["porteur"], "sophie").connect()
    anna.append("discussion", "avant ")
    anna.wait_saved()

    proxy.cut()
    for n in range(20):
        anna.append("discussion", f"a{n} ")
        sophie.append("synthese", f"s{n} ")
        time.sleep(0.05)
    during = server.get(f"/api/ateliers/{room['id']}", token=room["organiser"])
    assert during.status_code == 503 and during.json()["error"]["code"] == "unavailable"
    assert "Retry-After" in during.headers
    time.sleep(2)
    proxy.restore()

    try:
        anna.wait_saved(timeout=30)
        sophie.wait_saved(timeout=30)
    except TimeoutError:
        raise AssertionError(server.log()[-4000:]) from None
    stored = server.get(f"/api/ateliers/{room['id']}", token=room["organiser"]).json()["fields"]
    assert all(f"a{n} " in stored["discussion"] and f"s{n} " in stored["synthese"] for n in range(20))
    for client in (anna, sophie):
        wait_until(lambda c=client: c.fields() == stored, message=f"{client.name} converged")
    assert "could not store" in server.log()  # the outage was seen, and survived
    anna.disconnect()
    sophie.disconnect()
