"""Relays encoded once per room, written with one system call per recipient.

python-socketio encodes a broadcast once, but a Socket.IO event carrying
binary data (every Yjs update) still leaves as two Engine.IO packets, so for
each recipient two queue items, two WebSocket frames encoded and two
``sendall`` calls. At a forum's load that was the largest share of the
server's CPU (bench/forum.py). Here the frames of an event are built once
and queued to every recipient as one packet that synthese.wsserver writes
as it is.

Only a process whose WebSockets are served by synthese.wsserver may send
frames (``send_frames``); elsewhere, the manager behaves as python-socketio's.
"""
import logging
import queue
import struct
import time

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

log = logging.getLogger(__name__)


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


def encode_event(server, event: str, data, namespace: str) -> list:
    """The Engine.IO message packets of a Socket.IO event, as python-socketio builds them."""
    if isinstance(data, tuple):
        args = list(data)
    elif data is None:
        args = []
    else:
        args = [data]
    encoded = server.packet_class(sio_packet.EVENT, namespace=namespace, data=[event] + args).encode()
    if not isinstance(encoded, list):
        encoded = [encoded]
    return [eio_packet.Packet(eio_packet.MESSAGE, part) for part in encoded]


class FramesMixin(socketio.Manager):
    """A client manager whose broadcasts without callback are sent as pre-built frames.

    It sits below the pub/sub layer (see manager_class): with Redis, what a
    process receives from the channel goes out through here.
    """

    #: Set once the process's WebSockets are synthese.wsserver's.
    send_frames = False
    #: synthese.wsserver.write_now there: writes frames to an idle socket at
    #: once; returns False when they must be queued instead.
    write_now = None

    def flush(self, timeout: float) -> bool:
        """Wait until what was emitted has left for the other processes (none here)."""
        return True

    def emit(self, event, data, namespace, room=None, skip_sid=None, callback=None, to=None, **kwargs):
        if callback is not None or not self.send_frames:
            return super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                                callback=callback, to=to, **kwargs)
        room = to or room
        if namespace not in self.rooms:
            return
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        recipients = [eio_sid for sid, eio_sid in self.get_participants(namespace, room) if sid not in skip]
        if not recipients:
            return
        # Engine.IO message packets are framed with their type ("4") for text;
        # binary ones go as they are.
        parts = [p.encode() for p in encode_event(self.server, event, data, namespace)]
        blob = Frames(b"".join(frame(part) for part in parts))
        pkt = eio_packet.Packet(eio_packet.MESSAGE, blob)  # encode() gives blob back, as binary
        eio = self.server.eio
        for eio_sid in recipients:
            eio_socket = eio.sockets.get(eio_sid)
            if eio_socket is None or self.write_now is None or not self.write_now(eio_socket, blob):
                eio.send_packet(eio_sid, pkt)


class FramesManager(FramesMixin):
    """One process: broadcasts go straight to this process's sockets."""


class FramesRedisManager(socketio.RedisManager, FramesMixin):
    """Several processes: broadcasts go through Redis, then out of each process as frames.

    The method order puts FramesMixin between the pub/sub layer and the
    local delivery of python-socketio's Manager.

    This process's own sockets are served at once; the message for the other
    processes is published by a task of its own, in order, so that whoever
    emits (the commit pipeline above all) does not wait for Redis's reply.

    Pub/sub was the largest cost of a second process (bench/forum.py
    profiles): a Redis round trip per emit, and every message, its own
    included, decoded by every process. So the emits waiting together (a
    commit batch's relays) go as one message, and a process skips its own
    before decoding them.
    """

    #: Messages waiting for Redis, at most. Beyond, they are dropped (and
    #: logged): Redis delivers at most once anyway, and clients heal by
    #: their periodic resync.
    MAX_WAITING = 10_000
    #: Emits sent as one message, at most.
    MAX_BATCH = 100

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._outbox = None
        # How this process's emits end once encoded (host_id is their last key).
        self._own_emit = (b'{"method": "emit"', f'"host_id": "{self.host_id}"}}'.encode())

    def _publish(self, data):
        if self._outbox is None:
            self._outbox = self.server.eio.create_queue(self.MAX_WAITING)
            self.server.start_background_task(self._publish_in_order)
        try:
            self._outbox.put_nowait(data)
        except queue.Full:
            log.error("Redis is not keeping up: a relay to the other processes was dropped")

    def _publish_in_order(self):
        empty = self.server.eio.get_queue_empty_exception()
        while True:
            waiting = [self._outbox.get()]
            while len(waiting) < self.MAX_BATCH:
                try:
                    waiting.append(self._outbox.get_nowait())
                except empty:
                    break
            try:
                for message in batches(waiting, self.host_id):
                    super()._publish(message)
            finally:
                for _ in waiting:
                    self._outbox.task_done()

    def _handle_emit(self, message):
        for one in message.get("batch") or [message]:
            super()._handle_emit(one)

    def _listen(self):
        start, end = self._own_emit
        for message in super()._listen():
            if isinstance(message, bytes) and message.endswith(end) and message.startswith(start):
                continue  # ours, already delivered here
            yield message

    def flush(self, timeout):
        return self._outbox is None or wait_done(self._outbox, timeout, self.server.sleep)


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


def manager_for(redis_url: str | None):
    """The client manager for Flask-SocketIO, with or without Redis."""
    if redis_url:
        return FramesRedisManager(redis_url, channel=channel_for(redis_url))
    return FramesManager()


def channel_for(redis_url: str) -> str:
    """The pub/sub channel of the deployment using this Redis database.

    Redis's pub/sub ignores database numbers: two deployments on one Redis
    server (staging and production, on databases 1 and 2) sharing a fixed
    channel would relay each other's edits to the ateliers that happen to
    have the same ids.
    """
    from redis.connection import parse_url

    return f"synthese-{parse_url(redis_url).get('db', 0)}"
