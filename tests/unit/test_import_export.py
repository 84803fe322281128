"""Export and import (contract section 4): round trips, the reference sheet,
front matter, reports of what could not be read, hostile text."""
import io
import zipfile
from pathlib import Path

import pytest
import yaml

from synthese import ateliers, exporting, importing, publication
from synthese.documents import Pending, current_store
from synthese.markdown import parse
from tests.conftest import sheet_update
from synthese.access import OPERATOR

FIXTURES = Path(__file__).parent.parent / "fixtures"
#: A sheet as written in a pad, in the shape of ../shared/examples/atelier-sheet.txt.
PAD = FIXTURES / "atelier-pad.txt"
HOSTILE = {
    "question": '<script>alert("q")</script> ?',
    "synthese": "[clic](javascript:alert(1)) <img src=x onerror=alert(2)>\n\n" + "très longue ligne " * 600,
    "porteur": "\u202eRenversé\u202c, \u200bzéro\u200d-largeur 😀",
    "participants": "Anna 👩🏽‍💻\n<b>Cécile</b>\n",
    "discussion": "- point [x](data:text/html;base64,PHNjcmlwdD4=)\n\n```\n## Question\n```\n# pas un titre de fiche",
}


def forum(make_event):
    event = make_event("Forum des labs", sessions=[{"label": "Session 1"}, {"label": "Session 2"}]).obj
    store = current_store()
    first = ateliers.create_atelier(OPERATOR, event, "Emergence", session="Session 1", number=2, porteur="Sophie").obj
    second = ateliers.create_atelier(OPERATOR, event, "Données ouvertes", session="Session 2", number=1).obj
    third = ateliers.create_atelier(OPERATOR, event, "Commande publique - achats", session="Session 1", number=1).obj
    store.append([Pending(first.id, sheet_update(synthese="Une synthèse.\n\n- un point", discussion="Débat."))])
    store.append([Pending(second.id, sheet_update(**HOSTILE))])
    store.append([Pending(third.id, sheet_update(participants="Anna\nCécile\n"))])
    return event, first, second, third


def test_export_import_export_gives_the_same_markdown(make_event):
    event, *_ = forum(make_event)
    exported = exporting.event_document(OPERATOR, event)
    copy = make_event("Forum des labs").obj
    report = importing.import_markdown(OPERATOR, copy, exported)
    assert report.problems == []
    assert [c["title"] for c in report.created] == ["Commande publique - achats", "Emergence", "Données ouvertes"]
    assert exporting.event_document(OPERATOR, copy) == exported


def test_session_headings_and_headings_people_wrote(make_event):
    """A session heading is known by the session its next sheet names; a
    heading someone wrote at the end of a section stays their text."""
    event = make_event("Forum", sessions=[{"label": "Matin", "time": "9h-12h"}, {"label": "Après-midi"}]).obj
    first = ateliers.create_atelier(OPERATOR, event, "Emergence", session="Matin").obj
    ateliers.create_atelier(OPERATOR, event, "Achats", session="Après-midi")
    written = "Débat nourri.\n\n## Après-midi"  # a heading that looks like the next session's
    current_store().append([Pending(first.id, sheet_update(discussion=written))])
    exported = exporting.event_document(OPERATOR, event)
    assert "## Matin — 9h-12h\n\n## Atelier 1 - Emergence - Matin" in exported
    copy = make_event("Copie").obj
    report = importing.import_markdown(OPERATOR, copy, exported)
    assert report.problems == [] and len(report.created) == 2
    imported = next(a for a in copy.ateliers if a.title == "Emergence")
    assert current_store().fields(imported.id)["discussion"] == written


def test_hostile_text_is_exported_verbatim(make_event):
    event, _, second, _ = forum(make_event)
    text = exporting.event_document(OPERATOR, event)
    for key in ("question", "porteur", "discussion"):
        assert HOSTILE[key] in text
    assert HOSTILE["synthese"].strip("\n") in text
    copy = make_event("Copie").obj
    importing.import_markdown(OPERATOR, copy, text)
    imported = next(a for a in copy.ateliers if a.title == "Données ouvertes")
    fields = current_store().fields(imported.id)
    assert fields["discussion"] == HOSTILE["discussion"]
    assert fields["porteur"] == HOSTILE["porteur"]
    assert fields["participants"] == "Anna 👩🏽‍💻\n<b>Cécile</b>"


def test_zip_has_one_file_per_sheet_with_front_matter(make_event):
    event, first, *_ = forum(make_event)
    publication.publish(OPERATOR, first)
    data = exporting.event_zip(OPERATOR, event)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert len(names) == 3 and all(n.endswith(".md") for n in names)
        text = archive.read(names[1]).decode()
    _, head, body = text.split("---\n", 2)
    meta = yaml.safe_load(head)
    assert meta == {"event": "Forum des labs", "event_slug": event.slug, "session": "Session 1",
                    "session_time": None, "atelier": 2, "title": "Emergence", "porteur": "Sophie",
                    "version": None, "published": meta["published"]}
    assert meta["published"] is not None
    assert body.lstrip().startswith("# Atelier 2 - Emergence - Session 1\n")
    # The zip imports back into the same sheets.
    copy = make_event("Copie").obj
    report = importing.import_zip(OPERATOR, copy, data)
    assert report.problems == [] and len(report.created) == 3
    assert exporting.event_document(OPERATOR, copy).split("\n", 1)[1] == exporting.event_document(OPERATOR, event).split("\n", 1)[1]


def test_published_export_has_published_versions_only(make_event):
    event, first, second, _ = forum(make_event)
    publication.publish(OPERATOR, first)
    current_store().append([Pending(first.id, sheet_update(question="Ajout après publication"))])
    text = exporting.event_document(OPERATOR, event, exporting.PUBLISHED)
    assert "Atelier 2 - Emergence - Session 1" in text and "Données ouvertes" not in text
    assert "Ajout après publication" not in text
    with zipfile.ZipFile(io.BytesIO(exporting.event_zip(OPERATOR, event, exporting.PUBLISHED))) as archive:
        (name,) = archive.namelist()
        assert "version: 1\n" in archive.read(name).decode()


def test_import_of_a_pad_sheet_written_as_markdown(make_event):
    """A sheet shaped like the reference one, its titles made markdown headings."""
    titles = {"Question", "Synthèse", "Porteur", "Participants", "Éléments importants de la discussion"}
    lines = PAD.read_text().split("\n")
    text = "\n".join("## " + l if l in titles else "# " + l if l.startswith("Atelier 4 - ") else l for l in lines)
    event = make_event("Forum").obj
    report = importing.import_markdown(OPERATOR, event, text)
    assert report.problems == [] and len(report.created) == 1
    (atelier,) = event.ateliers
    assert (atelier.number, atelier.title, atelier.session.label) == (4, "Tiers-lieux et services publics", "Session 2")
    assert atelier.porteur_name == "Mathilde Rousseau, Conseil départemental de la Drôme"
    fields = current_store().fields(atelier.id)
    assert fields["question"].startswith("Comment faire des tiers-lieux des points d'appui")
    assert fields["synthese"].startswith("Lancer d'ici l'automne une démarche commune")
    assert "- les animateurs de tiers-lieux qui connaissent les usages," in fields["synthese"]
    assert fields["participants"] == "Julien Perrin\nNadia Belkacem\nOlivier Marchetti\nSandrine LAFORGE"
    assert fields["discussion"].startswith("- ...Qui paie l'animation")
    assert fields["discussion"].endswith("avec les volontaires de l'atelier.")


def test_import_of_one_sheet_fixture(make_event):
    event = make_event("Forum").obj
    text = (FIXTURES / "atelier-donnees.md").read_text()
    report = importing.import_markdown(OPERATOR, event, text)
    assert report.problems == []
    assert exporting.sheet_document(exporting.sheets(event)[0]) == text


def test_import_reports_what_it_cannot_read(make_event):
    event = make_event("Forum").obj
    text = ("Quelques notes en vrac.\n\n# Programme\n\nDu texte sans fiche.\n\n"
            "# Atelier 1 - Gardé - Session 1\n\n## Question\n\nQ ?\n\n"
            f"# Atelier 2 - {'x' * 300}\n\n## Synthèse\n\nS.\n")
    report = importing.import_markdown(OPERATOR, event, text, "notes.md")
    assert [c["title"] for c in report.created] == ["Gardé"]
    assert len(report.problems) == 3, report.as_dict()['problems']
    assert any("Programme" in p and "belongs to no sheet" in p for p in report.as_dict()['problems'])
    assert any("before the first heading" in p for p in report.as_dict()['problems'])
    assert any("too long" in p for p in report.as_dict()['problems'])
    # Importing the same file again creates no duplicate.
    again = importing.import_markdown(OPERATOR, event, text)
    assert again.created == [] and any("already exists" in p for p in again.as_dict()['problems'])
    assert str(importing.import_markdown(OPERATOR, event, "juste du texte").problems[0]).startswith("No sheet found")
    assert importing.import_zip(OPERATOR, event, b"not a zip").as_dict()["problems"] == ["This file is not a zip archive."]


def test_parse_keeps_heading_like_text_inside_sections():
    parsed = parse("# Atelier 1 - A\n\n## Question\n\nQ\n\n## Synthèse\n\n### Sous-titre\n\n## Question\n\nencore\n")
    (sheet,) = parsed.sheets
    assert sheet.fields["synthese"] == "### Sous-titre\n\n## Question\n\nencore"


# -- hostile imports: linear time, bounded, a report line instead of a 500 --------

ONE_SHEET = "# Atelier 1 - Emergence\n\n## Question\n\nQ ?\n\n## Synthèse\n\nS.\n"


@pytest.mark.timeout(20)
def test_a_heading_line_of_spaces_and_tabs_is_read_at_once():
    """The heading regex backtracked: 1,300 pairs of blanks took 20 s,
    3,000 took minutes, while the event loop stood still."""
    text = "# a" + " \t" * 3000 + "\u00a0\n\n" + ONE_SHEET
    parsed = parse(text)
    assert [s.title for s in parsed.sheets] == ["Atelier 1 - Emergence"]


def test_headings_keep_their_meaning():
    text = ("# Forum #\n\n## Contents\n\n# Atelier 1 - C# et données ##  \n\n## Question\n\nQ\n\n"
            "## Synthèse ##\n\nS\n")
    parsed = parse(text)
    assert parsed.event_title == "Forum"
    assert [s.title for s in parsed.sheets] == ["Atelier 1 - C# et données"]
    assert parsed.sheets[0].fields == {"question": "Q", "synthese": "S"}


@pytest.mark.parametrize("head, why", [
    ("x: " + "y" * (4 * 1024 * 1024), "longer than"),
    ("[" * 5000, "RecursionError"),
    ("a: [1, 2", "ParserError"),
    ("- just\n- a list", "ValueError"),
])
def test_front_matter_that_cannot_be_read_is_a_line_of_the_report(make_event, head, why):
    event = make_event().obj
    report = importing.import_markdown(OPERATOR, event, f"---\n{head}\n---\n{ONE_SHEET}")
    assert [c["title"] for c in report.created] == ["Emergence"]
    assert any(why in p for p in report.as_dict()['problems']), report.as_dict()['problems']


def test_an_import_creates_a_bounded_number_of_sheets(make_event):
    event = make_event().obj
    text = "".join(f"# Atelier {n} - T{n}\n\n## Question\n\nq\n\n" for n in range(1, importing.MAX_SHEETS + 40))
    report = importing.import_markdown(OPERATOR, event, text)
    assert len(report.created) == importing.MAX_SHEETS
    assert any(f"only {importing.MAX_SHEETS} sheets" in p for p in report.as_dict()['problems'])


def _zip(members: dict[str, bytes], tweak=None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    data = bytearray(buffer.getvalue())
    if tweak:
        tweak(data)
    return bytes(data)




@pytest.mark.parametrize("tweak, why", [
    # Compression method 99 (AES): NotImplementedError in zipfile.
    (lambda d: _patch_method(d, 99), "NotImplementedError"),
    # The "encrypted" flag: RuntimeError (a password is required).
    (lambda d: _patch_flags(d, 0x1), "RuntimeError"),
    # Deflate data damaged: zlib.error or a bad CRC.
    (lambda d: _damage_data(d), ""),
])
def test_unreadable_zip_members_are_lines_of_the_report(make_event, tweak, why):
    event = make_event().obj
    data = _zip({"a.md": ONE_SHEET.encode() * 20, "b.md": ONE_SHEET.replace("1 - Emergence", "2 - Autre").encode()},
                tweak)
    report = importing.import_zip(OPERATOR, event, data)
    assert [c["title"] for c in report.created] == ["Autre"]
    assert any(p.startswith("a.md:") and why in p for p in report.as_dict()['problems']), report.as_dict()['problems']


def _central_entry(data: bytearray) -> int:
    return data.index(b"PK\x01\x02")


def _patch_method(data: bytearray, method: int) -> None:
    for at in (8, _central_entry(data) + 10):
        data[at:at + 2] = method.to_bytes(2, "little")


def _patch_flags(data: bytearray, flags: int) -> None:
    for at in (6, _central_entry(data) + 8):
        data[at:at + 2] = flags.to_bytes(2, "little")


def _damage_data(data: bytearray) -> None:
    name_length = int.from_bytes(data[26:28], "little")
    start = 30 + name_length
    data[start + 2:start + 12] = b"\xff" * 10


def test_an_archive_that_is_not_one_is_a_line_of_the_report(make_event):
    event = make_event().obj
    report = importing.import_zip(OPERATOR, event, b"PK\x05\x06" + b"\x00" * 10)
    assert report.as_dict()['problems'] == ["This file is not a zip archive."]


def test_an_imported_sheet_is_being_written_not_empty(make_event):
    event = make_event().obj
    report = importing.import_markdown(OPERATOR, event, "# Atelier 1 - Tiers-lieux\n\n## Synthèse\n\nUn texte venu d'ailleurs.\n")
    atelier = event.ateliers[0]
    assert report.created and publication.status(atelier)["status"] == "writing"
    assert publication.status(atelier)["edited_at"] is not None


def test_the_zip_holds_the_photos_beside_their_sheet(make_event):
    from synthese import photos
    from tests.unit.test_photos import jpeg_with_metadata

    event, first, *_ = forum(make_event)
    photos.add_photo(OPERATOR, first, jpeg_with_metadata(300, 200), "Le mur des idées")
    with zipfile.ZipFile(io.BytesIO(exporting.event_zip(OPERATOR, event))) as archive:
        pictures = [n for n in archive.namelist() if n.startswith("photos/")]
        assert pictures == ["photos/002-atelier-2-emergence-1.jpg"]
        assert archive.read(pictures[0]).startswith(b"\xff\xd8")
        meta = yaml.safe_load(archive.read("002-atelier-2-emergence.md").decode().split("---\n")[1])
    assert meta["photos"] == [{"file": pictures[0], "caption": "Le mur des idées"}]
    # The zip still imports: the photos are not sheets, and not reported as unreadable.
    report = importing.import_zip(OPERATOR, make_event("Copie").obj, exporting.event_zip(OPERATOR, event))
    assert len(report.created) == 3 and report.problems == []


def test_the_themes_are_computed_again_only_when_a_sheet_moves(make_event):
    event = make_event("Forum").obj
    importing.import_markdown(OPERATOR, event, (FIXTURES / "forum-themes.md").read_text())
    first = exporting.event_themes(OPERATOR, event)
    assert first and exporting.event_themes(OPERATOR, event) is first  # nothing moved: the same themes
    atelier = event.ateliers[0]
    current_store().append([Pending(atelier.id, sheet_update(discussion=" Un ajout."))])
    again = exporting.event_themes(OPERATOR, event)
    assert again is not first and again == first  # recomputed; the same grouping
    ateliers.update_atelier(OPERATOR, atelier, title="Budget citoyen")
    renamed = exporting.event_themes(OPERATOR, event)
    assert renamed is not again  # a title is part of what the themes read
    assert exporting.event_themes(OPERATOR, event, "published") == []
