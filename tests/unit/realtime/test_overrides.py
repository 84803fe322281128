"""Reading client frames (unmasking equals the RFC's byte-by-byte definition),
and writing relays at once to idle sockets, in order."""
import io
import os
import socket
import time

import engineio
import gevent
import gevent.socket
import pytest
from engineio import packet
from engineio.socket import Socket as EngineIOSocket
from geventwebsocket.websocket import Header, Stream
from geventwebsocket.websocket import WebSocket as BaseWebSocket

from synthese.realtime import overrides
from synthese.realtime.frames import Frames, frame, unmask


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 127, 4096, 100_003])
def test_unmask_matches_the_byte_by_byte_definition(size):
    payload, mask = os.urandom(size), os.urandom(4)
    expected = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert unmask(payload, mask) == expected
    header = Header(length=size)
    header.mask = mask
    assert unmask(payload, mask) == bytes(header.unmask_payload(payload))


def test_unmask_keeps_leading_and_trailing_zero_bytes():
    mask = b"\x01\x02\x03\x04"
    payload = bytes([1, 2, 3, 4, 0, 0, 1, 2])  # unmasks to zeros at both ends
    assert unmask(payload, mask) == bytes([0, 0, 0, 0, 1, 2, 2, 6])


# -- reading client frames (overrides.WebSocket.read_message) --------------------


def client_frame(opcode: int, payload: bytes, fin: bool = True, mask: bytes | None = b"\x11\x22\x33\x44",
                 rsv: int = 0, length: int | None = None) -> bytes:
    """A frame as a client sends it (RFC 6455 5.2): masked unless mask is None."""
    size = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | rsv | opcode])
    bit = 0x80 if mask is not None else 0
    if size < 126:
        head += bytes([bit | size])
    elif size < 1 << 16:
        head += bytes([bit | 126]) + size.to_bytes(2, "big")
    else:
        head += bytes([bit | 127]) + size.to_bytes(8, "big")
    if mask is None:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


TEXT, BINARY, CONT, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA
STREAMS = {
    "binary": client_frame(BINARY, b"\x01\x02\x03\x04\x05"),
    "text": client_frame(TEXT, "héllo".encode()),
    "empty binary": client_frame(BINARY, b""),
    "125 bytes": client_frame(BINARY, os.urandom(125)),
    "126 bytes": client_frame(BINARY, os.urandom(126)),
    "65535 bytes": client_frame(BINARY, os.urandom(65_535)),
    "65536 bytes": client_frame(BINARY, os.urandom(65_536)),
    "unmasked": client_frame(BINARY, b"plain", mask=None),
    "two messages": client_frame(BINARY, b"one") + client_frame(TEXT, b"two"),
    "fragments around a ping": client_frame(TEXT, "é".encode()[:1], fin=False) + client_frame(PING, b"hi")
    + client_frame(CONT, "é".encode()[1:] + b"t\xc3", fin=False) + client_frame(CONT, b"\xa9"),
    "pong then binary": client_frame(PONG, b"") + client_frame(BINARY, b"after"),
    "continuation first": client_frame(CONT, b"x"),
    "new message inside one": client_frame(TEXT, b"a", fin=False) + client_frame(BINARY, b"b"),
    "reserved bits": client_frame(BINARY, b"x", rsv=0x40),
    "fragmented control": client_frame(PING, b"x", fin=False),
    "control over 125": client_frame(PING, b"x" * 126),
    "unknown opcode": client_frame(0x3, b"x"),
    "invalid utf-8": client_frame(TEXT, b"\xff\xfe"),
    "close with a code": client_frame(CLOSE, (1000).to_bytes(2, "big") + b"bye"),
    "close without payload": client_frame(CLOSE, b""),
    "close of one byte": client_frame(CLOSE, b"\x03"),
    "close with a bad code": client_frame(CLOSE, (999).to_bytes(2, "big")),
    "one header byte": client_frame(BINARY, b"abc")[:1],
    "short extended length": client_frame(BINARY, b"x" * 300)[:3],
    "short mask": client_frame(BINARY, b"abc")[:4],
    "short payload": client_frame(BINARY, b"abcdef")[:-2],
    "nothing": b"",
}


class _Recorder:
    """A stream: reads from the bytes given, records what is written."""

    def __init__(self, data: bytes):
        self.input = io.BytesIO(data)
        self.read = self.input.read
        self.written = []
        self.write = self.written.append


def outcome(cls, data: bytes):
    """What receive() gives on a stream, what it wrote back, and, while the
    connection stays open, where the stream stands."""
    stream = _Recorder(data)
    ws = cls({}, stream, None)
    try:
        result = ws.receive()
        result = bytes(result) if isinstance(result, bytearray) else result
    except Exception as exc:
        result = type(exc)
    return result, stream.written, ws.closed, None if ws.closed else stream.input.tell()


class _Unbounded(overrides.WebSocket):
    __slots__ = ()
    max_message = 1 << 30


class _UpstreamReading(_Unbounded):
    """Our WebSocket (its close), reading as gevent-websocket does."""

    __slots__ = ()
    read_message = BaseWebSocket.read_message


class _Small(overrides.WebSocket):
    __slots__ = ()
    max_message = 1000


@pytest.mark.parametrize("name", STREAMS)
def test_reading_frames_does_what_gevent_websocket_does(name):
    """Message, error, close frame written back and bytes consumed, for valid and broken streams."""
    assert outcome(_Unbounded, STREAMS[name]) == outcome(_UpstreamReading, STREAMS[name])


def test_a_message_over_the_limit_closes_before_its_payload_is_read():
    data = client_frame(BINARY, b"x" * 2000)
    stream = _Recorder(data)
    ws = _Small({}, stream, None)
    assert ws.receive() is None
    assert stream.written == [b"\x88\x02" + (1009).to_bytes(2, "big")]  # a close frame: 1009, Message Too Big
    assert stream.input.tell() == 4  # the header only


def test_a_frame_declaring_an_enormous_length_is_refused_before_anything_more_is_read():
    """A peer announcing 2**63 - 1 bytes (then sending nothing) holds no memory and no wait."""
    data = bytes([0x82, 0x80 | 127]) + (2 ** 63 - 1).to_bytes(8, "big") + b"\x11\x22\x33\x44"
    stream = _Recorder(data)
    ws = _Small({}, stream, None)
    assert ws.receive() is None
    assert stream.written == [b"\x88\x02" + (1009).to_bytes(2, "big")]
    assert stream.input.tell() == 10  # the header and its length, not the mask


# -- writing relays at once (overrides.write_now) --------------------------------


class _Handler:
    """What gevent-websocket's WebSocket uses of its request handler."""

    def __init__(self, sock):
        self.socket = sock
        self.rfile = sock.makefile("rb")


def linked_socket():
    """An Engine.IO socket on a real WebSocket over a real socket pair, with small buffers."""
    ours, peer = gevent.socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    handler = _Handler(ours)
    ws = overrides.WebSocket({}, Stream(handler), handler)
    eio_socket = EngineIOSocket(engineio.Server(async_mode="gevent"), "sid")
    eio_socket.connected = eio_socket.upgraded = True
    eio_socket.websocket = ws
    return eio_socket, ws, peer


def read_exactly(peer, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = peer.recv(65536)
        assert chunk, "peer closed"
        data += chunk
    return data


def writer(eio_socket, ws):
    """engineio's writer task, in short: what is queued is written in order."""
    while True:
        pkt = eio_socket.queue.get()
        ws.send(pkt.encode())


def test_an_idle_socket_is_written_at_once():
    eio_socket, ws, peer = linked_socket()
    frames = Frames(frame(b"\x00\x01relay"))
    assert overrides.write_now(eio_socket, frames)
    assert eio_socket.queue.empty()
    assert read_exactly(peer, len(frames)) == frames


def test_a_socket_with_something_queued_or_being_written_waits_its_turn():
    eio_socket, ws, peer = linked_socket()
    frames = Frames(frame(b"relay"))
    eio_socket.queue.put(packet.Packet(packet.MESSAGE, Frames(frame(b"earlier"))))
    assert not overrides.write_now(eio_socket, frames)
    eio_socket.queue.get()
    overrides._writing.add(id(ws))
    try:
        assert not overrides.write_now(eio_socket, frames)
    finally:
        overrides._writing.discard(id(ws))
    ws.closed = True
    assert not overrides.write_now(eio_socket, frames)


def test_what_the_peer_cannot_take_yet_is_queued_and_sent_in_order():
    eio_socket, ws, peer = linked_socket()
    big = Frames(frame(os.urandom(1 << 20)))
    small = Frames(frame(b"next relay"))
    assert overrides.write_now(eio_socket, big)
    assert eio_socket.queue.qsize() == 1  # the rest of big, for the writer
    assert not overrides.write_now(eio_socket, small)
    eio_socket.queue.put(packet.Packet(packet.MESSAGE, small))  # as engineio's send does
    task = gevent.spawn(writer, eio_socket, ws)
    try:
        assert read_exactly(peer, len(big) + len(small)) == big + small
    finally:
        task.kill()


# -- the upstream code the overrides follow -------------------------------------------


def _upstream(path: str):
    import importlib
    import importlib.util

    module, _, rest = path.partition(".")
    target = importlib.import_module(module)
    parts = rest.split(".")
    # Walk submodules first (engineio.socket, geventwebsocket.handler...), then attributes.
    while parts and hasattr(target, "__path__") and importlib.util.find_spec(f"{target.__name__}.{parts[0]}"):
        target = importlib.import_module(f"{target.__name__}.{parts.pop(0)}")
    for name in parts:
        target = getattr(target, name)
    return target


@pytest.mark.parametrize("path", sorted(overrides.UPSTREAM))
def test_the_upstream_methods_overridden_keep_the_signature_they_were_written_against(path):
    """Fails loudly on an upgrade that changed one: read the new upstream code first."""
    import inspect

    assert str(inspect.signature(_upstream(path))) == overrides.UPSTREAM[path], path


def test_the_overridden_packages_are_the_versions_pinned():
    """The versions installed are those pyproject.toml pins (and overrides.py follows)."""
    import re
    import tomllib
    from importlib.metadata import version
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parents[3] / "pyproject.toml").read_text())["project"]
    pins = {}
    for requirement in project["dependencies"]:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement)[0].lower()
        pins[name] = requirement
    for package in ("python-socketio", "python-engineio", "gevent-websocket", "flask-socketio"):
        found = re.match(r"(\d+)\.(\d+)", version(package))
        low = re.search(r">=\s*(\d+)\.(\d+)", pins[package])
        high = re.search(r"<\s*(\d+)\.(\d+)", pins[package])
        assert low and high, f"{package} is not pinned to a minor version range: {pins[package]}"
        installed = tuple(map(int, found.groups()))
        assert tuple(map(int, low.groups())) <= installed < tuple(map(int, high.groups())), package


def test_a_socket_gone_silent_is_closed_and_its_relay_dropped():
    """write_all reads the clock once per relay: a socket whose last ping is
    older than the ping timeout is still closed, as engineio's send does."""
    eio_socket, ws, peer = linked_socket()
    fresh, fresh_ws, fresh_peer = linked_socket()
    eio = eio_socket.server
    eio.sockets = {"silent": eio_socket, "fresh": fresh}
    eio_socket.last_ping = time.time() - eio.ping_timeout - 1
    fresh.last_ping = time.time()
    frames = Frames(frame(b"relay"))
    overrides.write_all(eio, ["silent", "fresh"], frames)
    assert eio_socket.closed
    queued = [eio_socket.queue.get_nowait() for _ in range(eio_socket.queue.qsize())]
    assert all(getattr(pkt, "data", None) != frames for pkt in queued)  # at most its close packet, not the relay
    assert read_exactly(fresh_peer, len(frames)) == frames


def test_the_service_task_closes_silent_sockets_forgets_closed_ones_and_stops(monkeypatch):
    """One pass over every socket (overrides.service_task) does what
    engineio's service task does to each, and stops on engineio's shutdown."""
    monkeypatch.setattr(overrides, "SERVICE_EVERY", 0.01)
    silent, _, _ = linked_socket()
    fresh, _, _ = linked_socket()
    gone, _, _ = linked_socket()
    eio = silent.server
    eio.sockets = {"silent": silent, "fresh": fresh, "gone": gone}
    for sid, s in eio.sockets.items():
        s.sid, s.server = sid, eio  # each linked_socket() made a server of its own
    silent.last_ping = time.time() - eio.ping_timeout - 1
    fresh.last_ping = time.time()
    gone.closed = True
    task = gevent.spawn(overrides.service_task, eio)
    wait_for = time.monotonic() + 2
    while ("gone" in eio.sockets or not silent.closed) and time.monotonic() < wait_for:
        gevent.sleep(0.01)
    assert silent.closed and not fresh.closed
    assert "gone" not in eio.sockets and "fresh" in eio.sockets
    eio.service_task_event.set()
    task.join(timeout=1)
    assert task.dead


# -- binary events read without python-socketio's decoding (overrides.fast_binary_events) --


def _server(fast: bool):
    """A python-socketio server with one Engine.IO socket connected to /yjs|atelier-1."""
    import socketio

    server = socketio.Server(async_mode="threading")
    calls = []

    def recorder(event):
        return lambda namespace, sid, *args: calls.append((event, namespace, sid, args))

    for event in ("sync-update", "awareness-update", "other"):
        server.on(event, recorder(event), namespace="*")
    if fast:
        overrides.fast_binary_events(server, {event: recorder(event) for event in ("sync-update", "awareness-update")})
    sid = server.manager.connect("eio", "/yjs|atelier-1")
    return server, calls, sid


def _feed(server, messages):
    outcomes = []
    for message in messages:
        try:
            server.eio.handlers["message"]("eio", message)
            outcomes.append("ok")
        except Exception as exc:  # engineio logs it, and reads the next message
            outcomes.append(f"{type(exc).__name__}: {exc}")
    return outcomes


HEAD = '51-/yjs|atelier-1,["sync-update",{"_placeholder":true,"num":0}]'


@pytest.mark.parametrize("messages", [
    [HEAD, b"\x00\x00"],  # the stock client's sync-update
    ['51-/yjs|atelier-1,["awareness-update",{"_placeholder":true,"num":0}]', b"\x01"],
    [HEAD, "a text attachment"],  # python-socketio takes whatever comes next
    [HEAD, HEAD, b"\x02"],  # a second head is the first one's attachment
    ['51-/yjs|atelier-1,7["sync-update",{"_placeholder":true,"num":0}]', b"\x03"],  # with an ack id
    ['51-/yjs|atelier-1?x=1,["sync-update",{"_placeholder":true,"num":0}]', b"\x04"],  # with a query
    ['51-/yjs|atelier-2,["sync-update",{"_placeholder":true,"num":0}]', b"\x05"],  # not connected there
    ['52-/yjs|atelier-1,["sync-update",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
     b"\x06", b"\x07"],  # two attachments
    ['52-/yjs|atelier-1,["sync-update",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
     HEAD, b"\x08"],  # a head inside python-socketio's binary packet
    ['51-/yjs|atelier-1,["other",{"_placeholder":true,"num":0}]', b"\x09"],  # not a fast event
    ['51-/yjs|atelier-1,["sync-update",{"num":0,"_placeholder":true}]', b"\x0a"],  # another key order
    ['51-/yjs|atelier-1', b"\x0b"], ['51-,', b"\x0c"], [b"\x0d"],  # malformed, or no head
    ['2/yjs|atelier-1,["sync-update","text"]'],  # a text event
])
def test_fast_binary_events_do_what_python_socketio_does(messages):
    slow, slow_calls, slow_sid = _server(fast=False)
    fast, fast_calls, fast_sid = _server(fast=True)
    assert _feed(fast, messages) == _feed(slow, messages)
    assert [(e, n, s == fast_sid, a) for e, n, s, a in fast_calls] == \
        [(e, n, s == slow_sid, a) for e, n, s, a in slow_calls]


def test_a_fast_event_waiting_for_its_attachment_goes_with_its_socket():
    server, calls, sid = _server(fast=True)
    _feed(server, [HEAD])
    assert isinstance(server._binary_packet["eio"], overrides._Awaiting)
    server._handle_disconnect("eio", "/yjs|atelier-1")
    assert "eio" not in server._binary_packet
    # A new socket under the same name starts clean.
    sid = server.manager.connect("eio", "/yjs|atelier-1")
    _feed(server, [HEAD, b"\x01"])
    assert calls == [("sync-update", "/yjs|atelier-1", sid, (b"\x01",))]
