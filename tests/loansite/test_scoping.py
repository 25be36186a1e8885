"""Row-level scoping (loansite/scoping.py): an officer sees their own book in the admin, the
API and exports; another officer's customer, application or loan answers 404; every other
role sees all."""

import csv
import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import CustomerAccessGrant
from loans.models import LoanApplication
from tests.customers.factories import ManagerFactory
from tests.loans.factories import ApplicationFactory, CustomerFactory, LoanFactory

pytestmark = pytest.mark.django_db

SEE_ALL_ROLES = ["Credit approver", "Risk analyst", "Model ops", "Auditor", "Administrator"]


@pytest.fixture
def book(make_user):
    """Two officers with a customer each (an application and a loan each), one unassigned customer."""
    mine_user = make_user("officer_a", role="Loan officer")
    other_user = make_user("officer_b", role="Loan officer")
    mine = CustomerFactory(name="Mine Co", manager=ManagerFactory(user=mine_user))
    other = CustomerFactory(name="Other Co", manager=ManagerFactory(user=other_user))
    pool = CustomerFactory(name="Pool Co")
    data = {"officer": mine_user, "other_officer": other_user, "mine": mine, "other": other, "pool": pool}
    for key in ("mine", "other"):
        data[f"{key}_app"] = ApplicationFactory(customer=data[key], status=LoanApplication.Status.SUBMITTED)
        data[f"{key}_loan"] = LoanFactory(application__customer=data[key])
    return data


def _names(response) -> set[str]:
    return {obj.name for obj in response.context["cl"].result_list}


# -- admin -----------------------------------------------------------------------------------


def test_officer_customer_list_is_own_book_plus_unassigned(client, book):
    client.force_login(book["officer"])
    response = client.get(reverse("admin:customers_customer_changelist"))
    assert response.status_code == 200
    assert _names(response) == {"Mine Co", "Pool Co"}


@pytest.mark.parametrize("role", SEE_ALL_ROLES + ["Collector"])
def test_other_roles_see_every_customer(client, make_user, book, role):
    client.force_login(make_user("someone", role=role))
    response = client.get(reverse("admin:customers_customer_changelist"))
    assert response.status_code == 200
    assert {"Mine Co", "Other Co", "Pool Co"} <= _names(response)


def test_other_officers_customer_page_is_404(client, book):
    client.force_login(book["officer"])
    assert client.get(reverse("admin:customers_customer_change", args=[book["mine"].pk])).status_code == 200
    assert client.get(reverse("admin:customers_customer_change", args=[book["other"].pk])).status_code == 404
    assert client.get(reverse("admin:customers_customer_history", args=[book["other"].pk])).status_code == 404
    assert client.get(reverse("admin:customers_customer_reassign", args=[book["other"].pk])).status_code == 404


def test_other_officers_application_and_loan_are_404(client, book):
    client.force_login(book["officer"])
    mine_app, other_app = book["mine_app"], book["other_app"]
    assert client.get(reverse("admin:loans_loanapplication_change", args=[mine_app.pk])).status_code == 200
    assert client.get(reverse("admin:loans_loanapplication_change", args=[other_app.pk])).status_code == 404
    decide = reverse("admin:loans_loanapplication_decide", args=[other_app.pk, "withdraw"])
    assert client.get(decide).status_code in (403, 404)
    assert client.get(reverse("admin:loans_loan_change", args=[book["mine_loan"].pk])).status_code == 200
    assert client.get(reverse("admin:loans_loan_change", args=[book["other_loan"].pk])).status_code == 404


def test_officer_application_and_loan_lists_are_scoped(client, book):
    client.force_login(book["officer"])
    response = client.get(reverse("admin:loans_loanapplication_changelist") + "?status=all")
    refs = {app.reference for app in response.context["cl"].result_list}
    assert book["mine_app"].reference in refs and book["other_app"].reference not in refs
    response = client.get(reverse("admin:loans_loan_changelist"))
    numbers = {loan.loan_number for loan in response.context["cl"].result_list}
    assert numbers == {book["mine_loan"].loan_number}


def test_approver_sees_every_application(client, make_user, book):
    client.force_login(make_user("approver", role="Credit approver"))
    response = client.get(reverse("admin:loans_loanapplication_changelist") + "?status=all")
    refs = {app.reference for app in response.context["cl"].result_list}
    assert {book["mine_app"].reference, book["other_app"].reference} <= refs
    assert client.get(reverse("admin:loans_loan_change", args=[book["other_loan"].pk])).status_code == 200


def test_customer_autocomplete_is_scoped(client, book):
    client.force_login(book["officer"])
    url = reverse("admin:autocomplete")
    params = {"app_label": "loans", "model_name": "loanapplication", "field_name": "customer", "term": "Co"}
    response = client.get(url, params)
    assert response.status_code == 200
    names = {row["text"] for row in response.json()["results"]}
    assert "Mine Co" in names and "Other Co" not in names


def test_officer_cannot_file_an_application_for_another_officers_customer(client, book):
    from tests.loans.factories import ProductFactory

    product = ProductFactory()
    before = LoanApplication.objects.filter(customer=book["other"]).count()
    client.force_login(book["officer"])
    response = client.post(
        reverse("admin:loans_loanapplication_add"),
        {
            "customer": book["other"].pk,
            "product": product.pk,
            "amount": "50000",
            "term_months": 12,
            "purpose": "working_capital",
            "repayment_method": "equal_installment",
            "decisions-TOTAL_FORMS": 0,
            "decisions-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200  # the form again, with an error on the customer
    assert "customer" in response.context["adminform"].form.errors
    assert LoanApplication.objects.filter(customer=book["other"]).count() == before


# -- exports ---------------------------------------------------------------------------------


def _csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_customer_export_is_scoped(client, book):
    from customers.importing import COLUMNS

    client.force_login(book["officer"])
    fields = {f"customerenglishresource_{c.field}": "on" for c in COLUMNS}
    response = client.post(reverse("admin:customers_customer_export"), {"format": "0", "resource": "0", **fields})
    assert response.status_code == 200
    rows = _csv_rows(response.content)
    names = {row[rows[0].index("Name")] for row in rows[1:]}
    assert names == {"Mine Co", "Pool Co"}


def test_application_export_is_scoped(client, book):
    from loans.resources import COLUMNS as APPLICATION_COLUMNS

    client.force_login(book["officer"])
    url = reverse("admin:loans_loanapplication_export") + "?status=all"
    fields = {f"applicationresourceenglish_{key}": "on" for key in APPLICATION_COLUMNS}
    response = client.post(url, {"format": "0", "resource": "0", **fields})
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert "Mine Co" in text and "Other Co" not in text


# -- API -------------------------------------------------------------------------------------


def api(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


APPS, LOANS = "/api/v1/loans/applications/", "/api/v1/loans/loans/"


def _ids(response) -> set[int]:
    body = response.json()
    return {row["id"] for row in (body["results"] if isinstance(body, dict) else body)}


def test_api_customers_applications_loans_are_scoped(book):
    client = api(book["officer"])
    assert _ids(client.get("/api/v1/customers/")) == {book["mine"].pk, book["pool"].pk}
    assert client.get(f"/api/v1/customers/{book['other'].pk}/").status_code == 404
    assert client.patch(f"/api/v1/customers/{book['other'].pk}/", {"notes": "x"}, format="json").status_code == 404
    apps = _ids(client.get(APPS))
    assert book["mine_app"].pk in apps and book["other_app"].pk not in apps
    assert client.get(f"{APPS}{book['other_app'].pk}/").status_code == 404
    assert client.post(f"{APPS}{book['other_app'].pk}/submit/", {"reason": "x"}, format="json").status_code == 404
    assert _ids(client.get(LOANS)) == {book["mine_loan"].pk}
    assert client.get(f"{LOANS}{book['other_loan'].pk}/").status_code == 404
    assert client.get(f"{LOANS}{book['other_loan'].pk}/payoff-quote/").status_code == 404


def test_api_refuses_an_application_for_another_officers_customer(book):
    from tests.loans.factories import ProductFactory

    product = ProductFactory()
    payload = {"customer": book["other"].pk, "product": product.code, "amount": "50000", "term_months": 12}
    response = api(book["officer"]).post(APPS, payload, format="json")
    assert response.status_code == 400 and "customer" in response.json()


@pytest.mark.parametrize("role", SEE_ALL_ROLES)
def test_api_other_roles_see_all(make_user, book, role):
    client = api(make_user("someone", role=role))
    assert {book["mine"].pk, book["other"].pk, book["pool"].pk} <= _ids(client.get("/api/v1/customers/"))
    assert client.get(f"{LOANS}{book['other_loan'].pk}/").status_code == 200
    assert {book["mine_app"].pk, book["other_app"].pk} <= _ids(client.get(APPS))


# -- grants ----------------------------------------------------------------------------------


def test_grant_opens_one_customer_until_it_expires(client, make_user, book):
    from customers.services.access_grants import customer_access_grant

    approver = make_user("approver", role="Credit approver")
    grant = customer_access_grant(
        actor=approver,
        user=book["officer"],
        customer=book["other"],
        reason="Covering for officer_b on leave",
        expires_at=timezone.now() + datetime.timedelta(days=3),
    )
    client.force_login(book["officer"])
    url = reverse("admin:customers_customer_change", args=[book["other"].pk])
    assert client.get(url).status_code == 200
    assert client.get(reverse("admin:loans_loan_change", args=[book["other_loan"].pk])).status_code == 200
    assert book["other"].pk in _ids(api(book["officer"]).get("/api/v1/customers/"))
    # Expired: back to 404.
    CustomerAccessGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert client.get(url).status_code == 404
    assert book["other"].pk not in _ids(api(book["officer"]).get("/api/v1/customers/"))


def test_revoked_grant_closes_and_both_are_audited(client, make_user, book):
    from audit.models import AuditEntry
    from customers.services.access_grants import customer_access_grant, customer_access_revoke

    approver = make_user("approver", role="Credit approver")
    grant = customer_access_grant(
        actor=approver,
        user=book["officer"],
        customer=book["other"],
        reason="Second opinion",
        expires_at=timezone.now() + datetime.timedelta(days=1),
    )
    customer_access_revoke(actor=approver, grant=grant, reason="Done")
    client.force_login(book["officer"])
    assert client.get(reverse("admin:customers_customer_change", args=[book["other"].pk])).status_code == 404
    entries = AuditEntry.objects.filter(target_type="customers.customeraccessgrant", target_id=str(grant.pk))
    created, revoked = entries.order_by("seq")
    assert (created.action, revoked.action) == ("create", "update")
    assert created.reason == "Second opinion" and created.actor == approver and revoked.reason == "Done"


def test_only_supervisors_grant_and_with_limits(make_user, book):
    from customers.services.access_grants import customer_access_grant
    from loansite.errors import NotAllowed, ValidationFailed

    soon = timezone.now() + datetime.timedelta(days=1)
    with pytest.raises(NotAllowed):
        customer_access_grant(
            actor=book["officer"], user=book["officer"], customer=book["other"], reason="me", expires_at=soon
        )
    admin = make_user("boss", role="Administrator")
    with pytest.raises(ValidationFailed):  # no reason
        customer_access_grant(actor=admin, user=book["officer"], customer=book["other"], reason=" ", expires_at=soon)
    with pytest.raises(ValidationFailed):  # in the past
        customer_access_grant(
            actor=admin,
            user=book["officer"],
            customer=book["other"],
            reason="x",
            expires_at=timezone.now() - datetime.timedelta(minutes=1),
        )
    with pytest.raises(ValidationFailed):  # longer than the maximum
        customer_access_grant(
            actor=admin,
            user=book["officer"],
            customer=book["other"],
            reason="x",
            expires_at=timezone.now() + datetime.timedelta(days=365),
        )
    assert not CustomerAccessGrant.objects.exists()


def test_grant_admin_form_shows_errors_and_grants(client, make_user, book):
    approver = make_user("approver", role="Credit approver")
    client.force_login(approver)
    url = reverse("admin:customers_customeraccessgrant_add")
    expired = (timezone.localtime() - datetime.timedelta(days=1)).strftime("%Y-%m-%d")
    data = {
        "user": book["officer"].pk,
        "customer": book["other"].pk,
        "reason": "Leave cover",
        "expires_at_0": expired,
        "expires_at_1": "10:00:00",
    }
    response = client.post(url, data)
    assert response.status_code == 200 and response.context["adminform"].form.errors
    data["expires_at_0"] = (timezone.localtime() + datetime.timedelta(days=2)).strftime("%Y-%m-%d")
    response = client.post(url, data)
    assert response.status_code == 302
    grant = CustomerAccessGrant.objects.get()
    assert grant.granted_by == approver and grant.is_active


def test_officers_cannot_open_the_grants_admin(client, book):
    client.force_login(book["officer"])
    assert client.get(reverse("admin:customers_customeraccessgrant_add")).status_code == 403


def test_collateral_is_scoped_by_application_or_loan(client, book):
    import datetime as dt
    from decimal import Decimal

    from loans.models import Collateral

    def collateral(app):
        return Collateral.objects.create(
            application=app,
            kind="real_estate",
            owner="Owner",
            description="Shop",
            appraised_value=Decimal("100000.00"),
            appraisal_date=dt.date(2026, 1, 1),
            appraiser="Appraiser",
            haircut=Decimal("0.3000"),
        )

    mine, other = collateral(book["mine_app"]), collateral(book["other_app"])
    client.force_login(book["officer"])
    response = client.get(reverse("admin:loans_collateral_changelist"))
    assert [c.pk for c in response.context["cl"].result_list] == [mine.pk]
    assert client.get(reverse("admin:loans_collateral_change", args=[other.pk])).status_code == 404


def test_automated_decisions_api_is_scoped(book):
    from loans.models import AutomatedDecision

    mine = AutomatedDecision.objects.create(application=book["mine_app"], review_round=1, kind="approved")
    other = AutomatedDecision.objects.create(application=book["other_app"], review_round=1, kind="approved")
    client = api(book["officer"])
    ids = _ids(client.get("/api/v1/loans/automated-decisions/"))
    assert mine.pk in ids and other.pk not in ids
    assert client.get(f"/api/v1/loans/automated-decisions/{other.pk}/").status_code == 404


def test_api_refuses_repayments_and_disbursements_outside_the_book(book):
    client = api(book["officer"])
    payload = {
        "loan": book["other_loan"].loan_number,
        "amount": "100.00",
        "value_date": "2026-01-15",
        "bank_reference": "BR-1",
    }
    response = client.post("/api/v1/loans/repayments/", payload, format="json")
    assert response.status_code == 400 and "loan" in str(response.json())
    payload = {"application": book["other_app"].reference, "amount": "1000.00", "value_date": "2026-01-15"}
    response = client.post("/api/v1/loans/disbursements/", payload, format="json")
    assert response.status_code == 400 and "application" in str(response.json())
