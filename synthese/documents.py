"""The Yjs document store.

The database is the truth: each sheet is a snapshot plus an append-only,
gap-free log of accepted updates (models.SheetDocument / SheetUpdate). Reads
(API, exports, publication) see committed rows only. This process keeps a
cache of live pycrdt documents, committed state only, to answer sync requests
quickly; the cache catches up from the log before every answer, so it never
holds anything another process needs and can be dropped at any time. What
this process accepted and relayed but has not committed yet waits beside it
(Sheet.pending): its room's clients hold it already.
"""
import logging
import threading
from dataclasses import dataclass, field

from flask import current_app
from pycrdt import Doc, merge_updates
from sqlalchemy import select, update

from .database import DatabaseThread, RawConnection
from .extensions import db
from .models import SheetClient, SheetDocument, SheetUpdate, utcnow
from .sheets import SECTION_KEYS, fields_from_update
from .yjs import InvalidUpdate, SheetIndex

logger = logging.getLogger(__name__)

EMPTY_UPDATE = b"\x00\x00"


def current_store() -> "DocumentStore":
    """The document store of the current application."""
    return current_app.extensions["synthese.documents"]


def check_bytes(data: object, max_bytes: int) -> bytes:
    """Return ``data`` as bytes if it is binary and not too large.

    Whether the update may join the sheet is the sheet's index's decision
    (Sheet.index, synthese/yjs.py), against the sheet's current state.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidUpdate("not binary")
    if len(data) > max_bytes:
        raise InvalidUpdate(f"larger than {max_bytes} bytes")
    return bytes(data)


@dataclass
class Pending:
    """An update accepted from a client, waiting for its commit."""

    atelier_id: int
    data: bytes
    credential_id: int | None = None
    #: Socket that sent it, not to be sent its own update back.
    sid: str | None = None
    #: Yjs client IDs it writes under for the first time (synthese/yjs.py).
    claims: list[int] = field(default_factory=list)
    #: The cached sheet it was accepted into, and whether that sheet's room
    #: in this process was sent it before its commit (synthese.realtime.rooms).
    sheet: "Sheet | None" = field(default=None, repr=False, compare=False)
    relayed: bool = False
    #: Its name in the other processes, which were sent it before its commit
    #: too; there, when it arrived (monotonic).
    token: int | None = None
    arrived: float = 0.0


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
    #: What the document holds, per Yjs client, and the updates accepted
    #: here and waiting for their commit: what a new update is checked against.
    index: SheetIndex = field(default_factory=lambda: SheetIndex(SECTION_KEYS))
    #: Updates accepted here, or relayed by another process, and not
    #: committed yet, in order (by id(), or by the other process's token):
    #: a newcomer's sync answer has those the room was sent.
    pending: dict[object, "Pending"] = field(default_factory=dict)
    #: Client IDs whose first update (its claim) is not committed yet: their
    #: updates wait for their commit before the room sees them.
    claiming: set[int] = field(default_factory=set)

    def pending_update(self, state_vector: bytes) -> bytes:
        """What the document, and the pending updates its room was sent,
        hold beyond ``state_vector``, as one update."""
        known = self.doc.get_update(state_vector)
        relayed = [item.data for item in self.pending.values() if item.relayed]
        return merge_updates(known, *relayed) if relayed else known

    def apply(self, data: bytes, owner=None, indexed: bool = False) -> bool:
        """Apply a stored update to the cached document; False (and nothing
        changed) if the document refuses it.

        Rows stored before updates were checked struct by struct may hold
        what pycrdt cannot integrate; one such row must not make the whole
        sheet unreadable. ``indexed``: the index has it already (it was
        accepted here).
        """
        try:
            self.doc.apply_update(data)
        except Exception as exc:
            logger.warning("skipping a stored update of atelier %s that does not apply: %s", self.atelier_id, exc)
            return False
        if not indexed:
            self.index.integrate(data, owner)
        return True


class DocumentStore:
    """Loads, appends to and compacts sheet documents; caches them per process."""

    def __init__(self, engine, compact_after: int = 500, max_structs: int = 50_000,
                 max_size: int = 4 * 1024 * 1024):
        self.compact_after = compact_after
        #: A sheet's quota (synthese/yjs.py): what one person could otherwise
        #: grow the room's memory and every read of the sheet by.
        self.max_structs = max_structs
        self.max_size = max_size
        self._sheets: dict[int, Sheet] = {}
        self._lock = threading.Lock()
        # When SQLite is locked by someone else, give up quickly and let the
        # caller retry (cooperatively).
        self._log = RawConnection(engine, autocheckpoint=False, busy_timeout_ms=100)
        #: Runs SQLite's appends, whose fsync would stop every greenlet
        #: (relays included) while it lasts; psycopg waits cooperatively.
        self._appender = DatabaseThread()
        #: Used by self._worker's thread alone.
        self._compactor = RawConnection(engine)
        self._worker = DatabaseThread()

    # -- reading -----------------------------------------------------------

    def sheet(self, atelier_id: int) -> Sheet:
        """The cached document of a sheet, caught up with the database."""
        with self._lock:
            sheet = self._sheets.get(atelier_id)
            if sheet is None:
                sheet = self._sheets[atelier_id] = self._new_sheet(atelier_id)
        self.refresh(sheet)
        return sheet

    def _new_sheet(self, atelier_id: int, **kwargs) -> Sheet:
        return Sheet(atelier_id, index=SheetIndex(SECTION_KEYS, self.max_structs, self.max_size), **kwargs)

    def cached(self, atelier_id: int) -> Sheet | None:
        """The cached document of a sheet, as it is (no database read)."""
        return self._sheets.get(atelier_id)

    def forget(self, atelier_id: int) -> None:
        """Drop a cached document (nobody is editing it here any more)."""
        with self._lock:
            self._sheets.pop(atelier_id, None)

    def refresh(self, sheet: Sheet) -> None:
        """Apply to ``sheet`` whatever the database holds beyond it.

        The database is read without the sheet's lock and the lock is taken
        without a database connection: a task holding one while waiting for
        the other would deadlock against tasks doing the reverse once the
        connection pool runs dry (360 sockets opening at once on PostgreSQL).
        """
        for _ in range(5):
            seen, loaded = sheet.seq, sheet.loaded
            head = db.session.execute(
                select(SheetDocument.snapshot_seq, SheetDocument.head_seq).where(
                    SheetDocument.atelier_id == sheet.atelier_id
                )
            ).one_or_none()
            if head is None:
                db.session.rollback()
                raise LookupError(f"no document for atelier {sheet.atelier_id}")
            snapshot_seq, head_seq = head
            snapshot = owners = None
            if not loaded or snapshot_seq > seen:
                # Rows up to snapshot_seq may be gone: start from the snapshot
                # (applying state the doc already has is a no-op).
                snapshot, snapshot_seq = db.session.execute(
                    select(SheetDocument.snapshot, SheetDocument.snapshot_seq).where(
                        SheetDocument.atelier_id == sheet.atelier_id
                    )
                ).one()
                seen = max(seen, snapshot_seq)
                owners = db.session.execute(
                    select(SheetClient.client_id, SheetClient.credential_id).where(
                        SheetClient.atelier_id == sheet.atelier_id
                    )
                ).all()
            rows = []
            if head_seq > seen:
                rows = db.session.execute(
                    select(SheetUpdate.seq, SheetUpdate.data, SheetUpdate.credential_id)
                    .where(SheetUpdate.atelier_id == sheet.atelier_id, SheetUpdate.seq > seen)
                    .order_by(SheetUpdate.seq)
                ).all()
            db.session.rollback()  # the connection goes back before the lock is taken
            with sheet.lock:
                if owners:
                    sheet.index.own(owners)
                if snapshot is not None and (not sheet.loaded or snapshot_seq > sheet.seq):
                    if snapshot:
                        sheet.apply(snapshot)
                    sheet.seq = max(sheet.seq, snapshot_seq)
                    sheet.loaded = True
                if sheet.loaded and self._apply_rows(sheet, rows) and sheet.seq >= head_seq:
                    return
            # A compaction removed rows between our reads, or the cache moved: again.
        raise RuntimeError(f"could not catch up with atelier {sheet.atelier_id}")

    @staticmethod
    def _apply_rows(sheet: Sheet, rows, indexed: bool = False) -> bool:
        """Apply log rows (seq, data, credential) that follow ``sheet.seq`` without a gap."""
        for seq, data, credential_id in rows:
            if seq <= sheet.seq:
                continue
            if seq != sheet.seq + 1:
                return False
            sheet.apply(data, credential_id, indexed)
            sheet.seq = seq
        return True

    def state(self, atelier_id: int) -> bytes:
        """The whole document as one Yjs update, read from the database alone."""
        return self.snapshot(atelier_id)[0]

    def snapshot(self, atelier_id: int) -> tuple[bytes, int]:
        """The whole document as one Yjs update, and the log sequence number it covers."""
        sheet = self._new_sheet(atelier_id)
        self.refresh(sheet)
        return sheet.doc.get_update(), sheet.seq

    def since(self, atelier_id: int, seq: int) -> tuple[bytes, int, int]:
        """What the log holds after ``seq``, as one update, and the rows it
        covers: (update, first, last); the whole document once those rows
        are folded into the snapshot. LookupError if the sheet is gone."""
        head = db.session.execute(
            select(SheetDocument.snapshot_seq, SheetDocument.head_seq).where(SheetDocument.atelier_id == atelier_id)
        ).one_or_none()
        if head is None:
            db.session.rollback()
            raise LookupError(f"no document for atelier {atelier_id}")
        snapshot_seq, head_seq = head
        rows = []
        if snapshot_seq <= seq < head_seq:
            rows = db.session.execute(
                select(SheetUpdate.seq, SheetUpdate.data)
                .where(SheetUpdate.atelier_id == atelier_id, SheetUpdate.seq > seq)
                .order_by(SheetUpdate.seq)
            ).all()
        db.session.rollback()
        if head_seq <= seq:
            return b"", seq + 1, seq
        if rows and [r[0] for r in rows] == list(range(seq + 1, rows[-1][0] + 1)):
            return merge_updates(*(bytes(r[1]) for r in rows)), seq + 1, rows[-1][0]
        # Folded meanwhile: everything (applying what one has is a no-op).
        state, last = self.snapshot(atelier_id)
        return state, seq + 1, last

    def fields(self, atelier_id: int) -> dict[str, str]:
        """The sheet's sections as stored right now."""
        return fields_from_update(self.state(atelier_id))

    # -- writing -----------------------------------------------------------
    #
    # The hot path: appends use a DB-API connection of their own and plain
    # SQL on the tables of models.SheetDocument / SheetUpdate (through the
    # ORM session a commit took about 2.4 ms more). Compaction and
    # checkpoints run in a native thread of their own (DatabaseThread), where
    # the gevent-patched pool of the session must not be used either.

    def append(self, batch: list[Pending]) -> list[Appended]:
        """Durably append a batch of updates in one transaction.

        Returns what was appended, per sheet, in log order; raises if nothing
        could be committed. One caller at a time. The cache is not touched:
        call apply_committed() with the result.
        """
        if self._log.sqlite:
            return self._appender.run(self._append, batch)
        return self._append(batch)

    def _append(self, batch: list[Pending]) -> list[Appended]:
        by_atelier: dict[int, list[Pending]] = {}
        for item in batch:
            by_atelier.setdefault(item.atelier_id, []).append(item)
        # Sheets in a fixed order: appenders in other processes lock heads in the same order.
        sheets = sorted(by_atelier.items())
        conn = self._log
        now = _timestamp(conn)
        try:
            heads = self._append_sqlite(sheets, now) if conn.sqlite else self._append_postgres(sheets, now)
        except Exception:
            conn.discard()
            raise
        result = []
        for atelier_id, items in sheets:
            head = heads.get(atelier_id)
            if head is None:
                logger.warning("dropping %d update(s) for deleted atelier %s", len(items), atelier_id)
                continue
            head_seq, snapshot_seq = head
            result.append(Appended(atelier_id, head_seq - len(items) + 1, items, head_seq - snapshot_seq))
        return result

    def _append_sqlite(self, sheets: list[tuple[int, list[Pending]]], now) -> dict[int, tuple[int, int]]:
        """Advance each sheet's head and insert its rows, in one transaction:
        {atelier: (head_seq, snapshot_seq)}, without the sheets that are gone."""
        cursor = self._log.begin()
        heads = {}
        for atelier_id, items in sheets:
            cursor.execute(
                "UPDATE sheet_documents SET head_seq = head_seq + ?, edited_at = ? "
                "WHERE atelier_id = ? RETURNING head_seq, snapshot_seq",
                (len(items), now, atelier_id),
            )
            head = cursor.fetchone()
            if head is None:
                continue
            heads[atelier_id] = head
            first = head[0] - len(items) + 1
            cursor.executemany(
                "INSERT INTO sheet_updates (atelier_id, seq, data, credential_id, created_at) VALUES (?, ?, ?, ?, ?)",
                [(atelier_id, first + i, item.data, item.credential_id, now) for i, item in enumerate(items)],
            )
            self._claim(cursor, atelier_id, items)
        self._log.commit()
        return heads

    def _append_postgres(self, sheets: list[tuple[int, list[Pending]]], now) -> dict[int, tuple[int, int]]:
        """As _append_sqlite, every sheet in one statement (_APPEND_POSTGRES).

        Each statement costs psycopg's Python and a wait of the event loop:
        one per sheet made a forum's groups (a dozen sheets each) the
        largest part of the server's CPU on PostgreSQL after the sockets.
        The heads' row locks make concurrent appenders (other processes)
        queue, so sequence numbers follow commit order, without gaps; with
        several sheets they are taken first, in order, so that two
        processes never wait for each other. The arrays go in binary (%b):
        psycopg quotes a text array's every element in Python, three times
        the CPU of the binary form for a group of 35 updates.
        """
        conn = self._log
        items = [(atelier_id, item) for atelier_id, some in sheets for item in some]
        params = {"now": now, "ateliers": [a for a, _ in items], "data": [i.data for _, i in items],
                  "credentials": [i.credential_id for _, i in items]}
        claims = any(item.claims for _, item in items)
        # The usual group of a quiet event: one statement, its own transaction.
        alone = len(sheets) == 1 and not claims
        cursor = conn.cursor() if alone else conn.begin()
        if len(sheets) > 1:
            cursor.execute("SELECT 1 FROM sheet_documents WHERE atelier_id = ANY(%b) ORDER BY atelier_id FOR UPDATE",
                           ([a for a, _ in sheets],))
        cursor.execute(_APPEND_POSTGRES, params)
        heads = {atelier_id: (head_seq, snapshot_seq) for atelier_id, head_seq, snapshot_seq in cursor.fetchall()}
        if claims:
            for atelier_id, some in sheets:
                if atelier_id in heads:
                    self._claim(cursor, atelier_id, some)
        if not alone:
            conn.commit()
        return heads

    def _claim(self, cursor, atelier_id: int, items: list[Pending]) -> None:
        """Record who first wrote under new client IDs (rare: a person's first edit)."""
        p = self._log.p
        rows = [(atelier_id, client, item.credential_id) for item in items for client in item.claims]
        if rows:
            cursor.executemany(
                "INSERT INTO sheet_clients (atelier_id, client_id, credential_id) "
                f"VALUES ({p}, {p}, {p}) ON CONFLICT DO NOTHING",
                rows,
            )

    def is_permanent(self, exc: Exception) -> bool:
        """Whether an append failed for what it holds, not for the database's
        state: retrying the same rows can only fail again."""
        dbapi = self._log.dialect.loaded_dbapi
        return isinstance(exc, (dbapi.IntegrityError, dbapi.DataError, dbapi.ProgrammingError))

    def append_edit(self, atelier_id: int, data: bytes, credential_id: int | None = None) -> int:
        """Append one server-side edit (a merge, a restore) in the session's transaction.

        Rarely used, so it goes through the ORM session; the caller commits,
        then relays the edit to connected clients. Returns its sequence number.
        """
        seq = db.session.execute(
            update(SheetDocument)
            .where(SheetDocument.atelier_id == atelier_id)
            .values(head_seq=SheetDocument.head_seq + 1, edited_at=utcnow())
            .returning(SheetDocument.head_seq)
        ).scalar_one()
        db.session.add(SheetUpdate(atelier_id=atelier_id, seq=seq, data=data, credential_id=credential_id))
        return seq

    def apply_committed(self, result: list[Appended]) -> None:
        """Add what append() committed to cached documents that directly precede it."""
        for appended in result:
            for item in appended.items:
                if item.sheet is not None:
                    with item.sheet.lock:
                        item.sheet.pending.pop(id(item), None)
                        item.sheet.claiming.difference_update(item.claims)
            with self._lock:
                sheet = self._sheets.get(appended.atelier_id)
            if sheet is None:
                continue
            with sheet.lock:
                if sheet.loaded and sheet.seq == appended.first_seq - 1:
                    for item in appended.items:
                        sheet.apply(item.data, indexed=True)
                    sheet.seq = appended.first_seq + len(appended.items) - 1
            # Otherwise another process appended in between: the cache stays
            # behind until someone needs it, as sheet() catches up before every
            # answer. (Catching up here cost three queries per batch when two
            # processes share a busy sheet.)

    def compact(self, atelier_id: int) -> int:
        """Fold the log into the snapshot; returns how many rows were folded.

        Safe while others append: only rows up to the sequence number the
        new snapshot covers are removed, and the snapshot is only replaced if
        no other compaction went further meanwhile. Runs in the store's
        database thread; callers wait for it (a greenlet, cooperatively).
        """
        return self._worker.run(self._compact, atelier_id)

    def _compact(self, atelier_id: int) -> int:
        conn, p = self._compactor, self._compactor.p
        try:
            old_seq, doc, seq = self._fold(conn, atelier_id)
            if seq <= old_seq:
                return 0
            snapshot = doc.get_update()
            cursor = conn.begin()
            cursor.execute(
                f"UPDATE sheet_documents SET snapshot = {p}, snapshot_seq = {p} "
                f"WHERE atelier_id = {p} AND snapshot_seq = {p}",
                (snapshot, seq, atelier_id, old_seq),
            )
            if cursor.rowcount != 1:
                conn.commit()
                return 0
            # The folded rows go, but the state they led to stays in the history.
            cursor.execute(
                f"INSERT INTO sheet_history (atelier_id, seq, state, taken_at) VALUES ({p}, {p}, {p}, {p})",
                (atelier_id, seq, snapshot, _timestamp(conn)),
            )
            cursor.execute(f"DELETE FROM sheet_updates WHERE atelier_id = {p} AND seq <= {p}", (atelier_id, seq))
            conn.commit()
            return seq - old_seq
        except Exception:
            conn.discard()
            raise

    def _fold(self, conn, atelier_id: int) -> tuple[int, Doc, int]:
        """Read the snapshot and the log after it: (snapshot_seq, folded doc, last seq)."""
        p = conn.p
        cursor = conn.cursor()
        cursor.execute(f"SELECT snapshot, snapshot_seq FROM sheet_documents WHERE atelier_id = {p}", (atelier_id,))
        snapshot, old_seq = cursor.fetchone()
        cursor.execute(
            f"SELECT seq, data FROM sheet_updates WHERE atelier_id = {p} AND seq > {p} ORDER BY seq",
            (atelier_id, old_seq),
        )
        rows = cursor.fetchall()
        # Not indexed: folding needs the document only.
        sheet = Sheet(atelier_id, seq=old_seq, loaded=True, index=_NO_INDEX)
        if snapshot:
            sheet.apply(bytes(snapshot), indexed=True)
        # A gap means another compaction ran between the two reads: fold nothing.
        if not self._apply_rows(sheet, [(seq, bytes(data), None) for seq, data in rows], indexed=True):
            return old_seq, sheet.doc, old_seq
        return old_seq, sheet.doc, sheet.seq

    def checkpoint(self) -> None:
        """Copy SQLite's write-ahead log into the database file, without blocking writers.

        The appending connection never checkpoints by itself, so that no
        commit (and no relay waiting on it) pays for one.
        """
        if self._compactor.sqlite:
            self._worker.run(self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            self._compactor.get().execute("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:
            self._compactor.discard()
            raise


#: The compactor's documents are folded, never checked against.
_NO_INDEX = SheetIndex(())

#: Heads and rows of a group's sheets in one statement (one round trip, atomic on its own).
_APPEND_POSTGRES = """
WITH item AS (
    SELECT * FROM unnest(%(ateliers)b::integer[], %(data)b::bytea[], %(credentials)b::integer[])
        WITH ORDINALITY AS u(atelier_id, data, credential_id, ord)
), counted AS (
    SELECT atelier_id, count(*) AS n FROM item GROUP BY atelier_id
), head AS (
    UPDATE sheet_documents d SET head_seq = d.head_seq + counted.n, edited_at = %(now)s
    FROM counted WHERE d.atelier_id = counted.atelier_id
    RETURNING d.atelier_id, d.head_seq, d.snapshot_seq, counted.n
), added AS (
    INSERT INTO sheet_updates (atelier_id, seq, data, credential_id, created_at)
    SELECT item.atelier_id,
           head.head_seq - head.n + row_number() OVER (PARTITION BY item.atelier_id ORDER BY item.ord),
           item.data, item.credential_id, %(now)s
    FROM item JOIN head ON head.atelier_id = item.atelier_id
)
SELECT atelier_id, head_seq, snapshot_seq FROM head
"""


def _timestamp(conn):
    """Now, in the form SQLAlchemy stores DateTime columns for this database."""
    now = utcnow()
    return now.strftime("%Y-%m-%d %H:%M:%S.%f") if conn.sqlite else now
