"""The document store: durable append, gap-free log, catch-up, compaction."""
import threading
import time

import pytest
from pycrdt import Doc, Text
from sqlalchemy import func, select

from synthese.documents import DocumentStore, InvalidUpdate, Pending, check_bytes
from synthese.extensions import db
from synthese.models import SheetDocument, SheetUpdate
from synthese.sheets import fields_from_update
from tests.conftest import sheet_update


class Writer:
    """A client document producing incremental updates."""

    def __init__(self):
        self.doc = Doc()
        self.text = self.doc.get("synthese", type=Text)

    def type(self, chars: str) -> list[bytes]:
        updates = []
        for ch in chars:
            sv = self.doc.get_state()
            self.text += ch
            updates.append(self.doc.get_update(sv))
        return updates


def test_append_gives_gap_free_sequence_numbers(make_atelier):
    atelier, _, _ = make_atelier()
    store = DocumentStore(db.engine)
    writer = Writer()
    first = store.append([Pending(atelier.id, u) for u in writer.type("abc")])
    second = store.append([Pending(atelier.id, u) for u in writer.type("de")])
    assert [a.first_seq for a in first + second] == [1, 4]
    seqs = db.session.execute(select(SheetUpdate.seq).order_by(SheetUpdate.seq)).scalars().all()
    assert seqs == [1, 2, 3, 4, 5]
    assert fields_from_update(store.state(atelier.id))["synthese"] == "abcde"


def test_one_batch_spans_several_sheets(make_atelier):
    one, _, _ = make_atelier()
    two, _, _ = make_atelier(event=one.event, title="Commande publique")
    store = DocumentStore(db.engine)
    appended = store.append(
        [Pending(one.id, sheet_update(question="Q1")), Pending(two.id, sheet_update(question="Q2"))]
    )
    assert {a.atelier_id for a in appended} == {one.id, two.id}
    assert store.fields(one.id)["question"] == "Q1"
    assert store.fields(two.id)["question"] == "Q2"


def test_concurrent_appenders_to_the_same_sheets_keep_gap_free_logs(make_atelier):
    """Two processes' pipelines appending groups that span the same sheets
    at once (PostgreSQL: one statement for all of a group's sheets, their
    heads locked first, in order): no deadlock, no gap, nothing lost."""
    one, _, _ = make_atelier()
    two, _, _ = make_atelier(event=one.event, title="Commande publique")
    writers = {(store, atelier): Writer() for store in (0, 1) for atelier in (one.id, two.id)}
    stores = [DocumentStore(db.engine), DocumentStore(db.engine)]
    errors = []

    def appender(index):
        for _ in range(15):
            batch = [Pending(a, writers[(index, a)].type("x")[0]) for a in (one.id, two.id)[::1 - 2 * index]]
            for attempt in range(50):  # as the pipeline retries (SQLite: busy)
                try:
                    stores[index].append(batch)
                    break
                except Exception as exc:  # noqa: BLE001
                    if stores[index].is_permanent(exc):
                        errors.append(exc)
                        return
                    time.sleep(0.02)
            else:
                errors.append("never appended")

    threads = [threading.Thread(target=appender, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    for atelier in (one.id, two.id):
        seqs = db.session.execute(select(SheetUpdate.seq).where(SheetUpdate.atelier_id == atelier)
                                  .order_by(SheetUpdate.seq)).scalars().all()
        assert seqs == list(range(1, 31))
        assert DocumentStore(db.engine).fields(atelier)["synthese"] == "x" * 30


def test_apply_committed_updates_the_cache_without_reading_back(make_atelier):
    atelier, _, _ = make_atelier()
    store = DocumentStore(db.engine)
    cached = store.sheet(atelier.id)
    store.apply_committed(store.append([Pending(atelier.id, u) for u in Writer().type("xy")]))
    assert (str(cached.doc.get("synthese", type=Text)), cached.seq) == ("xy", 2)


def test_cache_catches_up_with_what_another_process_appended(make_atelier):
    atelier, _, _ = make_atelier()
    mine, theirs = DocumentStore(db.engine), DocumentStore(db.engine)
    writer = Writer()
    cached = mine.sheet(atelier.id)
    theirs.append([Pending(atelier.id, u) for u in writer.type("hello")])
    assert str(cached.doc.get("synthese", type=Text)) == ""
    assert str(mine.sheet(atelier.id).doc.get("synthese", type=Text)) == "hello"


def _after_fold(store, action) -> None:
    """Make ``action`` happen between compaction's read of the log and its write."""
    original_fold = store._fold

    def fold_then_act(conn, atelier_id):
        folded = original_fold(conn, atelier_id)
        action()
        return folded

    store._fold = fold_then_act


def test_compaction_that_lost_a_race_changes_nothing(make_atelier):
    """Two processes compact at once: the second finds the snapshot moved and backs off."""
    atelier, _, _ = make_atelier()
    store, other = DocumentStore(db.engine), DocumentStore(db.engine)
    writer = Writer()
    store.append([Pending(atelier.id, u) for u in writer.type("abcd")])
    compacted_by_other = []

    def other_appends_and_compacts():
        other.append([Pending(atelier.id, u) for u in writer.type("e")])
        compacted_by_other.append(other.compact(atelier.id))

    _after_fold(store, other_appends_and_compacts)
    assert store.compact(atelier.id) == 0
    assert compacted_by_other == [5]
    db.session.expire_all()
    head = db.session.get(SheetDocument, atelier.id)
    assert (head.snapshot_seq, head.head_seq) == (5, 5)
    assert store.fields(atelier.id)["synthese"] == "abcde"


def test_compaction_folds_the_log_and_keeps_the_text(make_atelier):
    atelier, _, _ = make_atelier()
    store = DocumentStore(db.engine)
    writer = Writer()
    store.append([Pending(atelier.id, u) for u in writer.type("Synthèse 😀 partagée")])
    folded = store.compact(atelier.id)
    assert folded == len("Synthèse 😀 partagée")
    assert db.session.execute(select(func.count()).select_from(SheetUpdate)).scalar() == 0
    head = db.session.get(SheetDocument, atelier.id)
    assert (head.snapshot_seq, head.head_seq) == (folded, folded)
    assert store.fields(atelier.id)["synthese"] == "Synthèse 😀 partagée"


def test_compaction_keeps_updates_appended_after_it_read(make_atelier):
    """Another process appends while compaction runs: nothing of it is removed."""
    atelier, _, _ = make_atelier()
    store, other = DocumentStore(db.engine), DocumentStore(db.engine)
    writer = Writer()
    store.append([Pending(atelier.id, u) for u in writer.type("abc")])
    _after_fold(store, lambda: other.append([Pending(atelier.id, u) for u in writer.type("XYZ")]))
    assert store.compact(atelier.id) == 3
    remaining = db.session.execute(select(SheetUpdate.seq).order_by(SheetUpdate.seq)).scalars().all()
    assert remaining == [4, 5, 6]
    assert store.fields(atelier.id)["synthese"] == "abcXYZ"


def test_cache_behind_a_compaction_reloads_from_the_snapshot(make_atelier):
    atelier, _, _ = make_atelier()
    mine, theirs = DocumentStore(db.engine), DocumentStore(db.engine)
    writer = Writer()
    cached = mine.sheet(atelier.id)
    theirs.append([Pending(atelier.id, u) for u in writer.type("abcdef")])
    theirs.compact(atelier.id)
    theirs.append([Pending(atelier.id, u) for u in writer.type("gh")])
    mine.refresh(cached)
    assert str(cached.doc.get("synthese", type=Text)) == "abcdefgh"
    assert cached.seq == 8


def test_updates_for_a_deleted_atelier_are_dropped(make_atelier):
    atelier, _, _ = make_atelier()
    keep, _, _ = make_atelier(event=atelier.event, title="Autre")
    gone_id = atelier.id
    db.session.delete(atelier)
    db.session.commit()
    appended = DocumentStore(db.engine).append([Pending(gone_id, sheet_update(question="x")), Pending(keep.id, sheet_update(question="y"))])
    assert [a.atelier_id for a in appended] == [keep.id]


@pytest.mark.parametrize("data", ["text", None, 42, [1, 2]])
def test_check_bytes_refuses_what_is_not_binary(data):
    with pytest.raises(InvalidUpdate):
        check_bytes(data, 1024)


def test_check_bytes_refuses_oversized_updates():
    update = sheet_update(synthese="x" * 2000)
    with pytest.raises(InvalidUpdate, match="larger"):
        check_bytes(update, 1024)
    assert check_bytes(update, 4096) == update


#: An item whose parent is another item (the honest client 111's first
#: character), not a root text: pycrdt raises when applying it to a sheet
#: holding that text (synthese/yjs.py refuses it before it is stored).
PARENT_IS_AN_ITEM = bytes.fromhex("01019a050004006f00015800")


def _write_as_111(text: str) -> bytes:
    doc = Doc(client_id=111)
    doc.get("synthese", type=Text).insert(0, text)
    return doc.get_update()


def test_a_stored_row_that_does_not_apply_is_skipped_and_the_sheet_stays_readable(make_atelier, caplog):
    """Rows stored before updates were checked against the sheet may break
    it: reads, publication and export must not fail with it, nor compaction."""
    atelier, _, _ = make_atelier(question="")
    store = DocumentStore(db.engine, compact_after=2)
    store.append([Pending(atelier.id, _write_as_111("hello world"))])
    store.append([Pending(atelier.id, PARENT_IS_AN_ITEM)])
    after = Doc(client_id=112)
    after.apply_update(_write_as_111("hello world"))
    sv = after.get_state()
    after.get("synthese", type=Text).insert(11, " !")
    store.append([Pending(atelier.id, after.get_update(sv))])
    assert store.fields(atelier.id)["synthese"] == "hello world !"
    assert "does not apply" in caplog.text
    assert store.sheet(atelier.id).seq == 3
    assert store.compact(atelier.id) == 3
    assert DocumentStore(db.engine).fields(atelier.id)["synthese"] == "hello world !"


def _participant(event):
    from synthese import events

    return events.join(event, event.join_code, "Anna").obj


def test_who_owns_each_client_id_survives_a_compaction(make_atelier):
    atelier, _, _ = make_atelier(question="")
    owner = _participant(atelier.event)
    store = DocumentStore(db.engine, compact_after=1)
    store.append([Pending(atelier.id, _write_as_111("abc"), owner.id, claims=[111])])
    store.compact(atelier.id)
    assert DocumentStore(db.engine).sheet(atelier.id).index.owners == {111: owner.id}


def test_appending_for_a_credential_that_is_gone_is_a_permanent_error(make_atelier):
    atelier, _, _ = make_atelier(question="")
    gone = _participant(atelier.event)
    gone_id = gone.id
    db.session.delete(gone)
    db.session.commit()
    store = DocumentStore(db.engine)
    with pytest.raises(Exception) as err:
        store.append([Pending(atelier.id, _write_as_111("abc"), gone_id)])
    assert store.is_permanent(err.value)
    # Nothing half-done, nothing locked: the next append goes through.
    store.append([Pending(atelier.id, _write_as_111("abc"))])
    assert store.fields(atelier.id)["synthese"] == "abc"
