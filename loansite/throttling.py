"""Sign-in throttles shared by the admin and the API.

- One limit on sign-in attempts per client address across usernames (``LOGIN_IP_RATE``):
  the admin login (``LoginRateLimitMiddleware``) and the API login
  (``loansite.api.throttles.LoginRateThrottle``) draw on the same budget.
- django-axes locks a (username, address) pair after ``AXES_FAILURE_LIMIT`` failures;
  ``lockout_response`` answers its lockouts.

Both answer HTTP 429 with ``Retry-After`` and say when to try again. The address is always
``loansite.proxy.client_ip``.
"""

import datetime

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.login_failures import login_ip_limit_record
from loans import ratelimit
from loansite.proxy import client_ip, client_key

LOGIN_SCOPE = "login-ip"
LOGIN_VIEW_NAMES = frozenset({"admin:login"})


def login_rate_check(request) -> int | None:
    """Count one sign-in attempt from the request's address: ``None`` while under the limit,
    else the seconds until it may try again (the trip is audited once per window)."""
    rate = settings.LOGIN_IP_RATE
    if not ratelimit.rate_limit_hit(scope=LOGIN_SCOPE, key=client_key(request), rate=rate):
        return None
    _limit, period = ratelimit.rate_parse(rate)
    login_ip_limit_record(ip=client_ip(request), until=ratelimit.window_start(period) + period)
    return ratelimit.rate_limit_retry_after(rate)


def _wait_words(seconds: int) -> dict:
    until = timezone.localtime(timezone.now() + datetime.timedelta(seconds=seconds))
    return {"seconds": seconds, "minutes": -(-seconds // 60), "time": until.strftime("%H:%M:%S")}


def retry_message(seconds: int) -> str:
    words = _wait_words(seconds)
    return _("Too many sign-in attempts. Try again in %(seconds)s seconds (after %(time)s).") % words


def _cooloff_minutes() -> int | None:
    cool_off = settings.AXES_COOLOFF_TIME
    if not isinstance(cool_off, datetime.timedelta):
        return None
    return max(int(cool_off.total_seconds() // 60), 1)


def too_many_logins_response(request, *, seconds: int, locked: bool = False):
    """The 429 page (or JSON for API and XHR callers) that says when to try again."""
    seconds = max(int(seconds), 1)
    if request.path.startswith("/api/") or request.headers.get("X-Requested-With") == "XMLHttpRequest":
        response = JsonResponse({"detail": retry_message(seconds), "retry_after": seconds}, status=429)
    else:
        context = {
            **_wait_words(seconds),
            "locked": locked,
            "cooloff_minutes": _cooloff_minutes(),
            "title": _("Too many sign-in attempts"),
        }
        response = render(request, "loansite/too_many_logins.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response


def lockout_seconds_left(request, credentials=None) -> int:
    """Seconds until the axes lockout of this (username, address) pair ends."""
    cool_off = settings.AXES_COOLOFF_TIME
    if not isinstance(cool_off, datetime.timedelta):
        return 15 * 60
    from axes.helpers import get_client_username
    from axes.models import AccessAttempt

    last = (
        AccessAttempt.objects.filter(username=get_client_username(request, credentials), ip_address=client_ip(request))
        .order_by("-attempt_time")
        .values_list("attempt_time", flat=True)
        .first()
    )
    if last is None:
        return int(cool_off.total_seconds())
    return max(int((last + cool_off - timezone.now()).total_seconds()) + 1, 1)


def lockout_response(request, original_response=None, credentials=None):
    """``AXES_LOCKOUT_CALLABLE``: the same 429 answer as the address limit, with the end of the lockout."""
    return too_many_logins_response(request, seconds=lockout_seconds_left(request, credentials), locked=True)


class LoginRateLimitMiddleware:
    """Applies the per-address sign-in limit to POSTs of the admin login view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = getattr(request, "resolver_match", None)
        if request.method != "POST" or match is None or match.view_name not in LOGIN_VIEW_NAMES:
            return None
        seconds = login_rate_check(request)
        if seconds is None:
            return None
        return too_many_logins_response(request, seconds=seconds)
