"""Failed sign-ins in the audit trail, without letting an anonymous client write it unbounded.

Per (client address, username) and fixed window of ``LOGIN_FAILURE_AUDIT_WINDOW`` seconds,
the first ``LOGIN_FAILURE_AUDIT_LIMIT`` failures are audited one entry each. Further ones
are only counted; when the window is over one entry records them all ("37 further failed
logins from IP x for username y between t1 and t2"). That entry is written by a task
queued for the end of the window, or by the next failure of the same pair, whichever comes
first (a claim in the cache makes sure it is written once). Lockouts and the per-address
login limit are audited on their own entries, never folded in.
"""

import datetime
import hashlib

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext

from audit.models import AuditAction, AuditEntry
from audit.services import audit_record
from loans import ratelimit

SCOPE = "audit-login-failed"
# Counters and times outlive their window by a day, so a late flush still finds them.
_GRACE = 86400


def _window() -> int:
    return int(settings.LOGIN_FAILURE_AUDIT_WINDOW)


def _pair_key(ip: str | None, username: str) -> str:
    return hashlib.sha256(f"{ip or ''}|{username}".encode()).hexdigest()[:40]


def _meta_key(pair: str, start: int, what: str) -> str:
    return f"audit:login-failed:{pair}:{start}:{what}"


def _stamp(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC).isoformat(timespec="seconds")


def _target(username: str) -> tuple:
    return ("auth.user", "", username)


def login_failure_record(*, username: str, ip: str | None) -> AuditEntry | None:
    """Count one failed sign-in; audit it on its own entry while under the limit, else fold it
    into the window's aggregate. Returns the entry written now, if any."""
    username = str(username or "")[:150]
    window, limit = _window(), int(settings.LOGIN_FAILURE_AUDIT_LIMIT)
    pair = _pair_key(ip, username)
    start = ratelimit.window_start(window)
    # The previous window of this pair, if it had failures left over and nobody wrote them yet.
    login_failures_flush(ip=ip, username=username, start=start - window)
    count = ratelimit.counter_hit(scope=SCOPE, key=pair, period=window, keep=window + _GRACE)
    if count <= limit:
        return audit_record(action=AuditAction.LOGIN_FAILED, target=_target(username), ip=ip)
    now = _stamp(ratelimit._now())
    timeout = window + _GRACE
    cache.add(_meta_key(pair, start, "first"), now, timeout=timeout)
    cache.set(_meta_key(pair, start, "last"), now, timeout=timeout)
    if count == limit + 1:
        _queue_flush(ip=ip, username=username, start=start, end=start + window)
    return None


def _queue_flush(*, ip: str | None, username: str, start: int, end: int) -> None:
    from audit.tasks import audit_login_failures_flush

    eta = datetime.datetime.fromtimestamp(end + 1, tz=datetime.UTC)
    kwargs = {"ip": ip, "username": username, "start": start}
    transaction.on_commit(lambda: audit_login_failures_flush.apply_async(kwargs=kwargs, eta=eta))


def login_failures_flush(*, ip: str | None, username: str, start: int) -> AuditEntry | None:
    """Write the aggregate entry of the window starting at ``start``: once, after it is over,
    and only when failures went unaudited in it."""
    window, limit = _window(), int(settings.LOGIN_FAILURE_AUDIT_LIMIT)
    if ratelimit._now() < start + window:
        return None
    pair = _pair_key(ip, username)
    total = ratelimit.counter_get(scope=SCOPE, key=pair, period=window, start=start)
    further = total - limit
    if further <= 0:
        return None
    claim = _meta_key(pair, start, "written")
    if not cache.add(claim, 1, timeout=window + _GRACE):
        return None
    first = cache.get(_meta_key(pair, start, "first")) or _stamp(start)
    last = cache.get(_meta_key(pair, start, "last")) or _stamp(start + window)
    try:
        return audit_record(
            action=AuditAction.LOGIN_FAILED,
            target=_target(username),
            ip=ip,
            user_agent="",
            request_id="",
            reason=gettext(
                "%(count)s further failed logins from IP %(ip)s for username %(username)s "
                "between %(first)s and %(last)s"
            )
            % {"count": further, "ip": ip or "?", "username": username, "first": first, "last": last},
            changes={
                "aggregate": True,
                "count": further,
                "audited_individually": limit,
                "first": first,
                "last": last,
                "window_start": _stamp(start),
                "window_end": _stamp(start + window),
            },
        )
    except Exception:
        cache.delete(claim)  # not written: the next flush tries again
        raise


def login_lockout_record(*, username: str, ip: str | None, until: datetime.datetime | None) -> AuditEntry:
    """A (username, address) pair locked out by django-axes: always its own entry."""
    changes = {"ip": ip, "scope": "username+ip"}
    if until is not None:
        changes["until"] = until.isoformat(timespec="seconds")
    return audit_record(
        action=AuditAction.LOCKED_OUT, target=_target(str(username or "")[:150]), ip=ip, changes=changes
    )


def login_ip_limit_record(*, ip: str | None, until: int) -> AuditEntry | None:
    """The per-address login limit tripped until epoch second ``until``: one entry per
    address and limit window; the refused attempts after it are not entries of their own."""
    flag = f"audit:login-ip-limit:{ip or 'unknown'}:{until}"
    if not cache.add(flag, 1, timeout=max(int(until - ratelimit._now()), 0) + 60):
        return None
    return audit_record(
        action=AuditAction.LOCKED_OUT,
        target=None,
        ip=ip,
        changes={"ip": ip, "scope": "ip", "until": _stamp(until)},
    )
