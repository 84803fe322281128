"""The front end's files as a phone on venue Wi-Fi gets them: hashed names,
gzipped, cached for a year; no source map anywhere."""
import re

from synthese.app import ROOT


def test_pages_load_the_hashed_bundles(client):
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'href="/static/dist/style-[A-Z0-9]{8}\.css"', page)


def test_a_hashed_bundle_is_gzipped_and_cached_for_good(client):
    name = next((ROOT / "static/dist").glob("sheet-*.js")).name
    plain = client.get(f"/static/dist/{name}")
    assert plain.status_code == 200 and "immutable" in plain.headers["Cache-Control"]
    assert plain.headers["X-Content-Type-Options"] == "nosniff"
    zipped = client.get(f"/static/dist/{name}", headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert int(zipped.headers["Content-Length"]) < int(plain.headers["Content-Length"]) / 2
    assert "Accept-Encoding" in zipped.headers["Vary"]


def test_no_source_map_is_built_or_served(client):
    assert not list((ROOT / "static").rglob("*.map"))
    name = next((ROOT / "static/dist").glob("sheet-*.js")).name
    assert b"sourceMappingURL" not in client.get(f"/static/dist/{name}").data
