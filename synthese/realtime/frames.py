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
    #: Set by synthese.realtime: told of every relay of a sheet's log
    #: (namespace, first and last sequence numbers) before it goes out here,
    #: so that it sees gaps; and of the control messages every process acts
    #: on (CONTROL events, never delivered to sockets).
    on_relay = None
    on_control = None
    #: Events that are messages between processes, not to sockets.
    CONTROL = frozenset({"synthese:close-credentials"})
    #: The event whose data is (update, first seq, last seq).
    RELAY = "sync-update"

    def flush(self, timeout: float) -> bool:
        """Wait until what was emitted has left for the other processes (none here)."""
        return True

    def listen_to(self, namespace: str) -> None:
        """Hear the other processes' relays to a namespace (none here)."""

    def emit(self, event, data, namespace, room=None, skip_sid=None, callback=None, to=None, **kwargs):
        if event in self.CONTROL:
            if self.on_control is not None:
                self.on_control(event, data)
            return
        if event == self.RELAY and isinstance(data, tuple) and len(data) == 3 and self.on_relay is not None:
            self.on_relay(namespace, data[1], data[2])
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

    This process's own sockets are served at once; the messages for the
    other processes are published by a task of its own, in order, so that
    whoever emits (the commit pipeline above all) does not wait for Redis.

    Pub/sub was the largest cost of a second process (bench/forum.py
    profiles): a Redis round trip per emit, and every message, its own
    included, decoded by every process. So:

    - each namespace (an atelier's room) has a channel of its own, to which
      a process listens only while it has sockets there: with the rooms
      placed on processes (docs/production.md), a process hears only the
      rooms it serves;
    - the messages waiting together (a commit batch's relays) are published
      in one round trip, a room's run of emits as one message;
    - a process skips its own messages before decoding them.
    """

    #: Messages waiting for Redis, at most. Beyond, they are dropped (and
    #: logged): Redis delivers at most once anyway, and clients heal by
    #: their periodic resync.
    MAX_WAITING = 10_000
    #: Messages published in one round trip, at most.
    MAX_BATCH = 100
    #: Longest wait, when a room's first socket connects, for Redis to confirm
    #: that this process listens to the room (then it reads the database).
    SUBSCRIBE_TIMEOUT = 1.0
    #: A room's channel is left this long after its last socket here went,
    #: so that a reconnecting room does not churn subscriptions.
    IDLE_GRACE = 30.0
    #: Wait between two attempts to listen to Redis again: relays between
    #: processes are off meanwhile, and clients heal once it is back.
    RETRY_EVERY = 0.5
    #: Set by synthese.realtime: told the namespaces listened to again after
    #: Redis came back (what was committed meanwhile must reach their clients).
    on_resubscribed = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._outbox = None
        # How this process's emits end once encoded (host_id is their last key).
        self._own_emit = (b'{"method": "emit"', f'"host_id": "{self.host_id}"}}'.encode())
        #: Room channels listened to, each with an event set once Redis confirmed it.
        self._rooms: dict[str, object] = {}
        #: Room channels without a socket here any more, since when.
        self._idle: dict[str, float] = {}
        #: The pub/sub connection of the listening task, once it is subscribed.
        self._listener = None

    def channel_of(self, namespace: str | None) -> str:
        """The channel of a namespace's messages: its own, or the deployment's for "/"."""
        return self.channel if namespace in (None, "/") else f"{self.channel}:{namespace}"

    def _channel_of_message(self, message: dict) -> str:
        if message.get("method") == "callback":
            return self.channel  # back to the emitting host, wherever its sockets are
        return self.channel_of(message.get("namespace"))

    # -- listening to the rooms this process serves ------------------------

    def initialize(self):
        super().initialize()
        if not self.write_only:
            self.server.start_background_task(self._leave_idle_rooms)

    def listen_to(self, namespace: str) -> None:
        """Listen to a namespace's channel while this process has sockets in it.

        Called by the connect handler once the socket is allowed in (a
        refused one must not make the process listen), and before it reads
        the database: whatever another process commits after that read, it
        relays after this subscription, so nothing falls in between.
        """
        channel = self.channel_of(namespace)
        if channel == self.channel:
            return
        self._idle.pop(channel, None)
        confirmed = self._rooms.get(channel)
        if confirmed is None:
            confirmed = self._rooms[channel] = self.server.eio.create_event()
            listener = self._listener
            if listener is None:
                return  # not connected: the listener subscribes to it when it is
            try:
                listener.subscribe(channel)
            except Exception:
                # The listener's connection is broken; when it reconnects, it
                # subscribes to every room again.
                log.warning("could not listen to %s on Redis", channel, exc_info=True)
                return
        if self._listener is not None and not confirmed.wait(self.SUBSCRIBE_TIMEOUT):
            log.warning("Redis did not confirm %s in time; relays may be missed until the next resync", channel)

    def basic_disconnect(self, sid, namespace, **kwargs):
        super().basic_disconnect(sid, namespace, **kwargs)
        channel = self.channel_of(namespace)
        if channel in self._rooms and None not in self.rooms.get(namespace, {}):
            self._idle[channel] = time.monotonic()

    def _leave_idle_rooms(self):
        while True:
            self.server.sleep(min(5.0, self.IDLE_GRACE))
            now = time.monotonic()
            for channel, since in list(self._idle.items()):
                if now - since < self.IDLE_GRACE:
                    continue
                del self._idle[channel]
                self._rooms.pop(channel, None)
                if self._listener is not None:
                    try:
                        self._listener.unsubscribe(channel)
                    except Exception:
                        log.warning("could not leave %s on Redis", channel, exc_info=True)

    def _redis_listen_with_retries(self):
        failed = False
        while True:
            try:
                self._redis_connect()
                # The publishing task may replace self.pubsub when it reconnects.
                pubsub = self.pubsub
                pubsub.ignore_subscribe_messages = False
                wanted = list(self._rooms)
                pubsub.subscribe(self.channel, *wanted)
                self._listener = pubsub
                # Rooms that came while subscribing (no task switch from here on).
                late = set(self._rooms) - set(wanted)
                if late:
                    pubsub.subscribe(*late)
                if failed and self.on_resubscribed is not None:
                    prefix = self.channel + ":"
                    self.on_resubscribed([c[len(prefix):] for c in self._rooms if c.startswith(prefix)])
                failed = False
                yield from pubsub.listen()
            except Exception as exc:
                self._listener = None
                if not failed:
                    log.error("cannot receive from Redis (%s); retrying every %s s", exc, self.RETRY_EVERY)
                failed = True
                self.server.sleep(self.RETRY_EVERY)

    def _listen(self):
        start, end = self._own_emit
        for message in self._redis_listen_with_retries():
            kind = message["type"]
            if kind == "message":
                data = message["data"]
                if isinstance(data, bytes) and data.endswith(end) and data.startswith(start):
                    continue  # ours, already delivered here
                yield data
            elif kind == "subscribe":
                channel = message["channel"]
                confirmed = self._rooms.get(channel.decode() if isinstance(channel, bytes) else channel)
                if confirmed is not None:
                    confirmed.set()

    # -- publishing ----------------------------------------------------------

    def emit(self, event, data, namespace=None, room=None, skip_sid=None, callback=None, to=None, **kwargs):
        room = to or room
        if room is not None and self.is_sid_room(namespace or "/", room):
            kwargs["ignore_queue"] = True  # to a socket of this process: nobody else needs it
        return super().emit(event, data, namespace=namespace, room=room, skip_sid=skip_sid,
                            callback=callback, **kwargs)

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
                self._publish_all(waiting)
            finally:
                for _ in waiting:
                    self._outbox.task_done()

    def _publish_all(self, messages: list[dict]) -> None:
        """Publish messages in one round trip, in order within each channel."""
        by_channel: dict[str, list[dict]] = {}
        for message in messages:
            by_channel.setdefault(self._channel_of_message(message), []).append(message)
        for retries_left in (1, 0):
            try:
                if not self.connected:
                    self._redis_connect()
                pipe = self.redis.pipeline(transaction=False)
                for channel, some in by_channel.items():
                    for message in batches(some, self.host_id):
                        pipe.publish(channel, self.json.dumps(message))
                pipe.execute()
                return
            except Exception as exc:
                self.connected = False
                if not retries_left:
                    log.error("cannot publish to Redis (%s): %d relay(s) dropped", exc, len(messages))

    def _handle_emit(self, message):
        for one in message.get("batch") or [message]:
            super()._handle_emit(one)

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
