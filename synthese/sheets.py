"""The sheet: its sections and how to read them out of a Yjs document."""
from dataclasses import dataclass
from difflib import SequenceMatcher

from pycrdt import Doc, Text


@dataclass(frozen=True)
class Section:
    #: Name of the top-level Y.Text in the document (contract section 3).
    key: str
    title_fr: str
    title_en: str

    def title(self, lang: str = "fr") -> str:
        return self.title_en if lang == "en" else self.title_fr


#: The sheet, in display and export order. Adding a section means adding it here.
SECTIONS: tuple[Section, ...] = (
    Section("question", "Question", "Question"),
    Section("synthese", "Synthèse", "Synthesis"),
    Section("porteur", "Porteur", "Host"),
    Section("participants", "Participants", "Participants"),
    Section("discussion", "Éléments importants de la discussion", "Key points of the discussion"),
)
SECTION_KEYS = tuple(s.key for s in SECTIONS)


def read_fields(doc: Doc) -> dict[str, str]:
    """Each section's text as a plain string."""
    return {key: _text(doc, key) for key in SECTION_KEYS}


def fields_from_update(update: bytes) -> dict[str, str]:
    """Each section's text in the document that a full Yjs update encodes."""
    doc = Doc()
    if update:
        doc.apply_update(update)
    return read_fields(doc)


def update_from_fields(fields: dict[str, str]) -> bytes:
    """A Yjs update that creates a document holding these sections' text."""
    doc = Doc()
    for key in SECTION_KEYS:
        if fields.get(key):
            doc.get(key, type=Text).insert(0, fields[key])
    return doc.get_update()


def edit_towards(state: bytes, target: dict[str, str]) -> bytes:
    """The Yjs edit that turns the document ``state`` into the text ``target``
    (sections left out of ``target`` are not touched); b"" if nothing differs.

    A new edit on top of the existing document, so connected clients merge it
    like anyone's typing (rewriting the text would duplicate it). Per section,
    a character-level diff: only what differs is deleted or inserted, so
    concurrent typing elsewhere in the text survives.
    """
    doc = Doc()
    if state:
        doc.apply_update(state)
    before = doc.get_state()
    now = read_fields(doc)
    changed = False
    for key, new in target.items():
        old = now[key]
        if old == new:
            continue
        changed = True
        text = doc.get(key, type=Text)
        ops = SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
        # From the end, so that earlier offsets stay valid; pycrdt counts UTF-8 bytes.
        for tag, i1, i2, j1, j2 in reversed(ops):
            if tag == "equal":
                continue
            start = len(old[:i1].encode())
            if tag in ("replace", "delete"):
                del text[start:start + len(old[i1:i2].encode())]
            if tag in ("replace", "insert"):
                text.insert(start, new[j1:j2])
    # Unchanged, an update "since" would still carry every deletion ever made.
    return doc.get_update(before) if changed else b""


def participant_names(text: str) -> list[str]:
    """The Participants section holds one person per line."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _text(doc: Doc, key: str) -> str:
    try:
        return str(doc.get(key, type=Text))
    except Exception:
        # A client could have written another shared type under this name;
        # such content is not part of the sheet.
        return ""
