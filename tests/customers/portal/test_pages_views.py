"""The portal pages as a signed-in customer sees them, and every one of them with another
customer's ids: 404, never their data."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from loans.models import Document, Installment, LoanApplication
from loans.services.repayments import repayment_post
from tests.customers.portal.factories import PORTAL_PASSWORD
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


def test_pages_need_a_portal_sign_in(client, mine, officer):
    app = ApplicationFactory(customer=mine)
    for url in ("/portal/", "/portal/manager/", "/portal/applications/", f"/portal/applications/{app.pk}/",
                "/portal/applications/new/", "/portal/loans/"):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/portal/login/"), url
    # A staff session is not a portal session.
    client.force_login(officer)
    assert client.get("/portal/applications/").status_code == 302


def test_home_shows_the_selected_customers_summary(browser, mine, theirs, officer, approver):
    assign_manager(mine)
    returned_application(mine, officer)
    loan = loan_for(mine, officer, approver)
    loan_for(theirs, officer, approver, amount="77777")
    response = browser.get("/portal/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Lantern Tea House" in page and "Harbour Noodles" not in page
    assert loan.loan_number in page and "77,777" not in page
    assert "1 application needs information from you." in page
    assert "Tao Yang" in page


def test_manager_page_says_why_in_words(browser, mine):
    assign_manager(mine)
    page = browser.get("/portal/manager/").content.decode()
    assert "Your manager specialises in your industry" in page
    assert "35.0 of 35.0 points" in page
    assert "internal: moved" not in page


def test_applications_list_and_counter_offer(browser, mine, theirs):
    offered = ApplicationFactory(
        customer=mine, amount=Decimal("100000"), status=LoanApplication.Status.APPROVED, counter_offer=True,
        approved_amount=Decimal("60000"), approved_term_months=6, approved_annual_rate=Decimal("0.085"),
        approved_method="equal_installment",
    )  # fmt: skip
    other = ApplicationFactory(customer=theirs)
    page = browser.get("/portal/applications/").content.decode()
    assert offered.reference in page and other.reference not in page
    assert "Offer: ¥60,000.00 instead of ¥100,000.00." in page or "60,000.00" in page
    detail = browser.get(f"/portal/applications/{offered.pk}/").content.decode()
    assert 'id="counter-offer"' in detail and "8.5%" in detail


def test_apply_signed_in_redirects_to_the_application_and_a_second_post_files_nothing(browser, mine):
    product = servicing_product()
    form = browser.get("/portal/applications/new/")
    token = form.context["form"].initial["submission_token"]
    data = {
        "product": product.pk, "amount": "30000", "term_months": "6", "purpose": "inventory",
        "repayment_method": "equal_installment", "consent": "on", "submission_token": token,
    }  # fmt: skip
    response = browser.post("/portal/applications/new/", data)
    app = LoanApplication.objects.get(customer=mine)
    assert response.status_code == 302 and response["Location"] == f"/portal/applications/{app.pk}/"
    assert app.status == LoanApplication.Status.SUBMITTED and app.channel == "portal"
    again = browser.post("/portal/applications/new/", data)
    assert again["Location"] == f"/portal/applications/{app.pk}/"
    assert LoanApplication.objects.filter(customer=mine).count() == 1


def test_apply_with_bad_input_shows_the_form_again(browser, mine):
    product = servicing_product()
    form = browser.get("/portal/applications/new/")
    token = form.context["form"].initial["submission_token"]
    response = browser.post(
        "/portal/applications/new/",
        {"product": product.pk, "amount": "99999999", "term_months": "6", "purpose": "inventory",
         "repayment_method": "equal_installment", "consent": "on", "submission_token": token},
    )  # fmt: skip
    assert response.status_code == 400
    assert "amount" in response.context["form"].errors
    assert not LoanApplication.objects.exists()


def test_a_returned_application_shows_the_request_takes_the_document_and_goes_back(
    browser, mine, officer, documents_root
):
    from tests.loans.document_samples import pdf_bytes

    app = returned_application(mine, officer, reason="Bank statements for 2024, please.")
    document_request(app, officer, kind="bank_statements", note="All accounts")
    page = browser.get(f"/portal/applications/{app.pk}/").content.decode()
    assert "Bank statements for 2024, please." in page and "All accounts" in page
    refused = browser.post(f"/portal/applications/{app.pk}/answer/", {"message": "done"})
    assert refused.status_code == 400
    app.refresh_from_db()
    assert app.status == LoanApplication.Status.RETURNED
    upload = SimpleUploadedFile("statements.pdf", pdf_bytes(), content_type="application/pdf")
    response = browser.post(f"/portal/applications/{app.pk}/documents/", {"kind": "bank_statements", "file": upload})
    assert response.status_code == 302
    document = Document.objects.get(application=app)
    assert document.uploaded_by_portal_account_id == browser.account.pk
    download = browser.get(f"/portal/documents/{document.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == pdf_bytes()
    response = browser.post(f"/portal/applications/{app.pk}/answer/", {"message": "Attached."})
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.status == LoanApplication.Status.SUBMITTED


def test_a_renamed_program_is_refused_with_a_message(browser, mine, officer, documents_root):
    app = returned_application(mine, officer)
    upload = SimpleUploadedFile("statements.pdf", b"MZ\x90\x00" + b"\x00" * 200, content_type="application/pdf")
    response = browser.post(f"/portal/applications/{app.pk}/documents/", {"kind": "bank_statements", "file": upload})
    assert response.status_code == 400
    assert response.context["upload_form"].errors
    assert not Document.objects.exists()


def test_the_loan_page_shows_schedule_repayments_and_payoff_and_downloads(browser, mine, officer, approver):
    loan = loan_for(mine, officer, approver)
    first = Installment.objects.filter(loan=loan).order_by("number").first()
    repayment_post(actor=officer, loan=loan, amount=first.total, value_date=first.due_date, bank_reference="BR-V-1")
    response = browser.get(f"/portal/loans/{loan.pk}/")
    assert response.status_code == 200
    schedule = response.context["account"].schedule
    assert len(schedule) == 6 and schedule[0]["status"] == "paid"
    page = response.content.decode()
    assert 'id="schedule"' in page and 'id="payoff-total"' in page
    plan = browser.get(f"/portal/loans/{loan.pk}/repayment-plan.xlsx")
    assert plan.status_code == 200 and plan["Content-Disposition"].endswith('-repayment-plan.xlsx"')
    statement = browser.get(f"/portal/loans/{loan.pk}/statement.xlsx")
    rows = list(load_workbook(io.BytesIO(statement.content)).active.iter_rows(values_only=True))
    assert rows[2][2] == "BR-V-1"
    assert 'id="download-statement-pdf"' in page
    printable = browser.get(f"/portal/loans/{loan.pk}/statement.pdf")
    assert printable.status_code == 200 and printable["Content-Type"] == "application/pdf"
    assert printable["Content-Disposition"].endswith(f'{loan.loan_number}-statement.pdf"')
    assert printable.content.startswith(b"%PDF")


def test_a_payoff_quote_for_another_day(browser, mine, officer, approver):
    import datetime

    from django.utils import timezone

    loan = loan_for(mine, officer, approver, value_date=timezone.localdate() - datetime.timedelta(days=5))
    day = loan.maturity_date.isoformat()
    ok = browser.get(f"/portal/loans/{loan.pk}/?on={day}")
    assert ok.status_code == 200 and ok.context["payoff"].on_date == loan.maturity_date
    late = browser.get(f"/portal/loans/{loan.pk}/?on=2099-01-01")
    assert late.status_code == 400 and late.context["payoff_form"].errors
    bad = browser.get(f"/portal/loans/{loan.pk}/?on=yesterday")
    assert bad.status_code == 400


def test_every_page_with_another_customers_ids_answers_404(browser, mine, theirs, officer, approver, documents_root):
    from loans.services.documents import document_upload
    from tests.loans.document_samples import pdf_bytes

    their_app = returned_application(theirs, officer)
    their_loan = loan_for(theirs, officer, approver)
    their_doc = document_upload(
        customer=theirs, kind="other", file=pdf_bytes(), original_name="x.pdf", application=their_app, actor=officer
    )
    gets = [
        f"/portal/applications/{their_app.pk}/",
        f"/portal/documents/{their_doc.pk}/",
        f"/portal/loans/{their_loan.pk}/",
        f"/portal/loans/{their_loan.pk}/?on={their_loan.maturity_date}",
        f"/portal/loans/{their_loan.pk}/repayment-plan.xlsx",
        f"/portal/loans/{their_loan.pk}/statement.xlsx",
        f"/portal/loans/{their_loan.pk}/statement.pdf",
    ]
    for url in gets:
        assert browser.get(url).status_code == 404, url
    upload = SimpleUploadedFile("a.pdf", pdf_bytes(), content_type="application/pdf")
    posts = [
        (f"/portal/applications/{their_app.pk}/documents/", {"kind": "other", "file": upload}),
        (f"/portal/applications/{their_app.pk}/answer/", {"message": "x"}),
    ]
    for url, data in posts:
        assert browser.post(url, data).status_code == 404, url
    their_app.refresh_from_db()
    assert their_app.status == LoanApplication.Status.RETURNED
    assert Document.objects.filter(customer=theirs).count() == 1


def test_an_account_with_two_customers_sees_only_the_selected_ones(client, mine, theirs, officer, approver):
    account = portal_account_for(mine, theirs)
    assert client.post("/portal/login/", {"login": account.phone, "password": PORTAL_PASSWORD}).status_code == 302
    mine_loan = loan_for(mine, officer, approver)
    their_loan = loan_for(theirs, officer, approver, amount="20000")
    first = client.get("/portal/loans/").context["loans"]
    assert [loan.pk for loan in first] == [mine_loan.pk]
    assert client.get(f"/portal/loans/{their_loan.pk}/").status_code == 404
    assert client.post("/portal/switch/", {"customer": theirs.pk}).status_code == 302
    assert [loan.pk for loan in client.get("/portal/loans/").context["loans"]] == [their_loan.pk]
    # The other enterprise's loan is now the one not found.
    assert client.get(f"/portal/loans/{mine_loan.pk}/").status_code == 404
    assert client.get(f"/portal/loans/{their_loan.pk}/").status_code == 200


def test_what_the_customer_does_is_audited_under_the_portal_account(browser, mine):
    from audit.models import AuditEntry

    product = servicing_product()
    token = browser.get("/portal/applications/new/").context["form"].initial["submission_token"]
    browser.post(
        "/portal/applications/new/",
        {"product": product.pk, "amount": "30000", "term_months": "6", "purpose": "inventory",
         "repayment_method": "equal_installment", "consent": "on", "submission_token": token},
    )  # fmt: skip
    app = LoanApplication.objects.get(customer=mine)
    entry = AuditEntry.objects.get(target_type="loans.loanapplication", target_id=str(app.pk))
    assert entry.actor_id is None and entry.actor_repr == f"portal:{browser.account.pk}"
    assert entry.changes["portal_account"] == browser.account.pk
