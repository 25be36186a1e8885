"""The portal's writes: apply signed in, send a returned application back, download a loan's
repayment plan and statement. Each for the selected customer only, audited with the account."""

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from audit.models import AuditEntry
from customers.portal.services_pages import (
    portal_application_answer,
    portal_application_submit,
    portal_loan_plan_download,
    portal_loan_statement_download,
)
from loans.models import ApplicationSnapshot, Channel, Installment, LoanApplication, PublicSubmission
from loans.services.repayments import repayment_post
from loansite.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from tests.customers.portal.pages_helpers import (
    customer_with_line,
    document_request,
    loan_for,
    portal_account_for,
    returned_application,
)
from tests.loans.servicing import servicing_product

pytestmark = pytest.mark.django_db


def _apply(account, customer, token="tok-portal-000000000001", **extra):
    values = {"product": servicing_product(), "amount": "50000", "term_months": 6, "purpose": "inventory"}
    values.update(extra)
    return portal_application_submit(account=account, customer=customer, submission_token=token, **values)


def test_applying_signed_in_files_a_submitted_application_for_the_selected_customer(
    django_capture_on_commit_callbacks,
):
    customer = customer_with_line()
    account = portal_account_for(customer)
    with django_capture_on_commit_callbacks() as callbacks:
        app = _apply(account, customer)
    assert app.customer_id == customer.pk and app.status == LoanApplication.Status.SUBMITTED
    assert app.channel == Channel.PORTAL and app.amount == Decimal("50000.00")
    assert app.contact_phone == customer.phone
    # Judged on a snapshot, scored on commit, like every submitted application.
    assert ApplicationSnapshot.objects.filter(application=app).exists()
    # The scoring task is queued on commit.
    assert any(getattr(cb, "__qualname__", "").startswith("application_create.") for cb in callbacks)
    entry = AuditEntry.objects.filter(target_type="loans.loanapplication", target_id=str(app.pk)).get()
    assert entry.actor_id is None and entry.changes["portal_account"] == account.pk
    assert entry.changes["status"] == [None, "submitted"]


def test_the_same_form_sent_twice_files_one_application():
    customer = customer_with_line()
    account = portal_account_for(customer)
    first = _apply(account, customer)
    again = _apply(account, customer)
    assert again.pk == first.pk
    assert LoanApplication.objects.filter(customer=customer).count() == 1
    assert PublicSubmission.objects.get(token="tok-portal-000000000001").application_id == first.pk


def test_another_customers_form_token_does_not_return_their_application():
    mine, theirs = customer_with_line(), customer_with_line()
    _apply(portal_account_for(theirs, phone="13900000077"), theirs, token="tok-theirs-0000000001")
    with pytest.raises(Conflict):
        _apply(portal_account_for(mine), mine, token="tok-theirs-0000000001")
    assert not LoanApplication.objects.filter(customer=mine).exists()


def test_the_products_limits_apply_and_nothing_is_written():
    customer = customer_with_line()
    with pytest.raises(ValidationFailed) as caught:
        _apply(portal_account_for(customer), customer, amount="999999999")
    assert "amount" in caught.value.extra["errors"]
    assert not LoanApplication.objects.exists() and not PublicSubmission.objects.exists()


def test_a_customer_whose_applications_are_frozen_is_asked_to_contact_the_bank():
    from risk.models import CustomerRestriction

    customer = customer_with_line()
    CustomerRestriction.objects.create(customer=customer, kind="applications", active=True)
    with pytest.raises(ValidationFailed) as caught:
        _apply(portal_account_for(customer), customer)
    assert "contact the bank" in str(caught.value.message)
    assert not LoanApplication.objects.exists()


def test_answering_a_return_is_refused_while_a_requested_document_is_missing(officer, documents_root):
    from loans.services.documents import document_upload
    from tests.loans.document_samples import pdf_bytes

    customer = customer_with_line()
    account = portal_account_for(customer)
    app = returned_application(customer, officer)
    document_request(app, officer, kind="bank_statements")
    with pytest.raises(ValidationFailed) as caught:
        portal_application_answer(account=account, customer=customer, application=app, message="Here you are")
    assert caught.value.extra["missing"] == ["bank_statements"]
    app.refresh_from_db()
    assert app.status == LoanApplication.Status.RETURNED
    document_upload(
        customer=customer, kind="bank_statements", file=pdf_bytes(), original_name="statements.pdf",
        application=app, portal_account=account,
    )  # fmt: skip
    answered = portal_application_answer(account=account, customer=customer, application=app, message="Here you are")
    assert answered.status == LoanApplication.Status.SUBMITTED and answered.review_round == 2
    entry = AuditEntry.objects.filter(
        target_type="loans.loanapplication", target_id=str(app.pk), action="transition"
    ).latest("seq")
    assert entry.changes["status"] == ["returned_for_info", "submitted"]
    assert entry.changes["portal_account"] == account.pk and entry.reason == "Here you are"


def test_answering_is_only_for_returned_applications_of_the_selected_customer(officer):
    mine, theirs = customer_with_line(), customer_with_line()
    account = portal_account_for(mine)
    their_app = returned_application(theirs, officer)
    with pytest.raises(NotFound):
        portal_application_answer(account=account, customer=mine, application=their_app)
    their_app.refresh_from_db()
    assert their_app.status == LoanApplication.Status.RETURNED
    own = returned_application(mine, officer)
    LoanApplication.objects.filter(pk=own.pk).update(status=LoanApplication.Status.UNDER_REVIEW)
    own.refresh_from_db()
    with pytest.raises(InvalidTransition):
        portal_application_answer(account=account, customer=mine, application=own)


def test_the_repayment_plan_and_statement_are_the_loans_and_audited(officer, approver):
    customer = customer_with_line()
    account = portal_account_for(customer)
    loan = loan_for(customer, officer, approver)
    first = Installment.objects.filter(loan=loan).order_by("number").first()
    repayment_post(actor=officer, loan=loan, amount=first.total, value_date=first.due_date, bank_reference="BR-ST-1")
    name, content = portal_loan_plan_download(account=account, customer=customer, loan=loan)
    assert name == f"{loan.loan_number}-repayment-plan.xlsx"
    rows = list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    assert rows[0][0].startswith(loan.loan_number)
    assert [r[0] for r in rows[2:]] == [1, 2, 3, 4, 5, 6]
    name, content = portal_loan_statement_download(account=account, customer=customer, loan=loan)
    rows = list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    header = rows[1]
    assert "Bank reference / 流水号" in header and not any("Posted by" in str(h) for h in header)
    assert rows[2][2] == "BR-ST-1" and len(rows[2]) == len(header) == 11
    exports = AuditEntry.objects.filter(target_type="loans.loan", target_id=str(loan.pk), action="export")
    assert sorted(e.changes["export"] for e in exports) == ["repayment_plan", "statement"]
    assert all(e.changes["portal_account"] == account.pk and e.actor_id is None for e in exports)


def test_another_customers_loan_is_not_found(officer, approver):
    mine, theirs = customer_with_line(), customer_with_line()
    account = portal_account_for(mine)
    loan = loan_for(theirs, officer, approver)
    for download in (portal_loan_plan_download, portal_loan_statement_download):
        with pytest.raises(NotFound):
            download(account=account, customer=mine, loan=loan)
    assert not AuditEntry.objects.filter(action="export").exists()
