"""Who is in which room, across server processes.

Each process knows its own sockets (realtime.Realtime, awareness.Presence).
With Redis configured, it also writes them to Redis, so that a newcomer
connected to one process sees at once the people connected to the others,
and the organiser's dashboard counts everyone whichever process answers.
Entries carry a timestamp and are renewed while their socket lives, so those
of a process that died age out by themselves.
"""
import json
import logging
import os
import threading
import time
import uuid

from .awareness import Entry

log = logging.getLogger(__name__)

#: Entries older than this are ignored (a dead process's sockets).
STALE_AFTER = 60.0
#: How often a process renews its entries.
RENEW_EVERY = 20.0
#: How often a process writes its sockets' comings, goings and presence.
FLUSH_EVERY = 0.1


class Roster:
    """No Redis: one process, whose own state is the whole truth."""

    shared = False

    def opened(self, atelier_id: int, sid: str, credential_id: int, role: str) -> None:
        pass

    def closed(self, atelier_id: int, sid: str) -> None:
        pass

    def announced(self, room: str, entries: list[Entry]) -> None:
        pass

    def states(self, room: str) -> list[Entry]:
        return []

    def people(self, atelier_ids) -> dict[int, dict[int, str]] | None:
        return None

    def renew(self, connections: dict) -> None:
        pass

    def flush(self) -> None:
        pass

    def sockets(self, atelier_ids, credential_id: int) -> list[tuple[int, str]]:
        """(atelier, socket id) of one credential's sockets in every process."""
        return []


class RedisRoster(Roster):
    """Presence in Redis, written in batches by the process's sharing task (see flush)."""

    shared = True

    def __init__(self, url: str):
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        #: This process, among the others.
        self.pid = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._failing = False
        self._lock = threading.Lock()
        #: Writes waiting for the next flush: sockets opened and closed, in
        #: order, and each room's latest awareness state per client (None: gone).
        self._people: list[tuple[int, str, str | None]] = []
        self._states: dict[str, dict[str, str | None]] = {}

    # Redis away: presence falls back to this process's own sockets.
    def _try(self, what, fn, default=None):
        try:
            result = fn()
            self._failing = False
            return result
        except Exception:
            if not self._failing:
                log.warning("presence through Redis unavailable (%s); showing this process's sockets only",
                            what, exc_info=True)
            self._failing = True
            return default

    # Opening, closing and announcing only note what to write: they run in
    # the socket handlers, where a Redis round trip each (an awareness
    # update per keystroke) would hold the socket's reader.
    def opened(self, atelier_id, sid, credential_id, role):
        value = json.dumps({"credential": credential_id, "role": role, "ts": time.time()})
        with self._lock:
            self._people.append((atelier_id, f"{self.pid}:{sid}", value))

    def closed(self, atelier_id, sid):
        with self._lock:
            self._people.append((atelier_id, f"{self.pid}:{sid}", None))

    def announced(self, room, entries):
        now = time.time()
        with self._lock:
            states = self._states.setdefault(room, {})
            for e in entries:
                states[str(e.client_id)] = None if e.gone else json.dumps(
                    {"clock": e.clock, "state": e.state, "ts": now})

    def flush(self) -> None:
        """Write what was noted since the last flush, in one round trip.

        If Redis is away it is lost: renew() rewrites the sockets, and
        clients announce themselves again every 15 s.
        """
        with self._lock:
            people, self._people = self._people, []
            states, self._states = self._states, {}
        if not people and not states:
            return

        def write():
            pipe = self.redis.pipeline(transaction=False)
            for atelier_id, field, value in people:
                if value is None:
                    pipe.hdel(f"synthese:people:{atelier_id}", field)
                else:
                    pipe.hset(f"synthese:people:{atelier_id}", field, value)
            for room, by_client in states.items():
                live = {k: v for k, v in by_client.items() if v is not None}
                gone = [k for k, v in by_client.items() if v is None]
                if live:
                    pipe.hset(f"synthese:aw:{room}", mapping=live)
                if gone:
                    pipe.hdel(f"synthese:aw:{room}", *gone)
                pipe.expire(f"synthese:aw:{room}", int(STALE_AFTER * 2))
            pipe.execute()

        self._try("flush", write)

    def states(self, room):
        found = self._try("states", lambda: self.redis.hgetall(f"synthese:aw:{room}"), {})
        now = time.time()
        entries = []
        for client_id, raw in found.items():
            value = json.loads(raw)
            if now - value["ts"] < STALE_AFTER:
                entries.append(Entry(int(client_id), value["clock"], value["state"]))
        return entries

    def _sockets_of(self, what, atelier_ids):
        """(atelier, socket id, entry) of the live sockets of every process; None if Redis is away."""
        ids = list(atelier_ids)

        def read():
            pipe = self.redis.pipeline(transaction=False)
            for atelier_id in ids:
                pipe.hgetall(f"synthese:people:{atelier_id}")
            return pipe.execute()

        rooms = self._try(what, read)
        if rooms is None:
            return None
        now = time.time()
        found = []
        for atelier_id, entries in zip(ids, rooms):
            for key, raw in entries.items():
                value = json.loads(raw)
                if now - value["ts"] < STALE_AFTER:
                    found.append((atelier_id, key.decode().split(":", 1)[1], value))
        return found

    def people(self, atelier_ids):
        sockets = self._sockets_of("people", atelier_ids)
        if sockets is None:
            return None
        found = {}
        for atelier_id, _sid, value in sockets:
            found.setdefault(atelier_id, {})[value["credential"]] = value["role"]
        return found

    def sockets(self, atelier_ids, credential_id):
        return [(atelier_id, sid) for atelier_id, sid, value in self._sockets_of("sockets", atelier_ids) or []
                if value["credential"] == credential_id]

    def renew(self, connections):
        """Refresh this process's entries (their timestamps tell the living from the dead)."""
        now = time.time()
        by_room = {}
        for sid, conn in list(connections.items()):
            by_room.setdefault(conn.atelier_id, {})[f"{self.pid}:{sid}"] = json.dumps(
                {"credential": conn.credential_id, "role": conn.role, "ts": now})

        def write():
            pipe = self.redis.pipeline()
            for atelier_id, mapping in by_room.items():
                pipe.hset(f"synthese:people:{atelier_id}", mapping=mapping)
            pipe.execute()

        if by_room:
            self._try("renew", write)


def make(redis_url: str | None) -> Roster:
    return RedisRoster(redis_url) if redis_url else Roster()
