from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from loans.models import LoanApplication
from tests.loans.factories import ApplicationFactory, CustomerFactory

S = LoanApplication.Status
BASE = "/api/v1/loans/applications/"


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_list_with_filters(approver, product):
    ApplicationFactory(product=product, status=S.SUBMITTED, amount=Decimal("50000"))
    big = ApplicationFactory(
        product=product, status=S.UNDER_REVIEW, amount=Decimal("900000"), customer=CustomerFactory(city="Wuhan")
    )
    ApplicationFactory(product=product, status=S.APPROVED)
    client = api(approver)
    response = client.get(BASE, {"queue": "true"})
    assert response.status_code == 200
    assert response.data["count"] == 2
    response = client.get(BASE, {"amount_min": "500000", "city": "Wuhan"})
    assert [row["reference"] for row in response.data["results"]] == [big.reference]
    response = client.get(BASE, {"status": ["approved", "submitted"]})
    assert response.data["count"] == 2
    response = client.get(BASE, {"search": big.customer.phone})
    assert response.data["count"] == 1


def test_list_query_count_is_flat(approver, product, django_assert_max_num_queries):
    for _ in range(15):
        ApplicationFactory(product=product, status=S.SUBMITTED)
    client = api(approver)
    client.get(BASE)
    with django_assert_max_num_queries(6):
        client.get(BASE)


def test_create_update_and_submit_as_officer(officer, customer, product):
    client = api(officer)
    response = client.post(
        BASE, {"customer": customer.pk, "product": product.code, "amount": "300000", "term_months": 12}, format="json"
    )
    assert response.status_code == 201, response.data
    app_id = response.data["id"]
    assert response.data["status"] == "draft" and response.data["channel"] == "api"
    response = client.patch(f"{BASE}{app_id}/", {"amount": "320000.00"}, format="json")
    assert response.status_code == 200 and response.data["amount"] == "320000.00"
    assert client.post(f"{BASE}{app_id}/submit/", {}, format="json").status_code == 200
    response = client.patch(f"{BASE}{app_id}/", {"amount": "1"}, format="json")
    assert response.status_code == 409  # no edits once submitted
    assert response.data["code"] == "InvalidTransition"


def test_create_validation_errors_are_400(officer, customer, product):
    client = api(officer)
    response = client.post(
        BASE, {"customer": customer.pk, "product": product.code, "amount": "5", "term_months": 12}, format="json"
    )
    assert response.status_code == 400
    assert "amount" in response.data["errors"]
    response = client.post(BASE, {"customer": customer.pk, "amount": "x"}, format="json")
    assert response.status_code == 400


def test_transitions_and_409(approver, pending):
    client = api(approver)
    response = client.post(f"{BASE}{pending.pk}/approve/", {"reason": "fine"}, format="json")
    assert response.status_code == 200
    assert response.data["status"] == "approved"
    assert response.data["decisions"][0]["decider"] == "approver"
    response = client.post(f"{BASE}{pending.pk}/reject/", {"reason": "late"}, format="json")
    assert response.status_code == 409
    pending.refresh_from_db()
    assert pending.status == S.APPROVED


@pytest.mark.parametrize(
    ("endpoint", "from_status", "to_status"),
    [
        ("review", S.SUBMITTED, S.UNDER_REVIEW),
        ("return", S.UNDER_REVIEW, S.RETURNED),
        ("reject", S.UNDER_REVIEW, S.REJECTED),
        ("withdraw", S.SUBMITTED, S.WITHDRAWN),
        ("cancel", S.APPROVED, S.CANCELLED),
    ],
)
def test_each_transition_endpoint(make_user, approver, officer, product, endpoint, from_status, to_status):
    app = ApplicationFactory(product=product, status=from_status, created_by=officer, review_round=1)
    actor = officer if endpoint == "withdraw" else approver
    response = api(actor).post(f"{BASE}{app.pk}/{endpoint}/", {"reason": "because"}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["status"] == to_status


def test_maker_checker_is_403(make_user, product):
    dual = make_user("dual", role="Credit approver")
    app = ApplicationFactory(product=product, status=S.UNDER_REVIEW, submitted_by=dual, review_round=1)
    response = api(dual).post(f"{BASE}{app.pk}/approve/", {}, format="json")
    assert response.status_code == 403
    assert response.data["code"] == "NotAllowed"


def test_roles(officer, approver, auditor, pending, customer, product, make_user):
    assert api(auditor).get(BASE).status_code == 200
    assert api(auditor).get(f"{BASE}{pending.pk}/").status_code == 200
    for endpoint in ("approve", "review", "submit", "withdraw"):
        assert api(auditor).post(f"{BASE}{pending.pk}/{endpoint}/", {}, format="json").status_code == 403
    payload = {"customer": customer.pk, "product": product.code, "amount": "300000", "term_months": 12}
    assert api(auditor).post(BASE, payload, format="json").status_code == 403
    assert api(approver).post(BASE, payload, format="json").status_code == 403  # approvers do not enter
    assert api(officer).post(f"{BASE}{pending.pk}/approve/", {}, format="json").status_code == 403
    assert api(make_user("nobody")).get(BASE).status_code == 403
    assert APIClient().get(BASE).status_code == 401
    pending.refresh_from_db()
    assert pending.status == S.UNDER_REVIEW


def test_assign_reviewer(approver, approver2, pending):
    response = api(approver).post(f"{BASE}{pending.pk}/assign/", {"reviewer": approver2.pk}, format="json")
    assert response.status_code == 200
    assert response.data["reviewer"] == "approver2"


def test_products(officer, product):
    response = api(officer).get("/api/v1/loans/products/")
    assert response.status_code == 200
    assert response.data["results"][0]["code"] == product.code
    assert api(officer).post("/api/v1/loans/products/", {}, format="json").status_code in (403, 405)


# ---------------------------------------------------------------------------
# Identity verification and text limits
# ---------------------------------------------------------------------------
def _unverified(product):
    on_file = CustomerFactory(name="Real Tea House")
    return ApplicationFactory(
        product=product,
        customer=None,
        identity_match=on_file,
        status=S.PENDING_VERIFICATION,
        channel="public",
        claimed_identity={"name": "Someone Else", "phone": "13700001111"},
    )


def test_verify_identity_endpoint(officer, approver, product):
    app = _unverified(product)
    url = f"{BASE}{app.pk}/verify-identity/"
    response = api(approver).post(url, {"decision": "verified"}, format="json")
    assert response.status_code == 403  # approvers decide credit, not identity
    response = api(officer).post(url, {"decision": "rejected"}, format="json")
    assert response.status_code == 400 and response.data["field"] == "reason"
    listed = api(officer).get(BASE, {"status": "pending_verification"})
    assert [row["reference"] for row in listed.data["results"]] == [app.reference]
    assert listed.data["results"][0]["customer"] is None
    assert listed.data["results"][0]["claimed_identity"]["name"] == "Someone Else"
    response = api(officer).post(url, {"decision": "verified", "reason": "Confirmed by phone on file"}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["status"] == "submitted" and response.data["customer"]["id"] == app.identity_match_id
    response = api(officer).post(url, {"decision": "verified"}, format="json")
    assert response.status_code == 409 and response.data["code"] == "InvalidTransition"


def test_an_unverified_application_cannot_be_submitted_through_the_api(officer, product):
    app = _unverified(product)
    response = api(officer).post(f"{BASE}{app.pk}/submit/", {}, format="json")
    assert response.status_code == 409
    app.refresh_from_db()
    assert app.status == S.PENDING_VERIFICATION


def test_free_text_is_bounded(officer, approver, customer, product, pending):
    payload = {"customer": customer.pk, "product": product.code, "amount": "300000", "term_months": 12}
    response = api(officer).post(BASE, {**payload, "notes": "x" * 2001}, format="json")
    assert response.status_code == 400 and "notes" in response.data
    response = api(officer).post(BASE, {**payload, "notes": "x" * 2000}, format="json")
    assert response.status_code == 201
    draft = response.data["id"]
    assert api(officer).patch(f"{BASE}{draft}/", {"notes": "y" * 5000}, format="json").status_code == 400
    response = api(approver).post(f"{BASE}{pending.pk}/reject/", {"reason": "z" * 2001}, format="json")
    assert response.status_code == 400 and "reason" in response.data
    pending.refresh_from_db()
    assert pending.status == S.UNDER_REVIEW
