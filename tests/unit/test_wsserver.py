"""Reading client frames: unmasking equals the RFC's byte-by-byte definition."""
import os

import pytest
from geventwebsocket.websocket import Header

from synthese.wsserver import unmask


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
