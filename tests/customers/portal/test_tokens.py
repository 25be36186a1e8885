"""Portal tokens: audience "portal"; staff tokens refused here and portal tokens refused on /api/v1/."""

import pytest

from customers.models import PortalAccount
from risk.models import CustomerRestriction
from tests.customers.factories import CustomerFactory
from tests.customers.portal.factories import PORTAL_PASSWORD, portal_account_make

pytestmark = pytest.mark.django_db


def _tokens(client, account, password=PORTAL_PASSWORD):
    response = client.post(
        "/api/v1/portal/auth/token/", {"login": account.phone, "password": password}, content_type="application/json"
    )
    return response


def _staff_tokens(client, user):
    response = client.post(
        "/api/v1/auth/login/",
        {"username": user.username, "password": "s3cure-Passw0rd!"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def _bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_portal_token_works_on_the_portal_api(client, account, customer):
    response = _tokens(client, account)
    assert response.status_code == 200
    access = response.json()["access"]
    me = client.get("/api/v1/portal/auth/me/", **_bearer(access))
    assert me.status_code == 200
    assert me.json()["customers"] == [{"id": customer.pk, "name": customer.name, "kind": customer.kind}]
    assert "*" in me.json()["phone"]


def test_portal_token_is_refused_on_staff_endpoints(client, account, make_user):
    # A staff user whose id equals the account's: a portal token must never become them.
    make_user("same-id-staff", role="Administrator")
    PortalAccount.objects.filter(pk=account.pk).update()
    access = _tokens(client, account).json()["access"]
    for url in ("/api/v1/auth/me/", "/api/v1/customers/"):
        response = client.get(url, **_bearer(access))
        assert response.status_code == 401, (url, response.status_code)


def test_staff_token_is_refused_on_the_portal_api(client, make_user):
    user = make_user("officer-api", role="Loan officer")
    access = _staff_tokens(client, user)["access"]
    assert client.get("/api/v1/auth/me/", **_bearer(access)).status_code == 200  # it is a good staff token
    assert client.get("/api/v1/portal/auth/me/", **_bearer(access)).status_code == 401


def test_staff_token_carries_the_staff_audience(client, make_user):
    import jwt

    user = make_user("officer-aud", role="Loan officer")
    access = _staff_tokens(client, user)["access"]
    assert jwt.decode(access, options={"verify_signature": False})["aud"] == "staff"


def test_portal_token_carries_the_portal_audience_and_no_user_id(client, account):
    import jwt

    claims = jwt.decode(_tokens(client, account).json()["access"], options={"verify_signature": False})
    assert claims["aud"] == "portal" and "user_id" not in claims


def test_wrong_password_and_frozen_account_get_no_token(client, account, customer):
    assert _tokens(client, account, "wrong-password-1").status_code == 401
    CustomerRestriction.objects.create(customer=customer, kind="portal", active=True, reason="x")
    response = _tokens(client, account)
    assert response.status_code == 401
    assert "contact the bank" in response.json()["detail"]


def test_freezing_ends_live_tokens(client, account, customer):
    access = _tokens(client, account).json()["access"]
    CustomerRestriction.objects.create(customer=customer, kind="portal", active=True, reason="x")
    assert client.get("/api/v1/portal/auth/me/", **_bearer(access)).status_code == 401


def test_refresh_rotates_once_and_logout_ends_tokens(client, account):
    pair = _tokens(client, account).json()
    refreshed = client.post(
        "/api/v1/portal/auth/refresh/", {"refresh": pair["refresh"]}, content_type="application/json"
    )
    assert refreshed.status_code == 200
    again = client.post("/api/v1/portal/auth/refresh/", {"refresh": pair["refresh"]}, content_type="application/json")
    assert again.status_code == 401  # a refresh token works once
    new = refreshed.json()
    out = client.post(
        "/api/v1/portal/auth/logout/",
        {"refresh": new["refresh"]},
        content_type="application/json",
        **_bearer(new["access"]),
    )
    assert out.status_code == 205
    assert client.get("/api/v1/portal/auth/me/", **_bearer(new["access"])).status_code == 401
    after = client.post("/api/v1/portal/auth/refresh/", {"refresh": new["refresh"]}, content_type="application/json")
    assert after.status_code == 401


def test_password_change_ends_tokens(client, portal_client, account):
    access = _tokens(client, account).json()["access"]
    portal_client.post(
        "/portal/password/change/",
        {"old_password": PORTAL_PASSWORD, "password": "Another-long-pass-9", "password2": "Another-long-pass-9"},
    )
    assert client.get("/api/v1/portal/auth/me/", **_bearer(access)).status_code == 401


def test_customer_header_selects_only_held_customers(client, customer):
    second = CustomerFactory()
    stranger = CustomerFactory()
    account = portal_account_make(customer, second)
    access = _tokens(client, account).json()["access"]
    me = client.get("/api/v1/portal/auth/me/", HTTP_X_CUSTOMER_ID=str(second.pk), **_bearer(access))
    assert me.json()["selected_customer"] == second.pk
    assert (
        client.get("/api/v1/portal/auth/me/", HTTP_X_CUSTOMER_ID=str(stranger.pk), **_bearer(access)).status_code == 404
    )
    assert client.get("/api/v1/portal/auth/me/", HTTP_X_CUSTOMER_ID="x", **_bearer(access)).status_code == 404


def test_staff_authentication_refuses_a_staff_signed_token_for_the_portal_audience(client, make_user):
    """Even signed with the staff key, a token for another audience is not a staff token."""
    import jwt
    from rest_framework_simplejwt.settings import api_settings

    user = make_user("officer-other-aud", role="Loan officer")
    good = _staff_tokens(client, user)["access"]
    claims = jwt.decode(good, options={"verify_signature": False})
    forged = jwt.encode({**claims, "aud": "portal"}, api_settings.SIGNING_KEY, algorithm="HS256")
    assert client.get("/api/v1/auth/me/", **_bearer(good)).status_code == 200
    assert client.get("/api/v1/auth/me/", **_bearer(forged)).status_code == 401
