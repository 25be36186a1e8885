"""Registration and password reset by identity + phone on file + one-time code; enumeration-safe."""

import re

import pytest

from customers.models import PortalAccess, PortalAccount, PortalCode
from tests.customers.factories import CustomerFactory, IndividualCustomerFactory
from tests.customers.portal.factories import PORTAL_PASSWORD, portal_account_make

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Copper-kettle-2026"
SENT = "If the details match our records, a verification code is on its way"


def _ask(client, identifier, phone, url="/portal/register/"):
    return client.post(url, {"identifier": identifier, "phone": phone}, follow=True)


def _code(outbox) -> str:
    return re.search(r"\b(\d{6})\b", outbox[-1][1]).group(1)


def _verify(client, code, username=""):
    return client.post(
        "/portal/register/verify/",
        {"code": code, "username": username, "password": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )


def test_matching_credit_code_phone_and_code_create_an_account(client, sms_outbox):
    customer = CustomerFactory()
    response = _ask(client, customer.credit_code, f"+86 {customer.phone}")
    assert SENT in response.content.decode()
    assert len(sms_outbox) == 1 and sms_outbox[0][0] == customer.phone
    assert _verify(client, _code(sms_outbox), username="teahouse").status_code == 302
    account = PortalAccount.objects.get(username="teahouse")
    assert list(account.customers.all()) == [customer]
    assert account.phone == customer.phone
    # The new account signs in.
    assert client.post("/portal/login/", {"login": "teahouse", "password": NEW_PASSWORD}).status_code == 302


def test_individual_business_registers_with_the_resident_id(client, sms_outbox):
    customer = IndividualCustomerFactory()
    _ask(client, customer.id_number.lower(), customer.phone)
    assert _verify(client, _code(sms_outbox)).status_code == 302
    assert PortalAccess.objects.filter(customer=customer).exists()


def test_wrong_phone_or_unknown_identity_answers_the_same_and_sends_nothing(client, sms_outbox):
    customer = CustomerFactory()
    other = CustomerFactory()
    answers = [
        _ask(client, customer.credit_code, other.phone),  # phone of someone else
        _ask(client, "91330100MA27XXXX0X", customer.phone),  # no such customer
        _ask(client, customer.credit_code, customer.phone),  # the real thing
    ]
    bodies = [a.content.decode() for a in answers]
    assert all(SENT in body for body in bodies)
    assert [a.redirect_chain for a in answers] == [[("/portal/register/verify/", 302)]] * 3
    assert len(sms_outbox) == 1  # only the matching request sent a message


def test_no_code_no_account_even_for_a_guessed_code(client, sms_outbox):
    customer = CustomerFactory()
    _ask(client, customer.credit_code, CustomerFactory().phone)  # not the phone on file
    for guess in ("000000", "123456"):
        response = _verify(client, guess)
        assert "The code is not valid or has expired" in response.content.decode()
    assert not PortalAccount.objects.exists()


def test_wrong_code_attempts_are_limited(client, sms_outbox, settings):
    settings.PORTAL_CODE_ATTEMPTS = 3
    customer = CustomerFactory()
    _ask(client, customer.credit_code, customer.phone)
    code = _code(sms_outbox)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(3):
        _verify(client, wrong)
    response = _verify(client, code)  # the right code, too late
    assert "The code is not valid or has expired" in response.content.decode()
    assert not PortalAccount.objects.exists()


def test_expired_code_is_refused(client, sms_outbox):
    from datetime import timedelta

    from django.utils import timezone

    customer = CustomerFactory()
    _ask(client, customer.credit_code, customer.phone)
    PortalCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert "has expired" in _verify(client, _code(sms_outbox)).content.decode()
    assert not PortalAccount.objects.exists()


def test_codes_are_stored_hashed(client, sms_outbox):
    customer = CustomerFactory()
    _ask(client, customer.credit_code, customer.phone)
    code = _code(sms_outbox)
    row = PortalCode.objects.get()
    assert code not in row.code_hash and len(row.code_hash) == 64


def test_code_requests_are_rate_limited_per_address(client, sms_outbox, settings):
    settings.PORTAL_CODE_RATE = "2/m"
    customer = CustomerFactory()
    _ask(client, customer.credit_code, customer.phone)
    _ask(client, customer.credit_code, customer.phone)
    response = _ask(client, customer.credit_code, customer.phone)
    assert "Too many codes were requested" in response.content.decode()
    assert len(sms_outbox) == 2


def test_signed_in_person_adds_a_second_enterprise(portal_client, sms_outbox, account, customer):
    second = CustomerFactory()
    response = _ask(portal_client, second.credit_code, second.phone, url="/portal/access/add/")
    assert SENT in response.content.decode()
    assert sms_outbox[-1][0] == second.phone
    response = portal_client.post("/portal/access/add/verify/", {"code": _code(sms_outbox)})
    assert response.status_code == 302
    assert set(account.customers.all()) == {customer, second}
    # The switch offers both; the selected one is the new one.
    page = portal_client.get("/portal/").content.decode()
    assert second.name in page and customer.name in page


def test_switching_to_a_customer_not_held_answers_404(portal_client):
    other = CustomerFactory()
    assert portal_client.post("/portal/switch/", {"customer": other.pk}).status_code == 404


def test_password_reset_by_code(client, sms_outbox, customer):
    account = portal_account_make(customer)
    response = client.post("/portal/password/reset/", {"login": customer.phone}, follow=True)
    assert "If an account matches" in response.content.decode()
    response = client.post(
        "/portal/password/reset/verify/",
        {"code": _code(sms_outbox), "password": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert client.post("/portal/login/", {"login": account.phone, "password": PORTAL_PASSWORD}).status_code == 200
    assert client.post("/portal/login/", {"login": account.phone, "password": NEW_PASSWORD}).status_code == 302


def test_password_reset_for_an_unknown_login_answers_the_same(client, sms_outbox):
    response = client.post("/portal/password/reset/", {"login": "13912345678"}, follow=True)
    assert "If an account matches" in response.content.decode()
    assert response.redirect_chain == [("/portal/password/reset/verify/", 302)]
    assert sms_outbox == []


def test_pages_are_bilingual(client):
    response = client.get("/portal/login/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert "登录" in response.content.decode()


def test_codes_to_one_phone_are_limited_whatever_the_address(client, sms_outbox, settings):
    settings.PORTAL_CODE_PER_HOUR = 2
    customer = CustomerFactory()
    answers = [
        client.post(
            "/portal/register/",
            {"identifier": customer.credit_code, "phone": customer.phone},
            REMOTE_ADDR=f"10.0.0.{n}",
            follow=True,
        )
        for n in range(3)
    ]
    assert all(SENT in answer.content.decode() for answer in answers)
    assert len(sms_outbox) == 2


def test_taken_usernames_are_told_only_to_holders_of_a_right_code(client, sms_outbox, account):
    customer = CustomerFactory()
    _ask(client, customer.credit_code, CustomerFactory().phone)  # matches nobody: no code sent
    response = _verify(client, "123456", username=account.username)
    body = response.content.decode()
    assert "This username is taken" not in body and "The code is not valid" in body
    # The real customer with a right code hears it, and keeps the code for another name.
    _ask(client, customer.credit_code, customer.phone)
    code = _code(sms_outbox)
    assert "This username is taken" in _verify(client, code, username=account.username.upper()).content.decode()
    assert _verify(client, code, username="another-name").status_code == 302
    assert PortalAccount.objects.filter(username="another-name").exists()
