"""Live servers on PostgreSQL, several processes, and Redis fan-out."""
import subprocess
import time

import pytest

from tests.conftest import LiveServer, free_port, need, port_open, processes
from tests.ysocket import YClient, wait_until, write_concurrently


@pytest.fixture
def pg_servers(tmp_path, postgres_url):
    servers = []

    def start(**kw):
        server = LiveServer(tmp_path / f"s{len(servers)}", database_url=postgres_url, **kw)
        server.workdir.mkdir()
        servers.append(server.start())
        return server

    yield start
    for server in servers:
        server.stop()


def test_two_processes_append_to_one_sheet_without_gap_or_duplicate(pg_servers, postgres_url):
    one, two = pg_servers(), pg_servers()
    room = one.new_atelier()
    clients = [YClient(s.base_url, room["id"], room["participant"], f"c{i}").connect()
               for i, s in enumerate([one, two, one, two])]

    def write(i, client):
        for n in range(50):
            client.append("discussion", f"<{i}.{n}>")

    write_concurrently(clients, write)
    import psycopg

    with psycopg.connect(postgres_url.replace("+psycopg", "")) as conn:
        seqs = [r[0] for r in conn.execute(
            "SELECT seq FROM sheet_updates WHERE atelier_id = %s ORDER BY seq", (room["id"],))]
        head = conn.execute("SELECT head_seq FROM sheet_documents WHERE atelier_id = %s", (room["id"],)).fetchone()[0]
    assert seqs == list(range(1, head + 1))
    text = two.get(f"/api/ateliers/{room['id']}", token=room["organiser"]).json()["fields"]["discussion"]
    for i in range(4):
        for n in range(50):
            assert f"<{i}.{n}>" in text
    for c in clients:
        c.disconnect()


def test_redis_relays_edits_between_processes(tmp_path):
    need("redis", port_open("127.0.0.1", 6379), "nothing listens on 127.0.0.1:6379")
    with processes(tmp_path, SYNTHESE_REDIS_URL="redis://127.0.0.1:6379/0") as (one, two):
        room = one.new_atelier()
        anna = YClient(one.base_url, room["id"], room["participant"]).connect()
        sophie = YClient(two.base_url, room["id"], room["porteur"]).connect()
        anna.append("question", "Comment relier les acteurs ?")
        wait_until(lambda: sophie.text("question") == "Comment relier les acteurs ?", message="relay across processes")
        sophie.append("synthese", "Créer une communauté apprenante.")
        wait_until(lambda: anna.text("synthese") == "Créer une communauté apprenante.", message="relay back")
        anna.disconnect()
        sophie.disconnect()


def test_a_process_listens_to_a_room_only_for_sockets_let_in(tmp_path):
    """Refused sockets (a bad token, a room that does not exist) make no
    process listen to anything; an accepted one makes its process listen to
    its room, and only to it."""
    import socketio

    redis = RedisServer(tmp_path).start()
    try:
        with processes(tmp_path, count=1, SYNTHESE_REDIS_URL=redis.url) as (one,):
            room = one.new_atelier()
            listened = lambda: sorted(c.decode() for c in redis.client().pubsub_channels())  # noqa: E731
            for atelier_id, token in [(room["id"], "not-a-token"), (999_999, room["organiser"])]:
                with pytest.raises(socketio.exceptions.ConnectionError):
                    YClient(one.base_url, atelier_id, token).connect()
            assert listened() in ([], ["synthese-0"])  # the deployment's own channel at most
            anna = YClient(one.base_url, room["id"], room["participant"]).connect()
            assert listened() == ["synthese-0", f"synthese-0:/yjs|atelier-{room['id']}"]
            anna.disconnect()
    finally:
        redis.kill()


def test_deployments_sharing_a_redis_server_do_not_hear_each_other(tmp_path):
    """Staging on Redis database 1, production on database 2: their first
    ateliers have the same id, and an edit in one must not reach the other."""
    need("redis", port_open("127.0.0.1", 6379), "nothing listens on 127.0.0.1:6379")
    (tmp_path / "staging").mkdir()
    (tmp_path / "production").mkdir()
    with processes(tmp_path / "staging", count=1, SYNTHESE_REDIS_URL="redis://127.0.0.1:6379/1") as (staging,), \
            processes(tmp_path / "production", count=1, SYNTHESE_REDIS_URL="redis://127.0.0.1:6379/2") as (prod,):
        room_s, room_p = staging.new_atelier(), prod.new_atelier()
        assert room_s["id"] == room_p["id"]
        tester = YClient(staging.base_url, room_s["id"], room_s["porteur"], "tester").connect()
        anna = YClient(prod.base_url, room_p["id"], room_p["participant"], "anna").connect()
        tester.append("discussion", "essai essai ")
        anna.append("discussion", "Un territoire apprenant.")
        wait_until(lambda: prod.get(f"/api/ateliers/{room_p['id']}", token=room_p["organiser"])
                   .json()["fields"]["discussion"] == "Un territoire apprenant.", message="production stored")
        time.sleep(0.5)  # a relay from staging would have arrived by now
        assert anna.text("discussion") == "Un territoire apprenant."
        assert tester.text("discussion") == "essai essai "
        anna.disconnect()
        tester.disconnect()


def test_presence_crosses_processes_through_redis(tmp_path):
    """A newcomer on one process sees at once who is on the other; the dashboard
    counts everyone, whichever process answers."""
    need("redis", port_open("127.0.0.1", 6379), "nothing listens on 127.0.0.1:6379")
    with processes(tmp_path, SYNTHESE_REDIS_URL="redis://127.0.0.1:6379/0") as (one, two):
        room = one.new_atelier()
        anna = YClient(one.base_url, room["id"], room["participant"], "anna").connect()
        anna.announce(anna.doc.client_id, 1, '{"user": {"name": "Anna Szeremeta"}}')
        time.sleep(0.2)
        started = time.monotonic()
        sophie = YClient(two.base_url, room["id"], room["porteur"], "sophie").connect()
        wait_until(lambda: anna.doc.client_id in sophie.presence, timeout=1, message="presence from the other process")
        assert time.monotonic() - started < 1.5
        dashboard = two.get(f"/api/events/{room['slug']}/dashboard", token=room["organiser"]).json()
        (row,) = dashboard["ateliers"]
        assert {p["role"] for p in row["present"]} == {"participant", "porteur"}
        assert "Anna Szeremeta" in {p["name"] for p in row["present"]}
        anna.disconnect()
        wait_until(lambda: anna.doc.client_id not in sophie.presence, message="removal across processes")
        wait_until(lambda: len(two.get(f"/api/events/{room['slug']}/dashboard",
                                       token=room["organiser"]).json()["ateliers"][0]["present"]) == 1,
                   message="dashboard without anna")
        sophie.disconnect()


def test_revoking_someone_closes_their_sockets_in_every_process(tmp_path):
    need("redis", port_open("127.0.0.1", 6379), "nothing listens on 127.0.0.1:6379")
    with processes(tmp_path, SYNTHESE_REDIS_URL="redis://127.0.0.1:6379/0") as (one, two):
        room = one.new_atelier()
        anna = YClient(two.base_url, room["id"], room["participant"], "anna").connect()
        revoked = []
        anna.sio.on("synthese:revoked", lambda *a: revoked.append(True), namespace=anna.namespace)
        # At once: process two writes who is connected to Redis in batches,
        # so the first look misses anna, and revoking looks again later.
        one.revoke(room)
        wait_until(lambda: revoked == [True], message="revocation notice across processes")
        wait_until(lambda: anna.namespace not in anna.sio.namespaces, message="socket closed by the other process")
        anna.disconnect()


def test_a_stopped_process_takes_its_people_out_of_every_room(tmp_path):
    """SIGTERM: the process commits what it accepted and removes its people's
    presence at once, instead of leaving them to age out (a minute in Redis,
    30 s in the clients) while they reconnect to another process."""
    need("redis", port_open("127.0.0.1", 6379), "nothing listens on 127.0.0.1:6379")
    with processes(tmp_path, SYNTHESE_REDIS_URL="redis://127.0.0.1:6379/0") as (one, two):
        room = one.new_atelier()
        sophie = YClient(one.base_url, room["id"], room["porteur"], "sophie").connect()
        anna = YClient(two.base_url, room["id"], room["participant"], "anna").connect()
        anna.announce(anna.doc.client_id, 1, '{"user": {"name": "Anna Szeremeta"}}')
        wait_until(lambda: anna.doc.client_id in sophie.presence, message="anna's presence on process one")
        anna.append("discussion", "Un territoire apprenant.")

        def dashboard():
            return one.get(f"/api/events/{room['slug']}/dashboard", token=room["organiser"]).json()["ateliers"][0]

        wait_until(lambda: len(dashboard()["present"]) == 2, message="both counted")
        two.proc.terminate()
        assert two.proc.wait(10) == 0, two.log()
        wait_until(lambda: anna.doc.client_id not in sophie.presence, timeout=2, message="anna's presence removed")
        assert [p["role"] for p in dashboard()["present"]] == ["porteur"]
        assert sophie.text("discussion") == "Un territoire apprenant."
        stored = one.get(f"/api/ateliers/{room['id']}", token=room["organiser"]).json()["fields"]["discussion"]
        assert stored == "Un territoire apprenant."
        anna.disconnect()
        sophie.disconnect()


class RedisServer:
    """A redis-server of our own, to stop and restart under a running service."""

    def __init__(self, workdir):
        import shutil

        need("redis", shutil.which("redis-server") is not None, "no redis-server binary")
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: port_open("127.0.0.1", self.port), message="redis up")
        return self

    def client(self):
        import redis

        return redis.Redis.from_url(self.url)

    def kill(self):
        self.proc.kill()
        self.proc.wait(10)


def test_redis_stopped_and_restarted_while_people_write(tmp_path):
    """Relays across processes stop while Redis is down; writing goes on and is
    stored; once Redis is back, every client heals by its periodic resync."""
    redis = RedisServer(tmp_path).start()
    try:
        with processes(tmp_path, SYNTHESE_REDIS_URL=redis.url) as (one, two):
            room = one.new_atelier()
            anna = YClient(one.base_url, room["id"], room["participant"], "anna").connect()
            sophie = YClient(two.base_url, room["id"], room["porteur"], "sophie").connect()
            for client in (anna, sophie):
                client.resync_every(1.0)
            anna.append("discussion", "avant la coupure. ")
            wait_until(lambda: "avant la coupure." in sophie.text("discussion"), message="relay before the cut")

            redis.kill()
            for n in range(10):
                anna.append("discussion", f"a{n} ")
                sophie.append("synthese", f"s{n} ")
                time.sleep(0.1)
            anna.wait_saved()
            sophie.wait_saved()  # accepted and stored while Redis is down
            assert one.get("/healthz").ok and two.get("/healthz").ok

            redis.start()
            expected = one.get(f"/api/ateliers/{room['id']}", token=room["organiser"]).json()["fields"]
            assert all(f"a{n} " in expected["discussion"] and f"s{n} " in expected["synthese"] for n in range(10))
            for client in (anna, sophie):
                wait_until(lambda c=client: c.fields() == expected, timeout=20, message=f"{client.name} healed")
            # And relays work again, without resync, once both processes
            # listen to the room again.
            for client in (anna, sophie):
                client.stop_resync()
            time.sleep(1.5)  # a resync under way ends
            channel = f"synthese-0:/yjs|atelier-{room['id']}"
            wait_until(lambda: redis.client().pubsub_numsub(channel) == [(channel.encode(), 2)],
                       timeout=15, message="both processes listening to the room again")
            sophie.append("question", "Après la coupure ?")
            wait_until(lambda: anna.text("question") == "Après la coupure ?", timeout=5, message="relay after")
            anna.disconnect()
            sophie.disconnect()
    finally:
        redis.kill()


def test_a_room_opening_at_once_on_postgresql(pg_servers):
    """80 sockets open the same sheet at the same moment: more than the
    connection pool holds, yet every one syncs (the store never waits for a
    pooled connection while holding a sheet's lock, nor the reverse)."""
    import threading

    server = pg_servers()
    room = server.new_atelier()
    writer = YClient(server.base_url, room["id"], room["porteur"], "writer").connect()
    writer.append("synthese", "Déjà écrit.")
    writer.wait_saved()
    writer.disconnect()
    # 80 people: one token each (one token opens at most 20 sockets).
    tokens = [server.post(f"/api/events/{room['slug']}/participants",
                          {"join_code": room["join_code"], "name": f"Personne {i}"})["token"] for i in range(80)]
    clients = [YClient(server.base_url, room["id"], token, f"c{i}") for i, token in enumerate(tokens)]
    barrier = threading.Barrier(len(clients))
    failures = []

    def open_it(client):
        barrier.wait()
        try:
            client.connect(timeout=30)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(repr(exc))

    threads = [threading.Thread(target=open_it, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert all(c.text("synthese") == "Déjà écrit." for c in clients)
    for c in clients:
        c.disconnect()


def test_stock_clients_converge_within_a_second_of_redis_returning(tmp_path):
    """Clients with the stock client's default options (no periodic resync)
    stayed diverged for good after a Redis outage: relays of the outage are
    lost, and nothing sent them what the other process committed meanwhile.
    Now each process, listening again, sends its clients the rows they missed."""
    redis = RedisServer(tmp_path).start()
    try:
        with processes(tmp_path, SYNTHESE_REDIS_URL=redis.url) as (one, two):
            room = one.new_atelier()
            anna = YClient(one.base_url, room["id"], room["participant"], "anna").connect()
            sophie = YClient(two.base_url, room["id"], room["porteur"], "sophie").connect()
            anna.append("discussion", "avant. ")
            wait_until(lambda: "avant." in sophie.text("discussion"), message="relay before the cut")
            redis.kill()
            sophie.append("synthese", "Pendant la coupure.")
            anna.append("question", "Et vous ?")
            sophie.wait_saved()
            anna.wait_saved()
            time.sleep(1)
            assert "Pendant" not in anna.text("synthese")  # no relay while Redis is away
            redis.start()
            back = time.monotonic()
            wait_until(lambda: anna.text("synthese") == "Pendant la coupure."
                       and sophie.text("question") == "Et vous ?", timeout=5, message="both healed")
            healed = time.monotonic() - back
            assert healed < 2.0, f"healed {healed:.2f} s after Redis came back"
            anna.disconnect()
            sophie.disconnect()
    finally:
        redis.kill()


def test_revocation_does_not_depend_on_the_processes_clocks(tmp_path):
    """A process whose clock was 90 s behind wrote presence entries the others
    took for a dead process's: a revoked socket there stayed open, writing."""
    redis_url = "redis://127.0.0.1:6379/0"
    with processes(tmp_path, SYNTHESE_REDIS_URL=redis_url) as (one, two):
        room = one.new_atelier()
        anna = YClient(two.base_url, room["id"], room["participant"], "anna").connect()
        import redis as redis_lib

        # The entries process two wrote, as a clock 90 s behind would have.
        client = redis_lib.Redis.from_url(redis_url)
        key = f"synthese:people:{room['id']}"
        wait_until(lambda: client.hlen(key) == 1, message="process two wrote anna's entry")
        for field, raw in client.hgetall(key).items():
            import json

            value = json.loads(raw)
            value["ts"] = value.get("ts", time.time()) - 90
            client.hset(key, field, json.dumps(value))
        one.revoke(room)
        wait_until(lambda: not anna.connected, timeout=5, message="the revoked socket on process two is closed")
        assert anna.revoked


def test_presence_client_ids_are_owned_across_processes(tmp_path):
    """With two processes, a participant on one could announce the client ID
    of someone connected to the other and speak as them."""
    with processes(tmp_path, SYNTHESE_REDIS_URL="redis://127.0.0.1:6379/0") as (one, two):
        room = one.new_atelier()
        anna = YClient(one.base_url, room["id"], room["participant"], "anna").connect()
        anna.announce(4242, 1, '{"user":{"name":"Anna"}}')
        watcher = YClient(one.base_url, room["id"], room["porteur"], "watcher").connect()
        wait_until(lambda: 4242 in watcher.presence, message="anna present")
        time.sleep(0.3)  # written to Redis within 100 ms
        other = two.post(f"/api/events/{room['slug']}/participants",
                         {"join_code": room["join_code"], "name": "Mallory"})["token"]
        mallory = YClient(two.base_url, room["id"], other, "mallory").connect()
        mallory.announce(4242, 10, '{"user":{"name":"Mallory"}}')
        time.sleep(1)
        assert "Mallory" not in watcher.presence[4242]
        for c in (anna, watcher, mallory):
            c.disconnect()


def test_someone_back_on_the_other_process_is_seen_again(tmp_path):
    """A person whose socket drops comes back, behind a restarted or
    rebalanced proxy, on the other process, with the clock they had."""
    with processes(tmp_path, SYNTHESE_REDIS_URL="redis://127.0.0.1:6379/0") as (one, two):
        room = one.new_atelier()
        watcher = YClient(one.base_url, room["id"], room["porteur"], "watcher").connect()
        anna = YClient(one.base_url, room["id"], room["participant"], "anna").connect()
        anna.announce(4343, 3, '{"user":{"name":"Anna"}}')
        wait_until(lambda: 4343 in watcher.presence, message="anna present")
        anna.disconnect()
        wait_until(lambda: 4343 not in watcher.presence, message="anna left")
        time.sleep(0.3)
        anna = YClient(two.base_url, room["id"], room["participant"], "anna").connect()
        anna.announce(4343, 3, '{"user":{"name":"Anna"}}')
        wait_until(lambda: 4343 in watcher.presence, timeout=2, message="anna seen again")
        for c in (anna, watcher):
            c.disconnect()
