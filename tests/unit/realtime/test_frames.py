"""Broadcast frames: built as python-socketio and gevent-websocket would send them, once per room."""
import io
import json
import time
import uuid

import pytest
import socketio
from engineio import packet as eio_packet
from geventwebsocket.websocket import Header

from synthese.realtime import frames, overrides
from tests.conftest import need, port_open
from tests.ysocket import wait_until


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65_535, 65_536, 600_000])
@pytest.mark.parametrize("kind", [bytes, str])
def test_frame_decodes_as_one_final_unmasked_frame(size, kind):
    payload = b"\x07" * size if kind is bytes else "é" * (size // 2) + "a" * (size % 2)
    stream = io.BytesIO(frames.frame(payload))
    header = Header.decode_header(stream)
    body = payload if kind is bytes else payload.encode("utf-8")
    assert header.fin and not header.mask and not header.flags
    assert header.opcode == (2 if kind is bytes else 1)
    assert header.length == len(body)
    assert stream.read() == body


def test_event_with_binary_data_is_a_text_packet_then_its_attachment():
    server = socketio.Server()
    parts = [p.encode() for p in frames.encode_event(server.packet_class, "sync-update", b"\x01\x02", "/yjs|atelier-7")]
    assert parts == ['451-/yjs|atelier-7,["sync-update",{"_placeholder":true,"num":0}]', b"\x01\x02"]


@pytest.mark.parametrize("event, data, namespace", [
    ("sync-update", b"\x01\x02", "/yjs|atelier-7"),
    ("sync-update", b"", "/yjs|atelier-7"),
    ("sync-update", b"\x00" * 70_000, "/yjs|atelier-12"),
    ("awareness-update", b"\xff", "/yjs|atelier-7"),
    ("sync-update", b"x", "/"),
    ("synthese:saved", 12, "/yjs|atelier-7"),
    ("synthese:saved", 3, "/"),
    ("synthese:saved", -7, "/yjs|atelier-7"),
    ("synthese:saved", 2 ** 60, "/yjs|atelier-7"),
    ("synthese:saved", True, "/yjs|atelier-7"),
    ("synthese:refused", {"reason": "trop \"grand\" é"}, "/yjs|atelier-7"),
    ("sync-update", (b"\x01", 4, 9), "/yjs|atelier-7"),
    ("synthese:removed", None, "/yjs|atelier-7"),
])
def test_event_frames_are_what_python_socketio_would_send(event, data, namespace):
    """The cached head of a binary event (the relay's fast path) and the general path give the same bytes."""
    server = socketio.Server()
    expected = b"".join(frames.frame(p.encode()) for p in frames.encode_event(server.packet_class, event, data, namespace))
    for _ in range(2):  # the second time from the cache
        assert frames.event_frames(server.packet_class, event, data, namespace) == expected


def test_a_number_under_another_json_module_is_encoded_as_python_socketio_does():
    """The cached head of a number assumes the standard library's JSON; another one takes the general path."""

    class SpacedJSON:
        @staticmethod
        def dumps(data, separators=None):
            return json.dumps(data, separators=(", ", ": "))

        loads = staticmethod(json.loads)

    class Spaced(socketio.packet.Packet):
        json = SpacedJSON

    expected = b"".join(frames.frame(p.encode()) for p in frames.encode_event(Spaced, "synthese:saved", 12, "/yjs|atelier-7"))
    assert b'"synthese:saved", 12]' in expected
    assert frames.event_frames(Spaced, "synthese:saved", 12, "/yjs|atelier-7") == expected


def test_frames_travel_as_one_binary_engineio_packet():
    blob = frames.Frames(frames.frame("4x") + frames.frame(b"y"))
    pkt = eio_packet.Packet(eio_packet.MESSAGE, blob)
    # engine.io's writer sends pkt.encode(): the frames themselves, still marked as such.
    assert pkt.encode() is blob and isinstance(pkt.encode(), frames.Frames)


def test_redis_manager_builds_frames_below_the_pubsub_layer():
    """Publishing to Redis stays python-socketio's; the local delivery of what comes back is ours."""
    mro = overrides.FramesRedisManager.__mro__
    assert mro.index(socketio.PubSubManager) < mro.index(overrides.FramesMixin) < mro.index(socketio.Manager)


def manager_with_room(send_frames: bool):
    """A manager on a real server whose engine.io records what it is asked to send."""
    server = socketio.Server()
    server.eio.sent = []
    server.eio.send_packet = lambda eio_sid, pkt: server.eio.sent.append((eio_sid, pkt.encode()))
    server._send_eio_packet = server.eio.send_packet
    manager = overrides.FramesManager()
    manager.set_server(server)
    manager.send_frames = send_frames
    for eio_sid in ("a", "b", "c"):
        manager.connect(eio_sid, "/yjs|atelier-1")
    return server, manager


def test_one_packet_per_recipient_the_same_for_all():
    server, manager = manager_with_room(send_frames=True)
    sids = [sid for sid, _ in manager.get_participants("/yjs|atelier-1", None)]
    manager.emit("sync-update", b"\x05\x06", "/yjs|atelier-1", skip_sid=sids[0])
    assert [eio_sid for eio_sid, _ in server.eio.sent] == ["b", "c"]
    blobs = {blob for _, blob in server.eio.sent}
    assert len(blobs) == 1
    stream = io.BytesIO(blobs.pop())
    first = Header.decode_header(stream)
    assert stream.read(first.length).decode() == '451-/yjs|atelier-1,["sync-update",{"_placeholder":true,"num":0}]'
    second = Header.decode_header(stream)
    assert second.opcode == 2 and stream.read(second.length) == b"\x05\x06"
    assert stream.read() == b""


def test_without_our_websockets_the_manager_sends_as_python_socketio():
    server, manager = manager_with_room(send_frames=False)
    manager.emit("sync-update", b"\x05", "/yjs|atelier-1")
    assert [type(blob) for _, blob in server.eio.sent] == [str, bytes] * 3


def test_pubsub_batches_keep_order_and_group_only_runs_of_emits():
    emit = lambda i: {"method": "emit", "data": [i], "host_id": "h"}  # noqa: E731
    disconnect = {"method": "disconnect", "sid": "s", "host_id": "h"}
    assert frames.batches([emit(1)], "h") == [emit(1)]
    assert frames.batches([emit(1), emit(2), disconnect, emit(3)], "h") == [
        {"method": "emit", "batch": [emit(1), emit(2)], "host_id": "h"}, disconnect, emit(3)]


class Counting:
    """python-socketio's json module, recording what a process decodes."""

    def __init__(self):
        self.decoded = []
        self.dumps = json.dumps

    def loads(self, message):
        self.decoded.append(json.loads(message))
        return self.decoded[-1]


def redis_processes(*rooms_of_each, grace=None):
    """Managers on a real Redis, as processes, each with a socket in its rooms
    (one eio sid per room, named "<process>-<room>"); the engine.io of each
    records the data it is asked to send."""
    need("redis", port_open("127.0.0.1", 6379), "nothing listens on 127.0.0.1:6379")
    channel = f"synthese-test-{uuid.uuid4().hex}"
    servers = []
    for index, rooms in enumerate(rooms_of_each):
        manager = overrides.FramesRedisManager("redis://127.0.0.1:6379/0", channel=channel)
        if grace is not None:
            manager.IDLE_GRACE = grace
        server = socketio.Server(async_mode="threading", client_manager=manager)
        server.eio.sent = []
        server.eio.send_packet = lambda sid, pkt, sent=server.eio.sent: sent.append((sid, pkt.encode()))
        server._send_eio_packet = server.eio.send_packet
        manager.json = Counting()
        manager.initialize()
        wait_until(lambda: manager._listener is not None, message="listening")
        for room in rooms:
            manager.connect(f"{index}-{room}", f"/yjs|{room}")
            manager.listen_to(f"/yjs|{room}")
        servers.append(server)
    return channel, servers


def binaries(server, eio_sid=None):
    return [data for sid, data in server.eio.sent if isinstance(data, bytes) and eio_sid in (None, sid)]


def subscribers(server, channel):
    return server.manager.redis.pubsub_numsub(channel)[0][1]


def test_emits_cross_redis_in_order_and_a_process_delivers_its_own_once():
    """What one process emits in a burst (published in batches) reaches the
    other's sockets in order, and its own sockets once (its own messages
    coming back are skipped before decoding)."""
    channel, (one, two) = redis_processes(["atelier-1"], ["atelier-1"])
    for i in range(50):
        one.emit("sync-update", bytes([i]), namespace="/yjs|atelier-1")
    # Each event is a text packet and its binary attachment.
    wait_until(lambda: len(two.eio.sent) == 100, message="every emit on the other process")
    assert binaries(two) == [bytes([i]) for i in range(50)]
    time.sleep(0.3)  # anything echoed back to the first would have arrived by now
    assert binaries(one) == [bytes([i]) for i in range(50)]
    assert one.manager.json.decoded == []


def test_a_process_hears_only_the_rooms_it_has_sockets_in():
    channel, (one, two) = redis_processes(["atelier-1", "atelier-2"], ["atelier-2"])
    for i in range(20):
        one.emit("sync-update", bytes([i]), namespace=f"/yjs|atelier-{1 + i % 2}")
    wait_until(lambda: len(binaries(two)) == 10, message="atelier-2's emits on the other process")
    time.sleep(0.3)
    assert binaries(two) == [bytes([i]) for i in range(1, 20, 2)]
    decoded = two.manager.json.decoded
    assert decoded and {m["namespace"] for d in decoded for m in d.get("batch") or [d]} == {"/yjs|atelier-2"}


def test_a_room_is_listened_to_once_redis_confirms_it():
    """listen_to returns after the subscription took effect: the connect
    handler reads the database after it, so no relay falls in between."""
    channel, (one, two) = redis_processes(["atelier-1"], [])
    two.manager.connect("1-atelier-1", "/yjs|atelier-1")
    two.manager.listen_to("/yjs|atelier-1")
    # Redis's confirmation came back through the listening connection.
    assert two.manager._rooms[f"{channel}:/yjs|atelier-1"].is_set()
    assert subscribers(two, f"{channel}:/yjs|atelier-1") == 2
    one.emit("sync-update", b"\x09", namespace="/yjs|atelier-1")
    wait_until(lambda: binaries(two) == [b"\x09"], message="the relay that follows")


def test_an_idle_room_is_left_after_its_grace_and_heard_again_when_a_socket_returns():
    channel, (one, two) = redis_processes(["atelier-1"], ["atelier-1"], grace=0.2)
    room = f"{channel}:/yjs|atelier-1"
    sid = two.manager.sid_from_eio_sid("1-atelier-1", "/yjs|atelier-1")
    two.manager.disconnect(sid, "/yjs|atelier-1", ignore_queue=True)
    wait_until(lambda: subscribers(two, room) == 1, message="the idle room left")
    two.manager.connect("1-again", "/yjs|atelier-1")
    two.manager.listen_to("/yjs|atelier-1")
    assert subscribers(two, room) == 2
    one.emit("sync-update", b"\x07", namespace="/yjs|atelier-1")
    wait_until(lambda: binaries(two, "1-again") == [b"\x07"], message="the returning socket served")


def test_a_socket_of_this_process_is_sent_to_without_redis():
    channel, (one, two) = redis_processes(["atelier-1"], ["atelier-1"])
    published = []
    one.manager._publish = published.append
    local = one.manager.sid_from_eio_sid("0-atelier-1", "/yjs|atelier-1")
    remote = two.manager.sid_from_eio_sid("1-atelier-1", "/yjs|atelier-1")
    one.emit("sync-step-1", b"\x01", to=local, namespace="/yjs|atelier-1")
    assert binaries(one) == [b"\x01"] and published == []
    one.emit("synthese:revoked", None, to=remote, namespace="/yjs|atelier-1")
    assert [m["room"] for m in published] == [remote]


def test_a_process_skips_its_own_messages_by_their_header_not_by_their_json():
    """Each message goes out as "<host_id> <method>\\n<json>": its own are
    skipped undecoded, whatever json.dumps' layout, except callbacks, which
    come back to it; other processes' are read as JSON."""
    manager = overrides.FramesRedisManager("redis://127.0.0.1:1/0", channel="synthese-test", write_only=True)
    own = manager._header({"method": "emit"}) + b'{"method": "emit", "host_id": "x"}'
    callback = manager._header({"method": "callback"}) + b'{"method": "callback"}'
    other = b'other-host emit\n{"method": "emit", "host_id": "other-host"}'
    untagged = b'{"method": "emit", "host_id": "old"}'
    manager._redis_listen_with_retries = lambda: iter(
        [{"type": "message", "data": d} for d in (own, callback, other, untagged)])
    assert list(manager._listen()) == [b'{"method": "callback"}', b'{"method": "emit", "host_id": "other-host"}',
                                       untagged]
