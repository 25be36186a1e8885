"""The loan account's internals shared by the servicing services (not called from outside).

- the row lock and the conditional UPDATE on ``Loan.version``;
- a loan's schedule as ``loans.schedules`` rows and back (persisting a new version);
- the ledger append, the denormalised next due installment, credit-line moves.

Money is computed only by ``loans.schedules`` (amounts due) and by the allocation in
``loans.services.repayments``; this module stores what they give.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from loans import schedules
from loans.models import Installment, LedgerEntry, Loan, ScheduleVersion
from loansite.errors import Conflict, NotAllowed
from loansite.money import ZERO

Status = Installment.Status


def require(actor, perm: str) -> None:
    if actor is None or not actor.is_active or not actor.has_perm(perm):
        raise NotAllowed(_("You do not have the role needed for this action."))


def loan_lock(loan: Loan | int) -> Loan:
    """Reload the loan under a row lock (a no-op on SQLite: the conditional UPDATE covers it)."""
    pk = loan.pk if isinstance(loan, Loan) else loan
    return Loan.objects.select_for_update().select_related("product", "customer", "credit_line").get(pk=pk)


def loan_update(loan: Loan, **values) -> None:
    """UPDATE only if nobody moved the loan since we read it; refresh ``loan`` in memory."""
    values["updated_at"] = timezone.now()
    updated = Loan.objects.filter(pk=loan.pk, version=loan.version).update(version=F("version") + 1, **values)
    if updated != 1:
        raise Conflict()
    loan.version += 1
    for key, value in values.items():
        setattr(loan, key, value)


# ---------------------------------------------------------------------------
# The schedule
# ---------------------------------------------------------------------------
def loan_terms(loan: Loan) -> schedules.ScheduleTerms:
    """The loan's current terms as ``loans.schedules`` reads them (rate and method after any
    restructuring; the repayment-day series, day count and holiday rule of the contract)."""
    return schedules.ScheduleTerms(
        principal=loan.principal,
        annual_rate=loan.annual_rate,
        term_months=max(loan.term_months, 1),
        method=loan.method,
        day_count=loan.day_count,
        disbursement_date=loan.disbursement_date,
        first_due_date=loan.first_due_date,
        holiday_shift=loan.holiday_shift,
        repayment_day=loan.repayment_day,
    )


def installments_current(loan: Loan, *, lock: bool = False) -> list[Installment]:
    qs = Installment.objects.filter(loan=loan, schedule_version=loan.schedule_version).order_by("number")
    if lock:
        qs = qs.select_for_update()
    return list(qs)


def schedule_rows(installments: list[Installment]) -> list[schedules.Installment]:
    """Stored installments as ``loans.schedules`` rows (the amounts due; payments are not rows' business)."""
    remaining = sum((row.principal for row in installments), ZERO)
    rows = []
    for row in installments:
        remaining -= row.principal
        rows.append(
            schedules.Installment(
                number=row.number,
                period_start=row.period_start,
                due_date=row.due_date,
                pay_date=row.pay_date,
                days=row.days,
                principal=row.principal,
                interest=row.interest,
                total=row.principal + row.interest,
                remaining_principal=remaining,
                grace=row.grace,
                carried_interest=row.carried_interest,
            )
        )
    return rows


def installment_from_row(loan: Loan, version: int, row: schedules.Installment) -> Installment:
    return Installment(
        loan=loan,
        schedule_version=version,
        number=row.number,
        period_start=row.period_start,
        due_date=row.due_date,
        pay_date=row.pay_date,
        days=row.days,
        principal=row.principal,
        interest=row.interest,
        carried_interest=row.carried_interest,
        grace=row.grace,
    )


def installment_status(row: Installment) -> str:
    if row.principal_paid + row.interest_paid + row.penalty_paid >= row.principal + row.interest + row.penalty:
        return Status.PAID
    if row.principal_paid or row.interest_paid or row.penalty_paid:
        return Status.PARTLY_PAID
    return Status.FUTURE if row.status in (Status.PAID, Status.PARTLY_PAID) else row.status


@dataclass
class NewVersion:
    number: int
    installments: list[Installment]
    # Paid early on the replaced installments and not carried onto the new ones (rare: a new
    # schedule asking less interest than was paid ahead); the caller holds it as credit.
    interest_left_over: Decimal = ZERO


def schedule_version_write(
    *,
    loan: Loan,
    old: list[Installment],
    rows: list[schedules.Installment],
    on_date: datetime.date,
    reason: str,
    actor,
    terms: dict | None = None,
    note: str = "",
    carry_early_payments: bool = True,
) -> NewVersion:
    """Store ``rows`` (kept + rebuilt, from ``loans.schedules``) as the loan's next schedule version.

    Installments due on or before ``on_date`` are kept with what was paid on them. What was paid
    ahead on the replaced ones (a payment before their due date) is carried onto the new ones,
    principal to principal and interest to interest, oldest first, so no payment is lost and the
    outstanding principal does not move; ``carry_early_payments=False`` when the caller has
    already taken those payments into account (a prepayment).
    """
    by_number = {row.number: row for row in old}
    number = (ScheduleVersion.objects.filter(loan=loan).aggregate(top=Max("number"))["top"] or 0) + 1
    replaced = [row for row in old if row.due_date > on_date]
    early_principal = sum((row.principal_paid for row in replaced), ZERO) if carry_early_payments else ZERO
    early_interest = sum((row.interest_paid for row in replaced), ZERO) if carry_early_payments else ZERO
    stored = []
    for row in rows:
        previous = by_number.get(row.number)
        item = installment_from_row(loan, number, row)
        if previous is not None and previous.due_date <= on_date:
            item.principal_paid = previous.principal_paid
            item.interest_paid = previous.interest_paid
            item.penalty = previous.penalty
            item.penalty_paid = previous.penalty_paid
            item.status = previous.status
            item.paid_on = previous.paid_on
        else:
            take = min(early_principal, item.principal)
            item.principal_paid, early_principal = take, early_principal - take
            take = min(early_interest, item.interest)
            item.interest_paid, early_interest = take, early_interest - take
            item.status = installment_status(item)
        stored.append(item)
    if early_principal:
        raise Conflict(_("The new schedule asks less principal than was already paid on it."))
    Installment.objects.bulk_create(stored)
    ScheduleVersion.objects.filter(loan=loan, current=True).update(current=False)
    ScheduleVersion.objects.create(
        loan=loan,
        number=number,
        reason=reason,
        effective_date=on_date,
        terms=terms or {},
        note=note,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    return NewVersion(number, stored, early_interest)


def next_due(installments: list[Installment]) -> tuple[datetime.date | None, Decimal | None]:
    """The first installment not fully paid: its due date and what it still asks."""
    for row in installments:
        unpaid = row.principal + row.interest + row.penalty - row.principal_paid - row.interest_paid - row.penalty_paid
        if unpaid > 0:
            return row.due_date, unpaid
    return None, None


def unpaid_principal(installments: list[Installment]) -> Decimal:
    return sum((row.principal - row.principal_paid for row in installments), ZERO)


def all_paid(installments: list[Installment]) -> bool:
    return all(
        row.principal_paid + row.interest_paid + row.penalty_paid >= row.principal + row.interest + row.penalty
        for row in installments
    )


def maturity_of(installments: list[Installment]) -> datetime.date:
    return installments[-1].due_date


def months_between(start: datetime.date, end: datetime.date) -> int:
    return max(1, (end.year - start.year) * 12 + end.month - start.month)


# ---------------------------------------------------------------------------
# The ledger and the credit line
# ---------------------------------------------------------------------------
def ledger_append(
    *,
    loan: Loan,
    kind: str,
    value_date: datetime.date,
    amount: Decimal,
    principal: Decimal = ZERO,
    interest: Decimal = ZERO,
    penalty: Decimal = ZERO,
    fee: Decimal = ZERO,
    credit: Decimal = ZERO,
    actor=None,
    repayment=None,
    disbursement=None,
    note: str = "",
) -> LedgerEntry:
    """One movement; ``loan.outstanding_principal`` must already be the balance after it."""
    return LedgerEntry.objects.create(
        loan=loan,
        kind=kind,
        value_date=value_date,
        amount=amount,
        principal=principal,
        interest=interest,
        penalty=penalty,
        fee=fee,
        credit=credit,
        balance_after=loan.outstanding_principal,
        repayment=repayment,
        disbursement=disbursement,
        note=note[:255],
        actor=actor if getattr(actor, "pk", None) else None,
    )


def credit_line_give_back(*, loan: Loan, amount: Decimal, actor, reason: str) -> Decimal:
    """Principal repaid restores headroom on the line the loan drew on (revolving)."""
    if loan.credit_line_id is None or amount <= 0:
        return ZERO
    from customers.services import credit_line_release

    credit_line_release(customer=loan.customer, amount=amount, actor=actor, reason=reason, credit_line=loan.credit_line)
    return amount


def credit_line_take_back(*, loan: Loan, amount: Decimal, actor, reason: str) -> None:
    """Undo ``credit_line_give_back`` (a reversed repayment): refused past the line's limit."""
    if loan.credit_line_id is None or amount <= 0:
        return
    from customers.services import credit_line_use

    credit_line_use(customer=loan.customer, amount=amount, actor=actor, reason=reason, credit_line=loan.credit_line)
