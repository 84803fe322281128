"""Awareness messages and the presence of each room."""
import pytest

from synthese.realtime.awareness import Entry, InvalidAwareness, Presence, decode, encode

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
        presence.apply("room", "sid-b", [Entry(1, 9, '{"user":{"name":"Imposteur"}}')])
    # A removal of someone else's client ID is ignored: not relayed.
    assert presence.apply("room", "sid-b", [Entry(1, 9, "null")]) == []
    assert presence.snapshot("room") == [Entry(1, 1, ANNA)]


def test_echoes_of_a_removal_do_not_take_the_client_id_of_someone_coming_back():
    """The stock clients send back every removal they receive; the person who
    dropped off must get their client ID back, and be seen by everyone."""
    presence = Presence()
    presence.apply("room", "anna-1", [Entry(1, 3, ANNA)])
    presence.apply("room", "bob", [Entry(2, 1, '{"user":{"name":"Bob"}}')])
    (removal,) = presence.leave("room", "anna-1")
    assert removal == Entry(1, 4, "null")
    # Bob's client echoes it.
    assert presence.apply("room", "bob", [removal]) == []
    for blip in range(3):
        # Anna is back with the clock she had: shifted past her removal,
        # which everyone's client holds, or they would ignore her.
        (back,) = presence.apply("room", f"anna-{blip + 2}", [Entry(1, 3, ANNA)])
        assert back.clock > removal.clock
        (moved,) = presence.apply("room", f"anna-{blip + 2}", [Entry(1, 4, ANNA)])
        assert moved.clock == back.clock + 1
        (removal,) = presence.leave("room", f"anna-{blip + 2}")
        assert removal.clock == moved.clock + 1
        assert presence.apply("room", "bob", [removal]) == []


@pytest.mark.parametrize("state", [
    '{"user":{"name":"Anna","color":"red; position: fixed; inset: 0; background: url(x)"}}',
    '{"user":{"name":"Anna","colorLight":"#fff\\"}}',
    '{"user":{"name":"' + "A" * 201 + '"}}',
    '{"user":{"name":"Anna\\nMarie"}}',
    '{"user":{"name":12}}',
    '{"user":"Anna"}',
    '{"html":"<img src=x onerror=alert(1)>"}',
    '{"cursor":{"anchor":{},"style":"x"}}',
    '[1, 2]',
])
def test_presence_fields_that_are_not_what_a_sheet_page_sends_are_refused(state):
    with pytest.raises(InvalidAwareness):
        decode(encode([Entry(7, 1, state)]), 4096)


def test_what_a_sheet_page_sends_is_accepted():
    state = ('{"user":{"name":"Amélie (CNFPT)","color":"#1f77b4","colorLight":"#1f77b433"},'
             '"section":"synthese","cursor":{"anchor":{"type":{"client":1,"clock":2},"tname":null,'
             '"item":{"client":1,"clock":4},"assoc":0},"head":{"type":null,"tname":"synthese","item":null,"assoc":0}}}')
    (entry,) = decode(encode([Entry(7, 1, state)]), 4096)
    assert entry.state == state


def test_a_socket_owns_a_bounded_number_of_client_ids():
    presence = Presence()
    with pytest.raises(InvalidAwareness):
        presence.apply("room", "sid-a", [Entry(i, 1, "{}") for i in range(Presence.MAX_CLIENTS_PER_SOCKET + 1)])


def test_stale_updates_are_not_relayed():
    presence = Presence()
    presence.apply("room", "sid-a", [Entry(1, 5, ANNA)])
    assert presence.apply("room", "sid-a", [Entry(1, 4, "{}")]) == []
    assert presence.snapshot("room") == [Entry(1, 5, ANNA)]


def test_a_new_socket_of_the_same_person_takes_over_their_client_id():
    """After a blip the old socket may not be known dead yet: the person's
    new socket takes their client ID over, and the old one's end removes
    nothing. Someone else still cannot take it."""
    presence = Presence()
    presence.apply("room", "old", [Entry(1, 3, ANNA)], who=7)
    assert presence.apply("room", "new", [Entry(1, 3, ANNA)], who=7) == [Entry(1, 3, ANNA)]
    with pytest.raises(InvalidAwareness):
        presence.apply("room", "mallory", [Entry(1, 9, ANNA)], who=8)
    assert presence.leave("room", "old") == []
    assert presence.snapshot("room") == [Entry(1, 3, ANNA)]
    assert presence.leave("room", "new") == [Entry(1, 4, "null")]


def test_echoes_from_another_tab_of_the_same_person_take_nothing_over():
    """Every stock client sends back the states it receives: a second tab of
    the same person echoing the first one's must not take its client ID."""
    presence = Presence()
    presence.apply("room", "tab-1", [Entry(1, 3, ANNA)], who=7)
    presence.apply("room", "tab-2", [Entry(2, 1, ANNA)], who=7)
    with pytest.raises(InvalidAwareness):
        presence.apply("room", "tab-2", [Entry(1, 3, ANNA)], who=7)
    assert presence.leave("room", "tab-1") == [Entry(1, 4, "null")]
