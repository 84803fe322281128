"""Events, sessions, ateliers and joining."""
import re

import pytest

from synthese import access, ateliers, events, tokens
from synthese.extensions import db
from synthese.documents import DocumentStore
from synthese.models import Credential
from synthese.access import OPERATOR


def test_create_event_issues_an_organiser_token_stored_hashed(make_event):
    created = make_event("Forum des Labos — Lyon 2026")
    event = created.obj
    assert event.slug.startswith("forum-des-labos-lyon-2026-")
    assert re.fullmatch(f"[{events.CODE_ALPHABET}]{{6}}", event.join_code)
    credential = tokens.find(created.token)
    assert credential.role == access.ORGANISER and credential.event_id == event.id
    assert created.token not in credential.token_hash
    assert len(created.token) >= 43  # 256 bits


def test_event_needs_a_title(make_event):
    with pytest.raises(events.DomainError):
        make_event("   ")


def test_sessions_are_created_in_order(make_event):
    event = make_event(sessions=[{"label": "Session 1", "time": "10h"}, {"label": "Session 2"}]).obj
    assert [(s.label, s.position) for s in event.sessions] == [("Session 1", 0), ("Session 2", 1)]


def test_ateliers_are_numbered_per_session_and_titled_like_sheets(make_atelier):
    first, _, _ = make_atelier(title="Emergence", session="Session 1")
    second = ateliers.create_atelier(OPERATOR, first.event, "Commande publique", session="Session 1").obj
    other = ateliers.create_atelier(OPERATOR, first.event, "Participation", session="Session 2").obj
    assert (first.number, second.number, other.number) == (1, 2, 1)
    assert events.full_title(first) == "Atelier 1 - Emergence - Session 1"
    assert events.ordered_ateliers(first.event) == [first, second, other]


def test_porteur_name_is_seeded_once_into_the_sheet(make_atelier):
    atelier, token, _ = make_atelier(porteur="Karim Benali, Métropole de Lille")
    assert DocumentStore(db.engine).fields(atelier.id)["porteur"] == "Karim Benali, Métropole de Lille"
    credential = tokens.find(token)
    assert (credential.role, credential.atelier_id) == (access.PORTEUR, atelier.id)


@pytest.mark.parametrize("typed", ["{code}", "{lower}", "{half1}-{half2}", " {half1} {half2} "])
def test_join_accepts_the_code_however_it_is_typed(make_event, typed):
    event = make_event().obj
    code = event.join_code
    text = typed.format(code=code, lower=code.lower(), half1=code[:3], half2=code[3:])
    joined = events.join(event, text, "  Cécile   Joly ", "CNFPT")
    assert isinstance(joined.obj, Credential)
    assert (joined.obj.name, joined.obj.organisation, joined.obj.role) == ("Cécile Joly", "CNFPT", "participant")
    assert events.event_by_code(text) == event


def test_join_refuses_a_wrong_code_or_no_name(make_event):
    event = make_event().obj
    with pytest.raises(events.DomainError, match="code"):
        events.join(event, "AAAAAA" if event.join_code != "AAAAAA" else "BBBBBB", "Anna")
    with pytest.raises(events.DomainError):
        events.join(event, event.join_code, "   ")


def test_format_code():
    assert events.format_code("K7PQX4") == "K7P-QX4"


def test_an_event_shows_its_times_in_its_own_zone(app, make_event):
    assert make_event().obj.timezone == app.config["SYNTHESE_TIMEZONE"] == "Europe/Paris"
    event = make_event(timezone="Pacific/Noumea").obj
    assert event.timezone == "Pacific/Noumea"
    with pytest.raises(events.DomainError, match="time zone"):
        make_event(timezone="Europe/Lyon")
    with pytest.raises(events.DomainError, match="time zone"):
        events.update_event(OPERATOR, event, timezone="")
    assert event.timezone == "Pacific/Noumea"
