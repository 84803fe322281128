"""Pieces of the realtime layer that need no live server."""
from synthese.realtime.rooms import NAMESPACE, Realtime, namespace_for


def test_namespace_names_the_atelier():
    assert NAMESPACE.match(namespace_for(42))[1] == "42"
    for bad in ["/yjs|atelier-", "/yjs|atelier-1/x", "/yjs|other-1", "/", "/yjs|atelier-" + "9" * 13]:
        assert NAMESPACE.match(bad) is None


def test_a_rooms_relays_are_paced_by_its_size():
    rt = Realtime(app=None, store=None)
    # A forum's atelier: the floor, which only rooms of 200 updates a second meet.
    rt.room_sizes[1] = 12
    assert rt.relay_every(1) == Realtime.RELAY_EVERY == 0.005
    assert rt.relay_every(2) == Realtime.RELAY_EVERY  # no socket here
    # A plenary: its relays, each a system call per recipient, take a bounded share of a core.
    rt.room_sizes[1] = 200
    assert rt.relay_every(1) == 200 * Realtime.RELAY_PER_SOCKET == 0.01
    rt.room_sizes[1] = 1000
    assert 1000 * 8e-6 / rt.relay_every(1) <= 1 / 6
