"""The HTTP and WebSocket server under gevent: pywsgi with gevent-websocket, adjusted.

gevent-websocket serves the WebSockets, with these changes:

- Nagle's algorithm is off on every connection. A Socket.IO binary event
  leaves as two small frames; with Nagle on, the second waits for the ACK
  of the first, which the peer delays by up to 40 ms. Node's servers set
  TCP_NODELAY too.
- Reading a message: gevent-websocket unmasks client frames one byte at a
  time in Python (142 ms for a 512 KiB paste, while no room moves) and
  buffers a message of any size. Here frames are unmasked in one operation,
  and a message over the limit closes the connection (1009) before its
  payload is read.
- Closing: the status code goes into the close frame (1009, 1007, 1002...),
  which gevent-websocket leaves out.
- Writing: synthese.broadcast's pre-built frames are written as they are,
  in one call, and at once when the socket is idle (write_now) instead of
  through Engine.IO's writer task.
"""
import errno
import logging
import os
import signal
import socket
import struct

import gevent
import gevent.event
from engineio import packet as eio_packet
from engineio.async_drivers.gevent import WebSocketWSGI as EngineIOWebSocketWSGI
from geventwebsocket.exceptions import ProtocolError, WebSocketError
from geventwebsocket.handler import WebSocketHandler
from geventwebsocket.websocket import MSG_ALREADY_CLOSED, MSG_SOCKET_DEAD, Header
from geventwebsocket.websocket import WebSocket as BaseWebSocket

from .frames import Frames, FramesMixin

log = logging.getLogger(__name__)

#: Longest wait, when stopping, for the accepted updates to be committed.
SHUTDOWN_TIMEOUT = 5.0


def unmask(payload: bytes, mask: bytes) -> bytes:
    """XOR a client frame's payload with its 4-byte mask (RFC 6455 5.3), as one big-integer operation."""
    size = len(payload)
    if not size:
        return payload
    key = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(size, "little")


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
        """The next text (str) or binary (bytes) message; None once closed."""
        opcode = None
        parts = []
        size = 0
        while True:
            header = Header.decode_header(self.stream)
            if header.flags:
                raise ProtocolError("reserved bits set")
            if header.opcode in (self.OPCODE_TEXT, self.OPCODE_BINARY, self.OPCODE_CONTINUATION):
                size += header.length
                if size > self.max_message:
                    self.close(1009)  # Message Too Big; its payload is never read
                    return None
            payload = self.raw_read(header.length) if header.length else b""
            if len(payload) != header.length:
                raise WebSocketError("Unexpected EOF reading frame payload")
            if header.mask:
                payload = unmask(payload, header.mask)

            if header.opcode in (self.OPCODE_TEXT, self.OPCODE_BINARY):
                if opcode:
                    raise ProtocolError("a new message inside a fragmented one")
                opcode = header.opcode
            elif header.opcode == self.OPCODE_CONTINUATION:
                if not opcode:
                    raise ProtocolError("a continuation frame outside a message")
            elif header.opcode == self.OPCODE_PING:
                self.handle_ping(header, payload)
                continue
            elif header.opcode == self.OPCODE_PONG:
                self.handle_pong(header, payload)
                continue
            elif header.opcode == self.OPCODE_CLOSE:
                self.handle_close(header, payload)
                return None
            else:
                raise ProtocolError(f"unknown opcode {header.opcode}")
            parts.append(payload)
            if header.fin:
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


def write_now(eio_socket, frames: Frames) -> bool:
    """Write a relay to a socket at once, if nothing is queued or being written to it.

    Engine.IO queues every message for a writer task per socket, which then
    wakes up to write it: a queue, a timer and two task switches per message
    and recipient, the largest cost of a relay to a big room. Here the frames
    go out in one non-blocking system call when the socket is idle (nearly
    always). What the peer's buffer does not take is queued, so the writer
    sends it next, in order. Returns False when the frames must be queued
    (engineio's send).
    """
    ws = getattr(eio_socket, "websocket", None)
    if (ws is None or ws.closed or eio_socket.closed or eio_socket.closing
            or not eio_socket.queue.empty() or id(ws) in _writing):
        return False
    if not eio_socket.check_ping_timeout():
        return True  # gone silent: closed, and the message dropped, as engineio's send does
    try:
        sent = ws.handler.socket.send(frames, 0, 0.0)  # gevent: never waits with a zero timeout
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


def serve(app, host: str, port: int) -> None:
    """Serve ``app`` (HTTP and its Socket.IO WebSockets) until SIGTERM or SIGINT.

    Stopping is orderly: no new connections, the accepted updates committed,
    and this process's people taken out of every room (see Realtime.shutdown).
    """
    from gevent import pywsgi

    from ..extensions import socketio

    from engineio import socket as eio_socket

    if not getattr(eio_socket.Socket.send, "bounded", False):
        eio_socket.Socket.send = bounded_send(eio_socket.Socket.send)
        eio_socket.Socket.send.bounded = True
    manager = socketio.server.manager
    if isinstance(manager, FramesMixin):
        manager.send_frames = True
        manager.write_now = write_now
        eio = socketio.server.eio
        eio._async = {**eio._async, "websocket": _LinkedWebSocketWSGI}
    server = pywsgi.WSGIServer((host, port), app, log=None,
                               handler_class=handler_class(socketio.server.eio.max_http_buffer_size,
                                                           app.config.get("SYNTHESE_HTTP_TIMEOUT", HTTP_TIMEOUT)))

    stopped = gevent.event.Event()

    def stop(signum):
        if server.closed:
            os._exit(128 + signum)  # asked again while stopping: stop now
        server.close()  # no new connections
        app.extensions["synthese.realtime"].shutdown(SHUTDOWN_TIMEOUT)
        stopped.set()  # the process exits, closing its clients' sockets: they reconnect elsewhere

    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, stop, signum)
    server.start()
    stopped.wait()
