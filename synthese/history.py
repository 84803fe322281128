"""How a sheet evolved, and going back to an earlier state.

The history is every published version and the state kept at each
compaction. Restoring is a new edit that turns today's text into the
earlier one: connected clients merge it like anyone's typing, where
rewriting the document from text would duplicate it in their copies.
"""
from difflib import SequenceMatcher

from pycrdt import Doc, Text
from sqlalchemy import select

from .documents import EMPTY_UPDATE, current_store
from .events import DomainError
from .extensions import db
from .models import Atelier, SheetHistory
from .sheets import SECTION_KEYS, fields_from_update, read_fields


def points(atelier: Atelier) -> list[dict]:
    """Every known state of the sheet, oldest first."""
    found = [{"kind": "version", "id": v.number, "seq": v.seq, "at": v.published_at, "by": v.published_by}
             for v in atelier.versions]
    found += [{"kind": "history", "id": h.id, "seq": h.seq, "at": h.taken_at, "by": ""}
              for h in db.session.execute(
                  select(SheetHistory).where(SheetHistory.atelier_id == atelier.id)).scalars()]
    return sorted(found, key=lambda p: (p["seq"], p["kind"] == "version"))


def state_of(atelier: Atelier, kind: str, ident: int) -> bytes:
    if kind == "version":
        version = next((v for v in atelier.versions if v.number == ident), None)
        if version is not None:
            return version.state
    elif kind == "history":
        point = db.session.get(SheetHistory, ident)
        if point is not None and point.atelier_id == atelier.id:
            return point.state
    raise DomainError("not_found", "This sheet has no such earlier state.")


def fields_at(atelier: Atelier, kind: str, ident: int) -> dict[str, str]:
    return fields_from_update(state_of(atelier, kind, ident))


def restoring_edit(current: bytes, target: dict[str, str]) -> bytes:
    """The Yjs edit that turns the document ``current`` into the text ``target``.

    Character-level diff per section: only what differs is deleted or
    inserted, so concurrent typing elsewhere in the text survives.
    """
    doc = Doc()
    if current:
        doc.apply_update(current)
    before = doc.get_state()
    now = read_fields(doc)
    changed = False
    for key in SECTION_KEYS:
        old, new = now[key], target.get(key, "")
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
    if not changed:
        # An update "since" would still carry every deletion ever made.
        return EMPTY_UPDATE
    return doc.get_update(before)


def restore(atelier: Atelier, kind: str, ident: int, credential_id: int | None = None) -> bytes:
    """Bring the sheet back to an earlier state as a new edit; returns it for relaying."""
    target = fields_at(atelier, kind, ident)
    store = current_store()
    edit = restoring_edit(store.state(atelier.id), target)
    if edit == EMPTY_UPDATE:
        return b""  # already in that state
    store.append_edit(atelier.id, edit, credential_id)
    db.session.commit()
    return edit
