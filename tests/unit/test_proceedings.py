"""The proceedings as documents (contract section 6): PDF, ODT and DOCX
opened by LibreOffice (poppler for the PDF), their text equal to the sheets."""
import html
import http.server
import re
import shutil
import subprocess
import threading
import typing
import zipfile
from io import BytesIO

import pytest

from synthese import exporting, proceedings
from synthese.markdown import Front, Part
from synthese.rendering import to_html
from tests.conftest import need

SOFFICE = shutil.which("soffice")
PDFTOTEXT = shutil.which("pdftotext")

FRONT = Front("Forum de l'innovation publique 2026", "3 décembre 2026 – 4 décembre 2026", "Lyon, Hôtel de Région",
              "Deux jours pour **partager** les pratiques : qu'en retenir ?")
EMERGENCE = {
    "question": "Comment faire émerger des projets d'innovation dans une collectivité ?",
    "synthese": "Proposer une **expérimentation** de trois jours :\n\n- avec des élus ;\n- avec des *citoyens* !\n\n"
                "Voir [la 27e Région](https://www.la27eregion.fr).",
    "porteur": "Sophie Largeau, Ville de Paris",
    "participants": "Anna Szeremeta\nCécile Joly\nKarim Benali",
    "discussion": "Vigilance sur le cloisonnement des services.\n\n# Un titre écrit par quelqu'un\n\nSuite.",
}
ACHATS = {
    "question": "La commande publique peut-elle porter l'innovation ?",
    "synthese": "",
    "porteur": "Marc Ottavi",
    "participants": "",
    "discussion": "Les acheteurs veulent des exemples.",
}
PARTS = [Part("Session 1 — 10h-11h30", [("Atelier 1 - Emergence - Session 1", EMERGENCE)]),
         Part("Session 2", [("Atelier 1 - Achats innovants - Session 2", ACHATS)])]


THEMES = [proceedings.ThemeShown("Participation citoyenne", ["habitants", "élus"], [
    ("Atelier 1 - Emergence - Session 1", "Proposer une expérimentation de trois jours avec des élus."),
    ("Atelier 1 - Achats innovants - Session 2", "Les acheteurs veulent des exemples.")])]


def board_photo() -> proceedings.PhotoShown:
    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (400, 300), (250, 220, 40)).save(out, "JPEG")
    return proceedings.PhotoShown(out.getvalue(), "Le mur des post-its", 400, 300)


PHOTOS = {"Atelier 1 - Emergence - Session 1": [board_photo()]}


def words(text: str) -> str:
    """The words of a text, whatever its typography (spaces, apostrophes, bullets)."""
    return " ".join(re.findall(r"\w+", text.replace("\u2019", "'").lower()))


def plain(markdown_text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", to_html(markdown_text)))


def expected_text() -> list[str]:
    """What the documents must say: the front, every sheet's title and sections."""
    found = [FRONT.title, FRONT.when, FRONT.place, plain(FRONT.description)]
    for part in PARTS:
        found.append(part.heading)
        for title, fields in part.sheets:
            found.append(title)
            found += [plain(body) for body in fields.values() if body]
    return found


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    """The three documents, and their text as LibreOffice and poppler read it."""
    need("soffice", SOFFICE is not None, "LibreOffice missing (apt-get install libreoffice-writer-nogui)")
    need("soffice", PDFTOTEXT is not None, "pdftotext missing (apt-get install poppler-utils)")
    where = tmp_path_factory.mktemp("proceedings")
    built = {fmt: proceedings.build(fmt, FRONT, PARTS, "fr", THEMES, PHOTOS) for fmt in proceedings.FORMATS}
    for fmt, data in built.items():
        (where / f"actes.{fmt}").write_bytes(data)
    profile = where / "lo-profile"
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "txt:Text",
                    "--outdir", str(where / "lo"), str(where / "actes.odt"), str(where / "actes.docx")],
                   check=True, capture_output=True, timeout=180)
    subprocess.run([PDFTOTEXT, "-layout", str(where / "actes.pdf"), str(where / "actes-pdf.txt")], check=True,
                   timeout=60)
    text = {"odt": (where / "lo" / "actes.txt").read_text(encoding="utf-8-sig")}
    # Both conversions write actes.txt: convert the DOCX again on its own.
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "txt:Text",
                    "--outdir", str(where / "lo-docx"), str(where / "actes.docx")],
                   check=True, capture_output=True, timeout=180)
    text["docx"] = (where / "lo-docx" / "actes.txt").read_text(encoding="utf-8-sig")
    text["pdf"] = (where / "actes-pdf.txt").read_text()
    return built, text


@pytest.mark.parametrize("fmt", list(proceedings.FORMATS))
def test_the_documents_say_what_the_sheets_say(documents, fmt):
    _built, text = documents
    said = words(text[fmt])
    for expected in expected_text():
        assert words(expected) in said, (fmt, expected)
    # The programme's order: sessions, then their sheets.
    assert said.index(words("Session 1 — 10h-11h30")) < said.index(words("Atelier 1 - Emergence")) \
        < said.index(words("Session 2")) < said.index(words("Achats innovants"))
    # The contents list both sheets before the first session's text.
    assert said.index("sommaire") < said.index(words("Achats innovants")) < said.index(words(EMERGENCE["question"]))
    # The themes come as a chapter, after the contents, before the sessions.
    theme = said.index(words("Les thèmes qui reviennent"), said.index("sommaire") + 10)
    assert theme < said.index(words("Session 1 — 10h-11h30"), theme)
    assert words("Participation citoyenne Mots-clés : habitants, élus") in said
    assert words("Atelier 1 - Achats innovants - Session 2 : « Les acheteurs veulent des exemples. »") in said
    # Empty sections have no heading: the second sheet shows no Synthèse.
    achats = said[said.rindex(words("Achats innovants")):]
    assert "synthèse" not in achats and "participants" not in achats


def test_the_pdf_has_page_numbers_and_french_typography(documents):
    _built, text = documents
    pages = text["pdf"].split("\f")
    assert len([p for p in pages if p.strip()]) >= 5  # cover, contents, themes, one page per sheet
    assert re.search(r"\b2\s*/\s*\d\b", pages[1])  # the contents' page number
    # (pdftotext reads no-break spaces as spaces: test_french_typography checks them.)
    assert "l\u2019innovation" in text["pdf"] and "qu\u2019en retenir" in text["pdf"]
    # The contents give each sheet's page.
    assert re.search(r"Emergence - Session 1[ .]*\.{3,}\s*4\b", pages[1])  # cover, contents, themes, then it


def test_the_photos_of_the_boards_are_in_every_document(documents):
    built, text = documents
    with zipfile.ZipFile(BytesIO(built["docx"])) as archive:
        assert [n for n in archive.namelist() if n.startswith("word/media/")]
    with zipfile.ZipFile(BytesIO(built["odt"])) as archive:
        assert [n for n in archive.namelist() if n.startswith("Pictures/")]
    assert built["pdf"].count(b"/Subtype /Image") == 1
    for fmt in proceedings.FORMATS:
        assert words("Photos des tableaux") in words(text[fmt]), fmt
    assert "Le mur des post-its" in text["pdf"]


def test_the_docx_renders_markdown_and_numbers_its_pages(documents):
    import docx

    built, _text = documents
    document = docx.Document(BytesIO(built["docx"]))
    runs = [run for paragraph in document.paragraphs for run in paragraph.runs]
    assert any(run.text == "expérimentation" and run.bold for run in runs)
    assert any(run.text == "citoyens" and run.italic for run in runs)
    assert any(p.style.name.startswith("Heading 2") and "Emergence" in p.text for p in document.paragraphs)
    # What someone wrote as '# ...' sits below the sheet's own headings.
    written = next(p for p in document.paragraphs if "Un titre écrit" in p.text)
    assert written.style.name in ("Heading 4", "Heading 5", "Heading 6")
    with zipfile.ZipFile(BytesIO(built["docx"])) as archive:
        footers = "".join(archive.read(n).decode() for n in archive.namelist() if "footer" in n)
    assert 'w:instr="PAGE"' in footers
    assert "la27eregion.fr" in "".join(archive_text(built["docx"]))


def archive_text(data: bytes):
    with zipfile.ZipFile(BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.endswith((".xml", ".rels")):
                yield archive.read(name).decode()


class Hits(http.server.BaseHTTPRequestHandler):
    seen: typing.ClassVar[list] = []

    def do_GET(self):
        Hits.seen.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("fmt", list(proceedings.FORMATS))
def test_a_sheet_cannot_make_the_converters_fetch_or_inject(fmt):
    """Images, raw HTML and CSS in a sheet: the server fetches nothing, and the text stays text."""
    server = http.server.HTTPServer(("127.0.0.1", 0), Hits)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    hostile = {
        "question": f"![pixel]({base}/image.png) <img src=\"{base}/raw.png\">",
        "synthese": f"<style>@import url({base}/style.css);</style><link rel=stylesheet href=\"{base}/l.css\">",
        "porteur": "<b>Cécile</b> \\\n# --lua-filter=evil",
        "participants": "--metadata=title:pirate\n![x](data:image/jpeg;base64,/9j/4AAQSkZJRg==){.photo-0 width=30cm}",
        "discussion": f"[lien]({base}/lien) <iframe src=\"{base}/frame\"></iframe>",
    }
    try:
        data = proceedings.build(fmt, Front("Forum", "", "", f"![a]({base}/front.png)"),
                                 [Part(None, [("Atelier 1 - Hostile", hostile)])], "fr")
    finally:
        server.shutdown()
    assert Hits.seen == []
    assert data[:4] in (b"%PDF", b"PK\x03\x04")
    if fmt != "pdf":
        with zipfile.ZipFile(BytesIO(data)) as archive:  # no image at all: none was the server's
            assert not [n for n in archive.namelist() if n.startswith(("word/media/", "Pictures/"))]
    if fmt == "docx":
        body = "".join(archive_text(data))
        assert "&lt;b&gt;Cécile&lt;/b&gt;" in body  # shown as typed, as on the published page
        assert "pirate" not in re.sub(r"<[^>]+>", "", body.split("<w:body>")[0])


def test_an_events_proceedings_need_the_organiser(make_atelier):
    from synthese import access, tokens

    atelier, porteur_token, _ = make_atelier()
    with pytest.raises(access.Denied):
        exporting.event_proceedings(access.asking(tokens.find(porteur_token)), atelier.event, "pdf")
    assert exporting.event_proceedings(access.OPERATOR, atelier.event, "odt")[:2] == b"PK"
