"""The public applicant's contact phone and claimed details are encrypted at rest."""

import pytest
from django.core.exceptions import FieldError
from django.db import connection

from customers.validators import make_credit_code
from loans.models import LoanApplication
from loans.selectors import application_public_lookup
from tests.loans.factories import ApplicationFactory, CustomerFactory, ProductFactory

APPLY = "/apply/"
PHONE = "13700001111"
ID_NUMBER = "11010519491231002X"


def _raw_database() -> bytes:
    connection.ensure_connection()
    return connection.connection.serialize()


@pytest.mark.django_db(transaction=True)
def test_claimed_identity_and_contact_phone_are_not_in_the_database_file(client):
    import random

    product = ProductFactory()
    code = make_credit_code(random.Random(5), city="Hangzhou")
    CustomerFactory(credit_code=code, phone="13955556666", name="Hangzhou Tea House")
    form = {
        "kind": "individual",
        "name": "Someone Else Trading",
        "credit_code": code,  # a customer on file: the details wait for verification
        "id_number": ID_NUMBER,
        "phone": PHONE,
        "email": "applicant@example.cn",
        "city": "Hangzhou",
        "industry": "catering",
        "years_in_business": "4",
        "employees": "12",
        "monthly_revenue": "90000",
        "monthly_cost": "70000",
        "product": str(product.pk),
        "amount": "200000",
        "term_months": "12",
        "purpose": "working_capital",
        "repayment_method": "equal_installment",
        "consent": "on",
        "website": "",
        "submission_token": "encryption-test-form-token-0001",
    }
    assert client.post(APPLY, form, follow=True).status_code == 200
    app = LoanApplication.objects.get()
    assert app.status == LoanApplication.Status.PENDING_VERIFICATION

    raw = _raw_database()
    assert app.reference.encode() in raw  # the file does hold the application ...
    for secret in (PHONE, ID_NUMBER, "applicant@example.cn", "Someone Else Trading"):
        assert secret.encode() not in raw, secret  # ... but none of what the applicant claimed
    with connection.cursor() as cursor:
        cursor.execute("SELECT contact_phone, claimed_identity FROM loans_loanapplication WHERE id = %s", [app.pk])
        contact_phone, claimed = cursor.fetchone()
    assert contact_phone.startswith("e1:") and claimed.startswith("e1:")

    fresh = LoanApplication.objects.get(pk=app.pk)
    assert fresh.contact_phone == PHONE
    assert fresh.claimed_identity["id_number"] == ID_NUMBER and fresh.claimed_identity["phone"] == PHONE
    assert application_public_lookup(reference=app.reference, phone="+86 137-0000-1111") == fresh


@pytest.mark.django_db
def test_contact_phone_lookups_use_the_hash_and_claimed_identity_cannot_be_queried():
    app = ApplicationFactory(contact_phone=PHONE, claimed_identity={"phone": PHONE})
    ApplicationFactory(contact_phone="")
    assert list(LoanApplication.objects.filter(contact_phone="+86 13700001111")) == [app]
    assert LoanApplication.objects.filter(contact_phone="").count() == 1
    with pytest.raises(FieldError, match="encrypted"):
        LoanApplication.objects.filter(claimed_identity__phone=PHONE).count()
    with pytest.raises(FieldError, match="encrypted"):
        LoanApplication.objects.filter(contact_phone__contains="1111").count()


@pytest.mark.django_db
def test_editing_the_contact_phone_keeps_its_hash_in_step(make_user):
    from loans.services import application_update

    officer = make_user("officer", role="Loan officer")
    app = ApplicationFactory(contact_phone=PHONE, created_by=officer)
    application_update(actor=officer, application=app, contact_phone="13955556666")
    assert LoanApplication.objects.get(contact_phone="+86 139 5555 6666") == app
    assert not LoanApplication.objects.filter(contact_phone=PHONE).exists()
