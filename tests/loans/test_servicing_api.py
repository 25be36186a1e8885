"""The servicing API: loans with their schedule, disbursement prepare / authorise, repayments
(idempotent posting, list, reverse), payoff quote, prepayment, restructuring; 400 / 403 / 409;
and who may call what, role by role."""

import datetime
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from loans.models import Disbursement, Loan, Repayment
from loansite import roles
from tests.loans.servicing import DAY, approved_application, disbursed_loan

pytestmark = pytest.mark.django_db
D = Decimal
LOANS = "/api/v1/loans/loans/"
DISBURSEMENTS = "/api/v1/loans/disbursements/"
REPAYMENTS = "/api/v1/loans/repayments/"


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def loan(officer, approver):
    return disbursed_loan(officer, approver, amount="10000", term=6, rate="0.12")


def test_loan_list_and_detail_with_schedule(officer, loan):
    client = api(officer)
    response = client.get(LOANS, {"status": "active"})
    assert response.status_code == 200 and response.data["count"] == 1
    row = response.data["results"][0]
    assert (row["loan_number"], row["outstanding_principal"], row["next_due_amount"]) == (
        loan.loan_number,
        "10000.00",
        "1725.48",
    )
    detail = client.get(f"{LOANS}{loan.pk}/").data
    assert [r["principal"] for r in detail["schedule"]][-1] == "1708.43"
    assert len(detail["schedule"]) == 6 and detail["schedule_versions"][0]["reason"] == "disbursement"
    assert client.get(LOANS, {"status": "closed"}).data["count"] == 0
    assert client.get(f"{LOANS}{loan.pk}/ledger/").data[0]["kind"] == "disbursement"


def test_disbursement_through_the_api(officer, approver, approver2):
    app = approved_application(officer, approver, conditions=["Contract signed"])
    body = {
        "application": app.reference,
        "amount": "10000",
        "value_date": DAY.isoformat(),
        "contract_number": "HT-9",
        "account": "6222",
        "conditions_checked": ["Contract signed"],
    }
    assert api(approver).post(DISBURSEMENTS, body, format="json").status_code == 403
    missing = api(officer).post(DISBURSEMENTS, {**body, "conditions_checked": []}, format="json")
    assert missing.status_code == 400 and missing.data["missing"] == ["Contract signed"]
    assert api(officer).post(DISBURSEMENTS, {**body, "value_date": "soon"}, format="json").status_code == 400
    first = api(officer).post(DISBURSEMENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="prep-1")
    again = api(officer).post(DISBURSEMENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="prep-1")
    assert first.status_code == again.status_code == 201 and first.data["id"] == again.data["id"]
    assert api(officer).post(DISBURSEMENTS, body, format="json").status_code == 409  # tranche 1 exists
    pk = first.data["id"]
    assert api(officer).post(f"{DISBURSEMENTS}{pk}/authorise/").status_code == 403
    response = api(approver).post(f"{DISBURSEMENTS}{pk}/authorise/")
    assert response.status_code == 200 and len(response.data["schedule"]) == 6
    assert api(approver).post(f"{DISBURSEMENTS}{pk}/authorise/").data["id"] == response.data["id"]  # a retry
    assert api(approver2).post(f"{DISBURSEMENTS}{pk}/authorise/").status_code == 409
    assert Loan.objects.count() == 1
    assert api(officer).get(DISBURSEMENTS).data["results"][0]["status"] == Disbursement.Status.AUTHORISED


def test_repayments_through_the_api(officer, approver, loan):
    body = {"loan": loan.loan_number, "amount": "1725.48", "value_date": "2025-02-15", "bank_reference": "BANK-1"}
    first = api(officer).post(REPAYMENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    assert first.status_code == 201 and first.data["allocated_principal"] == "1625.48"
    assert first.data["channel"] == "api"
    again = api(officer).post(REPAYMENTS, body, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    assert again.status_code == 201 and again.data["id"] == first.data["id"]
    duplicate = api(officer).post(REPAYMENTS, body, format="json")
    assert duplicate.status_code == 409 and duplicate.data["duplicate"] is True
    for bad in ({**body, "amount": "-1"}, {**body, "loan": "LN-NOPE"}, {**body, "bank_reference": ""}, {}):
        assert api(officer).post(REPAYMENTS, bad, format="json").status_code == 400, bad
    assert api(approver).post(REPAYMENTS, {**body, "bank_reference": "B-2"}, format="json").status_code == 403
    listing = api(approver).get(REPAYMENTS, {"loan": loan.loan_number})
    assert listing.data["count"] == 1
    pk = first.data["id"]
    assert api(officer).post(f"{REPAYMENTS}{pk}/reverse/", {"reason": "x"}, format="json").status_code == 403
    assert api(approver).post(f"{REPAYMENTS}{pk}/reverse/", {}, format="json").status_code == 400
    reversed_ = api(approver).post(f"{REPAYMENTS}{pk}/reverse/", {"reason": "wrong loan"}, format="json")
    assert reversed_.status_code == 200 and reversed_.data["status"] == "reversed"
    assert api(approver).post(f"{REPAYMENTS}{pk}/reverse/", {"reason": "again"}, format="json").status_code == 409


def test_payoff_quote_prepayment_and_restructuring_through_the_api(officer, approver, loan):
    quote = api(officer).get(f"{LOANS}{loan.pk}/payoff-quote/", {"on_date": "2025-02-01"})
    assert quote.status_code == 200 and quote.data["principal"] == "10000.00"
    assert api(officer).get(f"{LOANS}{loan.pk}/payoff-quote/", {"on_date": "x"}).status_code == 400
    prepay = api(officer).post(
        f"{LOANS}{loan.pk}/prepay/",
        {"amount": "2000", "value_date": "2025-02-01", "bank_reference": "P-1", "mode": "shorten_term"},
        format="json",
    )
    assert prepay.status_code == 201 and prepay.data["kind"] == "prepayment"
    assert (
        api(officer)
        .post(
            f"{LOANS}{loan.pk}/prepay/",
            {"amount": "2000", "value_date": "2025-02-01", "bank_reference": "P-2", "mode": "sideways"},
            format="json",
        )
        .status_code
        == 400
    )
    body = {"on_date": "2025-02-10", "reason": "extension", "term_months": 8}
    assert api(officer).post(f"{LOANS}{loan.pk}/restructure/", body, format="json").status_code == 403
    response = api(approver).post(f"{LOANS}{loan.pk}/restructure/", body, format="json")
    assert response.status_code == 200 and response.data["restructured"] is True
    assert response.data["maturity_date"] == "2025-09-15"  # 8 installments from the next due date
    payoff = api(officer).get(f"{LOANS}{loan.pk}/payoff-quote/", {"on_date": "2025-02-10"}).data
    response = api(officer).post(
        f"{LOANS}{loan.pk}/prepay/",
        {"amount": payoff["total"], "value_date": "2025-02-10", "bank_reference": "P-3", "full": True},
        format="json",
    )
    assert response.status_code == 201 and response.data["kind"] == "payoff"
    assert Loan.objects.get(pk=loan.pk).status == Loan.Status.CLOSED
    late = {"loan": loan.loan_number, "amount": "1", "value_date": "2025-02-11", "bank_reference": "L-1"}
    assert api(officer).post(REPAYMENTS, late, format="json").status_code == 409  # closed
    assert api(approver).post(f"{LOANS}{loan.pk}/restructure/", body, format="json").status_code == 409


def test_approve_with_terms_through_the_api(officer, approver):
    from tests.loans.factories import ApplicationFactory
    from tests.loans.servicing import servicing_product

    app = ApplicationFactory(
        product=servicing_product(), status="under_review", created_by=officer, submitted_by=officer, review_round=1
    )
    url = f"/api/v1/loans/applications/{app.pk}/approve/"
    assert api(approver).post(url, {"approved_amount": "100000.01"}, format="json").status_code == 400
    response = api(approver).post(
        url,
        {"approved_amount": "60000", "approved_method": "bullet", "conditions_precedent": ["Signed"]},
        format="json",
    )
    assert response.status_code == 200 and response.data["status"] == "approved"
    app.refresh_from_db()
    assert (app.approved_amount, app.approved_method, app.counter_offer) == (D("60000.00"), "bullet", True)


ROLE_CALLS = [
    # (method, path, the roles that pass the permission check)
    ("get", LOANS, set(roles.ROLE_PERMISSIONS)),
    ("post", DISBURSEMENTS, {roles.LOAN_OFFICER, roles.ADMINISTRATOR}),
    ("post", f"{DISBURSEMENTS}999999/authorise/", {roles.CREDIT_APPROVER, roles.ADMINISTRATOR}),
    ("post", f"{DISBURSEMENTS}999999/cancel/", {roles.LOAN_OFFICER, roles.CREDIT_APPROVER, roles.ADMINISTRATOR}),
    ("post", REPAYMENTS, {roles.LOAN_OFFICER, roles.ADMINISTRATOR}),
    ("post", f"{REPAYMENTS}999999/reverse/", {roles.CREDIT_APPROVER, roles.ADMINISTRATOR}),
    ("post", f"{LOANS}999999/prepay/", {roles.LOAN_OFFICER, roles.ADMINISTRATOR}),
    ("post", f"{LOANS}999999/restructure/", {roles.CREDIT_APPROVER, roles.ADMINISTRATOR}),
    ("get", REPAYMENTS, set(roles.ROLE_PERMISSIONS)),
]


@pytest.mark.parametrize(("method", "path", "allowed"), ROLE_CALLS)
def test_permissions_by_role(make_user, method, path, allowed):
    for role in roles.ROLE_PERMISSIONS:
        user = make_user(f"u-{role}".replace(" ", "-"), role=role)
        response = getattr(api(user), method)(path, {}, format="json")
        assert (response.status_code not in (401, 403)) == (role in allowed), (role, response.status_code)
    anonymous = getattr(APIClient(), method)(path, {}, format="json")
    assert anonymous.status_code in (401, 403)


def test_posting_leaves_the_repayment_list_consistent(officer, loan):
    api(officer).post(
        REPAYMENTS,
        {"loan": loan.loan_number, "amount": "99999", "value_date": "2025-02-15", "bank_reference": "BIG"},
        format="json",
    )
    repayment = Repayment.objects.get()
    loan.refresh_from_db()
    assert repayment.allocated_credit == loan.credit_balance > 0
    assert datetime.date(2025, 2, 15) == repayment.value_date
