"""Hand-made Yjs v1 updates, for attacks: any struct a hostile client could send.

The encoder of what synthese.yjs reads (yjs/src/utils/UpdateEncoder.js, v1).
"""
import json
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEER = Path(__file__).resolve().parent / "yjs_peer.mjs"


def varuint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    out.append(n)
    return bytes(out)


def varstring(s: str | bytes) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return varuint(len(b)) + b


def id_(client: int, clock: int) -> bytes:
    return varuint(client) + varuint(clock)


@dataclass
class Item:
    """One item: ``parent`` is a root name (str) or an item ID (tuple)."""

    text: str | bytes | None = None
    origin: tuple[int, int] | None = None
    right: tuple[int, int] | None = None
    parent: str | tuple[int, int] | None = None
    key: str | None = None
    #: Raw content: (content type, bytes), instead of text.
    content: tuple[int, bytes] | None = None

    def encode(self) -> bytes:
        kind, body = self.content if self.content else (4, varstring(self.text))
        info = kind
        out = bytearray()
        if self.origin:
            info |= 0x80
        if self.right:
            info |= 0x40
        if self.key is not None and not (self.origin or self.right):
            info |= 0x20
        out.append(info)
        if self.origin:
            out += id_(*self.origin)
        if self.right:
            out += id_(*self.right)
        if not (self.origin or self.right):
            if isinstance(self.parent, tuple):
                out += varuint(0) + id_(*self.parent)
            else:
                out += varuint(1) + varstring(self.parent or "synthese")
            if self.key is not None:
                out += varstring(self.key)
        return bytes(out) + body


def update(groups: dict[int, tuple[int, list]], deletes: dict[int, list[tuple[int, int]]] | None = None) -> bytes:
    """``groups``: client -> (first clock, [Item | raw struct bytes]); ``deletes``: client -> [(clock, len)]."""
    out = bytearray(varuint(len(groups)))
    for client, (clock, structs) in groups.items():
        out += varuint(len(structs)) + varuint(client) + varuint(clock)
        for s in structs:
            out += s.encode() if isinstance(s, Item) else s
    deletes = deletes or {}
    out += varuint(len(deletes))
    for client, ranges in deletes.items():
        out += varuint(client) + varuint(len(ranges))
        for clock, length in ranges:
            out += varuint(clock) + varuint(length)
    return bytes(out)


def gc(length: int) -> bytes:
    return b"\x00" + varuint(length)


def skip(length: int) -> bytes:
    return b"\x0a" + varuint(length)


class YjsPeer:
    """A Yjs document in a Node process (tests/yjs_peer.mjs)."""

    def __init__(self):
        self.proc = subprocess.Popen(["node", str(PEER)], cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def call(self, **msg):
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline())
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply

    def apply(self, data: bytes) -> dict:
        return self.call(op="apply", update=data.hex())

    def fresh(self, data: bytes) -> dict:
        return self.call(op="fresh", update=data.hex())

    def reset(self) -> dict:
        return self.call(op="reset")

    def writers(self, seed: int, clients: int, steps: int) -> list[bytes]:
        return [bytes.fromhex(u) for u in self.call(op="writers", seed=seed, clients=clients, steps=steps)["updates"]]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


SECTION_NAMES = ["question", "synthese", "porteur", "participants", "discussion"]


def random_crafted(rng: random.Random, known: dict[int, int]) -> bytes:
    """A hostile-looking update: plausible clients, clocks and origins, odd combinations."""
    clients = list(known) + [rng.randrange(1, 2**32)]
    groups = {}
    for _ in range(rng.randint(1, 2)):
        client = rng.choice(clients)
        end = known.get(client, 0)
        clock = rng.choice([end, end, max(0, end - 1), end + 1, 0, 2**32 - 1, rng.randrange(0, end + 3)])
        items = []
        for _ in range(rng.randint(1, 3)):
            def some_id():
                c = rng.choice(clients)
                return (c, rng.randrange(0, known.get(c, 0) + 3))
            shape = rng.random()
            text = rng.choice(["!", "http://phish.example", "é", "😀", "x" * rng.randint(1, 5)])
            if shape < 0.3:
                items.append(Item(text, origin=some_id()))
            elif shape < 0.45:
                items.append(Item(text, right=some_id()))
            elif shape < 0.6:
                items.append(Item(text, origin=some_id(), right=some_id()))
            elif shape < 0.7:
                items.append(Item(text, parent=rng.choice(SECTION_NAMES + ["autre", ""])))
            elif shape < 0.75:
                items.append(Item(text, parent=some_id()))
            elif shape < 0.8:
                items.append(Item(text, parent=rng.choice(SECTION_NAMES), key="k"))
            elif shape < 0.85:
                items.append(Item(content=(1, varuint(rng.randint(1, 3))), origin=some_id()))
            elif shape < 0.9:
                items.append(Item(content=(6, varstring("bold") + varstring("true")), origin=some_id()))
            elif shape < 0.95:
                items.append(gc(rng.randint(1, 3)))
            else:
                items.append(Item(content=(7, varuint(2)), parent=rng.choice(SECTION_NAMES)))
        groups[client] = (clock, items)
    deletes = {}
    if rng.random() < 0.4:
        c = rng.choice(clients)
        deletes[c] = [(rng.randrange(0, known.get(c, 0) + 3), rng.randint(1, 4))]
    return update(groups, deletes)


def mutate(rng: random.Random, data: bytes) -> bytes:
    """An honest update with one byte changed, removed or added, or cut short."""
    b = bytearray(data)
    r = rng.random()
    i = rng.randrange(len(b))
    if r < 0.5:
        b[i] = rng.randrange(256)
    elif r < 0.7:
        del b[i]
    elif r < 0.9:
        b.insert(i, rng.randrange(256))
    else:
        del b[i:]
    return bytes(b)


def run_differential(seed: int, rounds: int, peer: YjsPeer | None = None) -> dict:
    """Feed honest, mutated and crafted updates to the server's check, then to
    pycrdt and to Yjs; everything accepted must give the same text in both.

    Returns counts; raises AssertionError at the first difference.
    """
    from pycrdt import Doc, Text

    from synthese.sheets import SECTION_KEYS
    from synthese.yjs import InvalidUpdate, SheetIndex

    rng = random.Random(seed)
    own = peer is None
    peer = peer or YjsPeer()
    counts = {"honest": 0, "accepted": 0, "refused": 0, "honest_refused": 0, "reordered": 0}
    try:
        for r in range(rounds):
            peer.reset()
            doc = Doc()
            index = SheetIndex(SECTION_KEYS)
            log = []
            honest = peer.writers(seed * 1000 + r, clients=rng.randint(1, 4), steps=rng.randint(5, 60))
            for data in honest:
                candidates = [("honest", data)]
                for _ in range(rng.randint(0, 3)):
                    known = {c: index.clock(c) for c in index.clients}
                    candidates.append(("mutated", mutate(rng, data)) if rng.random() < 0.5
                                      else ("crafted", random_crafted(rng, known)))
                rng.shuffle(candidates)
                for kind, candidate in candidates:
                    try:
                        # The writers are one person's tabs; the attacker is someone else.
                        index.accept(candidate, owner="writer" if kind == "honest" else "attacker")
                    except InvalidUpdate:
                        counts["refused"] += 1
                        if kind == "honest":
                            # Honest updates come in order: one refused here
                            # (e.g. after a mutated twin took its clocks) is
                            # only acceptable if both sides already agree.
                            counts["honest_refused"] += 1
                        continue
                    counts["accepted"] += 1
                    log.append((kind, candidate.hex()))
                    counts["honest"] += kind == "honest"
                    doc.apply_update(candidate)
                    seen = peer.apply(candidate)
                    server = {key: str(doc.get(key, type=Text)) for key in SECTION_KEYS}
                    assert not seen["pending"], f"Yjs keeps pending what the server accepted: {candidate.hex()}"
                    assert not seen["others"], f"Yjs holds other root types: {seen['others']}"
                    assert seen["texts"] == server, f"texts differ: {seen['texts']} vs {server}, accepted: {log}"
            attacker = [c for c, who in index.owners.items() if who == "attacker"]
            fresh = peer.fresh(doc.get_update())
            server = {key: str(doc.get(key, type=Text)) for key in SECTION_KEYS}
            assert not fresh["pending"] and not fresh["others"], "a fresh client keeps structs pending"
            if fresh["texts"] != server:
                # Origins that were never neighbours (which no editor sends)
                # let a client integrating in another order place that
                # writer's characters, and what was typed right after them,
                # elsewhere (docs/threat-model.md): the same characters, none
                # hidden, and only once the attacker wrote.
                assert attacker and ({k: sorted(v) for k, v in fresh["texts"].items()}
                                     == {k: sorted(v) for k, v in server.items()}), \
                    f"a fresh client reads another sheet: {fresh} vs {server}, accepted: {log}"
                counts["reordered"] += 1
    finally:
        if own:
            peer.close()
    return counts
