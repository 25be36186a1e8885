"""Disbursement and repayment posting under concurrency, on MariaDB: exactly one of N wins."""

from decimal import Decimal

import pytest

from loans.models import Disbursement, LedgerEntry, Loan, LoanApplication, Repayment
from loans.selectors.ledger import ledger_problems
from loans.services.disbursements import disbursement_authorise, disbursement_prepare
from loans.services.repayments import repayment_post
from tests.integration.concurrency import race
from tests.loans.factories import AuthorityFactory
from tests.loans.servicing import DAY, approved_application, disburse

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
D = Decimal


def _people(make_user, officers=1, approvers=1):
    made_officers = [make_user(f"officer{i}", role="Loan officer") for i in range(officers)]
    made_approvers = []
    for i in range(approvers):
        user = make_user(f"approver{i}", role="Credit approver")
        AuthorityFactory(user=user, limit=D("1000000"))
        made_approvers.append(user)
    return made_officers, made_approvers


def _prepare(officer, app, key=""):
    return disbursement_prepare(
        actor=officer,
        application=app,
        amount=app.approved_amount,
        value_date=DAY,
        contract_number="HT-1",
        account="6222",
        idempotency_key=key,
    )


@pytest.mark.parametrize("approvers", [2, 6])
def test_concurrent_authorisations_make_exactly_one_loan(make_user, approvers):
    (officer,), users = _people(make_user, approvers=approvers)
    app = approved_application(officer, users[0])
    d = _prepare(officer, app)
    results, errors = race([lambda u=u: disbursement_authorise(actor=u, disbursement=d) for u in users])
    assert len(results) == 1 and len(errors) == approvers - 1
    assert all(type(e).__name__ in ("Conflict", "InvalidTransition") for e in errors)
    assert Loan.objects.count() == 1 and LedgerEntry.objects.count() == 1
    d.refresh_from_db()
    assert (
        d.status == Disbursement.Status.AUTHORISED
        and d.authorised_by_id == results[0].disbursements.get().authorised_by_id
    )
    assert LoanApplication.objects.get(pk=app.pk).status == LoanApplication.Status.DISBURSED
    assert ledger_problems() == []


def test_concurrent_preparations_make_one_disbursement(make_user):
    officers, (approver,) = _people(make_user, officers=5)
    app = approved_application(officers[0], approver)
    results, errors = race([lambda o=o: _prepare(o, app) for o in officers])
    assert len(results) == 1 and len(errors) == 4
    assert Disbursement.objects.count() == 1


def test_the_same_idempotency_key_prepares_once(make_user):
    (officer,), (approver,) = _people(make_user)
    app = approved_application(officer, approver)
    results, errors = race([lambda: _prepare(officer, app, key="retry-1") for _ in range(5)])
    assert Disbursement.objects.count() == 1
    assert len({d.pk for d in results}) == 1 and all(type(e).__name__ == "Conflict" for e in errors)


@pytest.mark.parametrize("with_key", [True, False])
def test_concurrent_postings_of_one_payment_post_it_once(make_user, with_key):
    (officer,), (approver,) = _people(make_user)
    loan = disburse(officer, approver, approved_application(officer, approver))

    def post(n):
        return repayment_post(
            actor=officer,
            loan=loan,
            amount="1725.48",
            value_date=DAY.replace(month=2),
            bank_reference="BANK-1",
            idempotency_key="pay-1" if with_key else None,
        )

    results, errors = race([lambda n=n: post(n) for n in range(6)])
    assert Repayment.objects.count() == 1
    assert len({r.pk for r in results}) == 1  # the winner, or a retry that got the winner's repayment back
    if not with_key:
        assert len(results) == 1 and len(errors) == 5
    assert all(type(e).__name__ == "Conflict" for e in errors)
    loan.refresh_from_db()
    assert loan.outstanding_principal == D("8374.52")
    assert ledger_problems() == []


def test_concurrent_different_payments_on_one_loan_are_all_posted(make_user):
    (officer,), (approver,) = _people(make_user)
    loan = disburse(officer, approver, approved_application(officer, approver))
    calls = [
        lambda n=n: repayment_post(
            actor=officer, loan=loan, amount="100", value_date=DAY.replace(month=2), bank_reference=f"B-{n}"
        )
        for n in range(6)
    ]
    results, errors = race(calls)
    # Each waits for the loan's row lock; a conflict (stale version) may be reported, never a lost update.
    assert len(results) + len(errors) == 6
    assert Repayment.objects.count() == len(results) >= 1
    loan.refresh_from_db()
    assert loan.principal_repaid + loan.interest_paid == D("100") * len(results)
    assert ledger_problems() == []
