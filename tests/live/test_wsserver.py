"""The WebSocket server (synthese.wsserver) with raw frames: limits, fragments, transports."""
import json
import os
import socket
import struct

import requests
import websocket
from pycrdt import Doc, Text

from synthese.config import MAX_UPDATE_BYTES

from tests.ysocket import YClient, wait_until


def engineio_socket(live):
    ws = websocket.create_connection(live.base_url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket",
                                     timeout=5)
    assert ws.recv().startswith("0{")  # Engine.IO open
    return ws


def join_room(ws, room, token):
    ns = f"/yjs|atelier-{room['id']}"
    ws.send(f"40{ns},{json.dumps({'token': token})}")
    # The server's sync step 1 (a text packet and its binary attachment) may come first.
    while not str(ws.recv()).startswith(f"40{ns},"):
        pass
    return ns


def close_code(ws) -> int:
    """The status code of the close frame the server sent (without answering it)."""
    frame = ws.recv_frame()
    assert frame.opcode == websocket.ABNF.OPCODE_CLOSE, frame
    return struct.unpack("!H", frame.data[:2])[0]


def masked_header(opcode: int, length: int, fin: bool = True) -> bytes:
    """The header of a client frame announcing ``length`` bytes (the mask key included)."""
    first = (0x80 if fin else 0) | opcode
    if length < 126:
        head = struct.pack("!BB", first, 0x80 | length)
    elif length < 1 << 16:
        head = struct.pack("!BBH", first, 0x80 | 126, length)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, length)
    return head + os.urandom(4)


def test_message_over_the_limit_is_refused_before_it_is_read(live):
    """A frame announcing more than the limit closes with 1009; its payload is never awaited."""
    ws = engineio_socket(live)
    ws.sock.sendall(masked_header(0x2, 50 * 1024 * 1024))  # 50 MiB announced, none sent
    assert close_code(ws) == 1009
    ws.close()
    # The server is still there for everyone else.
    room = live.new_atelier()
    client = YClient(live.base_url, room["id"], room["participant"]).connect()
    client.append("question", "Encore là ?")
    client.wait_saved()
    client.disconnect()


def test_fragments_over_the_limit_are_refused(live):
    """The limit holds for a message sent in many small frames too."""
    ws = engineio_socket(live)
    limit = 2 * MAX_UPDATE_BYTES  # the server's message limit (realtime.init_app)
    chunk = b"\x00" * 60_000
    for i in range(limit // len(chunk) + 2):
        frame = websocket.ABNF.create_frame(chunk, websocket.ABNF.OPCODE_BINARY if i == 0 else websocket.ABNF.OPCODE_CONT,
                                            fin=0)
        try:
            ws.send_frame(frame)
        except (BrokenPipeError, ConnectionResetError, websocket.WebSocketConnectionClosedException):
            break
    assert close_code(ws) == 1009


def test_update_sent_in_fragments_is_stored(live):
    room = live.new_atelier()
    doc = Doc()
    text = doc.get("synthese", type=Text)
    text += "Envoyé en trois morceaux, avec des accents : é, è, ç. " * 200
    update = doc.get_update()
    ws = engineio_socket(live)
    ns = join_room(ws, room, room["participant"])
    ws.send(f'451-{ns},["sync-update",{{"_placeholder":true,"num":0}}]')
    third = len(update) // 3
    parts = [update[:third], update[third:2 * third], update[2 * third:]]
    for i, part in enumerate(parts):
        ws.send_frame(websocket.ABNF.create_frame(
            part, websocket.ABNF.OPCODE_BINARY if i == 0 else websocket.ABNF.OPCODE_CONT, fin=int(i == 2)))
    wait_until(lambda: live.get(f"/api/ateliers/{room['id']}", token=room["organiser"]).json()["fields"]["synthese"]
               == str(text), message="fragmented update stored")
    ws.close()


def test_invalid_utf8_text_closes_with_1007(live):
    ws = engineio_socket(live)
    ws.sock.sendall(masked_header(0x1, 4)[:-4] + b"\x00\x00\x00\x00" + b"4\xff\xfe\xfd")
    assert close_code(ws) == 1007


def test_long_polling_is_refused(live):
    """The realtime client speaks WebSocket only; polling would need sticky sessions."""
    response = requests.get(live.base_url + "/socket.io/?EIO=4&transport=polling", timeout=5)
    assert response.status_code == 400


def test_a_peer_that_stops_reading_holds_up_nobody_and_then_gets_everything_in_order(live):
    """Relays go out at once to idle sockets (wsserver.write_now); to a peer
    whose buffers are full they queue instead. Megabytes relayed to a peer
    that reads nothing: the other peers keep up meanwhile, and once it reads,
    it gets every relay, whole and in order."""
    room = live.new_atelier()
    slow = websocket.create_connection(live.base_url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket",
                                       timeout=30, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
    assert slow.recv().startswith("0{")
    ns = join_room(slow, room, room["participant"])
    writer = YClient(live.base_url, room["id"], room["porteur"], "writer").connect()
    reader = YClient(live.base_url, room["id"], room["participant"], "reader").connect()
    chunk = "Éléments importants de la discussion, repris en séance. " * 350  # about 20 KB
    for i in range(150):
        writer.append("discussion", f"<{i}>{chunk}")
    expected = writer.text("discussion")
    wait_until(lambda: reader.text("discussion") == expected, timeout=30, message="the reading peer kept up")

    doc = Doc()
    text = doc.get("discussion", type=Text)
    relay_follows = False
    while str(text) != expected:
        message = slow.recv()
        if isinstance(message, bytes):
            if relay_follows:
                doc.apply_update(message)
            relay_follows = False
        elif message == "2":
            slow.send("3")  # Engine.IO ping
        else:
            relay_follows = message.startswith(f'451-{ns},["sync-update"')
    markers = [int(part.split(">")[0]) for part in str(text).split("<")[1:]]
    assert markers == list(range(150))
    slow.close()
    writer.disconnect()
    reader.disconnect()
