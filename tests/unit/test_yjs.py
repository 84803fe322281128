"""What a sheet may hold: Yjs updates read struct by struct (synthese/yjs.py).

Each hostile shape is refused; everything honest Yjs clients send is
accepted; and the differential test checks, against Yjs itself (Node), that
whatever is accepted gives the same text in Yjs as in pycrdt.
"""
import shutil

import pytest
from pycrdt import Doc, Text

from synthese.sheets import SECTION_KEYS
from synthese.yjs import Foreign, InvalidUpdate, SheetIndex, decode, decode_state_vector
from tests.yjs_craft import Item, YjsPeer, gc, run_differential, skip, update, varstring, varuint

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js (Yjs runs in it)")

HONEST = 111


@pytest.fixture
def sheet():
    """A sheet where the honest client 111 wrote "hello world" in Synthèse."""
    doc = Doc(client_id=HONEST)
    doc.get("synthese", type=Text).insert(0, "hello world")
    index = SheetIndex(SECTION_KEYS)
    index.accept(doc.get_update(), owner="honest")
    return index, doc


def refused(index: SheetIndex, data: bytes, owner="attacker") -> str:
    with pytest.raises(InvalidUpdate) as err:
        index.check(data, owner=owner)
    return str(err.value)


def test_the_twelve_bytes_whose_parent_is_an_item_are_refused(sheet):
    index, doc = sheet
    bad = bytes.fromhex("01019a050004006f00015800")
    assert "parent is an item" in refused(index, bad)
    # What pycrdt would have done with them on the real document:
    with pytest.raises(RuntimeError):
        doc.apply_update(bad)


def test_a_struct_past_the_clock_of_an_unknown_client_is_refused(sheet):
    index, _ = sheet
    phishing = update({4242: (2**32 - 1, [Item("http://phish.example", parent="synthese")])})
    assert refused(index, phishing)
    late = update({4242: (5, [Item("x", parent="synthese")])})
    assert "past 0" in refused(index, late)


def test_origins_in_two_texts_are_refused(sheet):
    index, _ = sheet
    doc = Doc(client_id=222)
    doc.get("question", type=Text).insert(0, "Q")
    index.accept(doc.get_update(), owner="other")
    across = update({333: (0, [Item("!", origin=(HONEST, 4), right=(222, 0))])})
    assert "between two texts" in refused(index, across)


@pytest.mark.parametrize("item, reason", [
    (Item("x", parent="autre"), "outside the sheet's texts"),
    (Item("x", parent="synthese", key="k"), "map key"),
    (Item(content=(6, varstring("bold") + varstring("true")), origin=(HONEST, 3)), "not text"),
    (Item(content=(7, varuint(2)), parent="synthese"), "not text"),
    (Item(content=(8, varuint(1) + b"\x77" + varstring("x")), parent="synthese"), "not text"),
    (Item(content=(5, varstring('{"x":1}')), origin=(HONEST, 3)), "not text"),
    (Item("x", origin=(HONEST, 99)), "does not exist"),
    (Item("x", right=(777, 0)), "does not exist"),
    (Item(b"\xff\xfe", parent="synthese"), "UTF-8"),
])
def test_content_that_is_not_text_in_a_root_text_is_refused(sheet, item, reason):
    index, _ = sheet
    assert reason in refused(index, update({333: (0, [item])}))


def test_skips_duplicate_groups_trailing_bytes_and_truncation_are_refused(sheet):
    index, _ = sheet
    assert "skip" in refused(index, update({333: (0, [skip(2)])}))
    one = update({333: (0, [Item("x", parent="synthese")])})
    assert "trailing" in refused(index, one + b"\x00")
    assert "truncated" in refused(index, one[:-3])
    two = bytes.fromhex("02") + one[1:-1] + one[1:]
    assert "two groups" in refused(index, two)


def test_deletions_of_clocks_that_do_not_exist_are_refused(sheet):
    index, _ = sheet
    assert "deletion of unknown" in refused(index, update({}, {HONEST: [(5, 20)]}))
    assert "deletion of unknown" in refused(index, update({}, {9999: [(0, 1)]}))
    # Deleting someone's text is editing: allowed.
    index.check(update({}, {HONEST: [(0, 5)]}), owner="attacker")


def test_writing_under_someone_elses_client_id_is_refused(sheet):
    index, _ = sheet
    # The next clocks of the honest client, sent by someone else: the honest
    # client's real text would then be skipped as known.
    theft = update({HONEST: (11, [Item("!", origin=(HONEST, 10))])})
    assert "belongs to someone else" in refused(index, theft)
    index.check(theft, owner="honest")
    # Sending back what is already known is fine (a relay echoed).
    index.check(update({HONEST: (0, [Item("hello world", parent="synthese")])}), owner="attacker")


def test_someone_elses_structs_are_taken_only_as_far_as_their_owner_vouches(sheet):
    """After a crash lost relays, a copy of someone's lost text is taken up to
    the clock its owner (connected, and answered the server) says it reached."""
    index, _ = sheet
    copy = update({HONEST: (11, [Item("!!", origin=(HONEST, 10))])})
    with pytest.raises(Foreign):
        index.check(copy, owner="attacker", vouched={HONEST: 12})
    with pytest.raises(Foreign):
        index.check(copy, owner="attacker", vouched={4242: 100})
    index.check(copy, owner="attacker", vouched={HONEST: 13})


def test_structs_straddling_known_clocks_are_refused(sheet):
    index, _ = sheet
    # Clocks 5-15 of the honest client, reshaped: known in part.
    reshaped = update({HONEST: (5, [Item("XXXXXXXXXX", origin=(HONEST, 1))])})
    assert "overlapping" in refused(index, reshaped, owner="honest")


def test_an_origin_or_deletion_inside_a_two_unit_character_is_refused():
    index = SheetIndex(SECTION_KEYS)
    doc = Doc(client_id=HONEST)
    doc.get("synthese", type=Text).insert(0, "a😀b")  # clocks: a=0, 😀=1-2, b=3
    index.accept(doc.get_update(), owner="honest")
    assert "inside a character" in refused(index, update({333: (0, [Item("x", origin=(HONEST, 1))])}))
    assert "inside a character" in refused(index, update({333: (0, [Item("x", right=(HONEST, 2))])}))
    assert "half a character" in refused(index, update({}, {HONEST: [(2, 2)]}))
    index.check(update({333: (0, [Item("x", origin=(HONEST, 2), right=(HONEST, 3))])}), owner="o")
    index.check(update({}, {HONEST: [(1, 2)]}), owner="o")


def test_gc_ranges_are_never_origins(sheet):
    index, _ = sheet
    index.accept(update({333: (0, [gc(3)])}), owner="attacker")
    assert "outside" in refused(index, update({333: (3, [Item("x", origin=(333, 1))])}))


def test_the_sheet_has_a_quota_of_structs_and_bytes():
    index = SheetIndex(SECTION_KEYS, max_structs=9, max_size=100)
    # Scattered characters are items of their own (the one at clock 1 types on)...
    chars = [Item("x", parent="synthese")] + [Item("x", origin=(333, 0)) for i in range(9)]
    index.accept(update({333: (0, chars)}), owner="o")
    assert "full" in refused(index, update({333: (10, [Item("y", origin=(333, 0))])}), owner="o")
    # ...typing on extends the item before and costs nothing more.
    index.accept(update({333: (10, [Item("y", origin=(333, 9))])}), owner="o")
    big = SheetIndex(SECTION_KEYS, max_size=100)
    assert "full" in refused(big, update({1: (0, [Item("x" * 101, parent="synthese")])}))


def test_a_stored_document_with_foreign_content_is_indexed_as_far_as_it_goes():
    """Rows written before these checks may hold anything: reading them back
    never raises, and foreign clocks count as known but hold no text."""
    doc = Doc(client_id=5)
    doc.get("synthese", type=Text).insert(0, "abc")
    from pycrdt import Map
    doc.get("autre", type=Map)["k"] = "v"
    index = SheetIndex(SECTION_KEYS)
    index.integrate(doc.get_update())
    assert index.clock(5) == 4
    # Typing after the text is accepted, an origin in the map is not.
    index.check(update({6: (0, [Item("d", origin=(5, 2))])}), owner="o")
    assert refused(index, update({6: (0, [Item("d", origin=(5, 3))])}))


def test_one_update_holds_a_bounded_number_of_structs():
    """pycrdt integrates a chain of one-character items in quadratic time:
    one update of 60,000 took 4.9 s, while the event loop stood still."""
    from synthese.yjs import MAX_UPDATE_STRUCTS

    chain = [Item("x", parent="synthese")] + [Item("x", origin=(5, i)) for i in range(MAX_UPDATE_STRUCTS)]
    assert "more than" in refused(SheetIndex(SECTION_KEYS), update({5: (0, chain)}))


def test_integrating_the_same_update_twice_changes_nothing(sheet):
    index, doc = sheet
    structs = index.structs
    index.integrate(doc.get_update())
    assert index.structs == structs and index.clock(HONEST) == 11


def test_decode_reads_what_yjs_writes(sheet):
    _, doc = sheet
    (struct,) = decode(doc.get_update()).clients[HONEST]
    assert (struct.clock, struct.length, struct.root, struct.size) == (0, 11, "synthese", 11)


@needs_node
def test_honest_yjs_updates_are_all_accepted():
    """Many writers typing, deleting (emoji included) and syncing: nothing refused."""
    peer = YjsPeer()
    try:
        for seed in range(20):
            index = SheetIndex(SECTION_KEYS)
            for data in peer.writers(seed, clients=3, steps=80):
                index.accept(data, owner="writer")
    finally:
        peer.close()


@needs_node
def test_differential_fuzz_pycrdt_and_yjs_agree_on_everything_accepted():
    """Fixed seed here; bench/fuzz_updates.py runs it longer."""
    counts = run_differential(seed=20261201, rounds=150)
    assert counts["accepted"] > counts["honest"] > 1000
    assert counts["refused"] > 1000


def test_state_vectors_are_read_and_malformed_ones_refused():
    doc = Doc(client_id=HONEST)
    doc.get("synthese", type=Text).insert(0, "hello")
    assert decode_state_vector(doc.get_state()) == {HONEST: 5}
    for bad in (b"\x05", varuint(2**20) + b"\x01\x01", doc.get_state() + b"\x00"):
        with pytest.raises(InvalidUpdate):
            decode_state_vector(bad)
