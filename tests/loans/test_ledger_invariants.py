"""The ledger invariants after every operation of random sequences (hypothesis): repayments
of any size on any date, prepayments both ways, payoffs, credit applied and refunded,
reversals of the latest repayment, restructurings and further tranches. An operation the
services refuse leaves everything as it was."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loans.models import LedgerEntry, Loan, Repayment
from loans.selectors.ledger import ledger_problems
from loans.selectors.loans import loan_payoff_quote
from loans.services.disbursements import disbursement_authorise, disbursement_prepare
from loans.services.repayments import (
    loan_credit_apply,
    loan_credit_refund,
    loan_prepay,
    repayment_post,
    repayment_reverse,
)
from loans.services.restructuring import loan_restructure
from loansite.errors import ApplicationError
from tests.loans.servicing import DAY, approved_application, disburse, servicing_product
from tests.loans.test_repayments import state

pytestmark = pytest.mark.django_db
D = Decimal

OPERATIONS = st.sampled_from(
    ["post", "post", "post", "small", "prepay", "payoff", "apply", "refund", "reverse", "restructure", "tranche"]
)
STEP = st.tuples(
    OPERATIONS,
    st.integers(min_value=1, max_value=400_000),  # cents
    st.integers(min_value=0, max_value=45),  # days later
    st.sampled_from(["shorten_term", "lower_installment"]),
    st.integers(min_value=1, max_value=18),
)


def _apply(step, *, loan, officer, approver, day, counter):
    operation, cents, _days, mode, months = step
    amount = D(cents) / 100
    ref = f"R-{counter}"
    if operation in ("post", "small"):
        repayment_post(
            actor=officer,
            loan=loan,
            amount=amount if operation == "post" else D("0.01"),
            value_date=day,
            bank_reference=ref,
        )
    elif operation == "prepay":
        loan_prepay(actor=officer, loan=loan, amount=amount, value_date=day, bank_reference=ref, mode=mode)
    elif operation == "payoff":
        quote = loan_payoff_quote(loan=loan, on_date=day)
        loan_prepay(actor=officer, loan=loan, amount=quote.total, value_date=day, bank_reference=ref, full=True)
    elif operation == "apply":
        loan_credit_apply(actor=officer, loan=loan, value_date=day)
    elif operation == "refund":
        loan.refresh_from_db()
        loan_credit_refund(
            actor=approver, loan=loan, amount=min(amount, loan.credit_balance), value_date=day, reason="asked"
        )
    elif operation == "reverse":
        latest = Repayment.objects.filter(loan=loan, status="posted").order_by("-id").first()
        if latest is None:
            raise ApplicationError("nothing to reverse")
        repayment_reverse(actor=approver, repayment=latest, reason="mistake")
    elif operation == "restructure":
        loan_restructure(actor=approver, loan=loan, on_date=day, reason="hardship", term_months=months)
    elif operation == "tranche":
        d = disbursement_prepare(
            actor=officer,
            application=loan.application,
            amount=min(amount, D("8000")),
            value_date=day,
            account="6222",
        )
        disbursement_authorise(actor=approver, disbursement=d)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=st.sampled_from(["equal_installment", "equal_principal", "interest_only", "bullet"]),
    day_count=st.sampled_from(["30/360", "actual/360", "actual/365"]),
    steps=st.lists(STEP, min_size=1, max_size=12),
)
def test_the_ledger_invariants_hold_after_every_operation(officer, approver, method, day_count, steps):
    with transaction.atomic():
        product = servicing_product(day_count=day_count)
        app = approved_application(
            officer, approver, amount="20000", term=12, rate="0.10", method=method, product=product
        )
        loan = disburse(officer, approver, app, amount="12000")
        assert ledger_problems() == []
        day = DAY
        for counter, step in enumerate(steps):
            day = min(day + datetime.timedelta(days=step[2]), datetime.date.today())
            before = state(loan)
            entries = LedgerEntry.objects.count()
            try:
                with transaction.atomic():
                    _apply(step, loan=loan, officer=officer, approver=approver, day=day, counter=counter)
            except ApplicationError:
                assert state(loan) == before, step  # refused: nothing changed
                assert LedgerEntry.objects.count() == entries
            loan = Loan.objects.get(pk=loan.pk)
            problems = ledger_problems()
            assert problems == [], (step, problems)
            if loan.status == Loan.Status.CLOSED:
                assert loan.outstanding_principal == 0
        transaction.set_rollback(True)
