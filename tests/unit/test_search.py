"""Search across an event's sheets: French-aware, by section, by rights, up to date."""
import pytest

from synthese import access, ateliers, events, publication, search, tokens
from synthese.access import OPERATOR
from synthese.documents import Pending, current_store
from synthese.events import DomainError
from tests.conftest import sheet_update


@pytest.fixture
def forum(make_event):
    event = make_event("Forum", sessions=[{"label": "Session 1"}]).obj
    emergence = ateliers.create_atelier(OPERATOR, event, "Emergence", session="Session 1").obj
    achats = ateliers.create_atelier(OPERATOR, event, "Achats", session="Session 1").obj
    store = current_store()
    store.append([Pending(emergence.id, sheet_update(
        question="Comment associer les élus aux projets d'innovation ?",
        synthese="Les collectivités volontaires testent un service public local avec les habitants.",
        discussion="Vigilance : les données personnelles."))])
    store.append([Pending(achats.id, sheet_update(
        question="La commande publique peut-elle porter l'innovation ?",
        synthese="Un élu référent par marché, des clauses ouvertes."))])
    return event, emergence, achats


def found(event, query, who=OPERATOR, **kw):
    return [(h.atelier.title, h.section) for h in search.search(who, event, query, **kw)]


def test_accents_case_and_plurals_are_folded(forum):
    event, *_ = forum
    assert found(event, "COLLECTIVITE") == [("Emergence", "synthese")]
    assert sorted(found(event, "élu")) == [("Achats", "synthese"), ("Emergence", "question")]
    assert sorted(found(event, "ELUS")) == sorted(found(event, "élu"))
    assert found(event, "donnée personnelle") == [("Emergence", "discussion")]
    assert found(event, "le la les") == []  # stop words alone find nothing
    assert found(event, "licorne") == []


def test_every_word_must_match_and_sections_narrow(forum):
    event, *_ = forum
    assert sorted(found(event, "innovation")) == [("Achats", "question"), ("Emergence", "question")]
    assert found(event, "innovation commande") == [("Achats", "question")]
    assert found(event, "élus", section="question") == [("Emergence", "question")]
    with pytest.raises(DomainError):
        search.search(OPERATOR, event, "élus", section="nulle-part")
    with pytest.raises(DomainError):
        search.search(OPERATOR, event, "x" * 201)


def test_snippets_mark_the_matching_words(forum):
    event, emergence, _ = forum
    hit = next(h for h in search.search(OPERATOR, event, "habitant") if h.atelier.id == emergence.id)
    assert [hit.snippet[a:b] for a, b in hit.highlights] == ["habitants"]
    long = "Au début, rien. " * 40 + "Puis les habitants arrivent. " + "Et la suite. " * 40
    snippet, marks = search.make_snippet(long, {"habit"})
    assert snippet.startswith("…") and snippet.endswith("…") and len(snippet) < 200
    assert [snippet[a:b] for a, b in marks] == ["habitants"]


def test_others_search_the_published_versions_only(forum):
    event, emergence, achats = forum
    publication.publish(OPERATOR, emergence)
    current_store().append([Pending(emergence.id, sheet_update(discussion="Ajout après publication : tiers-lieux."))])
    participant = access.asking(tokens.find(events.join(event, event.join_code, "Anna").token))
    assert found(event, "tiers-lieux") == [("Emergence", "discussion")]  # the organiser: live
    assert found(event, "tiers-lieux", who=participant) == []
    assert found(event, "tiers-lieux", who=access.PUBLIC_ASKING) == []
    assert found(event, "commande", who=access.PUBLIC_ASKING) == []  # Achats is not published
    assert found(event, "collectivités", who=access.PUBLIC_ASKING) == [("Emergence", "synthese")]
    publication.unpublish(OPERATOR, emergence)
    assert found(event, "collectivités", who=access.PUBLIC_ASKING) == []


def test_the_index_follows_the_sheets(forum):
    event, emergence, _ = forum
    assert found(event, "tiers-lieux") == []
    current_store().append([Pending(emergence.id, sheet_update(synthese=" Et des tiers-lieux."))])
    assert ("Emergence", "synthese") in found(event, "tiers-lieux")
    assert search.refresh(event, search.DRAFT) == 0  # nothing moved since
    ateliers.delete_atelier(OPERATOR, emergence)
    assert found(event, "tiers-lieux") == []
