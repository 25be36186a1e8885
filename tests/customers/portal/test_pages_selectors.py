"""What a signed-in customer sees: the portal's reads (applications, loans, manager, home)."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from customers.portal.selectors_portal import (
    portal_application_offer,
    portal_application_return_reason,
    portal_applications,
    portal_home,
    portal_loan_account,
    portal_loans,
    portal_manager,
)
from loans.models import Installment, LoanApplication
from loans.services.repayments import repayment_post
from tests.customers.portal.pages_helpers import (
    assign_manager,
    customer_with_line,
    loan_for,
    returned_application,
)
from tests.loans.factories import ApplicationFactory
from tests.loans.servicing import DAY

pytestmark = pytest.mark.django_db


def test_applications_are_the_selected_customers_only(officer):
    mine, theirs = customer_with_line(), customer_with_line()
    own = ApplicationFactory(customer=mine)
    ApplicationFactory(customer=theirs)
    assert [a.pk for a in portal_applications(customer=mine)] == [own.pk]


def test_a_counter_offer_shows_the_offered_terms_next_to_the_requested(officer):
    app = ApplicationFactory(
        customer=customer_with_line(),
        amount=Decimal("100000"),
        term_months=12,
        repayment_method="equal_installment",
        status=LoanApplication.Status.APPROVED,
        counter_offer=True,
        approved_amount=Decimal("60000"),
        approved_term_months=6,
        approved_annual_rate=Decimal("0.0850"),
        approved_method="equal_principal",
    )
    offer = portal_application_offer(app)
    assert offer["amount"] == Decimal("60000") and offer["requested_amount"] == Decimal("100000")
    assert offer["term_months"] == 6 and offer["requested_term_months"] == 12
    assert str(offer["annual_rate_percent"]) == "8.5"
    assert str(offer["method"]) == "Equal principal"
    plain = ApplicationFactory(customer=app.customer, status=LoanApplication.Status.APPROVED)
    assert portal_application_offer(plain) is None


def test_a_returned_application_shows_what_the_officer_asked_for(officer):
    app = returned_application(customer_with_line(), officer, reason="Bank statements for 2024, please.")
    assert portal_application_return_reason(app) == "Bank statements for 2024, please."
    app.status = LoanApplication.Status.SUBMITTED
    assert portal_application_return_reason(app) == ""


def test_the_loan_account_has_the_schedule_with_statuses_repayments_arrears_and_a_payoff(officer, approver):
    customer = customer_with_line()
    loan = loan_for(customer, officer, approver)
    first = Installment.objects.filter(loan=loan).order_by("number").first()
    repayment_post(
        actor=officer, loan=loan, amount=first.total, value_date=first.due_date, bank_reference="BR-PORTAL-1"
    )
    loan.refresh_from_db()
    second_due = Installment.objects.filter(loan=loan).order_by("number")[1].due_date
    account = portal_loan_account(loan=loan, today=second_due)
    statuses = [row["status"] for row in account.schedule]
    assert statuses[0] == "paid" and statuses[1] == "due" and statuses[2:] == ["future"] * 4
    assert [r.bank_reference for r in account.repayments] == ["BR-PORTAL-1"]
    assert account.arrears == account.schedule[1]["unpaid"] > 0
    assert account.totals["principal"] == Decimal("10000.00")
    # The payoff: the arrears plus the principal not yet due.
    assert account.payoff is not None
    assert account.payoff.arrears == account.arrears
    assert account.payoff.total >= loan.outstanding_principal


def test_loans_are_the_selected_customers_only(officer, approver):
    mine, theirs = customer_with_line(), customer_with_line()
    own = loan_for(mine, officer, approver)
    loan_for(theirs, officer, approver)
    assert [loan.pk for loan in portal_loans(customer=mine)] == [own.pk]


def test_the_manager_card_says_why_they_were_matched_in_words_and_not_the_internal_reason():
    customer = customer_with_line()
    assign_manager(customer)
    card = portal_manager(customer=customer)
    assert card.name == "Tao Yang" and card.email == "tao.yang@bank.example"
    assert card.matched and card.score == 73.2
    texts = {r["component"]: r["text"] for r in card.reasons}
    assert texts["industry"] == "Your manager specialises in your industry (Retail)."
    assert texts["city"] == "Your manager works in a city of the same tier as yours."
    assert "80%" in texts["workload"] and "75%" in texts["value_fit"] and "50%" in texts["book_quality"]
    points = {r["component"]: (r["points"], r["max_points"]) for r in card.reasons}
    assert points["industry"] == (35.0, 35.0) and points["city"] == (10.0, 25.0)
    assert all("internal" not in r["text"] for r in card.reasons)
    with translation.override("zh-hans"):
        chinese = portal_manager(customer=customer)
    assert chinese.reasons[0]["text"] == "您的客户经理擅长您所在的行业（零售）。"
    assert chinese.reasons[1]["title"] == "所在地"


def test_no_manager_no_card():
    assert portal_manager(customer=customer_with_line()) is None


def test_home_sums_up_applications_loans_next_due_and_manager(officer, approver):
    customer = customer_with_line()
    assign_manager(customer)
    returned_application(customer, officer)
    ApplicationFactory(customer=customer, status=LoanApplication.Status.SUBMITTED)
    ApplicationFactory(customer=customer_with_line(), status=LoanApplication.Status.SUBMITTED)
    first = loan_for(customer, officer, approver)
    second = loan_for(customer, officer, approver, amount="20000")
    home = portal_home(customer=customer)
    # Two applications filed by hand plus the two the loans were made from.
    assert home.applications["total"] == 4
    assert home.applications["returned"] == 1 and home.applications["in_progress"] == 1
    assert home.loans["live"] == 2
    assert home.loans["outstanding"] == Decimal("30000.00")
    assert home.loans["next_due_date"] == first.next_due_date == second.next_due_date
    assert home.loans["next_due_amount"] == first.next_due_amount + second.next_due_amount
    assert home.manager.name == "Tao Yang"
    assert home.recent_messages == 0


def test_home_reads_a_constant_number_of_queries_however_many_loans(officer, approver):
    customer = customer_with_line()
    assign_manager(customer)
    loan_for(customer, officer, approver)
    with CaptureQueriesContext(connection) as one:
        portal_home(customer=customer)
    for k in range(6):
        loan_for(customer, officer, approver, value_date=DAY + datetime.timedelta(days=k + 1))
    with CaptureQueriesContext(connection) as seven:
        home = portal_home(customer=customer)
    assert home.loans["live"] == 7 and len(home.next_loans) == 5
    assert len(seven) == len(one)
