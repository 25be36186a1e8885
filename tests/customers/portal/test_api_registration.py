"""Registration and password reset through the portal API: the web pages' checks, answers that
say nothing about who exists, and the code-request limit per address."""

import re

import pytest

from customers.models import PortalAccount
from tests.customers.factories import CustomerFactory
from tests.customers.portal.factories import PORTAL_PASSWORD, portal_account_make

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Copper-kettle-2026"


def _post(client, url, body, **extra):
    return client.post(f"/api/v1/portal/auth/{url}", body, content_type="application/json", **extra)


def _code(outbox) -> str:
    return re.search(r"\b(\d{6})\b", outbox[-1][1]).group(1)


def _token(client, login, password):
    return _post(client, "token/", {"login": login, "password": password})


def test_register_by_code_then_sign_in(client, sms_outbox):
    customer = CustomerFactory()
    asked = _post(client, "register/code/", {"identifier": customer.credit_code, "phone": customer.phone})
    assert asked.status_code == 202 and "code_id" in asked.json()
    assert len(sms_outbox) == 1 and sms_outbox[0][0] == customer.phone
    body = {"code_id": asked.json()["code_id"], "code": _code(sms_outbox), "password": NEW_PASSWORD}
    done = _post(client, "register/", {**body, "username": "teahouse-api"})
    assert done.status_code == 201, done.content
    account = PortalAccount.objects.get(username="teahouse-api")
    assert list(account.customers.all()) == [customer]
    assert _token(client, "teahouse-api", NEW_PASSWORD).status_code == 200
    # The code works once.
    assert _post(client, "register/", {**body, "username": "again"}).status_code in (400, 409)


def test_register_answers_the_same_for_unknown_details_and_a_wrong_code_stores_nothing(client, sms_outbox):
    customer = CustomerFactory()
    real = _post(client, "register/code/", {"identifier": customer.credit_code, "phone": customer.phone})
    fake = _post(client, "register/code/", {"identifier": "91330100MA27XXXX0X", "phone": customer.phone})
    assert real.status_code == fake.status_code == 202
    assert real.json()["detail"] == fake.json()["detail"] and set(real.json()) == set(fake.json())
    assert len(sms_outbox) == 1
    code = _code(sms_outbox)
    wrong = "000000" if code != "000000" else "111111"
    bad = _post(client, "register/", {"code_id": real.json()["code_id"], "code": wrong, "password": NEW_PASSWORD})
    assert bad.status_code == 400
    nothing = _post(client, "register/", {"code_id": fake.json()["code_id"], "code": code, "password": NEW_PASSWORD})
    assert nothing.status_code == 400
    assert not PortalAccount.objects.exists()
    weak = _post(client, "register/", {"code_id": real.json()["code_id"], "code": code, "password": "12345678"})
    assert weak.status_code == 400 and not PortalAccount.objects.exists()
    malformed = _post(client, "register/", {"code_id": "not-a-uuid", "code": "12", "password": ""})
    assert malformed.status_code == 400


def test_reset_by_code_changes_the_password_and_ends_tokens(client, sms_outbox):
    customer = CustomerFactory()
    account = portal_account_make(customer, username="lanterns-api")
    old = _token(client, "lanterns-api", PORTAL_PASSWORD).json()
    asked = _post(client, "reset/code/", {"login": "lanterns-api"})
    unknown = _post(client, "reset/code/", {"login": "nobody-here"})
    assert asked.status_code == unknown.status_code == 202 and asked.json()["detail"] == unknown.json()["detail"]
    assert len(sms_outbox) == 1 and sms_outbox[0][0] == account.phone
    done = _post(
        client, "reset/", {"code_id": asked.json()["code_id"], "code": _code(sms_outbox), "password": NEW_PASSWORD}
    )
    assert done.status_code == 200, done.content
    assert _token(client, "lanterns-api", PORTAL_PASSWORD).status_code == 401
    assert _token(client, "lanterns-api", NEW_PASSWORD).status_code == 200
    me = client.get("/api/v1/portal/auth/me/", HTTP_AUTHORIZATION=f"Bearer {old['access']}")
    assert me.status_code == 401  # the tokens from before the reset ended


def test_code_requests_are_limited_per_address(client, sms_outbox, settings):
    settings.PORTAL_CODE_RATE = "2/10m"
    customer = CustomerFactory()
    body = {"identifier": customer.credit_code, "phone": customer.phone}
    assert [_post(client, "register/code/", body).status_code for _ in range(3)] == [202, 202, 429]
    assert _post(client, "reset/code/", {"login": customer.phone}).status_code == 429
    assert len(sms_outbox) == 2
