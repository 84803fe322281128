"""The group-commit pipeline every accepted update goes through after its relay."""
import logging
import queue
import threading
import time
from dataclasses import replace
from typing import Callable

from ..documents import Appended, DocumentStore, Pending
from .frames import wait_done

log = logging.getLogger(__name__)


class UpdatePipeline:
    """Commits queued updates in groups, then says so.

    One background task per process. Updates reach their room when they
    are accepted (synthese.realtime.rooms); here they are made durable: the
    first update waiting opens a group, which takes whatever else arrives
    within ``window`` seconds and while the previous group commits, in one
    transaction. ``committed`` is then told of each sheet's share of it (the
    senders' pages say "Enregistré", the other processes are sent it), one
    sheet at a time, ``dropped`` of an
    update the database refused. Nothing stops the task: an update the
    database refuses is dropped alone, and any other failure is logged and
    the next group taken.
    """

    MAX_BATCH = 1_000
    CHECKPOINT_EVERY = 2.0
    #: /healthz reports the pipeline stalled when updates have waited this long.
    STALLED_AFTER = 10.0

    def __init__(self, store: DocumentStore, committed: Callable[[Appended], None], spawn: Callable,
                 refused: Callable[[Pending], None], max_queue: int, sleep: Callable[[float], None] = time.sleep,
                 dropped: Callable[[Pending], None] = lambda item: None, window: float = 0.0):
        """``committed`` is told of each sheet's committed updates; ``spawn`` starts a
        background task; ``refused`` is told of an update the full queue
        could not take, ``dropped`` of one the database refused; ``sleep``
        waits between retries (gevent's once patched)."""
        self.store = store
        self.committed = committed
        self.spawn = spawn
        self.refused = refused
        self.dropped = dropped
        self.sleep = sleep
        #: Seconds a group stays open for more updates. Every commit costs
        #: the process about the same whatever it holds (bench/forum.py):
        #: fewer, larger groups cost less CPU; the wait delays only "Enregistré".
        self.window = window
        #: Set when an update that its room sees only once committed (a
        #: claim, synthese.realtime.rooms) waits: its group closes at once.
        self._hurry = threading.Event()
        #: Updates waiting for their commit, at most (memory stays bounded
        #: while the database is unavailable).
        self.max_queue = max_queue
        self.queue: queue.Queue[Pending] = queue.Queue(max_queue)
        self._task = None
        self._compacting: set[int] = set()
        #: When the pipeline last took a batch or committed one (monotonic).
        self.progress_at = time.monotonic()

    def stalled_for(self) -> float:
        """Seconds that updates have waited without a commit (0 when all is well)."""
        if self.queue.unfinished_tasks == 0:
            return 0.0
        return max(0.0, time.monotonic() - self.progress_at)

    def submit(self, item: Pending) -> bool:
        if self._task is None:
            self._task = self.spawn(self._run)
            self.spawn(self._checkpoints)
        if self.queue.unfinished_tasks == 0:
            self.progress_at = time.monotonic()
        try:
            self.queue.put_nowait(item)
            if not item.relayed:
                self._hurry.set()
            return True
        except queue.Full:
            log.error("update queue full, refusing an update for atelier %s", item.atelier_id)
            # Taken into the index when it was checked: the index must forget it.
            self.store.forget(item.atelier_id)
            self.refused(item)
            return False

    def _run(self) -> None:
        while True:
            batch = [self.queue.get()]
            if self.window and batch[0].relayed:
                self._hurry.wait(self.window)
                self._hurry.clear()
            while len(batch) < self.MAX_BATCH:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            self.progress_at = time.monotonic()
            try:
                committed = self._commit(batch)
                self.progress_at = time.monotonic()
                for appended in committed:
                    try:
                        self.store.apply_committed([appended])
                    finally:
                        # Stored whatever happens next: its senders must hear it.
                        self.committed(appended)
                    if appended.backlog >= self.store.compact_after:
                        self._compact_soon(appended.atelier_id)
                    # A group holds many sheets: relays arriving meanwhile go out between them.
                    self.sleep(0)
            except Exception:
                # Whatever went wrong after the commit (a relay, the cache),
                # the next batch must still be stored; a cache in doubt is dropped.
                log.exception("the update pipeline failed on a batch of %d; going on", len(batch))
                for atelier_id in {item.atelier_id for item in batch}:
                    self.store.forget(atelier_id)
            finally:
                for _ in batch:
                    self.queue.task_done()

    def drain(self, timeout: float) -> bool:
        """Wait until every queued update is committed; False on timeout."""
        return wait_done(self.queue, timeout, self.sleep)

    def _commit(self, batch: list[Pending]) -> list:
        """Append the batch, retrying while the database is unavailable.

        SQLite's appends run in a native thread of their own
        (DocumentStore.append): a group's fsync would otherwise stop every
        relay while it lasts; psycopg waits cooperatively under gevent.

        An error the rows themselves cause (a constraint: the sender's
        credential was deleted meanwhile) is not retried as it is: the batch
        is committed update by update, one whose credential is gone is
        stored without it, and one still refused is dropped. Between retries
        nothing is held: a failed append closes its connection (and with it
        SQLite's write lock).
        """
        delay = 0.05
        while True:
            try:
                return self.store.append(batch)
            except Exception as exc:
                if self.store.is_permanent(exc):
                    return self._commit_apart(batch, exc)
                # The traceback once per outage, not at every retry.
                log.error("could not store %d update(s); retrying in %.2fs", len(batch), delay,
                          exc_info=delay == 0.05)
                self.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _commit_apart(self, batch: list[Pending], exc: Exception) -> list:
        if len(batch) > 1:
            return [appended for item in batch for appended in self._commit([item])]
        (item,) = batch
        if item.credential_id is not None:
            log.warning("storing an update of atelier %s without its sender, refused with it: %s",
                        item.atelier_id, exc)
            return self._commit([replace(item, credential_id=None)])
        log.error("dropping an update of atelier %s that the database refuses: %s", item.atelier_id, exc)
        # Its sheet's index counted it: rebuilt from the database when next needed.
        self.store.forget(item.atelier_id)
        self.dropped(item)
        return []

    def _compact_soon(self, atelier_id: int) -> None:
        if atelier_id in self._compacting:
            return
        self._compacting.add(atelier_id)
        self.spawn(self._compact, atelier_id)

    def _compact(self, atelier_id: int) -> None:
        try:
            folded = self.store.compact(atelier_id)
            log.info("compacted %d update(s) of atelier %s", folded, atelier_id)
        except Exception:
            log.exception("compaction of atelier %s failed", atelier_id)
        finally:
            self._compacting.discard(atelier_id)

    def _checkpoints(self) -> None:
        """Keep SQLite's write-ahead log short, outside the commit path."""
        while True:
            self.sleep(self.CHECKPOINT_EVERY)
            try:
                self.store.checkpoint()
            except Exception:
                log.exception("checkpoint failed")
