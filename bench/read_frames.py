"""CPU of reading client WebSocket frames (synthese.realtime.overrides.WebSocket.read_message).

    .venv/bin/python bench/read_frames.py

Each message is what the stock client sends for an edit: a Socket.IO text
head and a 40-byte binary attachment, masked, read from a buffered stream.
"""
import io
import timeit

from synthese.realtime import overrides

MASK = b"\x11\x22\x33\x44"


def client_frame(opcode: int, payload: bytes) -> bytes:
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + MASK + bytes(b ^ MASK[i % 4] for i, b in enumerate(payload))


def main(count: int = 20_000):
    edit = client_frame(1, b'451-/yjs|atelier-17,["sync-update",{"_placeholder":true,"num":0}]') + client_frame(2, b"x" * 40)
    data = edit * count

    class Stream:
        write = None

    def run():
        stream = Stream()
        stream.read = io.BufferedReader(io.BytesIO(data)).read
        ws = overrides.WebSocket({}, stream, None)
        for _ in range(2 * count):
            ws.read_message()

    for _ in range(3):
        print(f"{min(timeit.repeat(run, number=1, repeat=3)) / (2 * count) * 1e6:.2f} µs per frame")


if __name__ == "__main__":
    main()
