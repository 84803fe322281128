"""Broadcast frames: built as python-socketio and gevent-websocket would send them, once per room."""
import io
import json
import time
import uuid

import pytest
import socketio
from engineio import packet as eio_packet
from geventwebsocket.websocket import Header

from synthese import broadcast
from tests.conftest import need, port_open
from tests.ysocket import wait_until


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65_535, 65_536, 600_000])
@pytest.mark.parametrize("kind", [bytes, str])
def test_frame_decodes_as_one_final_unmasked_frame(size, kind):
    payload = b"\x07" * size if kind is bytes else "é" * (size // 2) + "a" * (size % 2)
    stream = io.BytesIO(broadcast.frame(payload))
    header = Header.decode_header(stream)
    body = payload if kind is bytes else payload.encode("utf-8")
    assert header.fin and not header.mask and not header.flags
    assert header.opcode == (2 if kind is bytes else 1)
    assert header.length == len(body)
    assert stream.read() == body


def test_event_with_binary_data_is_a_text_packet_then_its_attachment():
    server = socketio.Server()
    parts = [p.encode() for p in broadcast.encode_event(server, "sync-update", b"\x01\x02", "/yjs|atelier-7")]
    assert parts == ['451-/yjs|atelier-7,["sync-update",{"_placeholder":true,"num":0}]', b"\x01\x02"]


def test_frames_travel_as_one_binary_engineio_packet():
    blob = broadcast.Frames(broadcast.frame("4x") + broadcast.frame(b"y"))
    pkt = eio_packet.Packet(eio_packet.MESSAGE, blob)
    # engine.io's writer sends pkt.encode(): the frames themselves, still marked as such.
    assert pkt.encode() is blob and isinstance(pkt.encode(), broadcast.Frames)


def test_redis_manager_builds_frames_below_the_pubsub_layer():
    """Publishing to Redis stays python-socketio's; the local delivery of what comes back is ours."""
    mro = broadcast.FramesRedisManager.__mro__
    assert mro.index(socketio.PubSubManager) < mro.index(broadcast.FramesMixin) < mro.index(socketio.Manager)


def manager_with_room(send_frames: bool):
    """A manager on a real server whose engine.io records what it is asked to send."""
    server = socketio.Server()
    server.eio.sent = []
    server.eio.send_packet = lambda eio_sid, pkt: server.eio.sent.append((eio_sid, pkt.encode()))
    server._send_eio_packet = server.eio.send_packet
    manager = broadcast.FramesManager()
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
    assert broadcast.batches([emit(1)], "h") == [emit(1)]
    assert broadcast.batches([emit(1), emit(2), disconnect, emit(3)], "h") == [
        {"method": "emit", "batch": [emit(1), emit(2)], "host_id": "h"}, disconnect, emit(3)]


def test_emits_cross_redis_in_order_and_a_process_delivers_its_own_once():
    """Two managers on one channel of a real Redis, as two processes: what one
    emits in a burst (published in batches) reaches the other's sockets in
    order, and its own sockets once (its own messages coming back are skipped)."""
    need("redis", port_open("127.0.0.1", 6379), "nothing listens on 127.0.0.1:6379")
    channel = f"synthese-test-{uuid.uuid4().hex}"
    servers = []
    for eio_sid in ("on-one", "on-two"):
        manager = broadcast.FramesRedisManager("redis://127.0.0.1:6379/0", channel=channel)
        server = socketio.Server(async_mode="threading", client_manager=manager)
        server.eio.sent = []
        server.eio.send_packet = lambda sid, pkt, sent=server.eio.sent: sent.append(pkt.encode())
        server._send_eio_packet = server.eio.send_packet
        manager.initialize()
        manager.connect(eio_sid, "/yjs|atelier-1")
        servers.append(server)
    one, two = servers
    decoded = []

    class Json:  # python-socketio's json module, counting what the first process decodes
        dumps = staticmethod(json.dumps)

        @staticmethod
        def loads(message):
            decoded.append(message)
            return json.loads(message)

    one.manager.json = Json
    wait_until(lambda: one.manager.redis.pubsub_numsub(channel)[0][1] == 2, message="both subscribed")
    for i in range(50):
        one.emit("sync-update", bytes([i]), namespace="/yjs|atelier-1")
    # Each event is a text packet and its binary attachment.
    wait_until(lambda: len(two.eio.sent) == 100, message="every emit on the other process")
    assert [data for data in two.eio.sent if isinstance(data, bytes)] == [bytes([i]) for i in range(50)]
    time.sleep(0.3)  # anything echoed back to the first would have arrived by now
    assert [data for data in one.eio.sent if isinstance(data, bytes)] == [bytes([i]) for i in range(50)]
    assert decoded == []  # its own messages were skipped before decoding
