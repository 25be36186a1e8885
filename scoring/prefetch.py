"""Run a producer one step ahead on a second thread, so reading and predicting the next
chunk overlaps with writing this one.

The producer runs on its own thread with its own database connection (Django's
connections are per thread): it can only see committed rows, so it is used only outside
a transaction and never on an in-memory SQLite database (which a second connection does
not share). Memory stays bounded: at most ``depth`` items wait in the queue.
"""

import gc
import queue
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import connection, connections

_DONE = object()


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


def prefetch_possible() -> bool:
    import os

    if os.environ.get("NOPF"):
        return False
    """Whether a second connection sees what this one has committed (see module docstring)."""
    if connection.in_atomic_block:
        return False
    if connection.vendor == "sqlite":
        return not connection.is_in_memory_db()
    return True


def prefetched(items: Iterable, *, depth: int = 1) -> Iterator:
    """Yield from ``items``, producing the next ones on a second thread while the caller
    works on the current one. An error in the producer is raised here, at the item it
    failed on; if the caller stops early, the producer is stopped and joined."""
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # noqa: BLE001 (handed to the consumer, raised there)
            put(_Failed(exc))
        finally:
            connections.close_all()  # this thread's connections only

    thread = threading.Thread(target=produce, name="scoring-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join()


@contextmanager
def collector_paused():
    """Pause Python's cyclic garbage collector around a batch: a chunk creates millions of
    short-lived (acyclic) objects, and the collections they trigger cost about a sixth of
    a batch's time. Reference counting still frees them; one collection runs at the end."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
            gc.collect()
