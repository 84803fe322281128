"""WebSocket frames and Socket.IO packets, built once per relay.

python-socketio encodes a broadcast once, but a Socket.IO event carrying
binary data (every Yjs update) still leaves as two Engine.IO packets, so for
each recipient two queue items, two WebSocket frames encoded and two
``sendall`` calls. At a forum's load that was the largest share of the
server's CPU (bench/forum.py). Here the frames of an event are built once
and queued to every recipient as one packet, which the WebSocket server
writes as it is (synthese.realtime.overrides).
"""
import functools
import struct
import time

from engineio import packet as eio_packet
from socketio import packet as sio_packet


class Frames(bytes):
    """WebSocket frames ready to be written to a connection as they are."""


def frame(payload: bytes | str) -> bytes:
    """One final, unmasked WebSocket frame (RFC 6455 5.2): text for str, binary for bytes."""
    if isinstance(payload, str):
        opcode, payload = 0x1, payload.encode("utf-8")
    else:
        opcode = 0x2
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return head + payload


def unmask(payload: bytes, mask: bytes) -> bytes:
    """XOR a client frame's payload with its 4-byte mask (RFC 6455 5.3), as one big-integer operation."""
    size = len(payload)
    if not size:
        return payload
    key = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(size, "little")


def encode_event(packet_class, event: str, data, namespace: str) -> list:
    """The Engine.IO message packets of a Socket.IO event, as python-socketio builds them."""
    if isinstance(data, tuple):
        args = list(data)
    elif data is None:
        args = []
    else:
        args = [data]
    encoded = packet_class(sio_packet.EVENT, namespace=namespace, data=[event] + args).encode()
    if not isinstance(encoded, list):
        encoded = [encoded]
    return [eio_packet.Packet(eio_packet.MESSAGE, part) for part in encoded]


def event_frames(packet_class, event: str, data, namespace: str) -> Frames:
    """The WebSocket frames of a Socket.IO event, as python-socketio and engine.io would send them.

    A Yjs update (bytes) is the event a room sends most, and its text head
    is the same for every relay to the room: built once, by _binary_head.
    A number (every "synthese:saved") follows its event's text head too
    (JSON writes an int as str() does). Anything else is encoded by
    python-socketio each time.
    """
    if data.__class__ is bytes:
        return Frames(_binary_head(packet_class, event, namespace) + frame(data))
    head = _text_head(packet_class, event, namespace) if data.__class__ is int else None
    if head is not None:
        return Frames(frame(f"{head}{data}]"))
    return Frames(b"".join(frame(p.encode()) for p in encode_event(packet_class, event, data, namespace)))


@functools.lru_cache(maxsize=4096)
def _text_head(packet_class, event: str, namespace: str) -> str | None:
    """'42<namespace>,["<event>",', the start of an event with one number, from
    python-socketio's encoding; None if its JSON does not end the number as
    the standard library does (a packet class with another json module)."""
    (packet,) = encode_event(packet_class, event, 0, namespace)
    text = packet.encode()
    return text[:-2] if text.endswith(",0]") else None


@functools.lru_cache(maxsize=4096)
def _binary_head(packet_class, event: str, namespace: str) -> bytes:
    """The frame of '451-<namespace>,["<event>",{"_placeholder":true,"num":0}]', from python-socketio's encoding."""
    head, _attachment = encode_event(packet_class, event, b"", namespace)
    return frame(head.encode())


def wait_done(tasks, timeout: float, sleep) -> bool:
    """Wait until every item put on a queue is marked done (task_done); False on timeout."""
    deadline = time.monotonic() + timeout
    while tasks.unfinished_tasks:
        if time.monotonic() > deadline:
            return False
        sleep(0.01)
    return True


def batches(messages: list[dict], host_id: str) -> list[dict]:
    """Pub/sub messages in order, each run of emits as one message."""
    out, run = [], []
    for message in messages + [None]:
        if message is not None and message.get("method") == "emit":
            run.append(message)
            continue
        if len(run) == 1:
            out.append(run[0])
        elif run:
            out.append({"method": "emit", "batch": run, "host_id": host_id})
        run = []
        if message is not None:
            out.append(message)
    return out


def channel_for(redis_url: str) -> str:
    """The pub/sub channel of the deployment using this Redis database.

    Redis's pub/sub ignores database numbers: two deployments on one Redis
    server (staging and production, on databases 1 and 2) sharing a fixed
    channel would relay each other's edits to the ateliers that happen to
    have the same ids.
    """
    from redis.connection import parse_url

    return f"synthese-{parse_url(redis_url).get('db', 0)}"

