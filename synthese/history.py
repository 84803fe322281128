"""How a sheet evolved, and going back to an earlier state.

The history is every published version and the state kept at each
compaction. Restoring is a new edit that turns today's text into the
earlier one: connected clients merge it like anyone's typing, where
rewriting the document from text would duplicate it in their copies.
"""
from sqlalchemy import select

from . import access, realtime
from .documents import current_store
from .events import DomainError
from .extensions import db
from .models import Atelier, SheetHistory
from .sheets import SECTION_KEYS, edit_towards, fields_from_update


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


def restore(asking: access.Asking, atelier: Atelier, kind: str, ident: int) -> bytes:
    """Bring the sheet back to an earlier state as a new edit that everyone in the room receives."""
    _, credential = asking.require(atelier, "sheet.restore")
    credential_id = credential.id if credential else None
    target = fields_at(atelier, kind, ident)
    store = current_store()
    edit = edit_towards(store.state(atelier.id), {key: target.get(key, "") for key in SECTION_KEYS})
    if not edit:
        return b""  # already in that state
    seq = store.append_edit(atelier.id, edit, credential_id)
    db.session.commit()
    realtime.relay_edit(atelier.id, edit, seq)
    return edit
