"""Yjs v1 updates, read struct by struct, and what a sheet's document may hold.

pycrdt (yrs) and Yjs do not integrate every update the same way (see
shared NOTES.md, "Where pycrdt and Yjs differ"): an item whose parent is
another item can make pycrdt raise on the real document; a struct starting
past a client's known clock is integrated by pycrdt but kept pending for
ever by Yjs; origins in two different parents are resolved differently. So
the server does not ask pycrdt whether an update applies: it reads the
update itself and accepts only what both integrate completely and alike:

- items of text content (ContentString) or deleted content only, in one of
  the sheet's root texts (``SheetIndex.roots``), without a map key;
- each client's structs starting at or before the clock the sheet already
  has for that client (contiguous: nothing kept pending);
- origins that exist (in the sheet or earlier in the update) and, when
  both are given, lie in the same root text;
- deletions of ranges that exist;
- within the sheet's quota of structs.

``SheetIndex`` is what the server needs to decide that without touching the
document: per client, the clock it has reached and which root text each
range of clocks lives in. This module is pure: no Flask, no sockets.

Format: yjs/src/utils/updates.js (readUpdate), UpdateDecoderV1 and the
content readers of yjs/src/structs/*.js, Yjs 13.6.
"""
from bisect import bisect_right
from dataclasses import dataclass, field

from pycrdt import write_var_uint


class InvalidUpdate(ValueError):
    """An update the server refuses; the message says why (for logs and the sender)."""


class Missing(InvalidUpdate):
    """An update building on clocks the sheet does not have: forged, or sent
    before what it follows reached this process (the server asks again)."""


class Foreign(InvalidUpdate):
    """An update adding to a client ID someone else owns: forged, or a copy
    of a relay whose commit was lost, which only its writer may send back."""


#: JavaScript numbers are exact up to 2^53; yrs keeps clocks in 32 bits.
MAX_CLIENT = 2**53 - 1
MAX_CLOCK = 2**31

_GC, _SKIP = 0, 10
_CONTENT_DELETED, _CONTENT_STRING = 1, 4
_BIT6, _BIT7, _BIT8 = 0x20, 0x40, 0x80


class Reader:
    """lib0's decoding of what Yjs and y-protocols write, bounded: InvalidUpdate on anything malformed."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def uint8(self) -> int:
        if self.pos >= len(self.data):
            raise InvalidUpdate("truncated")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def varuint(self) -> int:
        data, pos = self.data, self.pos
        value = shift = 0
        while True:
            if pos >= len(data):
                raise InvalidUpdate("truncated")
            b = data[pos]
            pos += 1
            value |= (b & 0x7F) << shift
            if b < 0x80:
                self.pos = pos
                # lib0 itself refuses more than 53 bits.
                if value > MAX_CLIENT:
                    raise InvalidUpdate("integer out of range")
                return value
            shift += 7
            if shift > 56:
                raise InvalidUpdate("integer out of range")

    def string(self) -> str:
        n = self.varuint()
        end = self.pos + n
        if end > len(self.data):
            raise InvalidUpdate("truncated")
        try:
            # Yjs would replace invalid UTF-8; refusing it keeps both sides alike.
            s = self.data[self.pos:end].decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidUpdate("text is not UTF-8") from None
        self.pos = end
        return s

    def id(self) -> tuple[int, int]:
        return self.varuint(), self.varuint()


@dataclass
class Struct:
    """One struct of an update: a GC range or an item of a root text."""

    client: int
    clock: int
    length: int
    gc: bool = False
    origin: tuple[int, int] | None = None
    right: tuple[int, int] | None = None
    #: Root text named in the update (only when it has neither origin).
    root: str | None = None
    #: UTF-8 bytes of its text, for the sheet's quota.
    size: int = 0
    #: Offsets (in clocks) of the first halves of its surrogate pairs.
    astral: tuple[int, ...] = ()


@dataclass
class Update:
    #: Per client, its structs in clock order.
    clients: dict[int, list[Struct]]
    #: (client, clock, length) ranges deleted.
    deletes: list[tuple[int, int, int]]


def decode_state_vector(data: bytes, max_clients: int = 100_000) -> dict[int, int]:
    """A Yjs state vector: client ID -> clock; InvalidUpdate if malformed."""
    r = Reader(bytes(data))
    count = r.varuint()
    if count > min(max_clients, len(data)):
        raise InvalidUpdate("state vector too long")
    vector = {r.varuint(): r.varuint() for _ in range(count)}
    if r.pos != len(data):
        raise InvalidUpdate("trailing bytes")
    return vector


def utf16_length(text: str) -> int:
    """Yjs measures a string item in UTF-16 code units (its clock length)."""
    return len(text.encode("utf-16-le")) // 2


def astral_offsets(text: str) -> tuple[int, ...]:
    """UTF-16 offsets of the characters that take two code units (emoji...)."""
    offsets, at = [], 0
    for ch in text:
        if ord(ch) > 0xFFFF:
            offsets.append(at)
            at += 2
        else:
            at += 1
    return tuple(offsets)


#: Structs in one update, at most: pycrdt integrates a chain of one-character
#: items in quadratic time (60,000 took 4.9 s, 2,000 take 2.6 ms), and the
#: check itself costs about 12 µs a struct. An honest update is one
#: transaction (a few structs) or an offline session's diff.
MAX_UPDATE_STRUCTS = 5_000


def decode(data: bytes, strict: bool = True) -> Update:
    """Read a v1 update; InvalidUpdate if it holds anything but text items, GC and deletions.

    Not strict (reading back what is stored): other items are read as
    foreign structs, kept as ranges of clocks in no text.
    """
    r = Reader(data)
    clients: dict[int, list[Struct]] = {}
    total = 0
    for _ in range(r.varuint()):
        count = r.varuint()
        client = r.varuint()
        clock = r.varuint()
        if client in clients:
            # Yjs keeps only the last group of a client, yrs merges them.
            raise InvalidUpdate("two groups of structs for one client")
        if count > len(data):
            raise InvalidUpdate("truncated")
        total += count
        if strict and total > MAX_UPDATE_STRUCTS:
            raise InvalidUpdate(f"more than {MAX_UPDATE_STRUCTS} structs in one update")
        structs = clients[client] = []
        for _ in range(count):
            struct = _read_struct(r, client, clock, strict)
            if struct.length <= 0:
                raise InvalidUpdate("empty struct")
            clock += struct.length
            if clock > MAX_CLOCK:
                raise InvalidUpdate("clock out of range")
            structs.append(struct)
    deletes = []
    for _ in range(r.varuint()):
        client = r.varuint()
        for _ in range(r.varuint()):
            clock, length = r.varuint(), r.varuint()
            if clock + length > MAX_CLOCK:
                raise InvalidUpdate("deletion out of range")
            deletes.append((client, clock, length))
    if r.pos != len(data):
        raise InvalidUpdate("trailing bytes")
    return Update(clients, deletes)


def _read_struct(r: Reader, client: int, clock: int, strict: bool) -> Struct:
    info = r.uint8()
    kind = info & 0x1F
    if kind == _GC:
        return Struct(client, clock, r.varuint(), gc=True)
    if kind == _SKIP:
        # Only merged updates hold skips; a client's never does.
        raise InvalidUpdate("skip struct")
    origin = r.id() if info & _BIT8 else None
    right = r.id() if info & _BIT7 else None
    root = None
    foreign = False
    if not info & (_BIT7 | _BIT8):
        if r.varuint() == 1:
            root = r.string()
        elif strict:
            raise InvalidUpdate("item whose parent is an item, not a root text")
        else:
            r.id()
            foreign = True
        if info & _BIT6:
            if strict:
                raise InvalidUpdate("item with a map key")
            r.string()
            foreign = True
    astral = ()
    if kind == _CONTENT_STRING:
        text = r.string()
        length, size = utf16_length(text), len(text.encode())
        if length != len(text):
            astral = astral_offsets(text)
    elif kind == _CONTENT_DELETED:
        length, size = r.varuint(), 0
    elif strict:
        raise InvalidUpdate(f"content of type {kind}, not text")
    else:
        length, size, foreign = _skip_content(r, kind), 0, True
    # A foreign item counts as a range of clocks in no text, like GC.
    return Struct(client, clock, length, gc=foreign, origin=origin, right=right, root=root, size=size,
                  astral=astral)


def _skip_content(r: Reader, kind: int) -> int:
    """Read past content that a sheet never holds; returns its length in clocks."""
    if kind == 2:  # ContentJSON
        n = r.varuint()
        for _ in range(n):
            r.string()
        return n
    if kind == 3:  # ContentBinary
        n = r.varuint()
        r.pos += n
        if r.pos > len(r.data):
            raise InvalidUpdate("truncated")
        return 1
    if kind == 5:  # ContentEmbed
        r.string()
        return 1
    if kind == 6:  # ContentFormat
        r.string()
        r.string()
        return 1
    if kind == 7:  # ContentType: XmlElement and XmlHook carry a name
        if r.varuint() in (3, 5):
            r.string()
        return 1
    if kind == 8:  # ContentAny
        n = r.varuint()
        for _ in range(n):
            _skip_any(r, 0)
        return n
    if kind == 9:  # ContentDoc
        r.string()
        _skip_any(r, 0)
        return 1
    raise InvalidUpdate(f"unknown content type {kind}")


def _skip_any(r: Reader, depth: int) -> None:
    """lib0's readAny, values discarded."""
    if depth > 64:
        raise InvalidUpdate("nested too deep")
    tag = r.uint8()
    if tag in (127, 126, 121, 120):
        return
    if tag == 125:  # signed varint
        while r.uint8() & 0x80:
            pass
    elif tag in (124, 123, 122):
        r.pos += {124: 4, 123: 8, 122: 8}[tag]
        if r.pos > len(r.data):
            raise InvalidUpdate("truncated")
    elif tag == 119:
        r.string()
    elif tag == 118:
        for _ in range(r.varuint()):
            r.string()
            _skip_any(r, depth + 1)
    elif tag == 117:
        for _ in range(r.varuint()):
            _skip_any(r, depth + 1)
    elif tag == 116:
        r.pos += r.varuint()
        if r.pos > len(r.data):
            raise InvalidUpdate("truncated")
    else:
        raise InvalidUpdate("unknown value type")


@dataclass
class _Ranges:
    """One client's clocks: starts of runs and the root text of each (None: GC
    or foreign), and where its two-unit characters begin."""

    starts: list[int] = field(default_factory=list)
    roots: list[str | None] = field(default_factory=list)
    end: int = 0
    astral: set[int] = field(default_factory=set)

    def add(self, clock: int, length: int, root: str | None, astral=()) -> None:
        if not self.roots or self.roots[-1] != root:
            self.starts.append(clock)
            self.roots.append(root)
        self.end = clock + length
        self.astral.update(astral)

    def root_at(self, clock: int) -> str | None:
        return self.roots[bisect_right(self.starts, clock) - 1]


@dataclass
class Plan:
    """What an update adds to a sheet, once checked."""

    #: (client, first clock, length, root text or None, UTF-8 bytes of text,
    #: clocks of two-unit characters, 1 if it starts a new item, else 0)
    added: list[tuple]
    #: Client IDs this update writes under for the first time, and who claims them.
    claims: list[int] = field(default_factory=list)
    owner: object = None


class SheetIndex:
    """Which root text each client's clocks live in, for one sheet's document.

    ``check`` decides whether an update may be accepted, without changing
    anything; ``add`` records a checked update. Integrating the same update
    twice is a no-op, as in Yjs (known clocks are skipped).
    """

    def __init__(self, roots, max_structs: int = 50_000, max_size: int = 4 * 1024 * 1024):
        """``max_structs``: items (not continuing the one before) the sheet may hold."""
        self.roots = frozenset(roots)
        self.max_structs = max_structs
        self.max_size = max_size
        self.clients: dict[int, _Ranges] = {}
        #: Who writes under each client ID (a credential): nobody else may add to it.
        self.owners: dict[int, object] = {}
        self.structs = 0
        self.size = 0

    def clock(self, client: int) -> int:
        ranges = self.clients.get(client)
        return ranges.end if ranges else 0

    def state_vector(self) -> bytes:
        """The Yjs state vector of everything indexed: what to ask a client for the rest of."""
        out = bytearray(write_var_uint(len(self.clients)))
        for client, ranges in self.clients.items():
            out += write_var_uint(client) + write_var_uint(ranges.end)
        return bytes(out)

    def check(self, data: bytes, strict: bool = True, owner=None, vouched: dict[int, int] | None = None) -> Plan:
        """The plan of an update sent by ``owner``, or InvalidUpdate saying why it is refused.

        A client ID belongs to whoever first wrote under it: structs someone
        else sends for it must be known already (a relay sent back). Without
        that, anyone could take the next clocks of another person's client,
        so that their real text is skipped as known. ``vouched``: clocks
        that owners, connected now, say their client IDs reached (after a
        crash lost relays, two people's last edits may build on each other:
        one of them must send both); someone else's structs up to there are
        taken.

        Not strict (a stored row, read back): structs that cannot be placed
        are left out of the index instead of refusing the update.
        """
        update = decode(data, strict)
        reached: dict[int, int] = {}
        # Ranges this update adds, per client, until they join the index.
        mine: dict[int, _Ranges] = {}
        queues = {}
        for client, structs in update.clients.items():
            known = self.clock(client)
            if strict and any(s.root is not None and s.root not in self.roots for s in structs):
                # Yjs creates a root type for every name it reads, even in a struct it skips.
                raise InvalidUpdate("item outside the sheet's texts")
            if structs and structs[0].clock > known:
                if strict:
                    raise Missing(f"client {client} starts at {structs[0].clock}, past {known}")
                continue
            queues[client] = list(structs)
            reached[client] = known

        def end(client: int) -> int:
            return reached.get(client, self.clock(client))

        def ranges_of(id_: tuple[int, int]) -> _Ranges | None:
            client, clock = id_
            ranges = mine.get(client)
            if ranges and ranges.starts and clock >= ranges.starts[0]:
                return ranges
            ranges = self.clients.get(client)
            return ranges if ranges and clock < ranges.end else None

        def root_of(id_: tuple[int, int]) -> str | None:
            ranges = ranges_of(id_)
            return ranges.root_at(id_[1]) if ranges else None

        def splits_pair(client: int, clock: int) -> bool:
            """Whether cutting between ``clock - 1`` and ``clock`` cuts a character in two.

            Yjs then replaces both halves with U+FFFD, yrs does not.
            """
            ranges = ranges_of((client, clock - 1))
            return ranges is not None and clock - 1 in ranges.astral

        def refuse(reason: str, queue: list, kind=InvalidUpdate) -> None:
            if strict:
                raise kind(reason)
            queue.clear()

        added = []
        # Yjs integrates a struct once the items its origins name exist (it
        # checks that even for a struct it already has); whatever is still
        # waiting when no struct can go on would stay pending there for ever.
        progress = True
        while progress and any(queues.values()):
            progress = False
            for client, queue in queues.items():
                while queue:
                    s = queue[0]
                    deps = [d for d in (s.origin, s.right) if d is not None]
                    if any(d[0] == client and d[1] >= s.clock for d in deps):
                        refuse("origin after its own item", queue)
                        break
                    waiting = [d for d in deps if d[1] >= end(d[0])]
                    if waiting:
                        if any(d[0] not in queues for d in waiting):
                            refuse(f"origin {waiting[0]} does not exist", queue, Missing)
                        break
                    # Yjs cuts the items the origins name even for a struct it already has.
                    if ((s.origin and splits_pair(s.origin[0], s.origin[1] + 1))
                            or (s.right and splits_pair(*s.right))):
                        refuse("insertion inside a character", queue)
                        break
                    offset = end(client) - s.clock
                    if offset >= s.length:
                        queue.pop(0)  # already known
                        progress = True
                        continue
                    if offset > 0 and strict:
                        # A client's diff starts where the state it was asked about
                        # ends; a struct straddling what the server already has comes
                        # from a race (the server pulls again) or from someone shaping
                        # a known item anew, which Yjs and yrs integrate differently.
                        raise Missing("struct overlapping known clocks")
                    if s.gc:
                        root = None
                    else:
                        # Yjs takes the parent from the origins as sent; known in
                        # part, it places the rest after its own previous clock.
                        parents = {root_of(d) for d in (s.origin, s.right) if d is not None} or {s.root}
                        if offset > 0:
                            parents.add(root_of((client, s.clock + offset - 1)))
                        root = parents.pop() if len(parents) == 1 else None
                        if root not in self.roots:
                            refuse("item outside the sheet's texts, or between two texts", queue)
                            break
                        if offset - 1 in s.astral:
                            refuse("insertion inside a character", queue)
                            break
                    start, length = s.clock + offset, s.length - offset
                    astral = [s.clock + a for a in s.astral if a >= offset]
                    mine.setdefault(client, _Ranges()).add(start, length, root, astral)
                    # Typing on (the origin is the client's previous character)
                    # extends the item before: it costs the document nothing new.
                    new = 0 if s.origin == (client, start - 1) and not s.gc else 1
                    added.append((client, start, length, root, s.size, astral, new))
                    reached[client] = start + length
                    queue.pop(0)
                    progress = True
        claims = []
        for client in sorted({a[0] for a in added}):
            holder = self.owners.get(client)
            if holder is None:
                claims.append(client)
            elif holder != owner and strict and not (vouched and reached[client] <= vouched.get(client, -1)):
                raise Foreign(f"client {client} belongs to someone else")
        if strict:
            if any(queues.values()):
                raise Missing("structs waiting on each other")
            for client, clock, length in update.deletes:
                if clock + length > end(client):
                    raise Missing(f"deletion of unknown clocks of client {client}")
                if length and (splits_pair(client, clock) or splits_pair(client, clock + length)):
                    raise InvalidUpdate("deletion of half a character")
            if added and (self.structs + sum(a[6] for a in added) > self.max_structs
                          or self.size + sum(a[4] for a in added) > self.max_size):
                raise InvalidUpdate("the sheet is full")
        return Plan(added, claims, owner)

    def add(self, plan: Plan) -> None:
        for client, start, length, root, size, astral, new in plan.added:
            ranges = self.clients.setdefault(client, _Ranges())
            # A plan checked earlier may overlap one added meanwhile; the index only grows.
            skip = max(ranges.end - start, 0)
            if skip < length:
                ranges.add(start + skip, length - skip, root, [a for a in astral if a >= start + skip])
                self.structs += new
                self.size += size
        if plan.owner is not None:
            for client in plan.claims:
                if self.owners.get(client) is None:
                    self.owners[client] = plan.owner

    def own(self, owners) -> None:
        """Record who owns which client IDs: (client ID, owner) pairs, as stored."""
        for client, owner in owners:
            if owner is not None:
                self.owners[client] = owner

    def accept(self, data: bytes, owner=None) -> Plan:
        """Check an update strictly and record it; InvalidUpdate if refused."""
        plan = self.check(data, owner=owner)
        self.add(plan)
        return plan

    def integrate(self, data: bytes, owner=None) -> None:
        """Record what a stored update (or a snapshot) holds, as far as it can be placed."""
        try:
            self.add(self.check(data, strict=False, owner=owner))
        except InvalidUpdate:
            pass
