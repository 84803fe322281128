"""Sheets and events as markdown (contract section 4)."""
from pathlib import Path

from synthese import ateliers
from synthese.extensions import db
from synthese.documents import DocumentStore, Pending
from synthese.events import full_title
from synthese.exporting import event_document
from synthese.markdown import sheet_markdown
from tests.conftest import sheet_update
from synthese.access import OPERATOR

FIXTURE = Path(__file__).parent.parent / "fixtures" / "atelier-donnees.md"

FIELDS = {
    "question": "Comment faire des données ouvertes un levier d'amélioration des services publics locaux, "
    "et pas seulement une obligation réglementaire ?",
    "synthese": FIXTURE.read_text().split("## Synthèse\n\n")[1].split("\n\n## Porteur")[0],
    "porteur": "Karim Benali, Métropole de Lille",
    "participants": "Claire Dubois\nThomas Nguyen\n\nÉlodie Marchand\nYannick LE GALL\n",
    "discussion": FIXTURE.read_text().split("## Éléments importants de la discussion\n\n")[1].rstrip("\n"),
}


def test_sheet_markdown_has_the_reference_shape(make_atelier):
    atelier, _, _ = make_atelier(title="Données ouvertes et services publics", session="Session 2", number=3)
    assert sheet_markdown(full_title(atelier), FIELDS) == FIXTURE.read_text()


def test_empty_sections_keep_their_headings(make_atelier):
    atelier, _, _ = make_atelier(title="Emergence", session="Session 1", number=2)
    text = sheet_markdown(full_title(atelier), {})
    assert text.splitlines()[0] == "# Atelier 2 - Emergence - Session 1"
    assert [line for line in text.splitlines() if line.startswith("## ")] == [
        "## Question", "## Synthèse", "## Porteur", "## Participants", "## Éléments importants de la discussion",
    ]


def test_event_export_orders_sheets_and_lists_them(make_event):
    event = make_event("Forum 2026", sessions=[{"label": "Session 1"}, {"label": "Session 2"}]).obj
    late = ateliers.create_atelier(OPERATOR, event, "Participation", session="Session 2", number=1).obj
    early = ateliers.create_atelier(OPERATOR, event, "Emergence", session="Session 1", number=2).obj
    DocumentStore(db.engine).append([Pending(early.id, sheet_update(question="Q early")),
                            Pending(late.id, sheet_update(question="Q late"))])
    text = event_document(OPERATOR, event)
    assert text.startswith("# Forum 2026\n\n## Sommaire\n\n- Session 1\n"
                           "  - [Atelier 2 - Emergence - Session 1](#atelier-2---emergence---session-1)\n"
                           "- Session 2\n  - [Atelier 1 - Participation - Session 2]")
    assert text.index("## Atelier 2 - Emergence - Session 1") < text.index("## Atelier 1 - Participation - Session 2")
    # The sessions head their sheets; empty sections have no heading.
    assert "## Session 2\n\n## Atelier 1 - Participation - Session 2\n\n### Question\n\nQ late\n" in text
    assert "### Question\n\nQ early\n\n## Session 2" in text
    assert "### Synthèse" not in text


def test_event_export_opens_with_when_where_and_what(make_event):
    from datetime import date

    event = make_event("Forum 2026", place="Lyon, Hôtel de Région", starts_on=date(2026, 12, 3),
                       ends_on=date(2026, 12, 4), description="Deux jours pour **partager** les pratiques.",
                       sessions=[{"label": "Session 1", "time": "10h-11h30"}]).obj
    ateliers.create_atelier(OPERATOR, event, "Emergence", session="Session 1")
    text = event_document(OPERATOR, event)
    assert text.startswith("# Forum 2026\n\n3 décembre 2026 – 4 décembre 2026 · Lyon, Hôtel de Région\n\n"
                           "Deux jours pour **partager** les pratiques.\n\n## Sommaire\n\n")
    assert "## Session 1 — 10h-11h30\n\n## Atelier 1 - Emergence - Session 1\n\n### Question" in text
    assert "December 3, 2026 – December 4, 2026 · Lyon" in event_document(OPERATOR, event, lang="en")
