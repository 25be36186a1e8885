"""Sign-in throttles, the axes lockout and failed-login auditing, all keyed on the one
trusted-proxy setting (``loansite.proxy.client_ip``)."""

import datetime

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from audit.models import AuditAction, AuditEntry
from loans import ratelimit

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = "/admin/login/"
API_LOGIN = "/api/v1/auth/login/"
PROXY = "10.0.0.1"
PASSWORD = "s3cure-Passw0rd!"


@pytest.fixture
def frozen(monkeypatch):
    """A clock in the middle of a minute (and of a 15-minute window), moved by hand."""
    now = [1_800_000_030.0]
    monkeypatch.setattr(ratelimit, "_now", lambda: now[0])
    return now


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXY_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.TRUSTED_PROXY_COUNT = 1


def _api_login(username, password="wrong", **extra):
    return APIClient().post(API_LOGIN, {"username": username, "password": password}, format="json", **extra)


# --- one address for everything -----------------------------------------------------------


def test_api_login_limit_ignores_a_client_written_forwarded_for(settings, frozen):
    """Reproduced: a different X-Forwarded-For per request was a fresh throttle bucket."""
    settings.LOGIN_IP_RATE = "3/m"
    answers = [_api_login(f"user{i}", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(4)]
    assert answers == [401, 401, 401, 429]
    limited = _api_login("user9", HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert limited.status_code == 429
    assert limited["Retry-After"] == "30"
    assert "30 seconds" in limited.json()["detail"]
    # Another address is not affected.
    assert _api_login("user9", REMOTE_ADDR="192.0.2.7").status_code == 401


def test_auth_scope_throttle_ignores_a_client_written_forwarded_for(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"auth": "2/min"}}
    answers = [
        APIClient()
        .post("/api/v1/auth/refresh/", {"refresh": "x"}, format="json", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
        .status_code
        for i in range(3)
    ]
    assert answers == [401, 401, 429]


def test_behind_the_proxy_each_client_has_its_own_budget(settings, frozen, behind_proxy):
    settings.LOGIN_IP_RATE = "2/m"
    first = [_api_login("a", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code for _ in range(3)]
    assert first == [401, 401, 429]
    # The proxy's own address is not the key: another client behind it still gets in.
    assert _api_login("a", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 401
    # A client prepending its own value still lands on the address the proxy appended.
    spoofed = _api_login("a", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.5, 198.51.100.1")
    assert spoofed.status_code == 429


def _all_api_views(patterns=None):
    """(pattern, DRF view class) for every route of the URLconf."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            yield from _all_api_views(entry.url_patterns)
        elif isinstance(entry, URLPattern) and getattr(entry.callback, "cls", None) is not None:
            yield entry, entry.callback.cls


def test_every_api_throttle_keys_on_the_trusted_client_address():
    """The same hole anywhere else: any DRF throttle on any view must use client_ip."""
    from rest_framework.views import APIView

    from loansite.api.throttles import ClientIPThrottleMixin

    views = [(entry, cls) for entry, cls in _all_api_views() if issubclass(cls, APIView)]
    assert len(views) > 20
    offenders = []
    for entry, cls in views:
        for throttle in cls.throttle_classes:
            if not issubclass(throttle, ClientIPThrottleMixin):
                offenders.append(f"{entry.pattern} {cls.__name__}: {throttle.__name__}")
    assert offenders == []


def test_stock_drf_throttles_would_not_trust_forwarded_for(settings):
    from rest_framework.settings import api_settings
    from rest_framework.test import APIRequestFactory
    from rest_framework.throttling import BaseThrottle

    assert api_settings.NUM_PROXIES == 0
    request = APIRequestFactory().post("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert BaseThrottle().get_ident(request) == "192.0.2.1"


# --- the admin login: a limit per address across usernames ---------------------------------


def test_admin_login_is_limited_per_address_across_usernames(client, settings, frozen):
    """Reproduced: /admin/login/ took any number of POSTs as long as the username changed."""
    settings.LOGIN_IP_RATE = "3/m"
    answers = [client.post(ADMIN_LOGIN, {"username": f"u{i}", "password": "x"}).status_code for i in range(3)]
    assert answers == [200, 200, 200]
    limited = client.post(ADMIN_LOGIN, {"username": "u9", "password": "x"})
    assert limited.status_code == 429
    assert limited["Retry-After"] == "30"
    page = limited.content.decode()
    assert "Try again in 30 seconds" in page
    # GET is not counted; another address is not affected; the next window starts afresh.
    assert client.get(ADMIN_LOGIN).status_code == 200
    assert client.post(ADMIN_LOGIN, {"username": "u9", "password": "x"}, REMOTE_ADDR="192.0.2.8").status_code == 200
    frozen[0] += 60
    assert client.post(ADMIN_LOGIN, {"username": "u9", "password": "x"}).status_code == 200


def test_admin_and_api_login_share_one_budget(client, settings, frozen):
    settings.LOGIN_IP_RATE = "2/m"
    assert client.post(ADMIN_LOGIN, {"username": "a", "password": "x"}).status_code == 200
    assert _api_login("b").status_code == 401
    assert client.post(ADMIN_LOGIN, {"username": "c", "password": "x"}).status_code == 429
    assert _api_login("d").status_code == 429


def test_tripping_the_address_limit_is_audited_once_per_window(client, settings, frozen):
    settings.LOGIN_IP_RATE = "1/m"
    for i in range(5):
        client.post(ADMIN_LOGIN, {"username": f"u{i}", "password": "x"})
    limits = AuditEntry.objects.filter(action=AuditAction.LOCKED_OUT)
    assert limits.count() == 1
    entry = limits.get()
    assert entry.ip == "127.0.0.1" and entry.changes["scope"] == "ip"


# --- django-axes: the lockout keys on the client, not on the proxy ------------------------


def test_lockout_behind_the_proxy_keys_on_the_client(client, make_user, settings, behind_proxy):
    """Reproduced: behind a proxy the lockout keyed on the proxy's address (REMOTE_ADDR)."""
    make_user("approver")
    attacker = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "198.51.100.66"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(ADMIN_LOGIN, {"username": "approver", "password": "wrong"}, **attacker)
    assert client.post(ADMIN_LOGIN, {"username": "approver", "password": PASSWORD}, **attacker).status_code == 429

    from axes.models import AccessAttempt

    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.66"}
    # The real user behind the same proxy, from their own address, signs in.
    colleague = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "198.51.100.20"}
    response = client.post(ADMIN_LOGIN, {"username": "approver", "password": PASSWORD}, **colleague)
    assert response.status_code == 302


def test_lockout_page_says_when_to_try_again(client, make_user, settings):
    make_user("approver")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(ADMIN_LOGIN, {"username": "approver", "password": "wrong"})
    response = client.post(ADMIN_LOGIN, {"username": "approver", "password": PASSWORD})
    assert response.status_code == 429
    seconds = int(response["Retry-After"])
    cool_off = int(settings.AXES_COOLOFF_TIME.total_seconds())
    assert cool_off - 5 <= seconds <= cool_off + 1
    assert f"Try again in {seconds} seconds" in response.content.decode()


def test_api_lockout_says_when_to_try_again(make_user, settings):
    """Reproduced: a locked-out API sign-in got the same 401 as a wrong password."""
    make_user("approver")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _api_login("approver").status_code == 401
    assert _api_login("approver").status_code == 429  # this failure locks
    locked = _api_login("approver", PASSWORD)
    assert locked.status_code == 429
    seconds = int(locked["Retry-After"])
    assert seconds > 60 and locked.json()["retry_after"] == seconds
    assert f"Try again in {seconds} seconds" in locked.json()["detail"]
    assert "access" not in locked.json()


# --- failed logins in the audit trail: bounded, without losing the signal ----------------


def _flush(**kwargs):
    from audit.login_failures import login_failures_flush

    return login_failures_flush(**kwargs)


def _failed(**filters):
    return AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED, **filters)


def test_failed_logins_beyond_the_limit_become_one_aggregate_entry(
    client, settings, frozen, monkeypatch, django_capture_on_commit_callbacks
):
    """Reproduced: anonymous failed logins wrote one audit entry each, without bound."""
    settings.LOGIN_FAILURE_AUDIT_LIMIT = 3
    settings.AXES_FAILURE_LIMIT = 1000  # no lockout here: only the auditing is under test
    queued = []
    monkeypatch.setattr(
        "audit.tasks.audit_login_failures_flush.apply_async", lambda **kw: queued.append(kw), raising=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(40):
            client.post(ADMIN_LOGIN, {"username": "ghost", "password": "x"}, REMOTE_ADDR="198.51.100.4")
            frozen[0] += 1
    assert _failed().count() == 3
    # One flush queued for the end of the window, for this (address, username).
    window = settings.LOGIN_FAILURE_AUDIT_WINDOW
    start = ratelimit.window_start(window, 1_800_000_030.0)
    assert len(queued) == 1
    assert queued[0]["kwargs"] == {"ip": "198.51.100.4", "username": "ghost", "start": start}
    assert queued[0]["eta"] == datetime.datetime.fromtimestamp(start + window + 1, tz=datetime.UTC)
    # Before the window is over nothing is written; after it, one entry, once.
    assert _flush(ip="198.51.100.4", username="ghost", start=start) is None
    frozen[0] = start + window + 1
    entry = _flush(ip="198.51.100.4", username="ghost", start=start)
    assert _flush(ip="198.51.100.4", username="ghost", start=start) is None
    assert _failed().count() == 4
    assert entry.changes["count"] == 37 and entry.changes["aggregate"] is True
    assert entry.ip == "198.51.100.4" and entry.target_repr == "ghost"
    assert entry.reason.startswith("37 further failed logins from IP 198.51.100.4 for username ghost between ")
    assert entry.changes["first"] == "2027-01-15T08:00:33+00:00"
    assert entry.changes["last"] == "2027-01-15T08:01:09+00:00"


def test_the_next_failure_writes_the_previous_windows_aggregate(client, settings, frozen):
    settings.LOGIN_FAILURE_AUDIT_LIMIT = 2
    settings.AXES_FAILURE_LIMIT = 1000
    for _ in range(5):
        client.post(ADMIN_LOGIN, {"username": "ghost", "password": "x"})
    assert _failed().count() == 2
    frozen[0] += settings.LOGIN_FAILURE_AUDIT_WINDOW
    client.post(ADMIN_LOGIN, {"username": "ghost", "password": "x"})
    entries = list(_failed().order_by("seq"))
    assert len(entries) == 4
    assert entries[2].changes["count"] == 3  # the aggregate of the first window
    assert "aggregate" not in entries[3].changes  # the first failure of the new window


def test_limits_are_per_address_and_username(client, settings, frozen):
    settings.LOGIN_FAILURE_AUDIT_LIMIT = 1
    settings.AXES_FAILURE_LIMIT = 1000
    for who, ip in [("a", "192.0.2.1"), ("a", "192.0.2.1"), ("b", "192.0.2.1"), ("a", "192.0.2.2")]:
        client.post(ADMIN_LOGIN, {"username": who, "password": "x"}, REMOTE_ADDR=ip)
    assert sorted(_failed().values_list("target_repr", "ip")) == [
        ("a", "192.0.2.1"),
        ("a", "192.0.2.2"),
        ("b", "192.0.2.1"),
    ]


def test_lockouts_are_always_audited_and_refused_attempts_are_counted(client, make_user, settings, frozen):
    settings.LOGIN_FAILURE_AUDIT_LIMIT = 1
    make_user("approver")
    for _ in range(settings.AXES_FAILURE_LIMIT + 10):
        client.post(ADMIN_LOGIN, {"username": "approver", "password": "wrong"})
    # One lockout entry, however many refused attempts follow it.
    assert AuditEntry.objects.filter(action=AuditAction.LOCKED_OUT).count() == 1
    assert _failed().count() == 1
    frozen[0] += settings.LOGIN_FAILURE_AUDIT_WINDOW
    _flush(
        ip="127.0.0.1",
        username="approver",
        start=ratelimit.window_start(settings.LOGIN_FAILURE_AUDIT_WINDOW, 1_800_000_030.0),
    )
    aggregate = _failed().order_by("-seq").first()
    assert aggregate.changes["count"] == settings.AXES_FAILURE_LIMIT + 10 - 1


def test_audited_user_agents_are_truncated(client):
    client.post(ADMIN_LOGIN, {"username": "ghost", "password": "x"}, HTTP_USER_AGENT="A" * 512)
    assert len(_failed().get().user_agent) == 256


def test_login_page_still_works_after_a_lockout_elsewhere(client, make_user, settings):
    make_user("officer")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(ADMIN_LOGIN, {"username": "officer", "password": "wrong"}, REMOTE_ADDR="192.0.2.50")
    assert client.post(ADMIN_LOGIN, {"username": "officer", "password": PASSWORD}).status_code == 302
    assert reverse("admin:login") == ADMIN_LOGIN


# --- the public forms: the same address, a page that says when ----------------------------


def test_public_form_limit_keys_on_the_trusted_address_and_says_when(client, settings, frozen, behind_proxy):
    settings.PUBLIC_STATUS_RATE = "1/m"
    form = {"reference": "LA-0", "phone": "13800138000"}
    first = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "198.51.100.1"}
    assert client.post("/apply/status/", form, **first).status_code == 200
    limited = client.post("/apply/status/", form, **{**first, "HTTP_X_FORWARDED_FOR": "203.0.113.9, 198.51.100.1"})
    assert limited.status_code == 429 and limited["Retry-After"] == "30"
    assert "wait 30 seconds" in limited.content.decode()
    other = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "198.51.100.2"}
    assert client.post("/apply/status/", form, **other).status_code == 200
