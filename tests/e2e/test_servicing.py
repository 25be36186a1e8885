"""From an approved application to a repayment on the loan page, in a real browser: an officer
prepares the disbursement, an approver (two-factor sign-in) authorises it, the loan page shows
the schedule, the officer posts a repayment and it appears."""

import datetime

import pytest

from loans.models import Disbursement, Loan, Repayment
from loansite import roles
from tests.loans.factories import AuthorityFactory
from tests.loans.servicing import approved_application

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_disbursement_and_repayment_in_the_admin(page, admin_login, make_user):
    officer = make_user("officer1", role=roles.LOAN_OFFICER)
    approver = make_user("approver1", role=roles.CREDIT_APPROVER)
    AuthorityFactory(user=approver, limit=1_000_000)
    app = approved_application(
        officer, approver, amount="10000", term=6, rate="0.12", conditions=["Loan contract signed"]
    )
    value_date = datetime.date.today() - datetime.timedelta(days=40)

    # 1. The officer prepares the disbursement from the application page.
    admin_login("officer1")
    page.goto(f"/admin/loans/loanapplication/{app.pk}/change/")
    page.locator("#prepare-disbursement").click()
    page.fill("#id_contract_number", "HT-2025-0001")
    page.fill("#id_account", "6222 0210 0000 1234")
    page.fill("#id_value_date", value_date.isoformat())
    page.get_by_label("Loan contract signed").check()
    page.get_by_role("button", name="Prepare the disbursement").click()
    assert "another user with disbursement authority must authorise it" in page.locator(".messagelist").inner_text()
    assert Disbursement.objects.get().status == Disbursement.Status.PREPARED
    assert page.locator("a.disbursement-authorise").count() == 0  # officers do not authorise
    page.context.clear_cookies()

    # 2. The approver authorises it (after the second factor) and lands on the loan page.
    admin_login("approver1")
    page.goto(f"/admin/loans/loanapplication/{app.pk}/change/")
    page.locator("a.disbursement-authorise").click()
    page.get_by_role("button", name="Authorise").click()
    loan = Loan.objects.get()
    assert f"Disbursement authorised: loan {loan.loan_number}" in page.locator(".messagelist").inner_text()
    schedule = page.locator("#schedule tbody tr")
    assert schedule.count() == 6
    first = loan.installments.order_by("number").first()
    assert f"¥{first.principal + first.interest:,}" in schedule.first.inner_text()
    page.context.clear_cookies()

    # 3. The officer posts the first installment; it appears in the repayments and the schedule.
    admin_login("officer1")
    page.goto(f"/admin/loans/loan/{loan.pk}/change/")
    page.locator("a.loan-action-repay").click()
    page.fill("#id_amount", str(first.principal + first.interest))
    page.fill("#id_value_date", first.due_date.isoformat())
    page.fill("#id_bank_reference", "CMB-20250001")
    page.get_by_role("button", name="Post a repayment").click()
    assert "Repayment CMB-20250001 posted" in page.locator(".messagelist").inner_text()
    assert "CMB-20250001" in page.locator("#repayments").inner_text()
    assert "Paid" in page.locator("#schedule tbody tr").first.inner_text()
    assert Repayment.objects.get().posted_by == officer
