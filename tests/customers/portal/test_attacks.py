"""The customer portal as an attacker: guessing a password from many addresses."""

import re

import pytest

from tests.customers.portal.factories import PORTAL_PASSWORD

NEW_PASSWORD = "Quiet-meadow-lantern-77"

pytestmark = pytest.mark.django_db


def _sign_in(client, login, password, ip):
    return client.post("/portal/login/", {"login": login, "password": password}, REMOTE_ADDR=ip)


@pytest.fixture
def limits(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.PORTAL_ACCOUNT_FAILURE_LIMIT = 6
    settings.LOGIN_IP_RATE = "100/m"


def test_guessing_from_many_addresses_locks_the_account(client, account, limits):
    # Two tries from each of three addresses stay under the per-address limit (3) but reach
    # the account-wide one (6): even the right password is refused now, from a new address.
    for n in range(6):
        response = _sign_in(client, account.phone, f"wrong-{n}", f"198.51.100.{n // 2 + 1}")
        assert response.status_code == 200
    response = _sign_in(client, account.phone, PORTAL_PASSWORD, "203.0.113.9")
    assert response.status_code == 429
    assert "_portal_account_id" not in client.session


def test_account_wide_lock_also_refuses_the_api(client, account, limits):
    for n in range(6):
        _sign_in(client, account.username, f"wrong-{n}", f"198.51.100.{n + 1}")
    response = client.post(
        "/api/v1/portal/auth/token/",
        {"login": account.phone, "password": PORTAL_PASSWORD},
        content_type="application/json",
        REMOTE_ADDR="203.0.113.10",
    )
    assert response.status_code in (401, 429)
    assert "access" not in response.json()


def test_account_wide_lock_is_lifted_by_a_password_reset(client, account, limits, sms_outbox):
    for n in range(6):
        _sign_in(client, account.phone, f"wrong-{n}", f"198.51.100.{n + 1}")
    assert _sign_in(client, account.phone, PORTAL_PASSWORD, "203.0.113.9").status_code == 429
    client.post("/portal/password/reset/", {"login": account.phone}, REMOTE_ADDR="203.0.113.9")
    code = re.search(r"\b(\d{6})\b", sms_outbox[-1][1]).group(1)
    response = client.post(
        "/portal/password/reset/verify/",
        {"code": code, "password": NEW_PASSWORD, "password2": NEW_PASSWORD},
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 302
    assert _sign_in(client, account.phone, NEW_PASSWORD, "203.0.113.9").status_code == 302


def test_failures_under_the_account_limit_do_not_lock_the_owner_out(client, account, limits):
    for n in range(5):
        _sign_in(client, account.phone, f"wrong-{n}", f"198.51.100.{n + 1}")
    assert _sign_in(client, account.phone, PORTAL_PASSWORD, "203.0.113.9").status_code == 302


# -- held: recorded so that they stay held -----------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/portal/login/", "/portal/logout/", "/portal/switch/", "/portal/password/reset/", "/portal/register/"],
)
def test_portal_posts_without_a_csrf_token_are_refused(account, url):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    response = browser.post(url, {"login": account.phone, "password": PORTAL_PASSWORD, "customer": "1"})
    assert response.status_code == 403
    assert "_portal_account_id" not in browser.session


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "https:evil.example", "javascript:x"]
)
def test_sign_in_never_redirects_off_site(client, account, target):
    response = client.post(
        f"/portal/login/?next={target}", {"login": account.phone, "password": PORTAL_PASSWORD, "next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == "/portal/"


def test_refresh_token_is_no_access_token_and_the_reverse(client, account):
    tokens = client.post(
        "/api/v1/portal/auth/token/",
        {"login": account.phone, "password": PORTAL_PASSWORD},
        content_type="application/json",
    ).json()
    as_access = client.get("/api/v1/portal/auth/me/", HTTP_AUTHORIZATION=f"Bearer {tokens['refresh']}")
    assert as_access.status_code == 401
    as_refresh = client.post(
        "/api/v1/portal/auth/refresh/", {"refresh": tokens["access"]}, content_type="application/json"
    )
    assert as_refresh.status_code == 401
    assert client.get("/api/v1/portal/auth/me/", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}").status_code == 200
