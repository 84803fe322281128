"""Every override of a socket library's internals, in one place.

Each class or function below replaces or extends a private part of
python-socketio, python-engine.io or gevent-websocket, for speed (relays
written as pre-built frames, at once when a socket is idle), for bounds
(a message or a queue too big closes the connection) or for several
processes (a Redis channel per room, relays published in batches). Each
says which upstream code it follows, at the versions pyproject.toml pins:

- python-socketio 5.18 (socketio.Server._handle_eio_message and
  _handle_event, socketio.Manager.emit, socketio.RedisManager and
  its PubSubManager: initialize, emit (also called around its local
  delivery, publish_elsewhere), _publish, _handle_emit,
  _redis_listen_with_retries, _listen, basic_disconnect);
- python-engineio 4.15 (engineio.Server._service_task,
  engineio.socket.Socket.send, the queue, closing
  and check_ping_timeout of engineio.socket.Socket, and the gevent
  driver's WebSocketWSGI, registered in Server._async["websocket"]);
- gevent-websocket 0.10.1 (geventwebsocket.websocket.WebSocket.read_message
  and Header.decode_header,
  close, send_frame and send; geventwebsocket.handler.WebSocketHandler.handle
  and upgrade_connection).

tests/unit/realtime/test_overrides.py fails when one of these upstream
signatures or versions changes: read the new upstream code, adjust here,
then move the pins and UPSTREAM together.
"""
import errno
import logging
import queue
import socket
import struct
import threading
import time
import types

import socketio
from engineio import packet as eio_packet
from engineio.async_drivers.gevent import WebSocketWSGI as EngineIOWebSocketWSGI
from geventwebsocket.exceptions import ProtocolError, WebSocketError
from geventwebsocket.handler import WebSocketHandler
from geventwebsocket.websocket import MSG_ALREADY_CLOSED, MSG_SOCKET_DEAD
from geventwebsocket.websocket import WebSocket as BaseWebSocket

from .frames import Frames, batches, channel_for, event_frames, unmask, wait_done

log = logging.getLogger(__name__)

#: The upstream methods overridden here, with the signature they had when
#: this module was written against them (tests/unit/realtime/test_overrides.py).
UPSTREAM = {
    "socketio.Server._handle_eio_message": "(self, eio_sid, data)",
    "socketio.Server._handle_event": "(self, eio_sid, namespace, id, data)",
    "socketio.Manager.emit": "(self, event, data, namespace, room=None, skip_sid=None, callback=None, to=None, **kwargs)",
    "socketio.RedisManager.initialize": "(self)",
    "socketio.RedisManager.emit": "(self, event, data, namespace=None, room=None, skip_sid=None, callback=None, to=None, **kwargs)",
    "socketio.RedisManager._publish": "(self, data)",
    "socketio.RedisManager._handle_emit": "(self, message)",
    "socketio.RedisManager._redis_listen_with_retries": "(self)",
    "socketio.RedisManager._listen": "(self)",
    "socketio.RedisManager._redis_connect": "(self)",
    "socketio.RedisManager.basic_disconnect": "(self, sid, namespace, **kwargs)",
    "engineio.Server._service_task": "(self)",
    "engineio.socket.Socket.send": "(self, pkt)",
    "engineio.socket.Socket.check_ping_timeout": "(self)",
    "engineio.async_drivers.gevent.WebSocketWSGI.__call__": "(self, environ, start_response)",
    "geventwebsocket.websocket.WebSocket.read_message": "(self)",
    "geventwebsocket.websocket.WebSocket.close": "(self, code=1000, message=b'')",
    "geventwebsocket.websocket.WebSocket.send_frame": "(self, message, opcode)",
    "geventwebsocket.websocket.WebSocket.send": "(self, message, binary=None)",
    "geventwebsocket.handler.WebSocketHandler.handle": "(self)",
    "geventwebsocket.handler.WebSocketHandler.upgrade_connection": "(self)",
}


# -- python-socketio: relays as pre-built frames, and Redis per room ----------------


class FramesMixin(socketio.Manager):
    """A client manager whose broadcasts without callback are sent as pre-built frames.

    It sits below the pub/sub layer (see manager_class): with Redis, what a
    process receives from the channel goes out through here.
    """

    #: Set by install() once the process's WebSockets are synthese.realtime.wsserver's.
    send_frames = False
    #: Set by synthese.realtime.rooms: told of every relay of a sheet's log
    #: (namespace, first and last sequence numbers) before it goes out here,
    #: so that it sees gaps; and of the control messages every process acts
    #: on (CONTROL events, never delivered to sockets as they are).
    on_relay = None
    on_control = None
    #: Events that are messages between processes, not to sockets.
    CONTROL = frozenset({"synthese:close-credentials", "synthese:early", "synthese:committed"})
    #: The event whose data is (update, first seq, last seq).
    RELAY = "sync-update"

    def flush(self, timeout: float) -> bool:
        """Wait until what was emitted has left for the other processes (none here)."""
        return True

    def listen_to(self, namespace: str) -> None:
        """Hear the other processes' relays to a namespace (none here)."""

    def publish_elsewhere(self, event, data, namespace: str) -> None:
        """Emit to a namespace's sockets in the other processes only (none here)."""

    def send_to(self, sid: str, event: str, data, namespace: str) -> None:
        """An event to one socket of this process: emit(to=sid) without its broadcast's lookups
        (the saved notice each commit sends its writers)."""
        eio_sid = self.eio_sid_from_sid(sid, namespace) if self.send_frames else None
        if eio_sid is None:
            self.server.emit(event, data, to=sid, namespace=namespace, ignore_queue=True)
            return
        write_all(self.server.eio, [eio_sid], event_frames(self.server.packet_class, event, data, namespace))

    def emit(self, event, data, namespace, room=None, skip_sid=None, callback=None, to=None, **kwargs):
        if event in self.CONTROL:
            if self.on_control is not None:
                self.on_control(event, data, namespace)
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
        write_all(self.server.eio, recipients, event_frames(self.server.packet_class, event, data, namespace))


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
    #: Set by synthese.realtime.rooms: told the namespaces listened to again after
    #: Redis came back (what was committed meanwhile must reach their clients).
    on_resubscribed = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._outbox = None
        # Each message goes out as "<host_id> <method>\n<json>" (_header): a
        # process skips its own without decoding them, whatever the layout
        # json.dumps gives them.
        self._own = f"{self.host_id} ".encode()
        #: Room channels listened to, each with an event set once Redis confirmed it.
        self._rooms: dict[str, object] = {}
        #: Room channels without a socket here any more, since when.
        self._idle: dict[str, float] = {}
        #: The pub/sub connection of the listening task, once it is subscribed.
        self._listener = None
        #: Set while publish_elsewhere emits (per greenlet: gevent patches threading).
        self._elsewhere = threading.local()

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

    def _header(self, message: dict) -> bytes:
        return f"{self.host_id} {message.get('method')}\n".encode()

    def _listen(self):
        for message in self._redis_listen_with_retries():
            kind = message["type"]
            if kind == "message":
                data = message["data"]
                if isinstance(data, bytes):
                    head, newline, body = data.partition(b"\n")
                    if newline:
                        # Ours are done here already, but a callback (it comes back to us).
                        if head.startswith(self._own) and head != self._own + b"callback":
                            continue
                        data = body
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

    def publish_elsewhere(self, event, data, namespace: str) -> None:
        """Emit to a namespace's sockets in the other processes only.

        PubSubManager.emit builds the message, hands it to _handle_emit for
        this process's sockets, then publishes it; the first step is skipped.
        """
        self._elsewhere.on = True
        try:
            socketio.PubSubManager.emit(self, event, data, namespace=namespace)
        finally:
            self._elsewhere.on = False

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
                        pipe.publish(channel, self._header(message) + self.json.dumps(message).encode())
                pipe.execute()
                return
            except Exception as exc:
                self.connected = False
                if not retries_left:
                    log.error("cannot publish to Redis (%s): %d relay(s) dropped", exc, len(messages))

    def _handle_emit(self, message):
        if getattr(self._elsewhere, "on", False):
            return  # publish_elsewhere: this process's sockets had it
        for one in message.get("batch") or [message]:
            super()._handle_emit(one)

    def flush(self, timeout):
        return self._outbox is None or wait_done(self._outbox, timeout, self.server.sleep)


def manager_for(redis_url: str | None):
    """The client manager for Flask-SocketIO, with or without Redis."""
    if redis_url:
        return FramesRedisManager(redis_url, channel=channel_for(redis_url))
    return FramesManager()



# -- engine.io and gevent-websocket: reading, writing and bounding WebSockets ------


class _NoApp:
    """gevent-websocket's stand-in for an application that has no close hook (ours)."""

    @staticmethod
    def on_close(*_):
        pass


#: Sockets (their id()) with a write under way, which may be waiting for the
#: peer to read: nothing else may be written to them until it ends.
_writing: set[int] = set()


class WebSocket(BaseWebSocket):
    __slots__ = ()

    #: Largest message read from a client, in bytes (set per server).
    max_message = 1 << 20

    #: gevent-websocket defines a new class for every closing socket here.
    current_app = _NoApp()

    def read_message(self):
        """The next text (str) or binary (bytes) message; None once closed.

        Each frame's header is read as Header.decode_header reads it (RFC 6455
        5.2), without building a Header, and its mask with its payload: two
        buffered reads a frame instead of four.
        """
        read = self.raw_read
        opcode = None
        parts = []
        size = 0
        while True:
            head = read(2)
            if len(head) != 2:
                raise WebSocketError("Unexpected EOF while decoding header")
            first, second = head
            if first & 0x70:
                raise ProtocolError("reserved bits set")
            fin = first & 0x80
            kind = first & 0x0F
            length = second & 0x7F
            if kind > 0x07 and (not fin or length > 125):
                raise ProtocolError("a control frame fragmented or over 125 bytes")
            if length >= 126:
                wide = 2 if length == 126 else 8
                extended = read(wide)
                if len(extended) != wide:
                    raise WebSocketError("Unexpected EOF while decoding header")
                length = int.from_bytes(extended, "big")
            if kind in (self.OPCODE_TEXT, self.OPCODE_BINARY, self.OPCODE_CONTINUATION):
                size += length
                if size > self.max_message:
                    self.close(1009)  # Message Too Big; its payload is never read
                    return None
            masked = second & 0x80
            want = length + 4 if masked else length
            chunk = read(want) if want else b""
            if len(chunk) != want:
                raise WebSocketError("Unexpected EOF reading frame payload")
            payload = unmask(chunk[4:], chunk[:4]) if masked else chunk

            if kind in (self.OPCODE_TEXT, self.OPCODE_BINARY):
                if opcode:
                    raise ProtocolError("a new message inside a fragmented one")
                opcode = kind
            elif kind == self.OPCODE_CONTINUATION:
                if not opcode:
                    raise ProtocolError("a continuation frame outside a message")
            elif kind == self.OPCODE_PING:
                self.handle_ping(None, payload)
                continue
            elif kind == self.OPCODE_PONG:
                self.handle_pong(None, payload)
                continue
            elif kind == self.OPCODE_CLOSE:
                self.handle_close(None, payload)
                return None
            else:
                raise ProtocolError(f"unknown opcode {kind}")
            parts.append(payload)
            if fin:
                break
        message = b"".join(parts)
        # Invalid UTF-8 raises a UnicodeError: receive() closes with 1007.
        return message.decode("utf-8") if opcode == self.OPCODE_TEXT else message

    def close(self, code=1000, message=b""):
        """Close, saying why: gevent-websocket leaves the status code out of the close frame."""
        if self.closed:
            self.current_app.on_close(MSG_ALREADY_CLOSED)
            return
        reason = message.encode("utf-8") if isinstance(message, str) else bytes(message or b"")
        try:
            self.send_frame(struct.pack("!H", code) + reason, self.OPCODE_CLOSE)
        except WebSocketError:
            pass  # closing anyway
        finally:
            self.closed = True
            self.stream = self.raw_write = self.raw_read = self.environ = None

    def send_frame(self, message, opcode):
        # Every frame but pre-built ones goes through here (messages, close, pong).
        _writing.add(id(self))
        try:
            return super().send_frame(message, opcode)
        finally:
            _writing.discard(id(self))

    def send(self, message, binary=None):
        if not isinstance(message, Frames):
            return super().send(message, binary)
        if self.closed:
            self.current_app.on_close(MSG_ALREADY_CLOSED)
            raise WebSocketError(MSG_ALREADY_CLOSED)
        _writing.add(id(self))
        try:
            self.raw_write(message)
        except OSError:
            self.current_app.on_close(MSG_SOCKET_DEAD)
            raise WebSocketError(MSG_SOCKET_DEAD) from None
        finally:
            _writing.discard(id(self))


def write_all(eio, eio_sids, frames: Frames) -> None:
    """Write a relay to sockets: at once to each idle one (write_now), else through its queue."""
    # One clock reading for all of them: a relay reaches a big room in microseconds.
    silent_since = time.time() - eio.ping_timeout
    sockets = eio.sockets
    pkt = None
    for eio_sid in eio_sids:
        eio_socket = sockets.get(eio_sid)
        if eio_socket is None or not write_now(eio_socket, frames, silent_since):
            if pkt is None:
                pkt = eio_packet.Packet(eio_packet.MESSAGE, frames)  # encode() gives the frames back, as binary
            eio.send_packet(eio_sid, pkt)


def write_now(eio_socket, frames: Frames, silent_since: float | None = None) -> bool:
    """Write a relay to a socket at once, if nothing is queued or being written to it.

    Engine.IO queues every message for a writer task per socket, which then
    wakes up to write it: a queue, a timer and two task switches per message
    and recipient, the largest cost of a relay to a big room. Here the frames
    go out in one non-blocking system call when the socket is idle (nearly
    always). What the peer's buffer does not take is queued, so the writer
    sends it next, in order. Returns False when the frames must be queued
    (engineio's send). ``silent_since``: a socket whose last ping is older
    has gone silent (engineio's check_ping_timeout, with one clock reading
    per relay).
    """
    ws = getattr(eio_socket, "websocket", None)
    if (ws is None or ws.closed or eio_socket.closed or eio_socket.closing
            or not eio_socket.queue.empty() or id(ws) in _writing):
        return False
    if silent_since is None:
        silent_since = time.time() - eio_socket.server.ping_timeout
    last_ping = eio_socket.last_ping
    if last_ping and last_ping < silent_since and not eio_socket.check_ping_timeout():
        return True  # gone silent: closed, and the message dropped, as engineio's send does
    sock = ws.handler.socket
    try:
        # gevent's socket.send with a zero timeout is its _sock's send: called directly.
        sent = getattr(sock, "_sock", sock).send(frames)
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
            return False  # the writer meets the error and closes the connection
        sent = 0
    if sent < len(frames):
        eio_socket.send(eio_packet.Packet(eio_packet.MESSAGE, Frames(frames[sent:])))
    return True


#: Messages queued for one socket, at most. A peer that reads nothing (or
#: too slowly) would otherwise have the server hold every relay and answer
#: for it: it is dropped instead, and resyncs when it reconnects.
MAX_QUEUED = 512


def bounded_send(send):
    """engineio.socket.Socket.send (python-engineio 4.15), refusing to queue past MAX_QUEUED."""

    def send_bounded(self, pkt):
        if self.queue.qsize() >= MAX_QUEUED and not self.closing:
            log.warning("dropping %s: %d messages unread", self.sid, self.queue.qsize())
            self.close(wait=False, abort=True)
            return
        return send(self, pkt)

    return send_bounded


#: Seconds between two passes over the sockets looking for silent ones.
SERVICE_EVERY = 5.0


def service_task(eio) -> None:
    """engineio.Server._service_task (python-engineio 4.15), one pass over all sockets at a time.

    Upstream checks one socket, then waits ping_timeout / N before the next:
    at 900 sockets, 45 wake-ups a second of about 40 µs each, for a check of
    under a microsecond. Here every socket is checked every SERVICE_EVERY
    seconds (sooner than upstream's once per ping_timeout), in one pass;
    shutting down stops it as it stops upstream's (service_task_event).
    """
    eio.service_task_event = eio.create_event()
    while not eio.service_task_event.wait(timeout=SERVICE_EVERY):
        try:
            for s in list(eio.sockets.values()):
                if s.closed:
                    eio.sockets.pop(s.sid, None)
                elif not s.closing:
                    s.check_ping_timeout()
        except Exception:
            log.exception("checking for silent sockets failed; trying again")


class _LinkedWebSocketWSGI(EngineIOWebSocketWSGI):
    """engineio's gevent-websocket adapter, which also tells each Engine.IO socket its WebSocket."""

    def __call__(self, environ, start_response):
        self.app.__self__.websocket = environ.get("wsgi.websocket")
        return super().__call__(environ, start_response)


#: Longest wait for the next bytes of a request (its line, headers or body)
#: and between requests on a kept-alive connection: a client sending a
#: request a byte at a time, or never, would otherwise hold a connection
#: (and a file descriptor) for ever (slowloris).
HTTP_TIMEOUT = 20.0


def handler_class(max_message: int, timeout: float = HTTP_TIMEOUT):
    """gevent-websocket's request handler, serving our WebSocket with this
    message limit, and timing out idle or dripping HTTP clients."""

    class Socket(WebSocket):
        __slots__ = ()

    Socket.max_message = max_message

    class Handler(WebSocketHandler):
        def handle(self):
            try:
                self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass  # not TCP (a Unix socket behind a proxy)
            # Every read of the request (and of the next one) waits at most this long.
            self.socket.settimeout(timeout)
            return super().handle()

        def upgrade_connection(self):
            result = super().upgrade_connection()
            ws = getattr(self, "websocket", None)
            if ws is not None:
                # Same layout, other methods. (Replacing the object would
                # close the connection: gevent-websocket closes it on __del__.)
                ws.__class__ = Socket
                # A WebSocket may stay quiet: Engine.IO's pings tell the dead.
                self.socket.settimeout(None)
            return result

    return Handler



class _Awaiting:
    """A binary event read by fast_binary_events, waiting for its attachment.

    Kept in python-socketio's own table of binary packets waiting, which its
    disconnect handling clears."""

    __slots__ = ("handler", "namespace")

    def __init__(self, handler, namespace: str):
        self.handler = handler
        self.namespace = namespace


def fast_binary_events(server, handlers: dict) -> None:
    """Hand the binary events a y-socket.io client sends (event name ->
    handler(namespace, sid, data)) straight to their handler.

    python-socketio (Server._handle_eio_message, _handle_event,
    _trigger_event) decodes the text packet that names a binary event
    (JSON), holds it until its attachment comes, rebuilds the arguments,
    then looks the handler up: a tenth of a forum's server CPU, for the
    message a room sends most. The stock client names its one-attachment
    events in one form, '51-<namespace>,["<event>",{"_placeholder":true,"num":0}]':
    that exact string is recognised here, and its attachment handed to the
    handler as python-socketio would (the namespace's socket connected, the
    attachment whatever the next message is). Anything else, and whatever
    follows a binary packet python-socketio holds, takes python-socketio's way.
    """
    upstream = server._handle_eio_message
    manager = server.manager
    waiting = server._binary_packet
    heads = {f',["{event}",{{"_placeholder":true,"num":0}}]': handler for event, handler in handlers.items()}

    def handle_eio_message(eio_sid, data):
        held = waiting.get(eio_sid)
        if held.__class__ is _Awaiting:
            del waiting[eio_sid]
            sid = manager.sid_from_eio_sid(eio_sid, held.namespace)
            if manager.is_connected(sid, held.namespace):
                held.handler(held.namespace, sid, data)
            return None
        if held is None and data.__class__ is str and data.startswith("51-/"):
            comma = data.find(",")
            handler = heads.get(data[comma:]) if comma > 0 else None
            namespace = data[3:comma]
            if handler is not None and "?" not in namespace and manager.sid_from_eio_sid(eio_sid, namespace):
                waiting[eio_sid] = _Awaiting(handler, namespace)
                return None
        return upstream(eio_sid, data)

    server.eio.on("message", handle_eio_message)


def unread(server, sid: str, namespace: str) -> bool:
    """Whether a Socket.IO socket has messages queued that its peer has not read yet."""
    eio_sid = server.manager.eio_sid_from_sid(sid, namespace)
    eio_socket = server.eio.sockets.get(eio_sid) if eio_sid else None
    return eio_socket is not None and not eio_socket.queue.empty()


def install(server) -> None:
    """Serve a python-socketio server's WebSockets through these overrides
    (synthese.realtime.wsserver, under gevent): bounded queues, relays
    written as frames, each Engine.IO socket linked to its WebSocket."""
    from engineio import socket as eio_socket

    if not getattr(eio_socket.Socket.send, "bounded", False):
        eio_socket.Socket.send = bounded_send(eio_socket.Socket.send)
        eio_socket.Socket.send.bounded = True
    server.eio._service_task = types.MethodType(service_task, server.eio)
    if isinstance(server.manager, FramesMixin):
        server.manager.send_frames = True
        server.eio._async = {**server.eio._async, "websocket": _LinkedWebSocketWSGI}
