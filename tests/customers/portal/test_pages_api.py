"""``/api/v1/portal/``: the portal pages' endpoints for the mobile app, each tried with another
customer's ids (404) and with a staff token (refused)."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook
from rest_framework.test import APIClient

from customers.portal.api_auth import portal_token_pair
from loans.models import Document, Installment, LoanApplication
from loans.services.repayments import repayment_post
from tests.customers.portal.pages_helpers import (
    assign_manager,
    document_request,
    loan_for,
    portal_account_for,
    returned_application,
)
from tests.loans.factories import ApplicationFactory
from tests.loans.servicing import servicing_product

pytestmark = pytest.mark.django_db
API = "/api/v1/portal"


def test_home_manager_and_lists_are_the_selected_customers(api, mine, theirs, officer, approver):
    assign_manager(mine)
    own_app = ApplicationFactory(customer=mine, status=LoanApplication.Status.SUBMITTED)
    ApplicationFactory(customer=theirs)
    loan = loan_for(mine, officer, approver)
    loan_for(theirs, officer, approver)
    home = api.get(f"{API}/home/").json()
    assert home["customer"] == {"id": mine.pk, "name": "Lantern Tea House"}
    assert home["loans"]["live"] == 1 and home["loans"]["outstanding"] == "10000.00"
    assert home["manager"]["name"] == "Tao Yang"
    manager = api.get(f"{API}/manager/").json()
    assert manager["reasons"][0]["text"] == "Your manager specialises in your industry (Retail)."
    apps = api.get(f"{API}/applications/").json()
    assert own_app.reference in [a["reference"] for a in apps] and len(apps) == 2
    loans = api.get(f"{API}/loans/").json()
    assert [row["loan_number"] for row in loans] == [loan.loan_number]


def test_loan_detail_payoff_and_downloads(api, mine, officer, approver):
    loan = loan_for(mine, officer, approver)
    first = Installment.objects.filter(loan=loan).order_by("number").first()
    repayment_post(actor=officer, loan=loan, amount=first.total, value_date=first.due_date, bank_reference="BR-A-1")
    detail = api.get(f"{API}/loans/{loan.pk}/").json()
    assert [row["status"] for row in detail["schedule"]][:1] == ["paid"] and len(detail["schedule"]) == 6
    assert detail["repayments"][0]["amount"] == str(first.total)
    assert "posted_by" not in detail["repayments"][0] and "bank_reference" not in detail["repayments"][0]
    payoff = api.get(f"{API}/loans/{loan.pk}/payoff/")
    assert payoff.status_code == 200 and Decimal(payoff.json()["total"]) > 0
    assert api.get(f"{API}/loans/{loan.pk}/payoff/?on=1999-01-01").status_code == 400
    plan = api.get(f"{API}/loans/{loan.pk}/repayment-plan/")
    assert plan.status_code == 200 and plan["Content-Type"].startswith("application/vnd.openxmlformats")
    statement = api.get(f"{API}/loans/{loan.pk}/statement/")
    rows = list(load_workbook(io.BytesIO(statement.content)).active.iter_rows(values_only=True))
    assert rows[2][2] == "BR-A-1"
    printable = api.get(f"{API}/loans/{loan.pk}/statement/pdf/")
    assert printable.status_code == 200 and printable["Content-Type"] == "application/pdf"
    assert printable.content.startswith(b"%PDF")


def test_apply_through_the_api_once_per_token(api, mine):
    product = servicing_product()
    body = {
        "product": product.pk, "amount": "30000", "term_months": 6, "purpose": "inventory",
        "repayment_method": "equal_installment", "consent": True, "submission_token": "app-token-0000000001",
    }  # fmt: skip
    created = api.post(f"{API}/applications/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["status"] == "submitted"
    again = api.post(f"{API}/applications/", body, format="json")
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    assert LoanApplication.objects.filter(customer=mine, channel="portal").count() == 1
    too_much = api.post(f"{API}/applications/", {**body, "amount": "99999999", "submission_token": "x" * 20})
    assert too_much.status_code == 400 and "amount" in too_much.json()["errors"]
    no_consent = api.post(f"{API}/applications/", {**body, "consent": False, "submission_token": "y" * 20})
    assert no_consent.status_code == 400


def test_answer_a_return_with_the_requested_document(api, mine, officer, documents_root):
    from tests.loans.document_samples import pdf_bytes

    app = returned_application(mine, officer, reason="Bank statements, please.")
    document_request(app, officer, kind="bank_statements")
    detail = api.get(f"{API}/applications/{app.pk}/").json()
    assert detail["return_reason"] == "Bank statements, please."
    assert [r["kind"] for r in detail["document_requests"]] == ["bank_statements"]
    early = api.post(f"{API}/applications/{app.pk}/answer/", {"message": "here"}, format="json")
    assert early.status_code == 400 and early.json()["missing"] == ["bank_statements"]
    renamed = SimpleUploadedFile("statement.pdf", b"MZ" + b"\x00" * 100)
    refused = api.post(f"{API}/applications/{app.pk}/documents/", {"kind": "bank_statements", "file": renamed})
    assert refused.status_code == 400 and not Document.objects.exists()
    upload = SimpleUploadedFile("statement.pdf", pdf_bytes())
    uploaded = api.post(f"{API}/applications/{app.pk}/documents/", {"kind": "bank_statements", "file": upload})
    assert uploaded.status_code == 201, uploaded.json()
    download = api.get(f"{API}/documents/{uploaded.json()['id']}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == pdf_bytes()
    answered = api.post(f"{API}/applications/{app.pk}/answer/", {"message": "here"}, format="json")
    assert answered.status_code == 200 and answered.json()["status"] == "submitted"
    again = api.post(f"{API}/applications/{app.pk}/answer/", {}, format="json")
    assert again.status_code == 409


def test_every_endpoint_with_another_customers_ids_answers_404(api, theirs, officer, approver, documents_root):
    from loans.services.documents import document_upload
    from tests.loans.document_samples import pdf_bytes

    their_app = returned_application(theirs, officer)
    their_loan = loan_for(theirs, officer, approver)
    their_doc = document_upload(
        customer=theirs, kind="other", file=pdf_bytes(), original_name="x.pdf", application=their_app, actor=officer
    )
    for url in (
        f"{API}/applications/{their_app.pk}/",
        f"{API}/documents/{their_doc.pk}/",
        f"{API}/loans/{their_loan.pk}/",
        f"{API}/loans/{their_loan.pk}/payoff/",
        f"{API}/loans/{their_loan.pk}/repayment-plan/",
        f"{API}/loans/{their_loan.pk}/statement/",
        f"{API}/loans/{their_loan.pk}/statement/pdf/",
    ):
        assert api.get(url).status_code == 404, url
    upload = SimpleUploadedFile("a.pdf", pdf_bytes())
    assert (
        api.post(f"{API}/applications/{their_app.pk}/documents/", {"kind": "other", "file": upload}).status_code == 404
    )
    assert api.post(f"{API}/applications/{their_app.pk}/answer/", {}, format="json").status_code == 404
    # Naming their customer in the header is no way in either.
    for url in (f"{API}/home/", f"{API}/applications/", f"{API}/loans/", f"{API}/manager/"):
        assert api.get(url, HTTP_X_CUSTOMER_ID=str(theirs.pk)).status_code == 404, url
    their_app.refresh_from_db()
    assert their_app.status == LoanApplication.Status.RETURNED


def test_an_account_with_two_customers_chooses_by_header(mine, theirs, officer, approver):
    account = portal_account_for(mine, theirs)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {portal_token_pair(account=account)['access']}")
    loan = loan_for(theirs, officer, approver)
    assert client.get(f"{API}/loans/").json() == []
    assert [r["id"] for r in client.get(f"{API}/loans/", HTTP_X_CUSTOMER_ID=str(theirs.pk)).json()] == [loan.pk]


def test_staff_tokens_and_sessions_are_refused(mine, officer, client):
    from rest_framework_simplejwt.tokens import AccessToken

    staff = APIClient()
    staff.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(officer)}")
    for url in (f"{API}/home/", f"{API}/applications/", f"{API}/loans/"):
        assert staff.get(url).status_code == 401, url
    client.force_login(officer)
    assert client.get(f"{API}/loans/").status_code == 401
