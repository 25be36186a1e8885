"""A fixed-window rate limit per key (client IP), shared by all workers.

With a cache that increments atomically (Redis; the in-process cache of tests) the
counters live in the Django cache. The embedded default cache is file based: there an
increment is a read and a rewrite of a file, which loses counts between concurrent
workers and costs a file write per hit, so the counters live in a small SQLite file of
their own instead (not the main database: its write lock belongs to the submissions),
one atomic upsert per hit.
"""

import sqlite3
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.filebased import FileBasedCache

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _now() -> float:
    return time.time()


def rate_parse(rate: str) -> tuple[int, int]:
    """``"10/m"`` -> (10, 60); ``"30/10m"`` -> (30, 600)."""
    count, _sep, period = rate.partition("/")
    period = period.strip().lower()
    digits = "".join(c for c in period if c.isdigit())
    unit = period[len(digits) : len(digits) + 1]
    return int(count), int(digits or 1) * _PERIODS[unit]


class SqliteCounters:
    """Counters in one SQLite file: ``hit(key)`` adds one and returns the new count."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=5, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")  # counters are disposable
            conn.execute(
                "CREATE TABLE IF NOT EXISTS hit (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL)"
            )
            conn.execute("CREATE INDEX IF NOT EXISTS hit_expires ON hit (expires)")
            self._local.conn = conn
        return conn

    def hit(self, key: str, *, expires: float, now: float) -> int:
        conn = self._connection()
        (count,) = conn.execute(
            "INSERT INTO hit (key, count, expires) VALUES (?, 1, ?) "
            "ON CONFLICT (key) DO UPDATE SET count = count + 1 RETURNING count",
            (key, expires),
        ).fetchone()
        if count == 1:  # a new window for this key: drop the windows that are over
            conn.execute("DELETE FROM hit WHERE expires < ?", (now,))
        return count

    def get(self, key: str) -> int:
        row = self._connection().execute("SELECT count FROM hit WHERE key = ?", (key,)).fetchone()
        return row[0] if row else 0


_counters: SqliteCounters | None = None


def _file_counters() -> SqliteCounters | None:
    """The SQLite counters when the default cache is the file-based one, else ``None``."""
    global _counters
    if not isinstance(caches["default"], FileBasedCache):
        return None
    if _counters is None:
        _counters = SqliteCounters(Path(settings.VAR_DIR) / "ratelimit.sqlite3")
    return _counters


def window_start(period: int, now: float | None = None) -> int:
    """Start (epoch seconds) of the fixed window of ``period`` seconds holding ``now``."""
    now = _now() if now is None else now
    return int(now // period) * period


def counter_hit(*, scope: str, key: str, period: int, keep: int = 5) -> int:
    """Count one hit for ``key`` in the current window of ``period`` seconds; the new count.

    The count stays readable (:func:`counter_get`) for ``keep`` seconds after its window ends.
    """
    now = _now()
    window = int(now // period)
    cache_key = f"ratelimit:{scope}:{key}:{window}"
    counters = _file_counters()
    if counters is not None:
        return counters.hit(cache_key, expires=(window + 1) * period + keep, now=now)
    timeout = period + keep
    if cache.add(cache_key, 1, timeout=timeout):
        return 1
    try:
        return cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=timeout)
        return 1


def counter_get(*, scope: str, key: str, period: int, start: int) -> int:
    """The count of the window of ``period`` seconds that starts at ``start``."""
    cache_key = f"ratelimit:{scope}:{key}:{start // period}"
    counters = _file_counters()
    if counters is not None:
        return counters.get(cache_key)
    return cache.get(cache_key, 0)


def rate_limit_hit(*, scope: str, key: str, rate: str) -> bool:
    """Count one hit for ``key``; ``True`` when it is over the limit for the current window."""
    limit, period = rate_parse(rate)
    return counter_hit(scope=scope, key=key, period=period) > limit


def rate_limit_reached(*, scope: str, key: str, rate: str) -> bool:
    """Whether ``key`` has used up ``rate`` in the current window (counts nothing)."""
    limit, period = rate_parse(rate)
    return counter_get(scope=scope, key=key, period=period, start=window_start(period)) >= limit


def rate_limit_count(*, scope: str, key: str, rate: str) -> int:
    """Count one hit for ``key`` in the current window of ``rate`` (e.g. a success); the new count."""
    _limit, period = rate_parse(rate)
    return counter_hit(scope=scope, key=key, period=period)


def rate_limit_retry_after(rate: str) -> int:
    """Whole seconds until the current window of ``rate`` ends (when a limited client may retry)."""
    _limit, period = rate_parse(rate)
    now = _now()
    return max(int(window_start(period, now) + period - now + 0.999), 1)
