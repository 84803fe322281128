"""y-protocols awareness messages, and who is present in each room.

An awareness update is ``varuint count`` then, per client, ``varuint
clientID, varuint clock, varstring JSON state`` (``null`` when it leaves).
"""
import json
import re
import threading
from dataclasses import dataclass

from pycrdt import write_var_uint

from ..yjs import InvalidUpdate, Reader


class InvalidAwareness(ValueError):
    pass


@dataclass(frozen=True)
class Entry:
    client_id: int
    clock: int
    #: The state as JSON text (kept as sent, so it relays byte for byte).
    state: str

    @property
    def gone(self) -> bool:
        return self.state == "null"


def decode(data: object, max_bytes: int) -> list[Entry]:
    """Parse a whole awareness update, refusing anything malformed."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidAwareness("not binary")
    data = bytes(data)
    if len(data) > max_bytes:
        raise InvalidAwareness(f"larger than {max_bytes} bytes")
    reader = Reader(data)
    try:
        count = reader.varuint()
        if count > 64:
            raise InvalidAwareness("too many clients in one update")
        entries = []
        for _ in range(count):
            client_id, clock = reader.varuint(), reader.varuint()
            text = reader.string()
            try:
                state = json.loads(text)
            except ValueError:
                raise InvalidAwareness("state is not JSON") from None
            if state is not None:
                check_state(state)
            entries.append(Entry(client_id, clock, text))
    except InvalidUpdate as exc:  # the lib0 encoding itself
        raise InvalidAwareness(str(exc)) from None
    if reader.pos != len(data):
        raise InvalidAwareness("trailing bytes")
    return entries


#: What a sheet page announces (static/src/sheet.js and y-codemirror.next):
#: who, in which section, and where the cursor is.
STATE_KEYS = {"user", "section", "cursor"}
USER_KEYS = {"name", "color", "colorLight"}
#: As long as a credential's name may be (models.Credential.name).
MAX_NAME = 200
#: Colours are painted into other people's pages (y-codemirror.next puts
#: them in a style attribute): nothing but a colour may get there.
COLOUR = re.compile(r"#[0-9a-fA-F]{6}(?:[0-9a-fA-F]{2})?")


def check_state(state) -> None:
    """Refuse (InvalidAwareness) a presence state that is not what a sheet page sends."""
    if not isinstance(state, dict):
        raise InvalidAwareness("state is not an object")
    if not set(state) <= STATE_KEYS:
        raise InvalidAwareness("unknown presence fields")
    user = state.get("user")
    if user is not None:
        if not isinstance(user, dict) or not set(user) <= USER_KEYS:
            raise InvalidAwareness("user is not a name and colours")
        name = user.get("name", "")
        if not isinstance(name, str) or len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
            raise InvalidAwareness("name is not a short line of text")
        for key in ("color", "colorLight"):
            if key in user and not (isinstance(user[key], str) and COLOUR.fullmatch(user[key])):
                raise InvalidAwareness(f"{key} is not a #rrggbb colour")
    section = state.get("section")
    if section is not None and not (isinstance(section, str) and len(section) <= 40):
        raise InvalidAwareness("section is not a section name")
    cursor = state.get("cursor")
    if cursor is not None and not (isinstance(cursor, dict) and set(cursor) <= {"anchor", "head"}):
        raise InvalidAwareness("cursor is not an anchor and a head")


def encode(entries) -> bytes:
    out = bytearray(write_var_uint(len(entries)))
    for entry in entries:
        text = entry.state.encode("utf-8")
        out += write_var_uint(entry.client_id) + write_var_uint(entry.clock) + write_var_uint(len(text)) + text
    return bytes(out)


class Presence:
    """Awareness states of the clients connected to this process, per room.

    Each socket owns the client IDs it announced; when it closes, their
    removal is sent to everyone still in the room.

    Two behaviours of the stock clients shape this class:

    - when the server relays someone's removal, every other stock client
      sends that removal back (y-socket.io re-emits each awareness change,
      whoever made it): such an echo about a client ID a socket does not
      own is ignored, neither relayed nor taken as a claim;
    - a client that comes back after a blip announces itself with the clock
      it had, while everyone else holds its removal at that clock + 1 and
      would ignore it: its clocks are then shifted past its removal, for as
      long as its new socket lives.
    """

    #: A socket normally announces one client ID (its document's).
    MAX_CLIENTS_PER_SOCKET = 4
    #: Removals remembered per room, for people who come back.
    MAX_GONE = 2_000

    def __init__(self):
        #: room -> client ID -> (its latest entry, the socket holding it, who).
        self._rooms: dict[str, dict[int, tuple[Entry, str, object]]] = {}
        #: room -> client ID -> clock of the removal sent for it.
        self._gone: dict[str, dict[int, int]] = {}
        #: (room, client ID) -> what to add to that client's clocks.
        self._shift: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def apply(self, room: str, sid: str, entries: list[Entry], who=None) -> list[Entry]:
        """Record a socket's update; returns the entries to relay.

        ``who`` is the person behind the socket (its credential): a new
        socket of theirs takes over the client ID their old one held (the
        old may not be known dead yet, after a blip). Refuses
        (InvalidAwareness) an update announcing a client ID that someone
        else's socket holds, or too many client IDs for one socket.
        """
        who = sid if who is None else who
        with self._lock:
            states = self._rooms.setdefault(room, {})

            def echo(entry: Entry) -> bool:
                """A removal of a client ID this socket does not hold."""
                current = states.get(entry.client_id)
                return entry.gone and (current is None or current[1] != sid)

            mine = [e for e in entries if not echo(e)]
            owned = {cid for cid, (_, owner, _) in states.items() if owner == sid}
            # A new socket's first announcement of one client ID is its own
            # (the stock client announces its document's on connecting); its
            # later ones may be echoes of others' states, never taken over.
            takeover = not owned and len(mine) == 1
            for entry in mine:
                current = states.get(entry.client_id)
                if current is not None and current[1] != sid and not (takeover and current[2] == who):
                    raise InvalidAwareness("client ID belongs to another connection")
                owned.add(entry.client_id)
            if len(owned) > self.MAX_CLIENTS_PER_SOCKET:
                raise InvalidAwareness("too many client IDs for one connection")
            gone = self._gone.get(room, {})
            relay = []
            for entry in mine:
                key = (room, entry.client_id)
                current = states.get(entry.client_id)
                if current is None and entry.client_id in gone:
                    removed_at = gone.pop(entry.client_id)
                    if entry.clock + self._shift.get(key, 0) <= removed_at:
                        self._shift[key] = removed_at + 1 - entry.clock
                entry = Entry(entry.client_id, entry.clock + self._shift.get(key, 0), entry.state)
                if current is not None and entry.clock < current[0].clock:
                    continue  # stale
                relay.append(entry)
                states[entry.client_id] = (entry, sid, who)
            return relay

    def known(self, room: str, client_id: int) -> bool:
        """Whether this process holds, or remembers the removal of, a client ID in a room."""
        with self._lock:
            return client_id in self._rooms.get(room, {}) or client_id in self._gone.get(room, {})

    def gone_elsewhere(self, room: str, client_id: int, clock: int) -> None:
        """Another process sent this client ID's removal at ``clock``: shift it too when it comes back here."""
        with self._lock:
            if client_id not in self._rooms.get(room, {}):
                remembered = self._gone.setdefault(room, {})
                remembered[client_id] = max(clock, remembered.get(client_id, 0))

    def owner(self, room: str, client_id: int) -> str | None:
        """The socket that announced a client ID in a room, if any."""
        with self._lock:
            found = self._rooms.get(room, {}).get(client_id)
            return found[1] if found else None

    def snapshot(self, room: str) -> list[Entry]:
        """Everyone present in a room, for a newcomer."""
        with self._lock:
            return [e for e, _, _ in self._rooms.get(room, {}).values() if not e.gone]

    def leave(self, room: str, sid: str) -> list[Entry]:
        """Forget a closed socket; returns the removals to send to the room."""
        with self._lock:
            states = self._rooms.get(room, {})
            gone = [cid for cid, (_, owner, _) in states.items() if owner == sid]
            removals = []
            remembered = self._gone.setdefault(room, {})
            for cid in gone:
                entry = states.pop(cid)[0]
                self._shift.pop((room, cid), None)
                removal = Entry(cid, entry.clock + (0 if entry.gone else 1), "null")
                remembered[cid] = removal.clock
                if not entry.gone:
                    removals.append(removal)
            while len(remembered) > self.MAX_GONE:
                remembered.pop(next(iter(remembered)))
            if not states:
                self._rooms.pop(room, None)
            if not remembered:
                self._gone.pop(room, None)
            return removals
