"""Seeded randomised convergence through two real server processes behind Redis.

Clients spread over both processes edit every section at random places,
while relayed updates arrive late, out of order or never, and clients drop
off, keep typing, and come back. In the end every client's text equals what
the database holds.
"""
import random
import time

import pytest

from synthese.sheets import SECTION_KEYS
from tests.conftest import processes
from tests.live.test_services import RedisServer
from tests.ysocket import YClient, wait_until, write_concurrently


def random_edit(client: YClient, rng: random.Random, n: int) -> None:
    """Insert or delete at a random place (ASCII only: pycrdt indexes UTF-8 bytes)."""
    key = rng.choice(SECTION_KEYS)
    with client.lock:
        text = client.texts[key]
        size = len(str(text))
        if size > 20 and rng.random() < 0.25:
            start = rng.randrange(0, size - 5)
            del text[start:start + rng.randint(1, 5)]
        else:
            text.insert(rng.randint(0, size), f" {client.name}.{n}")


@pytest.mark.parametrize("seed", [1, 2])
def test_random_edits_through_two_processes_converge(tmp_path, seed):
    rng = random.Random(seed)
    redis = RedisServer(tmp_path).start()
    try:
        with processes(tmp_path, SYNTHESE_REDIS_URL=redis.url) as servers:
            room = servers[0].new_atelier()
            clients = []
            for i in range(6):
                client = YClient(servers[i % 2].base_url, room["id"], room["participant"], f"c{i}")
                client.network, client.drop_rate, client.max_delay = random.Random(seed * 100 + i), 0.2, 0.3
                clients.append(client.connect())
                client.resync_every(0.5)
            plans = {c.name: random.Random(rng.random()) for c in clients}

            def work(_, client):
                own = plans[client.name]
                for n in range(60):
                    random_edit(client, own, n)
                    if own.random() < 0.04 and client.connected:
                        client.disconnect()  # the network goes; typing goes on
                        time.sleep(own.random() * 0.5)
                    elif not client.connected and own.random() < 0.3:
                        client.connect()
                        client.resync_every(0.5)
                    time.sleep(own.random() * 0.03)
                if not client.connected:
                    client.connect()
                    client.resync_every(0.5)

            write_concurrently(clients, work, saved_timeout=30)
            stored = servers[1].get(f"/api/ateliers/{room['id']}", token=room["organiser"]).json()["fields"]
            for c in clients:
                try:
                    wait_until(lambda c=c: c.fields() == stored, timeout=20,
                               message=f"{c.name} converged (seed {seed})")
                except AssertionError:
                    fresh = YClient(servers[0].base_url, room["id"], room["organiser"], "fresh").connect()
                    again = servers[1].get(f"/api/ateliers/{room['id']}", token=room["organiser"]).json()["fields"]
                    raise AssertionError(f"{c.name}: {c.fields()!r}\nstored then: {stored!r}\nstored now: {again!r}"
                                         f"\nfresh client: {fresh.fields()!r}")
            for c in clients:
                c.disconnect()
    finally:
        redis.kill()
