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
    assert text.startswith("# Forum 2026\n\n## Sommaire\n\n- [Atelier 2 - Emergence - Session 1](#atelier-2---emergence---session-1)\n")
    assert text.index("## Atelier 2 - Emergence - Session 1") < text.index("## Atelier 1 - Participation - Session 2")
    assert "### Question\n\nQ early\n" in text
