"""Every action against every role, in process: the actions themselves
refuse whoever may not, so every door (API, pages, command line) is covered
by construction. The HTTP and socket matrices check the doors on top."""
import inspect

import pytest

from synthese import (access, ateliers, events, exporting, history, importing, members, photos, publication,
                      search, tokens)
from synthese.access import OPERATOR, Denied
from synthese.documents import Pending, current_store
from tests.conftest import sheet_update

ROLES = ["organiser", "porteur", "participant", "public", "outsider"]
ROLE_OF = {"organiser": access.ORGANISER, "porteur": access.PORTEUR, "participant": access.PARTICIPANT,
           "public": access.PUBLIC, "outsider": access.PUBLIC}
MODULES = (events, ateliers, publication, history, members, importing, exporting, search, photos)

SHEET_MD = "# Atelier 9 - Importé\n\n## Question\n\nQ ?\n"


def _photo() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (250, 220, 40)).save(out, "JPEG")
    return out.getvalue()


PHOTO = _photo()


@pytest.fixture
def world(make_atelier):
    """An open-space event, a written and published atelier, a spare one, and a credential per role."""
    atelier, porteur_token, organiser_token = make_atelier(session="Session 1", porteur="Sophie")
    event = atelier.event
    events.update_event(OPERATOR, event, open_space=True)
    spare = ateliers.create_atelier(OPERATOR, event, "Spare").obj
    current_store().append([Pending(atelier.id, sheet_update(synthese="Une synthèse."))])
    publication.publish(OPERATOR, atelier)
    bystander = events.join(event, event.join_code, "Basile").obj
    outsider = events.create_event(OPERATOR, "Autre forum").credential
    found = {"organiser": tokens.find(organiser_token), "porteur": tokens.find(porteur_token),
             "participant": events.join(event, event.join_code, "Anna").obj, "public": None, "outsider": outsider}
    return {"event": event, "atelier": atelier, "spare": spare, "bystander": bystander,
            "asking": {role: access.asking(c) if c else access.PUBLIC_ASKING for role, c in found.items()}}


#: action -> (the permission it needs, how to call it as ``who`` in ``w``).
ACTIONS = {
    "events.update_event": ("event.manage", lambda who, w: events.update_event(who, w["event"], place="Salle 2")),
    "events.change_join_code": ("event.manage", lambda who, w: events.change_join_code(who, w["event"])),
    "events.add_session": ("event.manage", lambda who, w: events.add_session(who, w["event"], "Session 9")),
    "ateliers.create_atelier": ("atelier.create", lambda who, w: ateliers.create_atelier(who, w["event"], "Neuf")),
    "ateliers.propose": ("atelier.propose", lambda who, w: ateliers.propose(who, w["event"], "Idée", "Et si ?")),
    "ateliers.update_atelier": ("atelier.edit",
                                lambda who, w: ateliers.update_atelier(who, w["atelier"], place="Salle 3")),
    "ateliers.new_porteur_link": ("event.manage", lambda who, w: ateliers.new_porteur_link(who, w["atelier"])),
    "ateliers.delete_atelier": ("atelier.remove", lambda who, w: ateliers.delete_atelier(who, w["spare"])),
    "ateliers.merge_ateliers": ("atelier.merge",
                                lambda who, w: ateliers.merge_ateliers(who, w["spare"], w["atelier"].id)),
    "publication.publish": ("sheet.publish", lambda who, w: publication.publish(who, w["atelier"])),
    "publication.unpublish": ("sheet.unpublish", lambda who, w: publication.unpublish(who, w["atelier"])),
    "history.restore": ("sheet.restore", lambda who, w: history.restore(who, w["atelier"], "version", 1)),
    "members.revoke": ("event.members", lambda who, w: members.revoke(who, w["event"], w["bystander"].id)),
    "members.new_organiser_link": ("event.members", lambda who, w: members.new_organiser_link(who, w["event"])),
    "importing.import_markdown": ("event.import",
                                  lambda who, w: importing.import_markdown(who, w["event"], SHEET_MD)),
    "importing.import_zip": ("event.import", lambda who, w: importing.import_zip(who, w["event"], b"not a zip")),
    "exporting.event_document": ("event.export", lambda who, w: exporting.event_document(who, w["event"])),
    "exporting.event_proceedings": ("event.export",
                                    lambda who, w: exporting.event_proceedings(who, w["event"], "docx")),
    "exporting.event_zip": ("event.export", lambda who, w: exporting.event_zip(who, w["event"])),
    "exporting.event_themes": ("event.export", lambda who, w: exporting.event_themes(who, w["event"])),
    "photos.add_photo": ("sheet.write", lambda who, w: photos.add_photo(who, w["atelier"], PHOTO)),
    # A photo someone else took (here, the operator): only whoever may publish deletes it.
    "photos.delete_photo": ("sheet.publish", lambda who, w: photos.delete_photo(
        who, photos.add_photo(OPERATOR, w["atelier"], PHOTO))),
}


#: Actions no role gates, and what does.
NOT_BY_ROLE = {"events.create_event": "anyone, or whoever gives the creation key (SYNTHESE_EVENT_CREATION)",
               "search.search": "anyone; the organiser searches the live sheets (event.search_drafts), anyone "
                                "else the published versions (tests/unit/test_search.py)",
               "photos.may_see": "a question, not an action: members see every photo, anyone else those of a "
                                 "public sheet's versions (tests/unit/test_photos.py)"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_each_action_refuses_exactly_the_roles_the_table_refuses(world, name, role):
    permission, call = ACTIONS[name]
    if access.can(ROLE_OF[role], permission):
        call(world["asking"][role], world)
    else:
        with pytest.raises(Denied) as refused:
            call(world["asking"][role], world)
        assert refused.value.anonymous == (role == "public")


def test_every_action_of_the_domain_is_in_the_matrix():
    """An action is a public function of a domain module whose first parameter is who is asking."""
    found = {f"{module.__name__.rsplit('.', 1)[1]}.{name}"
             for module in MODULES
             for name, fn in inspect.getmembers(module, inspect.isfunction)
             if fn.__module__ == module.__name__ and not name.startswith("_")
             and next(iter(inspect.signature(fn).parameters), None) == "asking"}
    assert found == set(ACTIONS) | set(NOT_BY_ROLE)


def test_creating_an_event_can_need_the_key_which_the_operator_does_not(app):
    app.config["SYNTHESE_EVENT_CREATION"] = "cle-de-creation"
    with pytest.raises(events.DomainError) as refused:
        events.create_event(access.PUBLIC_ASKING, "Forum", key="mauvaise")
    assert refused.value.code == "forbidden"
    assert events.create_event(access.PUBLIC_ASKING, "Forum", key="cle-de-creation").obj.title == "Forum"
    assert events.create_event(OPERATOR, "Forum du CLI").obj.title == "Forum du CLI"


def test_what_is_refused_changes_nothing(world):
    before = (world["event"].join_code, world["atelier"].public, len(world["event"].ateliers))
    for name, (permission, call) in ACTIONS.items():
        if not access.can(access.PARTICIPANT, permission):
            with pytest.raises(Denied):
                call(world["asking"]["participant"], world)
    assert (world["event"].join_code, world["atelier"].public, len(world["event"].ateliers)) == before
