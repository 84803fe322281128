"""The organiser's pages and the other browser forms of the workflow, in process."""
import io
import re
import zipfile

from synthese import events, exporting, publication
from synthese.documents import Pending, current_store
from tests.conftest import ROOT, sheet_update
from tests.unit.test_import_export import HOSTILE
from synthese.access import OPERATOR


def csrf(client, path):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', page)[1]


def new_event(client, **form):
    data = {"title": "Forum des labs", "sessions": "Session 1 | 10h-11h30\nSession 2 | 14h", **form}
    response = client.post("/events/new", data={"csrf": csrf(client, "/events/new"), **data})
    assert response.status_code == 302, response.get_data(as_text=True)
    slug = response.location.split("/events/")[1].split("/")[0]
    return slug, client.get(response.location).get_data(as_text=True)


def test_create_an_event_and_get_the_organiser_link_once(app, client):
    slug, page = new_event(client)
    link = re.search(r'class="secret-link" readonly value="([^"]+)"', page)[1]
    assert "/t/" in link
    # Shown once: the next page does not have it (only its hash is stored).
    assert "secret-link" not in client.get(f"/events/{slug}/manage").get_data(as_text=True)
    # It signs another browser in as organiser.
    other = app.test_client()
    other.get(link.replace("http://synthese.test", ""))
    assert other.get(f"/events/{slug}/manage").status_code == 200
    event = events.event_by_slug(slug)
    assert [(s.label, s.time) for s in event.sessions] == [("Session 1", "10h-11h30"), ("Session 2", "14h")]


def test_event_creation_form_checks_its_key_and_input(app, client):
    app.config["SYNTHESE_EVENT_CREATION"] = "cle"
    token = csrf(client, "/events/new")
    assert client.post("/events/new", data={"csrf": token, "title": "F", "key": "mauvaise"}).status_code == 422
    assert client.post("/events/new", data={"csrf": token, "title": "", "key": "cle"}).status_code == 422
    assert client.post("/events/new", data={"csrf": token, "title": "F", "key": "cle",
                                            "starts_on": "demain"}).status_code == 422
    assert client.post("/events/new", data={"title": "F", "key": "cle"}).status_code == 400  # no CSRF
    assert client.post("/events/new", data={"csrf": token, "title": "F", "key": "cle"}).status_code == 302


def test_manage_sessions_ateliers_and_links(client):
    slug, _ = new_event(client)
    token = csrf(client, f"/events/{slug}/manage")
    client.post(f"/events/{slug}/manage/sessions", data={"csrf": token, "label": "Session 3", "time": "16h"})
    client.post(f"/events/{slug}/manage/current", data={"csrf": token, "session": "Session 1"})
    response = client.post(f"/events/{slug}/manage/ateliers", data={
        "csrf": token, "title": "Emergence", "session": "Session 1", "number": "2", "porteur": "Sophie",
        "question": "Comment ?"})
    page = client.get(response.location).get_data(as_text=True)
    porteur_link = re.search(r'class="secret-link" readonly value="([^"]+)"', page)[1]
    event = events.event_by_slug(slug)
    (atelier,) = event.ateliers
    assert events.full_title(atelier) == "Atelier 2 - Emergence - Session 1"
    assert events.current_session(event).label == "Session 1"
    assert [s.label for s in event.sessions][-1] == "Session 3"
    client.post(f"/ateliers/{atelier.id}/porteur-link", data={"csrf": token})
    page = client.get(f"/events/{slug}/manage").get_data(as_text=True)
    second_link = re.search(r'class="secret-link" readonly value="([^"]+)"', page)[1]
    assert second_link != porteur_link
    assert "secret-link" not in client.get(f"/events/{slug}/manage").get_data(as_text=True)
    for link in (porteur_link, second_link):  # both open the sheet as porteur
        assert client.get(link.replace("http://synthese.test", "")).location.endswith(f"/ateliers/{atelier.id}")
    client.post(f"/events/{slug}/manage/details", data={"csrf": token, "title": "Forum 2", "open_space": "on"})
    assert event.title == "Forum 2" and event.open_space


def test_non_organisers_cannot_manage(app, client, make_atelier):
    atelier, porteur, _ = make_atelier()
    slug = atelier.event.slug
    assert client.get(f"/events/{slug}/manage").status_code == 403
    client.get(f"/t/{porteur}")
    token = csrf(client, f"/ateliers/{atelier.id}")
    assert client.get(f"/events/{slug}/manage").status_code == 403
    for path in (f"/events/{slug}/manage/ateliers", f"/events/{slug}/manage/details",
                 f"/ateliers/{atelier.id}/remove", f"/ateliers/{atelier.id}/porteur-link",
                 f"/events/{slug}/manage/import", f"/events/{slug}/manage/organiser-link",
                 f"/events/{slug}/manage/members/1/revoke"):
        assert client.post(path, data={"csrf": token, "title": "x"}).status_code == 403, path
    # The porteur edits their own atelier.
    assert client.get(f"/ateliers/{atelier.id}/edit").status_code == 200


def test_publish_and_read_publicly(app, client, make_atelier):
    atelier, porteur, _ = make_atelier()
    current_store().append([Pending(atelier.id, sheet_update(**HOSTILE))])
    client.get(f"/t/{porteur}")
    token = csrf(client, f"/ateliers/{atelier.id}")
    client.post(f"/ateliers/{atelier.id}/publish", data={"csrf": token})
    assert publication.latest(atelier).number == 1
    public = app.test_client()
    page = public.get(f"/ateliers/{atelier.id}").get_data(as_text=True)
    assert "Version 1" in page
    # Hostile text is shown as text: no script, no javascript: or data: link, no raw tag.
    assert "<script>" not in page and "<img" not in page and "<b>" not in page
    assert 'href="javascript:' not in page and 'href="data:' not in page
    assert "&lt;script&gt;alert(&#34;q&#34;)&lt;/script&gt;" in page or "&lt;script&gt;alert(&quot;q&quot;)" in page
    assert "\u202eRenversé" in page and "👩🏽‍💻" in page
    event_page = public.get(f"/events/{atelier.event.slug}").get_data(as_text=True)
    assert f"/ateliers/{atelier.id}/versions/1" in event_page
    client.post(f"/ateliers/{atelier.id}/unpublish", data={"csrf": token, "confirmed": "yes"})
    assert "Version 1" not in public.get(f"/ateliers/{atelier.id}").get_data(as_text=True)
    assert public.get(f"/ateliers/{atelier.id}/versions/1").status_code == 404


def test_open_space_proposal_form(app, client, make_event):
    created = make_event(sessions=[{"label": "Session 1"}])
    events.update_event(OPERATOR, created.obj, open_space=True)
    slug = created.obj.slug
    token = csrf(client, "/join")
    client.post("/join", data={"csrf": token, "code": created.obj.join_code, "name": "Anna"})
    page = client.get(f"/events/{slug}").get_data(as_text=True)
    assert "Proposer un atelier" in page
    response = client.post(f"/events/{slug}/propose", data={
        "csrf": token, "title": "Tiers-lieux", "question": "Comment ouvrir nos lieux ?", "session": "Session 1"})
    (atelier,) = created.obj.ateliers
    assert response.location.endswith(f"/ateliers/{atelier.id}")
    page = client.get(response.location).get_data(as_text=True)
    assert "secret-link" in page and "Publier" in page  # the proposer is its porteur


def test_import_form_and_qr_page(client):
    slug, _ = new_event(client)
    token = csrf(client, f"/events/{slug}/manage")
    text = (ROOT / "tests/fixtures/atelier-donnees.md").read_bytes()
    response = client.post(f"/events/{slug}/manage/import", data={
        "csrf": token, "file": (io.BytesIO(text), "atelier.md")}, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Atelier 3 - Données ouvertes et services publics - Session 2" in page
    response = client.post(f"/events/{slug}/manage/import", data={"csrf": token, "markdown": "rien"})
    assert response.status_code == 422 and "Aucune fiche trouvée" in response.get_data(as_text=True)
    english = client.post(f"/events/{slug}/manage/import?lang=en", data={"csrf": token, "markdown": "rien"})
    assert "No sheet found" in english.get_data(as_text=True)
    qr = client.get(f"/events/{slug}/qr").get_data(as_text=True)
    assert "<svg" in qr and events.format_code(events.event_by_slug(slug).join_code) in qr
    export = client.get(f"/api/events/{slug}/export.zip")  # the browser's session is enough to read
    assert zipfile.ZipFile(io.BytesIO(export.data)).namelist()[0].endswith(".md")
    assert exporting.file_stem(events.event_by_slug(slug), "draft") in export.headers["Content-Disposition"]


def test_changing_a_leaked_code(client):
    slug, _ = new_event(client)
    event = events.event_by_slug(slug)
    old = event.join_code
    token = csrf(client, f"/events/{slug}/manage")
    joined = client.post(f"/api/events/{slug}/participants", json={"join_code": old, "name": "Anna"}).json
    asked = client.post(f"/events/{slug}/manage/code", data={"csrf": token})
    # First, what it will do; nothing changes until it is confirmed.
    assert asked.status_code == 200 and "QR codes imprimés" in asked.get_data(as_text=True)
    assert event.join_code == old
    client.post(f"/events/{slug}/manage/code", data={"csrf": token, "confirmed": "yes"})
    assert event.join_code != old
    refused = client.post(f"/api/events/{slug}/participants", json={"join_code": old, "name": "Mallory"})
    assert refused.status_code == 403
    # Anna, already in, keeps her access.
    assert client.get(f"/api/events/{slug}", headers={"Authorization": f"Bearer {joined['token']}"}).json["role"] == "participant"


def test_withdraw_an_access_and_issue_a_new_organiser_link(app, client):
    slug, _ = new_event(client)
    event = events.event_by_slug(slug)
    anna = events.join(event, event.join_code, "Anna <b>Lefèvre</b>")
    page = client.get(f"/events/{slug}/manage").get_data(as_text=True)
    assert "Anna &lt;b&gt;Lefèvre&lt;/b&gt;" in page and "votre accès" in page
    token = csrf(client, f"/events/{slug}/manage")
    asked = client.post(f"/events/{slug}/manage/members/{anna.obj.id}/revoke", data={"csrf": token})
    assert "Anna &lt;b&gt;Lefèvre&lt;/b&gt;" in asked.get_data(as_text=True)  # escaped there too
    assert anna.obj.revoked_at is None
    done = client.post(f"/events/{slug}/manage/members/{anna.obj.id}/revoke", data={"csrf": token, "confirmed": "yes"},
                       follow_redirects=True).get_data(as_text=True)
    assert "n&#39;ouvre plus rien" in done and "retiré" in done
    anna_browser = app.test_client()
    assert anna_browser.get(f"/t/{anna.token}").status_code == 404
    # Without the CSRF token nothing happens.
    basile = events.join(event, event.join_code, "Basile")
    assert client.post(f"/events/{slug}/manage/members/{basile.obj.id}/revoke").status_code == 400
    page = client.post(f"/events/{slug}/manage/organiser-link", data={"csrf": token},
                       follow_redirects=True).get_data(as_text=True)
    link = re.search(r'class="secret-link" readonly value="([^"]+)"', page)[1]
    other = app.test_client()
    other.get(link.replace("http://synthese.test", ""))
    assert other.get(f"/events/{slug}/manage").status_code == 200


def test_destructive_actions_ask_first_and_keep_their_fields(client):
    """Removing, merging, unpublishing, changing the code, withdrawing an
    access: the first post only says what will happen (no script needed)."""
    slug, _ = new_event(client)
    event = events.event_by_slug(slug)
    token = csrf(client, f"/events/{slug}/manage")
    client.post(f"/events/{slug}/manage/ateliers", data={"csrf": token, "title": "Doublon"})
    client.post(f"/events/{slug}/manage/ateliers", data={"csrf": token, "title": "Tiers-lieux"})
    doublon, tiers = sorted(event.ateliers, key=lambda a: a.title)
    asked = client.post(f"/ateliers/{doublon.id}/merge", data={"csrf": token, "into": str(tiers.id)})
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Tiers-lieux" in page and "ne peut pas être annulé" in page
    assert 'name="into" value="%d"' % tiers.id in page and 'name="confirmed" value="yes"' in page
    assert len(event.ateliers) == 2
    asked = client.post(f"/ateliers/{tiers.id}/remove", data={"csrf": token})
    assert "Supprimer « Atelier" in asked.get_data(as_text=True) and len(event.ateliers) == 2
    client.post(f"/ateliers/{tiers.id}/remove", data={"csrf": token, "confirmed": "yes"})
    assert [a.title for a in events.event_by_slug(slug).ateliers] == ["Doublon"]


def test_sessions_are_typed_without_altgr():
    """A `|` is AltGr+6 on a French keyboard: the time after the label is enough."""
    from synthese.web.organise import _sessions

    assert _sessions("Session 1 10h-11h30\nMatin, 9h30 - 12h\nSession 3 | 16h\nPlénière\n10h-12h") == [
        {"label": "Session 1", "time": "10h-11h30"}, {"label": "Matin", "time": "9h30 - 12h"},
        {"label": "Session 3", "time": "16h"}, {"label": "Plénière", "time": ""}, {"label": "10h-12h", "time": ""}]


def test_publishing_again_after_unpublishing_says_so(client, make_atelier):
    from synthese.access import OPERATOR
    from synthese.documents import Pending, current_store
    from tests.conftest import sheet_update

    atelier, porteur, _ = make_atelier()
    current_store().append([Pending(atelier.id, sheet_update(synthese="Une synthèse."))])
    publication.publish(OPERATOR, atelier)
    publication.unpublish(OPERATOR, atelier)
    client.get(f"/t/{porteur}")
    token = csrf(client, f"/ateliers/{atelier.id}")
    page = client.post(f"/ateliers/{atelier.id}/publish", data={"csrf": token}, follow_redirects=True)
    assert "La version 1 est de nouveau publiée." in page.get_data(as_text=True)
