"""Per-process copies of small tables read on every request (reference data, products).

A copy carries the version it was read at; the version lives in the shared cache (Redis in
production, the file cache embedded), so a change made by any process reaches every process
at its next read: one cache read per use, no query. A save or delete of a watched row sets
a new version at once (the writing process reads its own change, even inside its
transaction) and again when the transaction commits (a process that read the tables in
between, before the commit, reads them again).
"""

import secrets
import threading
from collections.abc import Callable

from django.core.cache import cache
from django.db import transaction


class VersionedCopy:
    """``load()``'s value, held per process and read again when ``changed()`` is called anywhere."""

    def __init__(self, key: str, load: Callable[[], dict]):
        self.key = f"process-copy:{key}:version"
        self.load = load
        self._copy: dict = {}
        self._lock = threading.Lock()

    def version(self) -> str | None:
        """The shared version (``None`` only where the cache keeps nothing: then no copy is kept)."""
        version = cache.get(self.key)
        if version is None:
            cache.add(self.key, secrets.token_hex(8), None)
            version = cache.get(self.key)
        return version

    def get(self) -> dict:
        """The copy: ``load()``'s dict plus ``"version"``. Callers may memoise derived values in it."""
        version = self.version()
        copy = self._copy
        if version is not None and copy.get("version") == version:
            return copy
        # The version is read before the tables: a change committed after this read gives
        # a newer version, so a copy never carries a version newer than its contents.
        copy = {**self.load(), "version": version}
        if version is not None:
            with self._lock:
                self._copy = copy
        return copy

    def changed(self, **_signal_kwargs) -> None:
        """A watched row changed (a ``post_save`` / ``post_delete`` receiver): every copy is out of date."""
        self._bump()
        transaction.on_commit(self._bump)

    def _bump(self) -> None:
        with self._lock:
            self._copy = {}
        cache.set(self.key, secrets.token_hex(8), None)
