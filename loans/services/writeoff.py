"""Write-off (核销) and recovery after it.

A write-off takes a live loan that is in the loss category or at least ``WRITE_OFF_MIN_DPD``
days past due (setting, default 180) off the books, by someone holding
``loans.write_off_loan`` (credit approvers, administrators), with a reason:

- one ``LedgerEntry`` of kind ``write_off`` without cash: ``principal`` = the outstanding
  principal (the balance goes to zero), ``interest`` and ``penalty`` = what was due and unpaid
  on that day (off balance: the loan's paid figures do not move);
- the loan becomes ``written_off`` with ``written_off_amount``; its credit line gets the headroom
  back (only live loans use a line); collateral and guarantees stay (the customer stays liable);
- a ``WriteOff`` record keeps the figures and what is recovered later.

A recovery (``recovery_post``, ``loans.post_recovery``) is money received on a written-off loan:
idempotent by bank reference (and idempotency key) like a repayment, allocated to the
installments oldest first in the product's order, whether due or not; one ``LedgerEntry`` of
kind ``recovery`` (cash = principal + interest + penalty), the ``WriteOff``'s recovered figures.
When every installment is paid the loan closes (``settled_on``) and its security is released.
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from loans.models import LedgerEntry, Loan, Recovery, Repayment, WriteOff
from loans.selectors.collections import loan_write_off_check
from loans.services.accounts import (
    all_paid,
    credit_line_give_back,
    installments_current,
    ledger_append,
    loan_lock,
    loan_update,
    next_due,
    require,
)
from loans.services.collateral import collateral_release_for_loan
from loans.services.repayments import Allocated, _amount, _order, _pay, _reference
from loansite.errors import Conflict, InvalidTransition, ValidationFailed
from loansite.money import ZERO

PERM_WRITE_OFF = "loans.write_off_loan"
PERM_RECOVERY = "loans.post_recovery"


def write_off_min_dpd() -> int:
    return int(getattr(settings, "WRITE_OFF_MIN_DPD", 180))


def _value_date(loan: Loan, value_date, *, not_before: datetime.date | None = None) -> datetime.date:
    from loans.selectors.loans import loan_last_value_date

    if not isinstance(value_date, datetime.date) or isinstance(value_date, datetime.datetime):
        raise ValidationFailed(_("A value date is required."), extra={"field": "value_date"})
    if value_date > timezone.localdate():
        raise ValidationFailed(_("The value date is in the future."), extra={"field": "value_date"})
    last = max(loan_last_value_date(loan), not_before or loan.disbursement_date)
    if value_date < last:
        raise ValidationFailed(
            _("The value date is before the loan's last movement (%(day)s); movements are posted in date order.")
            % {"day": last},
            extra={"field": "value_date"},
        )
    return value_date


# ---------------------------------------------------------------------------
# Write-off
# ---------------------------------------------------------------------------
@transaction.atomic
def loan_write_off(*, actor, loan: Loan | int, reason: str, value_date: datetime.date | None = None) -> WriteOff:
    """Write the loan off (see the module docstring). Refused unless the loan qualifies."""
    require(actor, PERM_WRITE_OFF)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Please give a reason."), extra={"field": "reason"})
    if len(reason) > 2000:
        raise ValidationFailed(_("The reason is longer than 2000 characters."), extra={"field": "reason"})
    loan = loan_lock(loan)
    check = loan_write_off_check(loan)
    if not check.allowed:
        raise InvalidTransition(check.why, extra={"status": loan.status})
    value_date = _value_date(loan, value_date or timezone.localdate())
    rows = installments_current(loan, lock=True)
    principal = loan.outstanding_principal
    interest = sum((r.interest - r.interest_paid for r in rows if r.due_date <= value_date), ZERO)
    penalty = sum((r.penalty - r.penalty_paid for r in rows), ZERO)
    before = {
        "status": loan.status,
        "outstanding_principal": loan.outstanding_principal,
        "written_off_amount": loan.written_off_amount,
    }
    loan_update(
        loan,
        status=Loan.Status.WRITTEN_OFF,
        outstanding_principal=ZERO,
        written_off_amount=loan.written_off_amount + principal,
    )
    released = credit_line_give_back(
        loan=loan, amount=principal + loan.approved_amount - loan.principal, actor=actor, reason=f"write-off: {reason}"
    )
    ledger_append(
        loan=loan,
        kind=LedgerEntry.Kind.WRITE_OFF,
        value_date=value_date,
        amount=ZERO,
        principal=principal,
        interest=interest,
        penalty=penalty,
        actor=actor,
        note=reason,
    )
    try:
        with transaction.atomic():
            record = WriteOff.objects.create(
                loan=loan,
                written_off_on=value_date,
                principal=principal,
                interest=interest,
                penalty=penalty,
                days_past_due=getattr(loan, "days_past_due", 0) or 0,
                risk_class=getattr(loan, "risk_class", "") or "",
                reason=reason,
                approved_by=actor,
            )
    except IntegrityError:
        raise Conflict(_("Loan %(loan)s is written off already.") % {"loan": loan.loan_number})
    audit_record(
        action=AuditAction.TRANSITION,
        actor=actor,
        target=loan,
        changes={
            "status": [before["status"], loan.status],
            "outstanding_principal": [before["outstanding_principal"], ZERO],
            "written_off": {"principal": principal, "interest": interest, "penalty": penalty},
            "days_past_due": record.days_past_due,
            "risk_class": record.risk_class,
            "credit_line_released": released,
        },
        reason=reason,
    )
    return record


# ---------------------------------------------------------------------------
# Recovery
# ---------------------------------------------------------------------------
def _existing(*, loan: Loan, bank_reference: str, key: str, amount: Decimal) -> Recovery | None:
    """The same posting again gets it back; a reference or key used for something else is a 409."""
    for found in (
        Recovery.objects.filter(idempotency_key=key).first() if key else None,
        Recovery.objects.filter(bank_reference=bank_reference).first(),
    ):
        if found is not None:
            if (found.loan_id, found.bank_reference, found.amount) != (loan.pk, bank_reference, amount):
                raise Conflict(
                    _("Bank reference %(ref)s or this idempotency key is posted already (loan %(loan)s, %(amount)s).")
                    % {"ref": found.bank_reference, "loan": found.loan.loan_number, "amount": found.amount},
                    extra={"recovery": found.pk, "duplicate": True},
                )
            return found
    if Repayment.objects.filter(bank_reference=bank_reference).exists():
        raise Conflict(
            _("Bank reference %(ref)s is posted already as a repayment.") % {"ref": bank_reference},
            extra={"duplicate": True},
        )
    return None


@transaction.atomic
def recovery_post(
    *,
    actor,
    loan: Loan | int,
    amount,
    value_date: datetime.date,
    bank_reference: str,
    idempotency_key: str | None = None,
) -> Recovery:
    """Post money received on a written-off loan (see the module docstring)."""
    require(actor, PERM_RECOVERY)
    amount = _amount(amount)
    bank_reference = _reference(bank_reference, _("Bank reference"), "bank_reference")
    key = _reference(idempotency_key, _("Idempotency key"), "idempotency_key") if idempotency_key else ""
    loan = loan_lock(loan)
    found = _existing(loan=loan, bank_reference=bank_reference, key=key, amount=amount)
    if found is not None:
        return found
    if loan.status != Loan.Status.WRITTEN_OFF:
        raise InvalidTransition(
            _("Loan %(loan)s is %(status)s: recoveries are for written-off loans (post a repayment instead).")
            % {"loan": loan.loan_number, "status": loan.get_status_display()},
            extra={"status": loan.status},
        )
    record = WriteOff.objects.select_for_update().get(loan=loan)
    value_date = _value_date(loan, value_date, not_before=record.written_off_on)
    rows = installments_current(loan, lock=True)
    owed = sum(
        (r.principal + r.interest + r.penalty - r.principal_paid - r.interest_paid - r.penalty_paid for r in rows), ZERO
    )
    if amount > owed:
        raise ValidationFailed(
            _("The customer owes %(owed)s on loan %(loan)s; a recovery cannot be more.")
            % {"owed": owed, "loan": loan.loan_number},
            extra={"field": "amount", "owed": str(owed)},
        )
    allocated = Allocated()
    funds, order = amount, _order(loan)
    for row in rows:
        if funds <= 0:
            break
        funds = _pay(row, funds, order, value_date, allocated.items)
    p, i, pen = allocated.total("principal"), allocated.total("interest"), allocated.total("penalty")
    try:
        with transaction.atomic():
            recovery = Recovery.objects.create(
                write_off=record,
                loan=loan,
                amount=amount,
                value_date=value_date,
                bank_reference=bank_reference,
                idempotency_key=key or None,
                principal=p,
                interest=i,
                penalty=pen,
                allocations=[
                    {
                        "installment": item.row.pk,
                        "number": item.row.number,
                        "principal": str(item.principal),
                        "interest": str(item.interest),
                        "penalty": str(item.penalty),
                        "status_before": item.status_before,
                    }
                    for item in allocated.items
                ],
                posted_by=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError:
        raise Conflict(
            _("Bank reference %(ref)s or this idempotency key is posted already.") % {"ref": bank_reference},
            extra={"duplicate": True},
        )
    from loans.models import Installment

    Installment.objects.bulk_update(
        [item.row for item in allocated.items], ["principal_paid", "interest_paid", "penalty_paid", "status", "paid_on"]
    )
    settled = all_paid(rows)
    due_date, due_amount = next_due(rows)
    values = {"next_due_date": due_date, "next_due_amount": due_amount}
    if settled:
        values.update(status=Loan.Status.CLOSED, closed_on=value_date)
    loan_update(loan, **values)
    updated = WriteOff.objects.filter(pk=record.pk, recovered_principal=record.recovered_principal).update(
        recovered_principal=record.recovered_principal + p,
        recovered_interest=record.recovered_interest + i,
        recovered_penalty=record.recovered_penalty + pen,
        settled_on=value_date if settled else None,
    )
    if updated != 1:
        raise Conflict()
    ledger_append(
        loan=loan,
        kind=LedgerEntry.Kind.RECOVERY,
        value_date=value_date,
        amount=amount,
        principal=p,
        interest=i,
        penalty=pen,
        actor=actor,
        note=bank_reference,
    )
    security = collateral_release_for_loan(loan=loan, actor=actor) if settled else None
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        target=recovery,
        changes={
            "loan": loan.loan_number,
            "amount": amount,
            "value_date": value_date,
            "allocated": {"principal": p, "interest": i, "penalty": pen},
            "settled": settled,
            "security_released": security,
        },
    )
    return recovery
