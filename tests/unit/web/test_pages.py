"""HTML pages: sign-in links, joining, the sheet page, escaping, headers."""
import json
import re

from synthese import ateliers, events
from synthese.access import OPERATOR


def csrf(client, path="/join"):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', page)[1]


def test_sign_in_link_opens_the_porteurs_sheet(client, make_atelier):
    atelier, porteur_token, _ = make_atelier(porteur="Karim Benali")
    response = client.get(f"/t/{porteur_token}")
    assert response.status_code == 302 and response.location.endswith(f"/ateliers/{atelier.id}")
    page = client.get(f"/ateliers/{atelier.id}").get_data(as_text=True)
    config = json.loads(re.search(r'<script type="application/json" id="sheet-config">(.*?)</script>', page, re.S)[1])
    assert config["canWrite"] is True
    assert config["user"]["name"] == "Karim Benali"
    assert [s["title"] for s in config["sections"]] == [
        "Question", "Synthèse", "Porteur", "Participants", "Éléments importants de la discussion"]
    assert 'role="status"' in page


def test_organiser_link_opens_the_event(client, make_event):
    created = make_event()
    response = client.get(f"/t/{created.token}")
    assert response.location.endswith(f"/events/{created.obj.slug}")
    page = client.get(response.location).get_data(as_text=True)
    assert events.format_code(created.obj.join_code) in page


def test_bad_sign_in_link(client):
    response = client.get("/t/" + "x" * 43)
    assert response.status_code == 404
    assert "Ce lien n&#39;est pas valide." in response.get_data(as_text=True)


def test_join_form_signs_in_and_goes_where_asked(client, make_atelier):
    atelier, _, _ = make_atelier()
    code = atelier.event.join_code
    anonymous = client.get(f"/ateliers/{atelier.id}").get_data(as_text=True)
    assert 'name="code"' in anonymous  # non-members get the join form
    response = client.post("/join", data={"csrf": csrf(client), "code": code.lower(), "name": "Anna",
                                          "next": f"/ateliers/{atelier.id}"})
    assert response.status_code == 302 and response.location.endswith(f"/ateliers/{atelier.id}")
    assert "sheet-config" in client.get(f"/ateliers/{atelier.id}").get_data(as_text=True)


def test_join_refuses_open_redirects(client, make_event):
    event = make_event().obj
    response = client.post("/join", data={"csrf": csrf(client), "code": event.join_code, "name": "Anna",
                                          "next": "//evil.example/ateliers/1"})
    assert response.location.endswith(f"/events/{event.slug}")


def test_join_form_needs_the_csrf_token(client, make_event):
    event = make_event().obj
    csrf(client)
    response = client.post("/join", data={"code": event.join_code, "name": "Anna"})
    assert response.status_code == 400


def test_join_form_reports_a_wrong_code(client):
    response = client.post("/join", data={"csrf": csrf(client), "code": "ZZZ-ZZZ", "name": "Anna"})
    assert response.status_code == 422
    assert "Ce code n&#39;ouvre aucun événement." in response.get_data(as_text=True)


def test_user_text_is_escaped(client, make_event):
    created = make_event('<script>alert("titre")</script>')
    ateliers.create_atelier(OPERATOR, created.obj, '<img src=x onerror=alert(1)>', porteur="</script><script>alert(2)</script>")
    client.get(f"/t/{created.token}")
    page = client.get(f"/events/{created.obj.slug}").get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;titre&#34;)&lt;/script&gt;" in page


def test_sheet_config_cannot_break_out_of_its_script_tag(client, make_atelier):
    atelier, _, _ = make_atelier()
    joined = events.join(atelier.event, atelier.event.join_code, "</script><script>alert(1)</script>")
    client.get(f"/t/{joined.token}")
    page = client.get(f"/ateliers/{atelier.id}").get_data(as_text=True)
    assert "</script><script>alert(1)" not in page


def test_security_headers(client):
    response = client.get("/")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_english_on_request(app, client):
    assert "Join an event" in client.get("/?lang=en").get_data(as_text=True)
    assert "Join an event" in client.get("/").get_data(as_text=True)  # remembered
    assert "Rejoindre un événement" in client.get("/?lang=fr").get_data(as_text=True)
    browser = app.test_client()
    assert "Join an event" in browser.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert "Rejoindre un événement" in app.test_client().get("/").get_data(as_text=True)


def test_a_sign_in_link_reached_from_another_site_asks_first(client, make_atelier):
    """A page elsewhere could sign a browser in with links of its choosing."""
    atelier, porteur_token, _ = make_atelier()
    cross = {"Sec-Fetch-Site": "cross-site"}
    page = client.get(f"/t/{porteur_token}", headers=cross)
    assert page.status_code == 200 and 'method="post"' in page.get_data(as_text=True)
    with client.session_transaction() as session:
        assert not session.get("credentials")
    token = re.search(r'name="csrf" value="([^"]+)"', page.get_data(as_text=True))[1]
    assert client.post(f"/t/{porteur_token}", data={"csrf": "forged"}).status_code == 400
    confirmed = client.post(f"/t/{porteur_token}", data={"csrf": token})
    assert confirmed.status_code == 302 and confirmed.location.endswith(f"/ateliers/{atelier.id}")
    with client.session_transaction() as session:
        assert len(session["credentials"]) == 1


def test_a_page_of_links_never_pushes_the_organiser_out(client, make_event):
    """The browser keeps 20 credentials: 25 participant links signed in one
    after the other dropped the organiser's role."""
    created = make_event()
    event = created.obj
    client.get(f"/t/{created.token}")
    for n in range(25):
        joined = events.join(event, event.join_code, f"Personne {n}")
        client.get(f"/t/{joined.token}")
    assert client.get(f"/events/{event.slug}/manage").status_code == 200


def test_responses_are_not_cached_and_the_cookie_is_secure_under_https(app, client, make_event):
    created = make_event()
    response = client.get(f"/t/{created.token}", base_url="https://synthese.example")
    assert "Secure" in response.headers["Set-Cookie"]
    assert response.headers["Cache-Control"] == "no-store"
    api = client.post("/api/events", json={"title": "Forum"})
    assert api.status_code == 201 and api.headers["Cache-Control"] == "no-store"
    plain = client.get(f"/t/{created.token}")
    assert "Secure" not in plain.headers.get("Set-Cookie", "Secure-less")


def test_error_pages_speak_the_readers_language(client):
    """Werkzeug's descriptions are English: a French page must not show them."""
    missing = client.get("/ateliers/999999").get_data(as_text=True)
    assert "Page introuvable." in missing and "requested URL" not in missing
    english = client.get("/ateliers/999999?lang=en").get_data(as_text=True)
    assert "Page not found." in english


def test_times_are_shown_in_the_events_time_zone_and_the_readers_language(client, make_atelier):
    from datetime import datetime

    from synthese.access import OPERATOR
    from synthese.documents import Pending, current_store
    from synthese.extensions import db
    from synthese.publication import publish
    from tests.conftest import sheet_update

    atelier, _, _ = make_atelier()
    current_store().append([Pending(atelier.id, sheet_update(synthese="Une synthèse."))])
    version, _new = publish(OPERATOR, atelier)
    version.published_at = datetime(2026, 12, 1, 9, 30)  # UTC, as stored
    db.session.commit()
    page = client.get(f"/ateliers/{atelier.id}/versions/1").get_data(as_text=True)
    assert "1 décembre 2026 à 10:30" in page and "UTC" not in page  # Paris, in December
    english = client.get(f"/ateliers/{atelier.id}/versions/1?lang=en").get_data(as_text=True)
    assert "December 1, 2026 at 10:30" in english
    # An event in Guadeloupe shows the room's clock, UTC-4, to every reader.
    events.update_event(OPERATOR, atelier.event, timezone="America/Guadeloupe")
    client.get("/?lang=fr")
    assert "1 décembre 2026 à 05:30" in client.get(f"/ateliers/{atelier.id}/versions/1").get_data(as_text=True)


def test_the_events_time_zone_is_chosen_on_its_form(client, make_event):
    created = make_event()
    client.get(f"/t/{created.token}")
    manage = client.get(f"/events/{created.obj.slug}/manage").get_data(as_text=True)
    assert '<option value="Europe/Paris" selected>France métropolitaine (Paris)</option>' in manage
    token = re.search(r'name="csrf" value="([^"]+)"', manage)[1]
    form = {"csrf": token, "title": created.obj.title, "timezone": "Indian/Reunion"}
    client.post(f"/events/{created.obj.slug}/manage/details", data=form)
    assert created.obj.timezone == "Indian/Reunion"
    refused = client.post(f"/events/{created.obj.slug}/manage/details", data=form | {"timezone": "Mars/Olympus"},
                          follow_redirects=True).get_data(as_text=True)
    assert "Fuseau horaire inconnu" in refused and created.obj.timezone == "Indian/Reunion"


def test_the_search_page_marks_matches_and_escapes_the_text(client, make_atelier):
    from synthese.access import OPERATOR
    from synthese.documents import Pending, current_store
    from synthese.publication import publish
    from tests.conftest import sheet_update

    atelier, _, _ = make_atelier()
    current_store().append([Pending(atelier.id, sheet_update(
        discussion="<script>alert(1)</script> Les habitants proposent des ateliers."))])
    publish(OPERATOR, atelier)
    slug = atelier.event.slug
    assert 'role="search"' in client.get(f"/events/{slug}").get_data(as_text=True)
    page = client.get(f"/events/{slug}/search?q=habitant").get_data(as_text=True)
    assert "1 résultat" in page and "Dans les versions publiées." in page
    assert "<mark>habitants</mark>" in page
    assert "&lt;script&gt;" in page and "<script>alert" not in page
    assert f'/ateliers/{atelier.id}#section-discussion' in page
    assert "Aucune fiche ne contient ces mots." in client.get(f"/events/{slug}/search?q=licorne").get_data(as_text=True)
