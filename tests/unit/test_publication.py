"""Publishing: numbered frozen versions, public reading, unpublishing."""
import pytest

from synthese import publication, tokens
from synthese.documents import Pending, current_store
from synthese.events import DomainError
from tests.conftest import sheet_update
from synthese.access import OPERATOR, asking


def write(atelier, **texts):
    current_store().append([Pending(atelier.id, sheet_update(**texts))])


def test_publish_freezes_versions_while_writing_goes_on(make_atelier):
    atelier, porteur_token, _ = make_atelier(porteur="Karim Benali")
    porteur = tokens.find(porteur_token)
    write(atelier, synthese="Première synthèse.")
    first, new = publication.publish(asking(porteur), atelier)
    assert new and first.number == 1 and first.published_by == "Karim Benali"
    assert first.fields["synthese"] == "Première synthèse." and first.fields["porteur"] == "Karim Benali"
    write(atelier, discussion="Suite de la discussion.")
    assert publication.status(atelier)["edited_since_published"] is True
    second, new = publication.publish(asking(porteur), atelier)
    assert new and second.number == 2
    assert second.fields["discussion"] == "Suite de la discussion."
    # Earlier versions stay as they were.
    assert publication.version(atelier, 1).fields.get("discussion", "") == ""
    assert publication.public_version(atelier).number == 2
    assert publication.public_version(atelier, 1).number == 1


def test_publishing_again_without_an_edit_makes_no_copy(make_atelier):
    atelier, _, _ = make_atelier()
    write(atelier, synthese="Texte.")
    version, _ = publication.publish(OPERATOR, atelier)
    again, new = publication.publish(OPERATOR, atelier)
    assert again.id == version.id and not new
    assert len(atelier.versions) == 1


def test_unpublish_hides_every_version_from_the_public(make_atelier):
    atelier, _, _ = make_atelier()
    write(atelier, synthese="Texte.")
    publication.publish(OPERATOR, atelier)
    publication.unpublish(OPERATOR, atelier)
    assert publication.public_version(atelier) is None
    assert publication.public_version(atelier, 1) is None
    assert publication.version(atelier, 1) is not None  # members still read it
    assert publication.status(atelier)["status"] == "writing"
    # Publishing again without an edit makes version 1 public again.
    version, new = publication.publish(OPERATOR, atelier)
    assert version.number == 1 and not new and publication.public_version(atelier).number == 1


def test_an_empty_sheet_is_not_published(make_atelier):
    atelier, _, _ = make_atelier()
    with pytest.raises(DomainError) as refused:
        publication.publish(OPERATOR, atelier)
    assert refused.value.code == "empty"
    assert atelier.versions == []


def test_status_of_a_sheet(make_atelier):
    atelier, _, _ = make_atelier()
    assert publication.status(atelier)["status"] == "empty"
    write(atelier, question="Q ?")
    assert publication.status(atelier)["status"] == "writing"
    publication.publish(OPERATOR, atelier)
    status = publication.status(atelier)
    assert status["status"] == "published" and status["version"] == 1 and status["public"]
