"""Garbage-collector settings for the serving process.

A full (generation 2) collection walks every live object, including the
stacks of the greenlets that hold each socket: with 360 sockets it stopped
the whole process for about 100 ms, every few seconds under load (measured
in bench/forum.py). Young collections stay automatic and cheap; the full
collection runs on a timer instead, so that its pause comes once every few
minutes rather than whenever allocation counters say so. Cycles are still
freed, only later.
"""
import gc
import logging
import time

log = logging.getLogger(__name__)

#: Seconds between full collections.
FULL_COLLECTION_EVERY = 300


def apply(start_background_task) -> None:
    """Freeze start-up objects, stop automatic full collections, schedule them."""
    gc.collect()
    # Modules, classes and everything loaded so far never become garbage.
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 1_000_000_000)
    start_background_task(_collect_periodically)


def _collect_periodically() -> None:
    while True:
        time.sleep(FULL_COLLECTION_EVERY)
        started = time.perf_counter()
        found = gc.collect()
        log.info("full collection: %d unreachable objects in %.0f ms", found, 1e3 * (time.perf_counter() - started))
