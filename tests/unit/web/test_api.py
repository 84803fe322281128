"""The JSON API (contract section 2), in process, on a real database."""
import pytest

HOSTILE = '<script>alert("x")</script> [clic](javascript:alert(1)) \u202e\u200b 😀'


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def event(client):
    response = client.post("/api/events", json={"title": "Forum de l'innovation publique", "place": "Lyon",
                                                "sessions": [{"label": "Session 1", "time": "10h"}]})
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def atelier(client, event):
    response = client.post(f"/api/events/{event['slug']}/ateliers",
                           json={"title": "Emergence", "session": "Session 1", "number": 2,
                                 "porteur": "Sophie Largeau, Ville de Paris"},
                           headers=bearer(event["organiser_token"]))
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def participant(client, event):
    response = client.post(f"/api/events/{event['slug']}/participants",
                           json={"join_code": event["join_code"], "name": "Cécile Joly"})
    assert response.status_code == 201, response.json
    return response.json


def assert_error(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]


def test_create_event(event):
    assert set(event) >= {"slug", "join_code", "organiser_token", "organiser_url", "join_url"}
    assert event["organiser_url"].endswith("/t/" + event["organiser_token"])
    assert event["join_url"].startswith("http://synthese.test/join/")


@pytest.mark.parametrize(
    "body",
    [{}, {"title": ""}, {"title": "x" * 201}, {"title": "Forum", "colour": "red"},
     {"title": "Forum", "starts_on": "demain"}, {"title": "Forum", "sessions": [{"time": "10h"}]}],
)
def test_create_event_refuses_bad_input(client, body):
    assert_error(client.post("/api/events", json=body), 422, "invalid")


def test_an_events_time_zone(client, event):
    slug, organiser = event["slug"], bearer(event["organiser_token"])
    assert client.get(f"/api/events/{slug}").json["timezone"] == "Europe/Paris"
    assert client.patch(f"/api/events/{slug}", json={"timezone": "America/Cayenne"}, headers=organiser).status_code == 200
    assert client.get(f"/api/events/{slug}").json["timezone"] == "America/Cayenne"
    assert_error(client.patch(f"/api/events/{slug}", json={"timezone": "Paris"}, headers=organiser), 422, "invalid")
    assert client.get(f"/api/events/{slug}").json["timezone"] == "America/Cayenne"
    created = client.post("/api/events", json={"title": "Forum de Nouméa", "timezone": "Pacific/Noumea"})
    assert client.get(f"/api/events/{created.json['slug']}").json["timezone"] == "Pacific/Noumea"
    assert_error(client.post("/api/events", json={"title": "Forum", "timezone": "Lune/Mer"}), 422, "invalid")


def test_create_event_refuses_non_json(client):
    response = client.post("/api/events", data="title=Forum", content_type="application/x-www-form-urlencoded")
    assert response.status_code in (415, 422)
    assert "error" in response.json


def test_event_creation_can_require_a_key(app, client):
    app.config["SYNTHESE_EVENT_CREATION"] = "cle-de-creation"
    assert_error(client.post("/api/events", json={"title": "Forum"}), 403, "forbidden")
    assert_error(client.post("/api/events", json={"title": "Forum"}, headers=bearer("mauvaise")), 403, "forbidden")
    assert client.post("/api/events", json={"title": "Forum"}, headers=bearer("cle-de-creation")).status_code == 201


def test_create_atelier(atelier):
    assert atelier["number"] == 2 and atelier["session"] == "Session 1"
    assert atelier["porteur_url"].endswith("/t/" + atelier["porteur_token"])
    assert atelier["url"].endswith(f"/ateliers/{atelier['id']}")


def test_only_the_organiser_creates_ateliers(client, event, atelier, participant):
    url = f"/api/events/{event['slug']}/ateliers"
    body = {"title": "Autre"}
    assert_error(client.post(url, json=body), 401, "unauthorized")
    assert_error(client.post(url, json=body, headers=bearer("x" * 43)), 401, "unauthorized")
    assert_error(client.post(url, json=body, headers={"Authorization": "Basic abc"}), 401, "unauthorized")
    # Participants may only propose, and only in open-space mode.
    assert_error(client.post(url, json=body, headers=bearer(participant["token"])), 403, "closed")
    assert_error(client.post(url, json=body, headers=bearer(atelier["porteur_token"])), 403, "closed")
    other = client.post("/api/events", json={"title": "Autre forum"}).json
    assert_error(client.post(url, json=body, headers=bearer(other["organiser_token"])), 403, "forbidden")
    assert_error(client.post("/api/events/nope/ateliers", json=body, headers=bearer(event["organiser_token"])),
                 404, "not_found")


def test_join(client, event, participant):
    assert participant["name"] == "Cécile Joly"
    assert participant["url"].endswith("/t/" + participant["token"])
    url = f"/api/events/{event['slug']}/participants"
    assert_error(client.post(url, json={"join_code": "ZZZZZZ", "name": "Anna"}), 403, "bad_code")
    assert_error(client.post(url, json={"join_code": event["join_code"]}), 422, "invalid")


def test_members_read_the_live_sheet(client, atelier, participant):
    response = client.get(f"/api/ateliers/{atelier['id']}", headers=bearer(participant["token"]))
    assert response.status_code == 200
    sheet = response.json
    assert sheet["title"] == "Atelier 2 - Emergence - Session 1"
    assert sheet["status"] == "writing"
    assert sheet["fields"] == {"question": "", "synthese": "", "porteur": "Sophie Largeau, Ville de Paris",
                               "participants": "", "discussion": ""}
    md = client.get(f"/api/ateliers/{atelier['id']}/sheet.md", headers=bearer(atelier["porteur_token"]))
    assert md.mimetype == "text/markdown"
    assert md.get_data(as_text=True).startswith("# Atelier 2 - Emergence - Session 1\n\n## Question\n")


def test_others_cannot_read_an_unpublished_sheet(client, atelier):
    other = client.post("/api/events", json={"title": "Autre forum"}).json
    for headers in ({}, bearer(other["organiser_token"])):
        assert_error(client.get(f"/api/ateliers/{atelier['id']}", headers=headers), 404, "not_found")
        assert_error(client.get(f"/api/ateliers/{atelier['id']}/sheet.md", headers=headers), 404, "not_found")
    assert_error(client.get("/api/ateliers/999999"), 404, "not_found")


def test_hostile_text_is_stored_and_returned_verbatim(client):
    event = client.post("/api/events", json={"title": HOSTILE}).json
    atelier = client.post(f"/api/events/{event['slug']}/ateliers", json={"title": HOSTILE, "porteur": HOSTILE},
                          headers=bearer(event["organiser_token"])).json
    sheet = client.get(f"/api/ateliers/{atelier['id']}", headers=bearer(event["organiser_token"])).json
    assert sheet["theme"] == HOSTILE
    assert sheet["fields"]["porteur"] == HOSTILE


@pytest.mark.parametrize("fmt, magic, media", [
    ("pdf", b"%PDF", "application/pdf"),
    ("odt", b"PK", "application/vnd.oasis.opendocument.text"),
    ("docx", b"PK", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
])
def test_the_proceedings_as_documents(client, event, atelier, participant, fmt, magic, media):
    path = f"/api/events/{event['slug']}/export.{fmt}"
    response = client.get(path + "?source=published&lang=en", headers=bearer(event["organiser_token"]))
    assert response.status_code == 200 and response.mimetype == media
    assert response.data.startswith(magic)
    assert response.headers["Content-Disposition"].endswith(f'-publie.{fmt}"')
    assert_error(client.get(path, headers=bearer(participant["token"])), 403, "forbidden")
    assert_error(client.get(path + "?source=brouillon", headers=bearer(event["organiser_token"])), 422, "invalid")


def test_unknown_api_paths_answer_json(client):
    assert_error(client.get("/api/nope"), 404, "not_found")
    assert_error(client.delete("/api/events"), 405, "method_not_allowed")


def test_openapi_document_describes_the_api(client):
    spec = client.get("/api/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert {"/api/events", "/api/events/{slug}", "/api/events/{slug}/ateliers", "/api/events/{slug}/participants",
            "/api/events/{slug}/sessions", "/api/events/{slug}/dashboard", "/api/events/{slug}/export.md",
            "/api/events/{slug}/export.zip", "/api/events/{slug}/export.pdf", "/api/events/{slug}/export.odt",
            "/api/events/{slug}/export.docx", "/api/events/{slug}/import", "/api/ateliers/{atelier_id}",
            "/api/ateliers/{atelier_id}/sheet.md", "/api/ateliers/{atelier_id}/publish",
            "/api/ateliers/{atelier_id}/unpublish", "/api/ateliers/{atelier_id}/versions",
            "/api/ateliers/{atelier_id}/merge"} <= set(spec["paths"])
    assert {"get", "patch"} <= set(spec["paths"]["/api/events/{slug}"])
    assert {"get", "patch", "delete"} <= set(spec["paths"]["/api/ateliers/{atelier_id}"])


def test_oversized_requests_are_refused_before_being_read(client, event):
    huge = "x" * (7 * 1024 * 1024)
    response = client.post("/api/events", data='{"title": "' + huge + '"}', content_type="application/json")
    assert_error(response, 413, "too_large")
    response = client.post(f"/api/events/{event['slug']}/import", data=huge, content_type="text/markdown",
                           headers=bearer(event["organiser_token"]))
    assert_error(response, 413, "too_large")
    # Just under the import limit: read, and reported as holding no sheet.
    response = client.post(f"/api/events/{event['slug']}/import", data="y" * (5 * 1024 * 1024 - 10),
                           content_type="text/markdown", headers=bearer(event["organiser_token"]))
    assert response.status_code == 422 and response.json["problems"][0].startswith("No sheet found")


def test_search_the_events_sheets(client, event, atelier, participant):
    from synthese.documents import Pending, current_store
    from tests.conftest import sheet_update

    current_store().append([Pending(atelier["id"], sheet_update(
        synthese="Les collectivités testent un service <b>public</b> avec les élus."))])
    path = f"/api/events/{event['slug']}/search"
    organiser = bearer(event["organiser_token"])
    results = client.get(path, query_string={"q": "collectivite"}, headers=organiser).json["results"]
    assert [(r["atelier"]["id"], r["section"]) for r in results] == [(atelier["id"], "synthese")]
    hit = results[0]
    assert [hit["snippet"][a:b] for a, b in hit["highlights"]] == ["collectivités"]
    assert hit["url"].endswith(f"/ateliers/{atelier['id']}#section-synthese")
    assert client.get(path, query_string={"q": "élu", "section": "question"}, headers=organiser).json["results"] == []
    # Not published: the participant and the public find nothing.
    assert client.get(path, query_string={"q": "collectivite"}, headers=bearer(participant["token"])).json == {
        "results": []}
    assert client.get(path, query_string={"q": "collectivite"}).json == {"results": []}
    client.post(f"/api/ateliers/{atelier['id']}/publish", headers=organiser)
    assert len(client.get(path, query_string={"q": "Collectivités"}).json["results"]) == 1
    assert_error(client.get(path, query_string={"q": "x", "section": "ailleurs"}), 422, "invalid")
    assert_error(client.get(path, query_string={"q": "x" * 201}), 422, "invalid")
    assert_error(client.get(path), 422, "invalid")


def test_the_events_themes(client, event, participant):
    from pathlib import Path

    fixture = Path(__file__).parent.parent.parent / "fixtures" / "forum-themes.md"
    organiser = bearer(event["organiser_token"])
    imported = client.post(f"/api/events/{event['slug']}/import", data=fixture.read_bytes(),
                           content_type="text/markdown", headers=organiser)
    assert imported.status_code == 201 and len(imported.json["created"]) == 24
    themes = client.get(f"/api/events/{event['slug']}/themes", headers=organiser).json["themes"]
    assert len(themes) >= 3
    ids = {c["id"] for c in imported.json["created"]}
    for theme in themes:
        assert theme["label"] and theme["terms"] and set(theme["ateliers"]) <= ids
        assert [e["atelier"] for e in theme["evidence"]] == theme["ateliers"]
    assert client.get(f"/api/events/{event['slug']}/themes?source=published", headers=organiser).json == {
        "themes": []}
    assert_error(client.get(f"/api/events/{event['slug']}/themes", headers=bearer(participant["token"])),
                 403, "forbidden")


def test_photos_of_the_boards(client, event, atelier, participant):
    import io

    from PIL import Image

    from tests.unit.test_photos import jpeg_with_metadata

    path = f"/api/ateliers/{atelier['id']}/photos"
    sent = client.post(path, data={"photo": (io.BytesIO(jpeg_with_metadata(1200, 900)), "IMG_0042.JPG"),
                                   "caption": "Le mur de post-its"},
                       headers=bearer(participant["token"]), content_type="multipart/form-data")
    assert sent.status_code == 201, sent.json
    photo = sent.json
    assert (photo["width"], photo["height"], photo["caption"], photo["taken_by"]) == (900, 1200, "Le mur de post-its",
                                                                                       "Cécile Joly")
    image = client.get(photo["url"], headers=bearer(participant["token"]))
    assert image.mimetype == "image/jpeg" and b"PhoneMaker" not in image.data
    assert Image.open(io.BytesIO(image.data)).size == (900, 1200)
    assert image.headers["Cache-Control"] == "private, max-age=3600"
    # Not published: the public sees neither the list nor the photo.
    assert client.get(path).json == {"photos": []}
    assert_error(client.get(photo["url"]), 404, "not_found")
    svg = client.post(path, data={"photo": (io.BytesIO(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), "x.svg")},
                      headers=bearer(participant["token"]), content_type="multipart/form-data")
    assert_error(svg, 415, "unsupported")
    assert_error(client.post(path, data={}, headers=bearer(participant["token"]), content_type="multipart/form-data"),
                 422, "invalid")
    assert_error(client.post(path, data={"photo": (io.BytesIO(jpeg_with_metadata(100, 100)), "a.jpg")},
                             content_type="multipart/form-data"), 401, "unauthorized")
    # Published, the public sees it; deleted, nobody does.
    client.post(f"/api/ateliers/{atelier['id']}/publish", headers=bearer(event["organiser_token"]))
    assert [p["id"] for p in client.get(path).json["photos"]] == [photo["id"]]
    assert client.get(photo["url"]).status_code == 200
    assert client.delete(f"/api/photos/{photo['id']}", headers=bearer(participant["token"])).status_code == 204
    assert_error(client.get(photo["url"], headers=bearer(event["organiser_token"])), 404, "not_found")
