"""Write-off (核销) and recovery: permissions, eligibility, ledger entries, balances, check_ledger,
recovery allocation, idempotency and closure when fully settled."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from audit.models import AuditEntry
from customers.models import CreditLine
from loans.models import Collateral, Installment, LedgerEntry, Loan, Recovery, WriteOff
from loans.selectors.collections import loan_amount_owed, loan_write_off_check
from loans.selectors.ledger import ledger_problems
from loans.services.repayments import repayment_post
from loans.services.writeoff import loan_write_off, recovery_post
from loansite.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from tests.loans.servicing import disbursed_loan
from tests.loans.test_collections import make_overdue

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate
K = LedgerEntry.Kind


@pytest.fixture
def long_overdue(officer, approver):
    return make_overdue(disbursed_loan(officer, approver), dpd=200, bucket="181-360", risk_class="doubtful")


def _line_used(loan):
    return CreditLine.objects.get(pk=loan.credit_line_id).used


# ---------------------------------------------------------------------------
# Write-off
# ---------------------------------------------------------------------------
def test_an_approver_writes_off_a_long_overdue_loan(approver2, long_overdue):
    loan = long_overdue
    outstanding = loan.outstanding_principal
    rows = Installment.objects.filter(loan=loan, schedule_version=loan.schedule_version)
    unpaid_interest = sum((r.interest - r.interest_paid for r in rows if r.due_date <= TODAY()), Decimal("0"))
    line_before = _line_used(loan)
    record = loan_write_off(actor=approver2, loan=loan, reason="Borrower insolvent; court confirmed no assets")
    loan.refresh_from_db()
    assert loan.status == Loan.Status.WRITTEN_OFF
    assert loan.outstanding_principal == 0 and loan.written_off_amount == outstanding
    assert (record.principal, record.interest, record.days_past_due, record.risk_class) == (
        outstanding,
        unpaid_interest,
        200,
        "doubtful",
    )
    entry = LedgerEntry.objects.filter(loan=loan).order_by("-id").first()
    assert (entry.kind, entry.amount, entry.principal, entry.interest, entry.balance_after) == (
        K.WRITE_OFF,
        0,
        outstanding,
        unpaid_interest,
        0,
    )
    # The customer stays liable: the schedule is untouched.
    assert loan_amount_owed(loan) == outstanding + unpaid_interest + sum(
        (r.interest for r in rows if r.due_date > TODAY()), Decimal("0")
    )
    assert _line_used(loan) == line_before - outstanding
    assert ledger_problems() == []
    call_command("check_ledger")
    audit = AuditEntry.objects.filter(target_type="loans.loan", target_id=str(loan.pk), action="transition").last()
    assert audit.changes["status"] == ["overdue", "written_off"] and "insolvent" in audit.reason


def test_the_loss_category_qualifies_below_the_days_threshold(approver, officer):
    loan = make_overdue(disbursed_loan(officer, approver), dpd=40, bucket="31-60", risk_class="loss")
    loan_write_off(actor=approver, loan=loan, reason="fraud")
    assert Loan.objects.get(pk=loan.pk).status == Loan.Status.WRITTEN_OFF


@pytest.mark.parametrize("dpd, risk_class", [(179, "doubtful"), (0, "normal"), (90, "substandard")])
def test_a_loan_that_does_not_qualify_is_refused(approver, officer, dpd, risk_class):
    loan = make_overdue(disbursed_loan(officer, approver), dpd=dpd, risk_class=risk_class)
    assert not loan_write_off_check(loan).allowed
    with pytest.raises(InvalidTransition):
        loan_write_off(actor=approver, loan=loan, reason="x")
    loan.refresh_from_db()
    assert loan.status == Loan.Status.OVERDUE and not WriteOff.objects.exists()
    assert not LedgerEntry.objects.filter(kind=K.WRITE_OFF).exists()


def test_the_threshold_is_a_setting(approver, officer, settings):
    settings.WRITE_OFF_MIN_DPD = 90
    loan = make_overdue(disbursed_loan(officer, approver), dpd=95, risk_class="substandard")
    assert loan_write_off_check(loan).allowed
    loan_write_off(actor=approver, loan=loan, reason="policy 90")


@pytest.mark.parametrize("role", ["Loan officer", "Collector", "Risk analyst", "Auditor", "Model ops"])
def test_only_approvers_write_off(make_user, role, long_overdue):
    with pytest.raises(NotAllowed):
        loan_write_off(actor=make_user("u", role=role), loan=long_overdue, reason="x")
    assert Loan.objects.get(pk=long_overdue.pk).status == Loan.Status.OVERDUE


def test_a_write_off_needs_a_reason(approver, long_overdue):
    with pytest.raises(ValidationFailed):
        loan_write_off(actor=approver, loan=long_overdue, reason="  ")


def test_a_loan_is_written_off_once(approver, long_overdue):
    loan_write_off(actor=approver, loan=long_overdue, reason="x")
    with pytest.raises(InvalidTransition):
        loan_write_off(actor=approver, loan=long_overdue, reason="again")
    assert LedgerEntry.objects.filter(kind=K.WRITE_OFF).count() == 1


def test_a_written_off_loan_takes_no_repayment(approver, officer, long_overdue):
    loan_write_off(actor=approver, loan=long_overdue, reason="x")
    with pytest.raises(InvalidTransition):
        repayment_post(actor=officer, loan=long_overdue, amount="10", value_date=TODAY(), bank_reference="R-1")


def test_write_off_after_the_real_close_carries_the_penalty_off_balance(approver, officer):
    from loans.close import loan_close_day

    loan = disbursed_loan(officer, approver, value_date=datetime.date(2025, 1, 15))
    loan_close_day(date=TODAY())
    loan.refresh_from_db()
    assert loan.status == Loan.Status.OVERDUE and loan.days_past_due >= 180
    penalty = sum(
        (
            r.penalty - r.penalty_paid
            for r in Installment.objects.filter(loan=loan, schedule_version=loan.schedule_version)
        ),
        Decimal("0"),
    )
    record = loan_write_off(actor=approver, loan=loan, reason="x")
    assert record.penalty == penalty
    assert LedgerEntry.objects.filter(loan=loan, kind=K.WRITE_OFF).get().penalty == penalty
    assert ledger_problems() == []


# ---------------------------------------------------------------------------
# Recovery
# ---------------------------------------------------------------------------
@pytest.fixture
def written_off(approver, long_overdue):
    loan_write_off(actor=approver, loan=long_overdue, reason="insolvent")
    long_overdue.refresh_from_db()
    return long_overdue


def test_a_recovery_is_its_own_ledger_kind_and_keeps_the_books(officer, written_off):
    owed = loan_amount_owed(written_off)
    recovery = recovery_post(actor=officer, loan=written_off, amount="1000", value_date=TODAY(), bank_reference="REC-1")
    assert recovery.principal + recovery.interest + recovery.penalty == Decimal("1000.00")
    assert recovery.interest > 0  # the oldest installment's interest first
    entry = LedgerEntry.objects.filter(loan=written_off).order_by("-id").first()
    assert (entry.kind, entry.amount, entry.principal, entry.balance_after) == (K.RECOVERY, 1000, recovery.principal, 0)
    record = WriteOff.objects.get(loan=written_off)
    assert (record.recovered_principal, record.recovered_interest) == (recovery.principal, recovery.interest)
    written_off.refresh_from_db()
    assert written_off.status == Loan.Status.WRITTEN_OFF and written_off.outstanding_principal == 0
    assert loan_amount_owed(written_off) == owed - Decimal("1000.00")
    assert ledger_problems() == []


def test_the_same_bank_reference_posts_once(officer, written_off):
    first = recovery_post(actor=officer, loan=written_off, amount="100", value_date=TODAY(), bank_reference="REC-2")
    again = recovery_post(actor=officer, loan=written_off, amount="100", value_date=TODAY(), bank_reference="REC-2")
    assert again.pk == first.pk and Recovery.objects.count() == 1
    with pytest.raises(Conflict):
        recovery_post(actor=officer, loan=written_off, amount="150", value_date=TODAY(), bank_reference="REC-2")
    assert LedgerEntry.objects.filter(kind=K.RECOVERY).count() == 1


def test_a_reference_posted_as_a_repayment_is_refused(officer, approver, written_off):
    other = disbursed_loan(officer, approver)
    repayment_post(actor=officer, loan=other, amount="50", value_date=TODAY(), bank_reference="BANK-9")
    with pytest.raises(Conflict):
        recovery_post(actor=officer, loan=written_off, amount="50", value_date=TODAY(), bank_reference="BANK-9")


@pytest.mark.parametrize(
    "amount, day, ref, field",
    [
        ("0", "today", "R", "amount"),
        ("abc", "today", "R", "amount"),
        ("10", "future", "R", "value_date"),
        ("10", "before", "R", "value_date"),
        ("10", "today", "", "bank_reference"),
        ("10", "today", "x" * 65, "bank_reference"),
        ("too much", "today", "R", "amount"),
    ],
)
def test_bad_recoveries_are_refused(officer, written_off, amount, day, ref, field):
    value_date = {
        "today": TODAY(),
        "future": TODAY() + datetime.timedelta(days=1),
        "before": TODAY() - datetime.timedelta(days=1),
    }[day]
    if amount == "too much":
        amount = loan_amount_owed(written_off) + Decimal("0.01")
    with pytest.raises(ValidationFailed) as err:
        recovery_post(actor=officer, loan=written_off, amount=amount, value_date=value_date, bank_reference=ref)
    assert err.value.extra["field"] == field
    assert not Recovery.objects.exists()


def test_a_recovery_needs_a_written_off_loan(officer, long_overdue):
    with pytest.raises(InvalidTransition):
        recovery_post(actor=officer, loan=long_overdue, amount="10", value_date=TODAY(), bank_reference="R")


@pytest.mark.parametrize("role", ["Collector", "Credit approver", "Risk analyst", "Auditor"])
def test_only_posters_post_recoveries(make_user, role, written_off):
    with pytest.raises(NotAllowed):
        recovery_post(
            actor=make_user("u", role=role), loan=written_off, amount="10", value_date=TODAY(), bank_reference="R"
        )


def test_full_recovery_closes_the_loan_and_releases_its_security(officer, written_off):
    Collateral.objects.create(
        application=written_off.application,
        loan=written_off,
        kind="equipment",
        owner="Owner",
        description="Lathe",
        appraised_value=Decimal("5000"),
        appraisal_date=datetime.date(2025, 1, 1),
        appraiser="A",
        haircut=Decimal("0.3"),
        status=Collateral.Status.REGISTERED,
        registration_number="DJ-1",
        registration_date=datetime.date(2025, 1, 2),
    )
    recovery_post(actor=officer, loan=written_off, amount="500", value_date=TODAY(), bank_reference="REC-A")
    rest = loan_amount_owed(written_off)
    recovery_post(actor=officer, loan=written_off, amount=rest, value_date=TODAY(), bank_reference="REC-B")
    written_off.refresh_from_db()
    record = WriteOff.objects.get(loan=written_off)
    assert written_off.status == Loan.Status.CLOSED and written_off.closed_on == TODAY()
    assert record.settled_on == TODAY() and record.recovered_principal == record.principal
    assert loan_amount_owed(written_off) == 0
    assert (
        not Installment.objects.filter(loan=written_off, schedule_version=written_off.schedule_version)
        .exclude(status="paid")
        .exists()
    )
    assert not Collateral.objects.filter(loan=written_off).exclude(status=Collateral.Status.RELEASED).exists()
    assert ledger_problems() == []
    with pytest.raises(InvalidTransition):
        recovery_post(actor=officer, loan=written_off, amount="1", value_date=TODAY(), bank_reference="REC-C")


def test_check_ledger_finds_a_write_off_record_that_disagrees(officer, written_off):
    recovery_post(actor=officer, loan=written_off, amount="100", value_date=TODAY(), bank_reference="REC-X")
    WriteOff.objects.filter(loan=written_off).update(recovered_principal=Decimal("1.00"))
    assert any("recovered_principal" in p.problem for p in ledger_problems())
    with pytest.raises(CommandError):
        call_command("check_ledger")


def test_check_ledger_finds_a_written_off_loan_still_on_the_books(written_off):
    Loan.objects.filter(pk=written_off.pk).update(outstanding_principal=Decimal("5.00"))
    assert ledger_problems(loans=Loan.objects.filter(pk=written_off.pk))
