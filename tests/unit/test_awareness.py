"""Awareness messages and the presence of each room."""
import pytest

from synthese.awareness import Entry, InvalidAwareness, Presence, decode, encode

ANNA = '{"user":{"name":"Anna Szeremeta","color":"#1f6feb"},"section":"synthese"}'


def test_round_trip_keeps_the_state_text():
    entries = [Entry(1, 3, ANNA), Entry(2**40, 1, "null"), Entry(7, 0, '{"user":{"name":"Cécile 😀"}}')]
    assert decode(encode(entries), 10_000) == entries


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x01",
        encode([Entry(1, 1, ANNA)])[:-1],
        encode([Entry(1, 1, ANNA)]) + b"\x00",
        encode([Entry(1, 1, "{oops")]),
        encode([Entry(1, 1, '"a string"')]),
        b"\xff" * 12,
        "not bytes",
    ],
)
def test_malformed_updates_are_refused(data):
    with pytest.raises(InvalidAwareness):
        decode(data, 10_000)


def test_size_cap():
    with pytest.raises(InvalidAwareness, match="larger"):
        decode(encode([Entry(1, 1, ANNA)]), 20)


def test_newcomers_get_everyone_present_and_leavers_are_removed():
    presence = Presence()
    presence.apply("room", "sid-a", [Entry(1, 1, ANNA)])
    presence.apply("room", "sid-b", [Entry(2, 4, '{"user":{"name":"Cécile"}}')])
    assert {e.client_id for e in presence.snapshot("room")} == {1, 2}
    assert presence.leave("room", "sid-a") == [Entry(1, 2, "null")]
    assert [e.client_id for e in presence.snapshot("room")] == [2]


def test_a_socket_cannot_speak_for_a_client_id_it_does_not_own():
    presence = Presence()
    presence.apply("room", "sid-a", [Entry(1, 1, ANNA)])
    with pytest.raises(InvalidAwareness):
        presence.apply("room", "sid-b", [Entry(1, 9, "null")])
    assert presence.snapshot("room") == [Entry(1, 1, ANNA)]


def test_a_socket_owns_a_bounded_number_of_client_ids():
    presence = Presence()
    with pytest.raises(InvalidAwareness):
        presence.apply("room", "sid-a", [Entry(i, 1, "{}") for i in range(Presence.MAX_CLIENTS_PER_SOCKET + 1)])


def test_stale_updates_are_not_relayed():
    presence = Presence()
    presence.apply("room", "sid-a", [Entry(1, 5, ANNA)])
    assert presence.apply("room", "sid-a", [Entry(1, 4, "{}")]) == []
    assert presence.snapshot("room") == [Entry(1, 5, ANNA)]
