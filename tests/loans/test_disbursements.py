"""Disbursement: prepared by an officer, authorised by someone else; one loan per application
whatever happens twice; tranches; the batch service; the ledger invariants."""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEntry
from loans.models import Collateral, Disbursement, Installment, LedgerEntry, Loan, LoanApplication
from loans.selectors.ledger import ledger_problems
from loans.services.collateral import collateral_add
from loans.services.disbursements import (
    disbursement_authorise,
    disbursement_authorise_batch,
    disbursement_cancel,
    disbursement_prepare,
)
from loansite.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from tests.loans.servicing import DAY, approved_application, disburse

pytestmark = pytest.mark.django_db
D = Decimal


def _prepare(officer, app, **extra):
    values = {
        "amount": app.approved_amount,
        "value_date": DAY,
        "contract_number": "HT-1",
        "account": "6222 0000",
        "conditions_checked": app.conditions_precedent,
        **extra,
    }
    return disbursement_prepare(actor=officer, application=app, **values)


def test_authorising_creates_the_loan_its_schedule_and_ledger_and_moves_the_application(officer, approver):
    app = approved_application(officer, approver, amount="10000", term=6, rate="0.12")
    collateral_add(
        actor=officer,
        application=app,
        kind="deposit",
        owner="Owner",
        description="Certificate of deposit",
        appraised_value="12000",
        appraisal_date=DAY,
        appraiser="Bank",
    )
    d = _prepare(officer, app)
    assert d.status == Disbursement.Status.PREPARED and d.tranche == 1
    loan = disbursement_authorise(actor=approver, disbursement=d)

    app.refresh_from_db()
    d.refresh_from_db()
    assert app.status == LoanApplication.Status.DISBURSED
    assert (d.status, d.loan, d.authorised_by) == (Disbursement.Status.AUTHORISED, loan, approver)
    assert loan.loan_number == "LN" + app.reference[2:]
    assert (loan.principal, loan.outstanding_principal, loan.annual_rate, loan.status) == (
        D("10000.00"),
        D("10000.00"),
        D("0.1200"),
        Loan.Status.ACTIVE,
    )
    rows = list(loan.installments.order_by("number"))
    # The reference schedule: 10,000 at 12 % over 6 months, 30/360.
    assert [r.principal + r.interest for r in rows] == [D("1725.48")] * 5 + [D("1725.51")]
    assert sum(r.principal for r in rows) == D("10000.00")
    assert (loan.maturity_date, loan.next_due_date, loan.next_due_amount) == (
        datetime.date(2025, 7, 15),
        datetime.date(2025, 2, 15),
        D("1725.48"),
    )
    (entry,) = LedgerEntry.objects.filter(loan=loan)
    assert (entry.kind, entry.amount, entry.principal, entry.balance_after) == (
        "disbursement",
        D("-10000.00"),
        D("-10000.00"),
        D("10000.00"),
    )
    assert Collateral.objects.get(application=app).loan == loan
    actions = set(
        AuditEntry.objects.filter(target_id__in=[str(loan.pk), str(d.pk), str(app.pk)]).values_list(
            "target_type", "action"
        )
    )
    assert {
        ("loans.loan", "create"),
        ("loans.disbursement", "transition"),
        ("loans.loanapplication", "transition"),
    } <= actions
    assert ledger_problems() == []


def test_maker_checker_and_roles(officer, approver, make_user):
    app = approved_application(officer, approver)
    boss = make_user("boss", superuser=True)
    d = _prepare(boss, app)
    with pytest.raises(NotAllowed):
        disbursement_authorise(actor=boss, disbursement=d)  # prepared it
    with pytest.raises(NotAllowed):
        disbursement_authorise(actor=officer, disbursement=d)  # no authority to authorise
    with pytest.raises(NotAllowed):
        _prepare(approver, app)  # approvers do not prepare
    assert not Loan.objects.exists()


def test_every_condition_precedent_must_be_ticked(officer, approver):
    app = approved_application(officer, approver, conditions=["Contract signed", "Mortgage registered"])
    with pytest.raises(ValidationFailed) as exc:
        _prepare(officer, app, conditions_checked=["Contract signed"])
    assert exc.value.extra["missing"] == ["Mortgage registered"]
    assert _prepare(officer, app).conditions_checked == ["Contract signed", "Mortgage registered"]


@pytest.mark.parametrize(
    "extra",
    [
        {"amount": "10000.01"},
        {"contract_number": " "},
        {"account": "x" * 65},
        {"value_date": DAY - datetime.timedelta(days=1)},  # before the approval
        {"first_due_date": DAY},
        {"repayment_day": 40},
    ],
)
def test_bad_disbursement_input_is_refused(officer, approver, extra):
    app = approved_application(officer, approver)
    with pytest.raises(ValidationFailed):
        _prepare(officer, app, **extra)
    assert not Disbursement.objects.exists()


def test_preparing_twice_makes_one_disbursement(officer, approver, make_user):
    app = approved_application(officer, approver)
    first = _prepare(officer, app, idempotency_key="req-1")
    assert _prepare(officer, app, idempotency_key="req-1") == first  # a retry
    with pytest.raises(Conflict):
        _prepare(officer, app, idempotency_key="req-1", amount="5000")  # the key named something else
    other_officer = make_user("officer2", role="Loan officer")
    with pytest.raises(Conflict):
        _prepare(other_officer, app)  # a second officer
    assert Disbursement.objects.count() == 1


def test_authorising_twice_makes_one_loan(officer, approver, approver2):
    app = approved_application(officer, approver)
    d = _prepare(officer, app)
    loan = disbursement_authorise(actor=approver, disbursement=d)
    assert disbursement_authorise(actor=approver, disbursement=d) == loan  # double click / API retry
    with pytest.raises(Conflict):
        disbursement_authorise(actor=approver2, disbursement=d)
    assert Loan.objects.count() == 1 and LedgerEntry.objects.count() == 1
    with pytest.raises(InvalidTransition):
        _prepare(officer, LoanApplication.objects.get(pk=app.pk), amount="1000")  # nothing left to disburse


def test_cancelled_disbursement_can_be_prepared_again(officer, approver):
    app = approved_application(officer, approver)
    d = _prepare(officer, app)
    with pytest.raises(ValidationFailed):
        disbursement_cancel(actor=officer, disbursement=d, reason="")
    disbursement_cancel(actor=officer, disbursement=d, reason="wrong account")
    with pytest.raises(InvalidTransition):
        disbursement_authorise(actor=approver, disbursement=d)
    again = _prepare(officer, app, account="6222 9999")
    assert disbursement_authorise(actor=approver, disbursement=again).principal == D("10000.00")


def test_tranches_extend_the_schedule_up_to_the_approved_amount(officer, approver):
    app = approved_application(officer, approver, amount="100000", term=12)
    loan = disburse(officer, approver, app, amount="60000")
    assert loan.principal == D("60000.00") and loan.approved_amount == D("100000.00")
    app.refresh_from_db()
    second = _prepare(officer, app, amount="40000", value_date=datetime.date(2025, 3, 1), contract_number="")
    assert second.tranche == 2 and second.contract_number == loan.contract_number
    loan = disbursement_authorise(actor=approver, disbursement=second)
    assert (loan.principal, loan.outstanding_principal, loan.schedule_version) == (
        D("100000.00"),
        D("100000.00"),
        2,
    )
    current = Installment.objects.filter(loan=loan, schedule_version=2).order_by("number")
    assert sum(r.principal for r in current) == D("100000.00")
    assert current.last().due_date == loan.maturity_date == datetime.date(2026, 1, 15)
    assert Installment.objects.filter(loan=loan, schedule_version=1).count() == 12  # the history stays
    with pytest.raises(InvalidTransition):
        _prepare(officer, app, amount="0.01", value_date=datetime.date(2025, 4, 1))
    assert ledger_problems() == []


def test_batch_authorisation(officer, approver, make_user, django_capture_on_commit_callbacks):
    apps = [approved_application(officer, approver, amount=str(10000 + i)) for i in range(5)]
    boss = make_user("boss", superuser=True)
    prepared = [_prepare(officer, app, contract_number=f"HT-{i}") for i, app in enumerate(apps[:4])]
    own = _prepare(boss, apps[4], contract_number="HT-own")
    with django_capture_on_commit_callbacks(execute=True):  # the chain's head is published on commit
        outcome = disbursement_authorise_batch(actor=boss, disbursements=[*prepared, own])
    assert len(outcome.done) == 4
    assert [pk for pk, _why in outcome.failed] == [own.pk]
    assert Loan.objects.count() == 4
    for app in apps[:4]:
        app.refresh_from_db()
        assert app.status == LoanApplication.Status.DISBURSED
    call_command("verify_audit", stdout=StringIO())
    again = disbursement_authorise_batch(actor=boss, disbursements=prepared)
    assert again.done == [] and len(again.failed) == 4
    assert AuditEntry.objects.filter(target_type="loans.loan", action="create").count() == 4
    assert ledger_problems() == []


def test_check_ledger_command_reports_a_broken_loan(officer, approver):
    loan = disburse(officer, approver, approved_application(officer, approver))
    out = StringIO()
    call_command("check_ledger", stdout=out)
    assert "1 loan(s): the ledger agrees" in out.getvalue()
    Loan.objects.filter(pk=loan.pk).update(outstanding_principal=D("9999.00"))
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("check_ledger", "--loan", loan.loan_number, stderr=err)
    assert loan.loan_number in err.getvalue() and "unpaid schedule principal" in err.getvalue()
