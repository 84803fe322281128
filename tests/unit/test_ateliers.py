"""Ateliers: creation with a seeded sheet, open-space proposals, edit, merge, removal."""
import pytest

from synthese import ateliers, events, publication, tokens
from synthese.documents import Pending, current_store
from synthese.events import DomainError
from synthese.extensions import db
from tests.conftest import sheet_update
from synthese.access import OPERATOR, asking


def test_announced_question_and_porteur_start_the_sheet(make_event):
    event = make_event().obj
    created = ateliers.create_atelier(OPERATOR, event, "Emergence", porteur="Sophie", question="Comment faire ?")
    fields = current_store().fields(created.obj.id)
    assert fields["question"] == "Comment faire ?" and fields["porteur"] == "Sophie"
    assert publication.status(created.obj)["status"] == "empty"  # a seed is no edit


def test_proposals_need_open_space_and_make_the_proposer_porteur(make_event):
    event = make_event(sessions=[{"label": "Session 1"}]).obj
    anna = events.join(event, event.join_code, "Anna", "Ville de Lyon").obj
    with pytest.raises(DomainError) as closed:
        ateliers.propose(asking(anna), event, "Tiers-lieux", "Comment ?", "Session 1")
    assert closed.value.code == "closed"
    events.update_event(OPERATOR, event, open_space=True)
    with pytest.raises(DomainError):
        ateliers.propose(asking(anna), event, "Tiers-lieux", "Comment ?", "Session inconnue")
    created = ateliers.propose(asking(anna), event, "Tiers-lieux", "Comment ouvrir nos lieux ?", "Session 1")
    atelier = created.obj
    assert atelier.proposed and atelier.porteur_name == "Anna, Ville de Lyon"
    assert tokens.find(created.token).role == "porteur" and created.credential.atelier_id == atelier.id
    assert current_store().fields(atelier.id)["question"] == "Comment ouvrir nos lieux ?"


def test_update_changes_the_programme_not_the_sheet(make_atelier):
    atelier, _, _ = make_atelier(porteur="Sophie")
    ateliers.update_atelier(OPERATOR, atelier, title="Nouveau titre", session="Session 9", number=7,
                            porteur="Karim")
    assert events.full_title(atelier) == "Atelier 7 - Nouveau titre - Session 9"
    assert current_store().fields(atelier.id)["porteur"] == "Sophie"
    with pytest.raises(DomainError):
        ateliers.update_atelier(OPERATOR, atelier, title=" ")
    with pytest.raises(DomainError):
        ateliers.update_atelier(OPERATOR, atelier, colour="red")


def test_a_porteur_chooses_among_the_sessions_and_adds_none(make_atelier):
    """A porteur PATCHing its atelier created sessions in the event's programme."""
    atelier, token, _ = make_atelier(session="Session 1")
    porteur = tokens.find(token)
    labels = lambda: sorted(s.label for s in atelier.event.sessions)  # noqa: E731
    before = labels()
    with pytest.raises(DomainError):
        ateliers.update_atelier(asking(porteur), atelier, session="Session pirate")
    db.session.rollback()
    assert labels() == before
    ateliers.create_atelier(OPERATOR, atelier.event, "Autre", session="Session 2")
    ateliers.update_atelier(asking(porteur), atelier, session="Session 2")
    assert atelier.session.label == "Session 2"


def test_merge_appends_text_and_moves_porteurs(make_event):
    event = make_event().obj
    target = ateliers.create_atelier(OPERATOR, event, "Tiers-lieux", porteur="Sophie").obj
    source = ateliers.create_atelier(OPERATOR, event, "Lieux ouverts", porteur="Karim")
    store = current_store()
    store.append([Pending(target.id, sheet_update(synthese="Synthèse A", participants="Anna\nCécile\n")),
                  Pending(source.obj.id, sheet_update(synthese="Synthèse B", participants="Cécile\nJérémy"))])
    ateliers.merge_ateliers(OPERATOR, source.obj, target.id)
    fields = store.fields(target.id)
    assert fields["synthese"] == "Synthèse A\n\nSynthèse B"
    assert fields["participants"] == "Anna\nCécile\nJérémy"
    assert fields["porteur"] == "Sophie\n\nKarim"
    assert target.porteur_name == "Sophie, Karim"
    assert tokens.find(source.token).atelier_id == target.id


def test_published_sheets_are_neither_merged_away_nor_removed(make_event):
    event = make_event().obj
    kept = ateliers.create_atelier(OPERATOR, event, "A").obj
    published = ateliers.create_atelier(OPERATOR, event, "B").obj
    current_store().append([Pending(published.id, sheet_update(synthese="Texte"))])
    publication.publish(OPERATOR, published)
    for call in (lambda: ateliers.merge_ateliers(OPERATOR, published, kept.id), lambda: ateliers.delete_atelier(OPERATOR, published)):
        with pytest.raises(DomainError) as refused:
            call()
        assert refused.value.code == "published"
    publication.unpublish(OPERATOR, published)
    assert ateliers.delete_atelier(OPERATOR, published)
    assert [a.title for a in event.ateliers] == ["A"]
