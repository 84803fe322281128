"""Who is in which room, across server processes.

Each process knows its own sockets (realtime.Realtime, awareness.Presence).
With Redis configured, it also writes them to Redis, so that a newcomer
connected to one process sees at once the people connected to the others,
and the organiser's dashboard counts everyone whichever process answers.
Entries name the process that wrote them, and each living process keeps a
key of its own alive in Redis (a TTL it renews): a dead process's entries
are ignored once its key expires, whatever the processes' clocks say.
"""
import json
import logging
import os
import threading
import uuid

from .awareness import Entry

log = logging.getLogger(__name__)

#: A process's entries are ignored this long after it last said it was alive.
STALE_AFTER = 60.0
#: How often a process says it is alive (and rewrites its entries).
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

    def announced(self, room: str, entries: list[Entry], who=None) -> None:
        pass

    def states(self, room: str) -> list[Entry]:
        return []

    def elsewhere(self, room: str, client_id: int) -> tuple[object, int | None]:
        """Who (a credential) holds this client ID in a room from a living
        other process, if anyone, and the clock of the last removal sent for
        it (None if none is known)."""
        return None, None

    def people(self, atelier_ids) -> dict[int, dict[int, str]] | None:
        return None

    def renew(self, connections: dict) -> None:
        pass

    def flush(self) -> None:
        pass


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
        #: room -> client ID -> (clock, state as written; None once gone).
        self._states: dict[str, dict[str, tuple[int, str | None]]] = {}
        #: Whether this process's alive key was written (then renew() keeps it).
        self._alive_said = False

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
        value = json.dumps({"credential": credential_id, "role": role})
        with self._lock:
            self._people.append((atelier_id, f"{self.pid}:{sid}", value))

    def closed(self, atelier_id, sid):
        with self._lock:
            self._people.append((atelier_id, f"{self.pid}:{sid}", None))

    def announced(self, room, entries, who=None):
        with self._lock:
            states = self._states.setdefault(room, {})
            for e in entries:
                states[str(e.client_id)] = (e.clock, None) if e.gone else (e.clock, json.dumps(
                    {"clock": e.clock, "state": e.state, "pid": self.pid, "who": who}))

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
            if not self._alive_said:
                pipe.set(self._alive_key(self.pid), 1, ex=int(STALE_AFTER))
            for atelier_id, field, value in people:
                if value is None:
                    pipe.hdel(f"synthese:people:{atelier_id}", field)
                else:
                    pipe.hset(f"synthese:people:{atelier_id}", field, value)
            for room, by_client in states.items():
                live = {k: v for k, (_, v) in by_client.items() if v is not None}
                gone = {k: clock for k, (clock, v) in by_client.items() if v is None}
                if live:
                    pipe.hset(f"synthese:aw:{room}", mapping=live)
                if gone:
                    pipe.hdel(f"synthese:aw:{room}", *gone)
                    # The removal's clock, for whoever comes back on another process.
                    pipe.hset(f"synthese:gone:{room}", mapping=gone)
                    pipe.expire(f"synthese:gone:{room}", int(STALE_AFTER * 30))
                pipe.expire(f"synthese:aw:{room}", int(STALE_AFTER * 2))
            pipe.execute()

        if self._try("flush", write, False) is not False:
            self._alive_said = True

    @staticmethod
    def _alive_key(pid: str) -> str:
        return f"synthese:alive:{pid}"

    def _alive(self, pids) -> set[str]:
        """Which of these processes said they were alive within STALE_AFTER (Redis's TTL, not our clock)."""
        pids = sorted(set(pids))
        if not pids:
            return set()
        found = self.redis.mget([self._alive_key(p) for p in pids])
        return {pid for pid, value in zip(pids, found) if value is not None}

    def states(self, room):
        def read():
            found = self.redis.hgetall(f"synthese:aw:{room}")
            values = {int(client_id): json.loads(raw) for client_id, raw in found.items()}
            alive = self._alive(v.get("pid", "") for v in values.values())
            return [Entry(client_id, v["clock"], v["state"]) for client_id, v in values.items()
                    if v.get("pid") in alive]

        return self._try("states", read, [])

    def elsewhere(self, room, client_id):
        def read():
            pipe = self.redis.pipeline(transaction=False)
            pipe.hget(f"synthese:aw:{room}", str(client_id))
            pipe.hget(f"synthese:gone:{room}", str(client_id))
            held, removed = pipe.execute()
            value = json.loads(held) if held else {}
            pid = value.get("pid")
            holder = value.get("who") if pid and pid != self.pid and pid in self._alive([pid]) else None
            return holder, int(removed) if removed is not None else None

        return self._try("elsewhere", read, (None, None))

    def _sockets_of(self, what, atelier_ids):
        """(atelier, socket id, entry) of the live sockets of every process; None if Redis is away."""
        ids = list(atelier_ids)

        def read():
            pipe = self.redis.pipeline(transaction=False)
            for atelier_id in ids:
                pipe.hgetall(f"synthese:people:{atelier_id}")
            rooms = pipe.execute()
            entries = [(atelier_id, *key.decode().split(":", 1), json.loads(raw))
                       for atelier_id, found in zip(ids, rooms) for key, raw in found.items()]
            alive = self._alive(pid for _, pid, _, _ in entries)
            return [(atelier_id, sid, value) for atelier_id, pid, sid, value in entries if pid in alive]

        return self._try(what, read)

    def people(self, atelier_ids):
        sockets = self._sockets_of("people", atelier_ids)
        if sockets is None:
            return None
        found = {}
        for atelier_id, _sid, value in sockets:
            found.setdefault(atelier_id, {})[value["credential"]] = value["role"]
        return found

    def renew(self, connections):
        """Say this process is alive, and rewrite its entries (lost if Redis was away)."""
        by_room = {}
        for sid, conn in list(connections.items()):
            by_room.setdefault(conn.atelier_id, {})[f"{self.pid}:{sid}"] = json.dumps(
                {"credential": conn.credential_id, "role": conn.role})

        def write():
            pipe = self.redis.pipeline()
            pipe.set(self._alive_key(self.pid), 1, ex=int(STALE_AFTER))
            for atelier_id, mapping in by_room.items():
                pipe.hset(f"synthese:people:{atelier_id}", mapping=mapping)
            pipe.execute()

        self._try("renew", write)


def make(redis_url: str | None) -> Roster:
    return RedisRoster(redis_url) if redis_url else Roster()
