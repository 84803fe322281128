"""Commit, then relay: the group-commit pipeline every accepted update goes through."""
import logging
import queue
import time
from dataclasses import replace
from typing import Callable

from ..documents import Appended, DocumentStore, Pending
from .frames import wait_done

log = logging.getLogger(__name__)


class UpdatePipeline:
    """Commits queued updates in groups, then relays each room's share.

    One background task per process: while it commits a batch, new updates
    queue up and go into the next transaction (group commit), so a busy
    forum costs few commits and nobody sees an update before it is durable.
    Nothing stops it: an update the database refuses is dropped alone, and
    any other failure is logged and the next batch taken.
    """

    MAX_BATCH = 1_000
    CHECKPOINT_EVERY = 2.0
    #: /healthz reports the pipeline stalled when updates have waited this long.
    STALLED_AFTER = 10.0

    def __init__(self, store: DocumentStore, relay: Callable[[Appended], None], spawn: Callable,
                 refused: Callable[[Pending], None], max_queue: int, sleep: Callable[[float], None] = time.sleep):
        """``relay`` sends a room its committed batch; ``spawn`` starts a
        background task; ``refused`` is told of an update the full queue
        could not take; ``sleep`` waits between retries (gevent's once patched)."""
        self.store = store
        self.relay = relay
        self.spawn = spawn
        self.refused = refused
        self.sleep = sleep
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
            while len(batch) < self.MAX_BATCH:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            self.progress_at = time.monotonic()
            try:
                committed = self._commit(batch)
                self.progress_at = time.monotonic()
                self.store.apply_committed(committed)
                for appended in committed:
                    self.relay(appended)
                    if appended.backlog >= self.store.compact_after:
                        self._compact_soon(appended.atelier_id)
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
        """Wait until every queued update is committed and relayed; False on timeout."""
        return wait_done(self.queue, timeout, self.sleep)

    def _commit(self, batch: list[Pending]) -> list:
        """Append the batch, retrying while the database is unavailable.

        Runs in this task, not in a native thread: an SQLite commit blocks
        the loop for about 0.7 ms, while handing it to a thread cost more
        (1.6 ms at p50, 3.7 ms at p90, in bench/forum.py) in waits for the GIL;
        psycopg waits cooperatively under gevent.

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
