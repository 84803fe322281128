"""y-protocols awareness messages, and who is present in each room.

An awareness update is ``varuint count`` then, per client, ``varuint
clientID, varuint clock, varstring JSON state`` (``null`` when it leaves).
"""
import json
import threading
from dataclasses import dataclass


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


def read_varuint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(data):
            raise InvalidAwareness("truncated")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 53:
            raise InvalidAwareness("integer too large")


def _varuint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def decode(data: object, max_bytes: int) -> list[Entry]:
    """Parse a whole awareness update, refusing anything malformed."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidAwareness("not binary")
    data = bytes(data)
    if len(data) > max_bytes:
        raise InvalidAwareness(f"larger than {max_bytes} bytes")
    count, pos = read_varuint(data, 0)
    if count > 64:
        raise InvalidAwareness("too many clients in one update")
    entries = []
    for _ in range(count):
        client_id, pos = read_varuint(data, pos)
        clock, pos = read_varuint(data, pos)
        length, pos = read_varuint(data, pos)
        if pos + length > len(data):
            raise InvalidAwareness("truncated")
        try:
            text = data[pos : pos + length].decode("utf-8")
            state = json.loads(text)
        except (UnicodeDecodeError, ValueError):
            raise InvalidAwareness("state is not JSON") from None
        if state is not None and not isinstance(state, dict):
            raise InvalidAwareness("state is not an object")
        pos += length
        entries.append(Entry(client_id, clock, text))
    if pos != len(data):
        raise InvalidAwareness("trailing bytes")
    return entries


def encode(entries) -> bytes:
    out = bytearray(_varuint(len(entries)))
    for entry in entries:
        text = entry.state.encode("utf-8")
        out += _varuint(entry.client_id) + _varuint(entry.clock) + _varuint(len(text)) + text
    return bytes(out)


class Presence:
    """Awareness states of the clients connected to this process, per room.

    Each socket owns the client IDs it announced; when it closes, their
    removal is sent to everyone still in the room.
    """

    #: A socket normally announces one client ID (its document's).
    MAX_CLIENTS_PER_SOCKET = 4

    def __init__(self):
        self._rooms: dict[str, dict[int, tuple[Entry, str]]] = {}
        self._lock = threading.Lock()

    def apply(self, room: str, sid: str, entries: list[Entry]) -> list[Entry]:
        """Record a socket's update; returns the entries to relay.

        Refuses (InvalidAwareness) an update about a client ID that another
        socket owns, or too many client IDs for one socket.
        """
        with self._lock:
            states = self._rooms.setdefault(room, {})
            owned = {cid for cid, (_, owner) in states.items() if owner == sid}
            for entry in entries:
                current = states.get(entry.client_id)
                if current is not None and current[1] != sid:
                    raise InvalidAwareness("client ID belongs to another connection")
                owned.add(entry.client_id)
            if len(owned) > self.MAX_CLIENTS_PER_SOCKET:
                raise InvalidAwareness("too many client IDs for one connection")
            relay = []
            for entry in entries:
                current = states.get(entry.client_id)
                if current is not None and entry.clock < current[0].clock:
                    continue  # stale
                relay.append(entry)
                # A client that left keeps its clock, so a late stale update stays ignored.
                states[entry.client_id] = (entry, sid)
            return relay

    def snapshot(self, room: str) -> list[Entry]:
        """Everyone present in a room, for a newcomer."""
        with self._lock:
            return [e for e, _ in self._rooms.get(room, {}).values() if not e.gone]

    def leave(self, room: str, sid: str) -> list[Entry]:
        """Forget a closed socket; returns the removals to send to the room."""
        with self._lock:
            states = self._rooms.get(room, {})
            gone = [cid for cid, (_, owner) in states.items() if owner == sid]
            removals = []
            for cid in gone:
                entry = states.pop(cid)[0]
                if not entry.gone:
                    removals.append(Entry(cid, entry.clock + 1, "null"))
            if not states:
                self._rooms.pop(room, None)
            return removals
