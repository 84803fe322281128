"""History and restore: earlier states come back as a new edit, never a rewrite."""
import pytest
from pycrdt import Doc, Text

from synthese import history, publication
from synthese.documents import DocumentStore, Pending, current_store
from synthese.events import DomainError
from synthese.extensions import db
from synthese.sheets import read_fields
from tests.conftest import sheet_update
from synthese.access import OPERATOR


def test_compaction_keeps_the_state_it_folds(make_atelier):
    atelier, _, _ = make_atelier()
    store = DocumentStore(db.engine, compact_after=3)
    doc = Doc()
    text = doc.get("synthese", type=Text)
    updates = []
    doc.observe(lambda e: updates.append(e.update))
    for word in ["Premier", " deuxième", " troisième", " quatrième"]:
        text += word
    store.append([Pending(atelier.id, u) for u in updates[:2]])
    store.compact(atelier.id)
    store.append([Pending(atelier.id, u) for u in updates[2:]])
    store.compact(atelier.id)
    points = history.points(atelier)
    assert [p["kind"] for p in points] == ["history", "history"]
    assert [history.fields_at(atelier, "history", p["id"])["synthese"] for p in points] == [
        "Premier deuxième", "Premier deuxième troisième quatrième"]


def test_restore_is_an_edit_that_connected_copies_merge(make_atelier):
    atelier, _, _ = make_atelier()
    store = current_store()
    store.append([Pending(atelier.id, sheet_update(synthese="Texte publié é😀."))])
    publication.publish(OPERATOR, atelier)
    client = Doc()
    client.apply_update(store.state(atelier.id))
    typed = client.get("synthese", type=Text)
    typed += " Ajout à retirer."
    store.append([Pending(atelier.id, client.get_update(Doc().get_state()))])
    # Someone keeps typing at the start while the porteur restores version 1.
    before = client.get_state()
    typed.insert(0, "[en direct] ")
    concurrent = client.get_update(before)
    edit = history.restore(OPERATOR, atelier, "version", 1)
    store.append([Pending(atelier.id, concurrent)])
    client.apply_update(edit)
    assert read_fields(client)["synthese"] == "[en direct] Texte publié é😀."
    assert store.fields(atelier.id)["synthese"] == "[en direct] Texte publié é😀."
    # Restoring again changes nothing but that live typing stays.
    assert history.restore(OPERATOR, atelier, "version", 1) != b""
    assert store.fields(atelier.id)["synthese"] == "Texte publié é😀."
    assert history.restore(OPERATOR, atelier, "version", 1) == b""
    with pytest.raises(DomainError):
        history.restore(OPERATOR, atelier, "version", 9)
