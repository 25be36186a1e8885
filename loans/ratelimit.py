"""A fixed-window rate limit per key (client IP) in the Django cache, shared by all workers."""

import time

from django.core.cache import cache

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _now() -> float:
    return time.time()


def rate_parse(rate: str) -> tuple[int, int]:
    """``"10/m"`` -> (10, 60)."""
    count, _sep, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()[:1].lower()]


def rate_limit_hit(*, scope: str, key: str, rate: str) -> bool:
    """Count one hit for ``key``; ``True`` when it is over the limit for the current window."""
    limit, period = rate_parse(rate)
    window = int(_now() // period)
    cache_key = f"ratelimit:{scope}:{key}:{window}"
    if cache.add(cache_key, 1, timeout=period + 5):
        return limit < 1
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=period + 5)
        count = 1
    return count > limit
