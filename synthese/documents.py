"""The Yjs document store.

The database is the truth: each sheet is a snapshot plus an append-only,
gap-free log of accepted updates (models.SheetDocument / SheetUpdate). An
update is committed before anyone else sees it. This process keeps a cache of
live pycrdt documents to answer sync requests quickly; the cache catches up
from the log before every answer, so it never holds anything another process
needs and can be dropped at any time.
"""
import logging
import threading
from dataclasses import dataclass, field

from flask import current_app
from pycrdt import Doc
from sqlalchemy import delete, insert, select, update

from .extensions import db
from .models import SheetDocument, SheetUpdate, utcnow
from .sheets import fields_from_update

log = logging.getLogger(__name__)

EMPTY_UPDATE = b"\x00\x00"


def current_store() -> "DocumentStore":
    """The document store of the current application."""
    return current_app.extensions["synthese.documents"]


class InvalidUpdate(ValueError):
    """Bytes that are not a Yjs v1 update."""


def check_update(data: object, max_bytes: int) -> bytes:
    """Return ``data`` as bytes if it is a well-formed Yjs v1 update."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidUpdate("not binary")
    data = bytes(data)
    if len(data) > max_bytes:
        raise InvalidUpdate(f"larger than {max_bytes} bytes")
    try:
        # Decodes every struct of the update without touching any document.
        Doc().apply_update(data)
    except ValueError as exc:
        raise InvalidUpdate(str(exc)) from None
    return data


@dataclass
class Pending:
    """An update accepted from a client, waiting for its commit."""

    atelier_id: int
    data: bytes
    credential_id: int | None = None
    #: Socket that sent it, not to be sent its own update back.
    sid: str | None = None


@dataclass
class Appended:
    """Updates of one sheet committed together."""

    atelier_id: int
    #: Sequence number of the first of ``items``.
    first_seq: int
    items: list[Pending]
    #: Log rows the snapshot does not cover yet, these included.
    backlog: int


@dataclass
class Sheet:
    """This process's cached copy of one sheet's document."""

    atelier_id: int
    doc: Doc = field(default_factory=Doc)
    #: Last log sequence number applied to ``doc``.
    seq: int = 0
    #: Whether ``doc`` holds the snapshot (seq may be 0 while it does).
    loaded: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock)


class DocumentStore:
    """Loads, appends to and compacts sheet documents; caches them per process."""

    def __init__(self, compact_after: int = 500):
        self.compact_after = compact_after
        self._sheets: dict[int, Sheet] = {}
        self._lock = threading.Lock()

    # -- reading -----------------------------------------------------------

    def sheet(self, atelier_id: int) -> Sheet:
        """The cached document of a sheet, caught up with the database."""
        with self._lock:
            sheet = self._sheets.get(atelier_id)
            if sheet is None:
                sheet = self._sheets[atelier_id] = Sheet(atelier_id)
        self.refresh(sheet)
        return sheet

    def forget(self, atelier_id: int) -> None:
        """Drop a cached document (nobody is editing it here any more)."""
        with self._lock:
            self._sheets.pop(atelier_id, None)

    def refresh(self, sheet: Sheet) -> None:
        """Apply to ``sheet`` whatever the database holds beyond it."""
        with sheet.lock:
            for _ in range(5):
                head = db.session.execute(
                    select(SheetDocument.snapshot_seq, SheetDocument.head_seq).where(
                        SheetDocument.atelier_id == sheet.atelier_id
                    )
                ).one_or_none()
                if head is None:
                    raise LookupError(f"no document for atelier {sheet.atelier_id}")
                snapshot_seq, head_seq = head
                if not sheet.loaded or snapshot_seq > sheet.seq:
                    # Rows up to snapshot_seq may be gone: start from the snapshot
                    # (applying state the doc already has is a no-op).
                    snapshot, snapshot_seq = db.session.execute(
                        select(SheetDocument.snapshot, SheetDocument.snapshot_seq).where(
                            SheetDocument.atelier_id == sheet.atelier_id
                        )
                    ).one()
                    if snapshot:
                        sheet.doc.apply_update(snapshot)
                    sheet.seq = max(sheet.seq, snapshot_seq)
                    sheet.loaded = True
                if head_seq <= sheet.seq:
                    db.session.rollback()
                    return
                rows = db.session.execute(
                    select(SheetUpdate.seq, SheetUpdate.data)
                    .where(SheetUpdate.atelier_id == sheet.atelier_id, SheetUpdate.seq > sheet.seq)
                    .order_by(SheetUpdate.seq)
                ).all()
                db.session.rollback()
                if self._apply_rows(sheet, rows):
                    return
                # A compaction removed rows between our two reads: start again.
            raise RuntimeError(f"could not catch up with atelier {sheet.atelier_id}")

    @staticmethod
    def _apply_rows(sheet: Sheet, rows) -> bool:
        """Apply log rows that follow ``sheet.seq`` without a gap."""
        for seq, data in rows:
            if seq <= sheet.seq:
                continue
            if seq != sheet.seq + 1:
                return False
            sheet.doc.apply_update(data)
            sheet.seq = seq
        return True

    def state(self, atelier_id: int) -> bytes:
        """The whole document as one Yjs update, read from the database alone."""
        doc = Doc()
        snapshot = db.session.execute(
            select(SheetDocument.snapshot).where(SheetDocument.atelier_id == atelier_id)
        ).scalar_one()
        if snapshot:
            doc.apply_update(snapshot)
        for (data,) in db.session.execute(
            select(SheetUpdate.data)
            .where(SheetUpdate.atelier_id == atelier_id)
            .order_by(SheetUpdate.seq)
        ):
            doc.apply_update(data)
        db.session.rollback()
        return doc.get_update()

    def fields(self, atelier_id: int) -> dict[str, str]:
        """The sheet's sections as stored right now."""
        return fields_from_update(self.state(atelier_id))

    # -- writing -----------------------------------------------------------

    def append(self, batch: list[Pending]) -> list[Appended]:
        """Durably append a batch of updates in one transaction.

        Returns what was appended, per sheet, in log order. Raises if
        nothing could be committed.
        """
        by_atelier: dict[int, list[Pending]] = {}
        for item in batch:
            by_atelier.setdefault(item.atelier_id, []).append(item)
        now = utcnow()
        result = []
        try:
            for atelier_id, items in sorted(by_atelier.items()):
                # Row lock on the head: concurrent appenders (other processes)
                # queue here, so sequence numbers follow commit order.
                head = db.session.execute(
                    update(SheetDocument)
                    .where(SheetDocument.atelier_id == atelier_id)
                    .values(head_seq=SheetDocument.head_seq + len(items), edited_at=now)
                    .returning(SheetDocument.head_seq, SheetDocument.snapshot_seq)
                ).one_or_none()
                if head is None:
                    log.warning("dropping %d update(s) for deleted atelier %s", len(items), atelier_id)
                    continue
                head_seq, snapshot_seq = head
                first = head_seq - len(items) + 1
                db.session.execute(
                    insert(SheetUpdate),
                    [
                        {
                            "atelier_id": atelier_id,
                            "seq": first + i,
                            "data": item.data,
                            "credential_id": item.credential_id,
                            "created_at": now,
                        }
                        for i, item in enumerate(items)
                    ],
                )
                result.append(Appended(atelier_id, first, items, head_seq - snapshot_seq))
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        self._apply_committed(result)
        return result

    def _apply_committed(self, result: list[Appended]) -> None:
        """Bring cached documents up to date with what was just committed."""
        for appended in result:
            with self._lock:
                sheet = self._sheets.get(appended.atelier_id)
            if sheet is None:
                continue
            with sheet.lock:
                if sheet.loaded and sheet.seq == appended.first_seq - 1:
                    for item in appended.items:
                        sheet.doc.apply_update(item.data)
                    sheet.seq = appended.first_seq + len(appended.items) - 1
                else:
                    self.refresh(sheet)

    def compact(self, atelier_id: int) -> int:
        """Fold the log into the snapshot; returns how many rows were folded.

        Safe while others append: only rows up to the sequence number the
        new snapshot covers are removed, and the snapshot is only replaced if
        no other compaction went further meanwhile.
        """
        sheet = Sheet(atelier_id)
        self.refresh(sheet)
        old_seq = db.session.execute(
            select(SheetDocument.snapshot_seq).where(SheetDocument.atelier_id == atelier_id)
        ).scalar_one()
        if sheet.seq <= old_seq:
            db.session.rollback()
            return 0
        done = db.session.execute(
            update(SheetDocument)
            .where(SheetDocument.atelier_id == atelier_id, SheetDocument.snapshot_seq == old_seq)
            .values(snapshot=sheet.doc.get_update(), snapshot_seq=sheet.seq)
        ).rowcount
        if not done:
            db.session.rollback()
            return 0
        db.session.execute(
            delete(SheetUpdate).where(
                SheetUpdate.atelier_id == atelier_id, SheetUpdate.seq <= sheet.seq
            )
        )
        db.session.commit()
        return sheet.seq - old_seq
