"""Portal sign-in: sessions of their own, lockout, frozen accounts, idle timeout, login events."""

import time

import pytest

from audit.models import AuditAction, AuditEntry
from customers.portal.auth import SESSION_SEEN
from risk.models import CustomerRestriction, LoginEvent
from tests.customers.factories import CustomerFactory
from tests.customers.portal.factories import PORTAL_PASSWORD, portal_account_make

pytestmark = pytest.mark.django_db


def _login(client, login, password=PORTAL_PASSWORD, **extra):
    return client.post("/portal/login/", {"login": login, "password": password}, **extra)


def test_anonymous_visitor_goes_to_sign_in(client):
    response = client.get("/portal/")
    assert response.status_code == 302
    assert response["Location"].startswith("/portal/login/?next=")


def test_sign_in_by_phone_or_username_shows_home(client, account, customer):
    response = _login(client, account.phone)
    assert response.status_code == 302 and response["Location"] == "/portal/"
    page = client.get("/portal/")
    assert page.status_code == 200
    assert customer.name in page.content.decode()
    client.post("/portal/logout/")
    assert client.get("/portal/").status_code == 302
    assert _login(client, "LANTERNS").status_code == 302


def test_sign_in_rotates_the_session_key(client, account):
    client.get("/portal/login/")
    client.session.save()
    before = client.session.session_key
    _login(client, account.phone)
    assert client.session.session_key != before


def test_wrong_password_and_unknown_login_get_the_same_answer(client, account):
    wrong = _login(client, account.phone, "not-the-password")
    unknown = _login(client, "13900000000", "not-the-password")
    assert wrong.status_code == unknown.status_code == 200
    message = "The phone number / username or the password is not right."
    assert message in wrong.content.decode() and message in unknown.content.decode()


def test_portal_session_never_reaches_the_admin_or_staff_api(portal_client):
    assert portal_client.get("/admin/").status_code == 302
    assert portal_client.get("/api/v1/auth/me/").status_code in (401, 403)


def test_lockout_after_repeated_failures(client, account, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        assert _login(client, account.phone, "wrong-password-1").status_code == 200
    locked = _login(client, account.phone)  # even the right password is refused while locked
    assert locked.status_code == 429
    assert "Retry-After" in locked
    _login(client, account.phone)
    # The lockout is audited once when it begins, not once per refused try.
    assert AuditEntry.objects.filter(action=AuditAction.LOCKED_OUT, target_id=str(account.pk)).count() == 1
    # Another address is not locked out by these failures (no denial of service by name).
    assert _login(client, account.phone, REMOTE_ADDR="10.9.9.9").status_code == 302


def test_frozen_account_cannot_sign_in_and_is_told_to_contact_the_bank(client, account, customer):
    CustomerRestriction.objects.create(customer=customer, kind="portal", active=True, reason="takeover suspected")
    response = _login(client, account.phone)
    assert response.status_code == 200
    assert "Please contact the bank" in response.content.decode()
    assert client.get("/portal/").status_code == 302


def test_freezing_ends_a_running_session(portal_client, customer):
    assert portal_client.get("/portal/").status_code == 200
    CustomerRestriction.objects.create(customer=customer, kind="portal", active=True, reason="takeover suspected")
    response = portal_client.get("/portal/")
    assert response.status_code == 302
    assert "contact the bank" in portal_client.get(response["Location"]).content.decode()


def test_idle_session_is_signed_out(portal_client, settings):
    settings.PORTAL_IDLE_SECONDS = 60
    assert portal_client.get("/portal/").status_code == 200
    session = portal_client.session
    session[SESSION_SEEN] = int(time.time()) - 61
    session.save()
    response = portal_client.get("/portal/")
    assert response.status_code == 302
    assert "inactivity" in portal_client.get(response["Location"]).content.decode()


def test_each_sign_in_attempt_is_a_login_event(client, account, customer):
    _login(client, account.phone, "wrong-password-1", HTTP_USER_AGENT="Mozilla/5.0 (iPhone)")
    _login(client, account.phone, HTTP_USER_AGENT="Mozilla/5.0 (iPhone)")
    events = list(LoginEvent.objects.filter(customer=customer).order_by("id"))
    assert [e.success for e in events] == [False, True]
    assert events[1].ip == "127.0.0.1"
    assert events[1].device is not None


def test_deactivated_account_cannot_sign_in(client, customer):
    account = portal_account_make(CustomerFactory(), active=False)
    assert _login(client, account.phone).status_code == 200
    assert client.get("/portal/").status_code == 302


def test_password_change_ends_other_sessions(portal_client, client_factory, account):
    other = client_factory()
    _login(other, account.phone)
    assert other.get("/portal/").status_code == 200
    response = portal_client.post(
        "/portal/password/change/",
        {"old_password": PORTAL_PASSWORD, "password": "Another-long-pass-9", "password2": "Another-long-pass-9"},
    )
    assert response.status_code == 302
    assert portal_client.get("/portal/").status_code == 200  # this browser stays signed in
    assert other.get("/portal/").status_code == 302


@pytest.fixture
def client_factory():
    from django.test import Client

    return Client


def test_writing_the_phone_another_way_does_not_escape_the_lockout(client, account, settings):
    settings.AXES_FAILURE_LIMIT = 3
    phone = account.phone
    for variant in (f"+86 {phone}", f"{phone[:3]}-{phone[3:7]}-{phone[7:]}", f" {phone} "):
        assert _login(client, variant, "wrong-password-1").status_code == 200
    assert _login(client, phone).status_code == 429
    assert _login(client, "LANTERNS").status_code == 429  # the username names the same account


def test_unknown_login_costs_a_password_check_like_a_wrong_password(client, account, monkeypatch):
    """The same work either way, so timing does not tell whether a phone or username exists."""
    from django.contrib.auth import hashers

    import customers.models_portal

    calls = []
    real = hashers.check_password

    def counting(password, encoded, *args, **kwargs):
        calls.append(encoded)
        return real(password, encoded, *args, **kwargs)

    monkeypatch.setattr(hashers, "check_password", counting)
    monkeypatch.setattr(customers.models_portal, "check_password", counting)
    _login(client, account.phone, "wrong-password-1")
    _login(client, "13900000000", "wrong-password-1")
    assert len(calls) == 2
    assert calls[0] == account.password and calls[1] != account.password
