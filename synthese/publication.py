"""Publishing sheets: frozen, numbered versions that anyone may read."""
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from . import access, realtime
from .documents import current_store
from .events import DomainError, full_title
from .extensions import db
from .models import Atelier, SheetDocument, SheetVersion
from .photos import photo_ids
from .sheets import fields_from_update

EMPTY, WRITING, PUBLISHED = "empty", "writing", "published"


def publish(asking: access.Asking, atelier: Atelier) -> tuple[SheetVersion, bool]:
    """Freeze the sheet as it is stored now as its next version and make it public.

    Returns the version and whether it is new: publishing again with no edit
    since the last version makes that version public again rather than a copy.
    """
    _, credential = asking.require(atelier, "sheet.publish")
    state, seq = current_store().snapshot(atelier.id)
    fields = fields_from_update(state)
    if not any(text.strip() for text in fields.values()):
        raise DomainError("empty", "An empty sheet cannot be published.")
    photos = photo_ids(atelier)
    last = latest(atelier)
    if last is not None and last.seq == seq and last.title == full_title(atelier) and last.photos == photos:
        atelier.public = True
        db.session.commit()
        realtime.publication_changed(atelier.id, True, last.number)
        return last, False
    for _ in range(3):
        number = 1 + (
            db.session.execute(
                select(func.max(SheetVersion.number)).where(SheetVersion.atelier_id == atelier.id)
            ).scalar()
            or 0
        )
        version = SheetVersion(
            atelier_id=atelier.id,
            number=number,
            title=full_title(atelier),
            fields=fields,
            state=state,
            seq=seq,
            photos=photos,
            published_by=credential.name if credential else "",
            credential_id=credential.id if credential else None,
        )
        db.session.add(version)
        atelier.public = True
        try:
            db.session.commit()
            realtime.publication_changed(atelier.id, True, version.number)
            return version, True
        except IntegrityError:
            # Someone published at the same moment: take the next number.
            db.session.rollback()
    raise DomainError("conflict", "The sheet is being published by someone else; try again.")


def unpublish(asking: access.Asking, atelier: Atelier) -> None:
    """Hide every version from the public; members still read them."""
    asking.require(atelier, "sheet.unpublish")
    atelier.public = False
    db.session.commit()
    last = latest(atelier)
    realtime.publication_changed(atelier.id, False, last.number if last else None)


def latest(atelier: Atelier) -> SheetVersion | None:
    return atelier.versions[-1] if atelier.versions else None


def version(atelier: Atelier, number: int) -> SheetVersion | None:
    return next((v for v in atelier.versions if v.number == number), None)


def public_version(atelier: Atelier, number: int | None = None) -> SheetVersion | None:
    """What the public may read: a version of a published sheet (the latest by default)."""
    if not atelier.public:
        return None
    return latest(atelier) if number is None else version(atelier, number)


def status(atelier: Atelier, fields: dict[str, str] | None = None) -> dict:
    """Where a sheet stands: empty, being written, or published (with its version)."""
    last = latest(atelier)
    # Read from the database: edits are appended outside this ORM session.
    head, edited_at = db.session.execute(
        select(SheetDocument.head_seq, SheetDocument.edited_at).where(SheetDocument.atelier_id == atelier.id)
    ).one()
    if atelier.public and last is not None:
        state = PUBLISHED
    elif fields is not None:
        state = WRITING if any(text.strip() for text in fields.values()) else EMPTY
    else:
        # The porteur's name and the announced question, seeded at creation, are no edit.
        state = WRITING if edited_at else EMPTY
    return {
        "status": state,
        "public": atelier.public and last is not None,
        "version": last.number if last else None,
        "published_at": last.published_at if last else None,
        "edited_since_published": bool(last and head > last.seq),
        "edited_at": edited_at,
    }
