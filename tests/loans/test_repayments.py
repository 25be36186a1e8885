"""Repayments: allocation order, partial and early payments, overpayment credit, prepayment
both ways, payoff, reversal to the exact prior state, restructuring; the ledger invariants."""

import datetime
from decimal import Decimal

import pytest

from customers.models import CreditLine
from loans.models import Collateral, Installment, LedgerEntry, Loan, Repayment, ScheduleVersion
from loans.selectors.ledger import ledger_problems
from loans.selectors.loans import loan_payoff_quote
from loans.services.collateral import collateral_add, collateral_register
from loans.services.repayments import (
    loan_credit_apply,
    loan_credit_refund,
    loan_prepay,
    repayment_post,
    repayment_reverse,
)
from loans.services.restructuring import loan_restructure
from loansite.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from tests.loans.servicing import DAY, approved_application, disburse, disbursed_loan

pytestmark = pytest.mark.django_db
D = Decimal
date = datetime.date


@pytest.fixture
def loan(officer, approver):
    """10,000 at 12 % over 6 months, 30/360, disbursed 2025-01-15: 5 x 1,725.48 + 1,725.51."""
    return disbursed_loan(officer, approver, amount="10000", term=6, rate="0.12")


def rows(loan, version=None):
    loan.refresh_from_db()
    return list(
        Installment.objects.filter(loan=loan, schedule_version=version or loan.schedule_version).order_by("number")
    )


def paid(row):
    return (row.principal_paid, row.interest_paid, row.penalty_paid)


def post(officer, loan, amount, day, ref, **extra):
    return repayment_post(actor=officer, loan=loan, amount=amount, value_date=day, bank_reference=ref, **extra)


def state(loan):
    """Everything a posting may change and a reversal must restore: the loan's fields, its current
    installments, the credit line's use, the collateral; and the schedule versions apart."""
    loan = Loan.objects.get(pk=loan.pk)
    skip = ("version", "updated_at")
    fields = {f.attname: getattr(loan, f.attname) for f in Loan._meta.concrete_fields if f.attname not in skip}
    installments = list(
        Installment.objects.filter(loan=loan, schedule_version=loan.schedule_version)
        .order_by("number")
        .values("number", "principal_paid", "interest_paid", "penalty_paid", "status", "paid_on")
    )
    versions = list(ScheduleVersion.objects.filter(loan=loan).order_by("number").values_list("number", "current"))
    line = CreditLine.objects.get(pk=loan.credit_line_id).used if loan.credit_line_id else None
    security = list(Collateral.objects.filter(loan=loan).order_by("pk").values_list("status", flat=True))
    return fields, installments, line, security, versions


def line_used(loan):
    return CreditLine.objects.get(pk=loan.credit_line_id).used


# ---------------------------------------------------------------------------
# Allocation
# ---------------------------------------------------------------------------
def test_an_installment_paid_on_its_due_date(officer, loan):
    assert line_used(loan) == D("10000.00")
    repayment = post(officer, loan, "1725.48", date(2025, 2, 15), "B-1")
    first, second, *_ = rows(loan)
    assert paid(first) == (D("1625.48"), D("100.00"), D("0.00"))
    assert (first.status, first.paid_on) == ("paid", date(2025, 2, 15))
    assert (repayment.allocated_principal, repayment.allocated_interest, repayment.allocated_credit) == (
        D("1625.48"),
        D("100.00"),
        D("0.00"),
    )
    assert (loan.outstanding_principal, loan.next_due_date, loan.next_due_amount) == (
        D("8374.52"),
        date(2025, 3, 15),
        D("1725.48"),
    )
    assert line_used(loan) == D("8374.52")  # revolving: principal repaid is headroom again
    assert ledger_problems() == []


def test_penalty_then_interest_then_principal_oldest_first(officer, loan):
    first, second, *_ = rows(loan)
    Installment.objects.filter(pk=first.pk).update(penalty=D("10.00"))
    Installment.objects.filter(pk=second.pk).update(penalty=D("5.00"))
    post(officer, loan, "50.00", date(2025, 3, 20), "B-1")  # both due: the older one first
    first, second, *_ = rows(loan)
    assert paid(first) == (D("0.00"), D("40.00"), D("10.00")) and first.status == "partly_paid"
    assert paid(second) == (D("0.00"), D("0.00"), D("0.00"))
    post(officer, loan, "1700.00", date(2025, 3, 20), "B-2")
    first, second, *_ = rows(loan)
    assert first.status == "paid" and paid(second) == (D("0.00"), D("9.52"), D("5.00"))


def test_allocation_order_is_the_products(officer, loan):
    loan.product.allocation_order = ["principal", "interest", "penalty"]
    loan.product.save()
    first = rows(loan)[0]
    Installment.objects.filter(pk=first.pk).update(penalty=D("10.00"))
    post(officer, loan, "1700.00", date(2025, 2, 15), "B-1")
    assert paid(rows(loan)[0]) == (D("1625.48"), D("74.52"), D("0.00"))


def test_partial_payment(officer, loan):
    post(officer, loan, "500.00", date(2025, 2, 15), "B-1")
    first = rows(loan)[0]
    assert paid(first) == (D("400.00"), D("100.00"), D("0.00")) and first.status == "partly_paid"
    assert (loan.next_due_date, loan.next_due_amount, loan.outstanding_principal) == (
        date(2025, 2, 15),
        D("1225.48"),
        D("9600.00"),
    )


def test_a_payment_before_the_due_date_goes_to_the_next_installment(officer, loan):
    post(officer, loan, "1000.00", date(2025, 2, 1), "B-1")
    first = rows(loan)[0]
    assert paid(first) == (D("900.00"), D("100.00"), D("0.00"))
    assert loan.credit_balance == D("0.00")


def test_overpayment_is_held_as_credit_refundable_or_applied(officer, approver, loan):
    post(officer, loan, "5000.00", date(2025, 2, 15), "B-1")  # installment 1 due, 2 next, the rest held
    first, second, third, *_ = rows(loan)
    assert first.status == second.status == "paid" and third.status == "future"
    assert loan.credit_balance == D("1549.04")
    assert LedgerEntry.objects.filter(loan=loan, kind="overpayment_credit").get().credit == D("1549.04")
    applied = loan_credit_apply(actor=officer, loan=loan, value_date=date(2025, 3, 16))
    third = rows(loan)[2]
    assert applied.channel == "credit" and applied.amount == D("1549.04")
    assert paid(third) == (D("1481.71"), D("67.33"), D("0.00"))
    assert loan.credit_balance == D("0.00")
    post(officer, loan, "300.00", date(2025, 3, 16), "B-2")  # 176.44 finish installment 3, 123.56 next
    with pytest.raises(NotAllowed):
        loan_credit_refund(actor=officer, loan=loan, amount="1", value_date=date(2025, 3, 16), reason="x")
    post(officer, loan, "9000.00", date(2025, 3, 17), "B-3")
    loan.refresh_from_db()
    held = loan.credit_balance
    assert held > 0
    loan_credit_refund(actor=approver, loan=loan, amount=held, value_date=date(2025, 3, 17), reason="customer asked")
    loan.refresh_from_db()
    assert loan.credit_balance == D("0.00")
    assert ledger_problems() == []


# ---------------------------------------------------------------------------
# Prepayment and payoff
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["lower_installment", "shorten_term"])
def test_partial_prepayment_rebuilds_the_rest_of_the_schedule(officer, loan, mode):
    post(officer, loan, "1725.48", date(2025, 2, 15), "B-1")
    quote = loan_payoff_quote(loan=loan, on_date=date(2025, 3, 1))
    # 8,374.52 x 12 % x 14 days / 360 = 39.08 accrued since the period began.
    assert (quote.principal, quote.interest, quote.fee, quote.arrears) == (D("8374.52"), D("39.08"), D("0.00"), 0)
    repayment = loan_prepay(
        actor=officer, loan=loan, amount="3039.08", value_date=date(2025, 3, 1), bank_reference="B-2", mode=mode
    )
    assert (repayment.kind, repayment.allocated_principal, repayment.allocated_interest) == (
        "prepayment",
        D("3000.00"),
        D("39.08"),
    )
    new = rows(loan)
    assert loan.schedule_version == 2 and new[0].status == "paid"  # installment 1 kept as paid
    assert sum(r.principal for r in new[1:]) == loan.outstanding_principal == D("5374.52")
    assert new[1].period_start == date(2025, 3, 1)
    if mode == "lower_installment":
        assert (len(new), loan.maturity_date) == (6, date(2025, 7, 15))
        assert new[1].principal + new[1].interest < D("1725.48")
    else:
        assert len(new) < 6 and loan.maturity_date < date(2025, 7, 15)
        assert new[2].principal + new[2].interest == D("1725.48")
    assert len(rows(loan, version=1)) == 6  # the old schedule stays as a version
    assert ledger_problems() == []


def test_prepayment_fee(officer, loan):
    loan.product.prepayment_fee_rate = D("0.0100")
    loan.product.save()
    quote = loan_payoff_quote(loan=loan, on_date=date(2025, 2, 15))
    assert (quote.arrears, quote.principal, quote.interest, quote.fee, quote.total) == (
        D("1725.48"),  # installment 1 falls due that day: arrears, not part of the prepayment
        D("8374.52"),
        D("0.00"),
        D("83.75"),  # 1 % of the principal not yet due
        D("10183.75"),
    )
    repayment = loan_prepay(
        actor=officer, loan=loan, amount="2535.48", value_date=date(2025, 2, 15), bank_reference="B-1"
    )  # 1,725.48 arrears; of 810.00, 801.98 principal + 8.02 fee (1 %)
    assert (repayment.allocated_fee, repayment.allocated_credit) == (D("8.02"), D("0.00"))
    loan.refresh_from_db()
    assert loan.outstanding_principal == D("7572.54") and loan.fees_paid == D("8.02")


def test_full_payoff_closes_the_loan_and_releases_security_and_the_line(officer, approver):
    app = approved_application(officer, approver, amount="10000", term=6, rate="0.12")
    item = collateral_add(
        actor=officer,
        application=app,
        kind="real_estate",
        owner="Owner",
        description="Flat",
        appraised_value="50000",
        appraisal_date=DAY,
        appraiser="Appraiser",
    )
    collateral_register(actor=officer, collateral=item, registration_number="R-1", registration_date=DAY)
    loan = disburse(officer, approver, app)
    quote = loan_payoff_quote(loan=loan, on_date=date(2025, 3, 1))
    with pytest.raises(ValidationFailed):
        loan_prepay(
            actor=officer,
            loan=loan,
            amount=quote.total - D("0.01"),
            value_date=date(2025, 3, 1),
            bank_reference="B",
            full=True,
        )
    before_payoff = state(loan)
    payoff = loan_prepay(
        actor=officer,
        loan=loan,
        amount=quote.total + D("5"),
        value_date=date(2025, 3, 1),
        bank_reference="B-1",
        full=True,
    )
    loan.refresh_from_db()
    assert (payoff.kind, loan.status, loan.outstanding_principal, loan.closed_on) == (
        "payoff",
        Loan.Status.CLOSED,
        D("0.00"),
        date(2025, 3, 1),
    )
    assert loan.credit_balance == D("5.00")
    assert all(r.status == "paid" for r in rows(loan))
    assert Collateral.objects.get(pk=item.pk).status == Collateral.Status.RELEASED
    assert line_used(loan) == D("0.00")
    with pytest.raises(InvalidTransition):
        post(officer, loan, "1", date(2025, 3, 2), "B-2")
    assert ledger_problems() == []
    repayment_reverse(actor=approver, repayment=payoff, reason="payoff posted to the wrong loan")
    after = state(loan)
    assert after[:4] == before_payoff[:4]  # balances, installments, the line and the collateral as they were
    assert ledger_problems() == []


# ---------------------------------------------------------------------------
# Reversal, duplicates, concurrency-safe keys
# ---------------------------------------------------------------------------
def test_reversal_restores_exactly_the_prior_state(officer, approver, loan):
    post(officer, loan, "1725.48", date(2025, 2, 15), "B-1")
    before = state(loan)
    second = post(officer, loan, "5000.00", date(2025, 3, 15), "B-2")
    assert state(loan) != before
    with pytest.raises(ValidationFailed):
        repayment_reverse(actor=approver, repayment=second, reason="")
    with pytest.raises(NotAllowed):
        repayment_reverse(actor=officer, repayment=second, reason="mine")
    repayment_reverse(actor=approver, repayment=second, reason="wrong loan")
    assert state(loan) == before
    second.refresh_from_db()
    assert (second.status, second.reversed_by, second.reversal_reason) == ("reversed", approver, "wrong loan")
    reversal = LedgerEntry.objects.get(loan=loan, kind="reversal")
    assert (reversal.amount, reversal.principal, reversal.credit) == (
        D("-5000.00"),
        -second.allocated_principal,
        -second.allocated_credit,
    )
    with pytest.raises(InvalidTransition):
        repayment_reverse(actor=approver, repayment=second, reason="again")
    assert ledger_problems() == []


def test_only_the_latest_movement_is_reversed(officer, approver, loan):
    first = post(officer, loan, "1725.48", date(2025, 2, 15), "B-1")
    second = post(officer, loan, "1725.48", date(2025, 3, 15), "B-2")
    with pytest.raises(InvalidTransition):
        repayment_reverse(actor=approver, repayment=first, reason="x")
    repayment_reverse(actor=approver, repayment=second, reason="x")
    repayment_reverse(actor=approver, repayment=first, reason="x")
    loan.refresh_from_db()
    assert loan.outstanding_principal == D("10000.00") and line_used(loan) == D("10000.00")
    assert ledger_problems() == []


def test_a_prepayment_reversal_restores_the_previous_schedule(officer, approver, loan):
    before = state(loan)
    prepayment = loan_prepay(
        actor=officer, loan=loan, amount="4000", value_date=date(2025, 2, 1), bank_reference="B-1", mode="shorten_term"
    )
    loan.refresh_from_db()
    assert loan.schedule_version == 2
    repayment_reverse(actor=approver, repayment=prepayment, reason="cheque bounced")
    after = state(loan)
    assert after[:4] == before[:4]
    assert after[4] == [(1, True), (2, False)]  # the version the prepayment made stays as history
    assert ledger_problems() == []


def test_the_same_bank_reference_never_posts_twice(officer, loan, make_user):
    first = post(officer, loan, "100", date(2025, 2, 15), "B-1", idempotency_key="k-1")
    assert post(officer, loan, "100", date(2025, 2, 15), "B-1", idempotency_key="k-1") == first  # a retry
    with pytest.raises(Conflict):
        post(officer, loan, "100", date(2025, 2, 15), "B-1")  # the statement line again
    with pytest.raises(Conflict):
        post(officer, loan, "200", date(2025, 2, 15), "B-9", idempotency_key="k-1")
    assert Repayment.objects.count() == 1


@pytest.mark.parametrize(
    ("amount", "day", "ref"),
    [
        ("0", date(2025, 2, 15), "B"),
        ("-5", date(2025, 2, 15), "B"),
        ("abc", date(2025, 2, 15), "B"),
        ("10", date(2025, 1, 1), "B"),  # before the disbursement
        ("10", datetime.date.today() + datetime.timedelta(days=2), "B"),
        ("10", date(2025, 2, 15), ""),
        ("10", date(2025, 2, 15), "x" * 65),
    ],
)
def test_bad_repayment_input_is_refused_and_nothing_is_written(officer, loan, amount, day, ref):
    with pytest.raises(ValidationFailed):
        post(officer, loan, amount, day, ref)
    assert not Repayment.objects.exists() and LedgerEntry.objects.filter(loan=loan).count() == 1


def test_roles(approver, loan):
    with pytest.raises(NotAllowed):
        post(approver, loan, "100", date(2025, 2, 15), "B-1")  # approvers do not post


# ---------------------------------------------------------------------------
# Restructuring
# ---------------------------------------------------------------------------
def test_restructuring_extends_the_maturity_and_keeps_the_old_schedule(officer, approver, loan):
    post(officer, loan, "1725.48", date(2025, 2, 15), "B-1")
    post(officer, loan, "300.00", date(2025, 3, 1), "B-2")  # paid ahead on installment 2
    with pytest.raises(NotAllowed):
        loan_restructure(actor=officer, loan=loan, on_date=date(2025, 3, 5), reason="x", term_months=10)
    with pytest.raises(ValidationFailed):
        loan_restructure(actor=approver, loan=loan, on_date=date(2025, 3, 5), reason="", term_months=10)
    loan = loan_restructure(
        actor=approver, loan=loan, on_date=date(2025, 3, 5), reason="cash-flow gap (展期)", term_months=10
    )
    new = rows(loan)
    assert loan.restructured and loan.schedule_version == 2
    assert loan.maturity_date == date(2025, 12, 15) and len(new) == 11
    # Paid ahead on installment 2 (216.25 principal, 83.75 interest) is carried over: the new
    # installment 2 asks less interest (to 5 March at the old terms, then the new), the rest of
    # the interest paid ahead goes to installment 3; nothing is lost, nothing is held.
    assert new[1].principal_paid == D("216.25") and new[1].interest_paid == new[1].interest
    assert new[2].interest_paid == D("83.75") - new[1].interest and loan.credit_balance == D("0.00")
    assert loan.outstanding_principal == sum(r.principal - r.principal_paid for r in new)
    assert ScheduleVersion.objects.get(loan=loan, number=2).note == "cash-flow gap (展期)"
    loan = loan_restructure(
        actor=approver, loan=loan, on_date=date(2025, 3, 5), reason="method", method="equal_principal"
    )
    assert loan.method == "equal_principal" and loan.schedule_version == 3
    assert ledger_problems() == []
