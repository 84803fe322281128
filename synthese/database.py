"""Database connections: SQLite settings, and DB-API connections for native threads."""
import threading

from sqlalchemy import event
from sqlalchemy.engine import Engine


def is_sqlite(dbapi_connection) -> bool:
    return type(dbapi_connection).__module__.startswith("sqlite3")


def configure_sqlite(dbapi_connection, autocheckpoint: bool = True, busy_timeout_ms: int = 10_000) -> None:
    """WAL lets readers run beside the writer; FULL makes each commit durable."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    if not autocheckpoint:
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


@event.listens_for(Engine, "connect")
def _on_connect(dbapi_connection, connection_record):
    if is_sqlite(dbapi_connection):
        configure_sqlite(dbapi_connection)


class RawConnection:
    """A DB-API connection outside SQLAlchemy's pool, used by one task at a time.

    For the document store's writes: the hot path without the ORM's
    per-statement cost, and usable from a native thread, where the
    gevent-patched pool's locks must not be touched.
    """

    def __init__(self, engine, autocheckpoint: bool = True, busy_timeout_ms: int = 10_000):
        self.dialect = engine.dialect
        self.url = engine.url
        self.autocheckpoint = autocheckpoint
        self.busy_timeout_ms = busy_timeout_ms
        #: Placeholder of the driver: "?" (sqlite3) or "%s" (psycopg).
        self.p = "?" if self.dialect.paramstyle == "qmark" else "%s"
        self._conn = None

    def get(self):
        if self._conn is None:
            cargs, cparams = self.dialect.create_connect_args(self.url)
            conn = self.dialect.connect(*cargs, **cparams)
            if is_sqlite(conn):
                conn.isolation_level = None  # explicit BEGIN / COMMIT below
                configure_sqlite(conn, self.autocheckpoint, self.busy_timeout_ms)
            else:
                # A statement on its own is its own transaction: the common
                # append is one statement, one round trip (no BEGIN, no COMMIT).
                conn.autocommit = True
            self._conn = conn
        return self._conn

    @property
    def sqlite(self) -> bool:
        return self.dialect.name == "sqlite"

    def cursor(self):
        return self.get().cursor()

    def begin(self):
        """A cursor inside a new write transaction."""
        cursor = self.cursor()
        # SQLite: take the write lock now, not at the first write (no upgrade deadlock).
        cursor.execute("BEGIN IMMEDIATE" if self.sqlite else "BEGIN")
        return cursor

    def commit(self) -> None:
        self._conn.execute("COMMIT")

    def discard(self) -> None:
        """Drop the connection after an error; the next call reconnects.

        Rolled back first: a cursor still referenced (by the error's
        traceback) keeps a closed SQLite connection alive, and its
        transaction with it, write lock included.
        """
        if self._conn is not None:
            try:
                self._conn.rollback()
            except Exception:
                pass
            try:
                self._conn.close()
            except Exception:
                pass
        self._conn = None


class DatabaseThread:
    """One native thread that alone runs the long database work of a connection.

    Under gevent, a long SQLite call (a compaction, a checkpoint) would stop
    every greenlet while it lasts, so it runs in a native thread; always the
    same one, one call at a time, so that its connection is never used by
    two threads at once. (Compactions and checkpoints in gevent's shared
    pool used one sqlite3 connection from several threads at a time: the
    server died of SIGSEGV in libsqlite3 and libpython under load;
    bench/crash_compactor.py shows it in seconds.) Outside gevent (threading
    mode, the CLI) calls run in their caller, one at a time.
    """

    def __init__(self):
        self._pool = None
        # Not gevent's patched lock: it must hold across native threads.
        self._lock = _native_lock()

    def run(self, fn, *args):
        if gevent_patched():
            if self._pool is None:
                from gevent.threadpool import ThreadPool

                self._pool = ThreadPool(1)
            return self._pool.apply(fn, args)
        with self._lock:
            return fn(*args)


def gevent_patched() -> bool:
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("socket")


def _native_lock():
    try:
        from gevent import monkey

        return monkey.get_original("threading", "Lock")()
    except ImportError:
        return threading.Lock()
