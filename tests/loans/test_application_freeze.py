"""A customer whose new applications a risk analyst froze cannot apply by any path until the
freeze is lifted: the service refuses, and each caller says so in its own way."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from loans.models import LoanApplication
from loans.services import application_create, application_submit, application_verify_identity
from loans.services.applications import ApplicationsFrozen
from loansite import roles
from risk.models import CustomerRestriction
from risk.services.events import customer_restrict, customer_restriction_lift
from tests.loans.factories import ApplicationFactory, CustomerFactory

pytestmark = pytest.mark.django_db
S = LoanApplication.Status
FROZEN_STAFF = "New applications for this customer are frozen by risk control"
FROZEN_PUBLIC = "Please contact the bank"


@pytest.fixture
def form_data(product):
    import random

    from customers.validators import make_credit_code, make_mobile_phone

    rng = random.Random(12)
    return {
        "kind": "enterprise",
        "name": "Suzhou Noodle House",
        "credit_code": make_credit_code(rng, city="Hangzhou"),
        "phone": make_mobile_phone(rng),
        "email": "",
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
    }


@pytest.fixture
def analyst(make_user):
    return make_user("analyst", role=roles.RISK_ANALYST)


def _freeze(analyst, customer, kind="applications"):
    return customer_restrict(actor=analyst, customer=customer, kind=kind, reason="mule ring")


def _apply(client, data):
    # With whatever the page hands out for the submission (a one-time token, if any).
    form = client.get("/apply/").context["form"]
    token = {k: v for k, v in form.initial.items() if k == "submission_token"}
    return client.post("/apply/", {**data, **token}, follow=True)


def _create(officer, customer, product, **extra):
    return application_create(
        actor=officer, customer=customer, product=product, amount=Decimal("200000"), term_months=12, **extra
    )


def test_a_frozen_customer_gets_no_new_application_until_the_freeze_is_lifted(officer, analyst, customer, product):
    restriction = _freeze(analyst, customer)
    with pytest.raises(ApplicationsFrozen) as caught:
        _create(officer, customer, product, submit=True)
    assert FROZEN_STAFF in str(caught.value.message) and caught.value.extra["code"] == "customer_frozen"
    assert not LoanApplication.objects.exists()
    customer_restriction_lift(actor=analyst, restriction=restriction, reason="cleared")
    assert _create(officer, customer, product).status == S.DRAFT


def test_a_portal_freeze_alone_does_not_stop_applications(officer, analyst, customer, product):
    _freeze(analyst, customer, kind=CustomerRestriction.Kind.PORTAL)
    assert _create(officer, customer, product).status == S.DRAFT


def test_a_draft_from_before_the_freeze_cannot_be_submitted(officer, analyst, customer, product):
    app = _create(officer, customer, product)
    _freeze(analyst, customer)
    with pytest.raises(ApplicationsFrozen):
        application_submit(actor=officer, application=app)
    app.refresh_from_db()
    assert app.status == S.DRAFT


def test_an_identity_cannot_be_verified_onto_a_frozen_customer(make_user, analyst, customer, product):
    verifier = make_user("verifier", role=roles.LOAN_OFFICER)
    app = ApplicationFactory(product=product, customer=None, identity_match=customer, status=S.PENDING_VERIFICATION)
    _freeze(analyst, customer)
    with pytest.raises(ApplicationsFrozen):
        application_verify_identity(actor=verifier, application=app, decision="verified")
    app.refresh_from_db()
    assert (app.status, app.customer_id) == (S.PENDING_VERIFICATION, None)


def test_the_public_form_asks_a_frozen_customer_to_contact_the_bank_and_keeps_the_form(
    client, analyst, product, form_data
):
    first = _apply(client, form_data)
    assert first.status_code == 200
    customer = LoanApplication.objects.get().customer
    _freeze(analyst, customer)
    response = _apply(client, {**form_data, "amount": "150000"})
    assert response.status_code == 400
    html = response.content.decode()
    assert FROZEN_PUBLIC in html and "risk control" not in html
    assert 'value="150000"' in html and form_data["credit_code"] in html  # nothing typed is lost
    assert LoanApplication.objects.count() == 1


def test_the_admin_add_page_shows_the_freeze_as_a_form_error(client, officer, analyst, customer, product):
    _freeze(analyst, customer)
    client.force_login(officer)
    response = client.post(
        reverse("admin:loans_loanapplication_add"),
        {
            "customer": customer.pk,
            "product": product.pk,
            "amount": "200000",
            "term_months": "12",
            "purpose": "working_capital",
            "repayment_method": "equal_installment",
        },
    )
    assert response.status_code == 200
    assert FROZEN_STAFF in str(response.context["adminform"].form.errors["customer"])
    assert not LoanApplication.objects.exists()


def test_the_admin_submit_page_shows_the_freeze_as_a_form_error(client, officer, analyst, customer, product):
    app = _create(officer, customer, product)
    _freeze(analyst, customer)
    client.force_login(officer)
    response = client.post(reverse("admin:loans_loanapplication_decide", args=[app.pk, "submit"]), {"reason": "ready"})
    assert response.status_code == 200
    assert FROZEN_STAFF in response.content.decode()
    assert response.context["form"]["reason"].value() == "ready"
    app.refresh_from_db()
    assert app.status == S.DRAFT


def test_the_api_answers_400_with_the_reason(officer, analyst, customer, product):
    _freeze(analyst, customer)
    api = APIClient()
    api.force_authenticate(officer)
    response = api.post(
        "/api/v1/loans/applications/",
        {"customer": customer.pk, "product": product.code, "amount": "300000", "term_months": 12},
        format="json",
    )
    assert response.status_code == 400
    assert response.data["code"] == "customer_frozen" and FROZEN_STAFF in response.data["detail"]
    assert not LoanApplication.objects.exists()


def test_an_import_row_for_a_frozen_customer_is_a_row_error(client, officer, analyst, product):
    customer = CustomerFactory()
    _freeze(analyst, customer)
    client.force_login(officer)
    headers = "商户名称,统一社会信用代码,手机号,行业,城市,产品,申请金额,期限（月）,状态\n"
    row = (
        f"{customer.name},{customer.credit_code},{customer.phone},retail,Hangzhou,{product.code},200000,12,submitted\n"
    )
    url = reverse("admin:loans_loanapplication_import")
    upload = SimpleUploadedFile("apps.csv", (headers + row).encode("utf-8"))
    preview = client.post(url, {"import_file": upload, "format": "0", "resource": "0"})
    assert preview.status_code == 200
    assert not preview.context["report"].errors, preview.context["report"].errors
    confirmed = client.post(url, {**preview.context["confirm_form"].initial})
    report = confirmed.context["report"]
    assert [error.row for error in report.errors] == [2]
    assert FROZEN_STAFF in report.errors[0].message
    assert not LoanApplication.objects.exists()
