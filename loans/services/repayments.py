"""Repayments: posting with allocation, overpayment credit, prepayment, payoff, reversal.

Allocation (per the product's ``allocation_order``, default penalty -> interest -> principal):
installments due on or before the value date, oldest first, each part in that order; once
nothing due is unpaid, a payment before the due date goes to the next installment; what is
left is held as credit on the loan (``credit_balance``): refundable, or applied to the next
installment on request. Principal repaid gives headroom back to the credit line the loan drew
on (revolving). A payment that settles every installment closes the loan, releases its
collateral and guarantees and gives back any approved amount never disbursed.

Prepayment (提前还款) first settles the arrears, then interest accrued since the current
period began, the product's fee on the principal repaid early and that principal; the rest of
the schedule is rebuilt from the value date as a new version (``shorten_term`` keeps the
installment, ``lower_installment`` keeps the maturity). A full payoff closes the loan.

Reversal restores exactly the state before the repayment (installments, balances, credit held,
status, schedule version, security, credit line) from what the posting recorded; only the
latest movement of a loan can be reversed, so later ones are reversed first.

Every posting: the loan's row lock and a conditional UPDATE on its version (exactly one of
several concurrent postings with the same bank reference or idempotency key wins), ledger
entries and an audit entry in the same transaction.
"""

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from loans import schedules
from loans.models import (
    ALLOCATION_COMPONENTS,
    Installment,
    LedgerEntry,
    Loan,
    Repayment,
    RepaymentAllocation,
    ScheduleVersion,
)
from loans.selectors.loans import loan_payoff_figures
from loans.services.accounts import (
    all_paid,
    credit_line_give_back,
    credit_line_take_back,
    installments_current,
    ledger_append,
    loan_lock,
    loan_terms,
    loan_update,
    next_due,
    require,
    schedule_rows,
    schedule_version_write,
    unpaid_principal,
)
from loans.services.collateral import collateral_release_for_loan, collateral_restore_for_loan
from loansite.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from loansite.money import CENT, ZERO, money
from loansite.tabular import text_has_control_characters

PERM_POST = "loans.post_repayment"
PERM_REVERSE = "loans.reverse_repayment"
PERM_CREDIT = "loans.refund_credit_loan"
Channel = Repayment.Channel
Kind = Repayment.Kind
# The loan fields a posting may change: recorded before it, restored by a reversal.
SNAPSHOT_FIELDS = (
    "status",
    "closed_on",
    "outstanding_principal",
    "principal_repaid",
    "interest_paid",
    "penalty_paid",
    "fees_paid",
    "credit_balance",
    "next_due_date",
    "next_due_amount",
    "schedule_version",
    "maturity_date",
    "term_months",
)
_DECIMALS = {
    "outstanding_principal",
    "principal_repaid",
    "interest_paid",
    "penalty_paid",
    "fees_paid",
    "credit_balance",
    "next_due_amount",
}
_DATES = {"closed_on", "next_due_date", "maturity_date"}


# ---------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------
def _amount(value) -> Decimal:
    try:
        amount = money(value)
    except ValueError:
        raise ValidationFailed(_("Not an amount of money: %(value)s.") % {"value": value}, extra={"field": "amount"})
    if amount <= 0:
        raise ValidationFailed(_("The amount must be greater than zero."), extra={"field": "amount"})
    if amount >= Decimal("1e13"):
        raise ValidationFailed(_("Amount too large."), extra={"field": "amount"})
    return amount


def _reference(value, label, field_name) -> str:
    text = str(value or "").strip()
    if not text or len(text) > 64 or text_has_control_characters(text):
        raise ValidationFailed(
            _("%(label)s is required: one line of at most 64 characters.") % {"label": label},
            extra={"field": field_name},
        )
    return text


def _check_date(loan: Loan, value_date) -> datetime.date:
    from loans.selectors.loans import loan_last_value_date

    if not isinstance(value_date, datetime.date) or isinstance(value_date, datetime.datetime):
        raise ValidationFailed(_("A value date is required."), extra={"field": "value_date"})
    if value_date > timezone.localdate():
        raise ValidationFailed(_("The value date is in the future."), extra={"field": "value_date"})
    last = loan_last_value_date(loan)
    if value_date < last:
        raise ValidationFailed(
            _("The value date is before the loan's last movement (%(day)s); movements are posted in date order.")
            % {"day": last},
            extra={"field": "value_date"},
        )
    return value_date


def _check_live(loan: Loan) -> None:
    if not loan.is_live:
        raise InvalidTransition(
            _("Loan %(loan)s is %(status)s; nothing can be posted to it.")
            % {"loan": loan.loan_number, "status": loan.get_status_display()},
            extra={"status": loan.status},
        )


def _existing(*, loan: Loan, bank_reference: str, key: str, amount: Decimal) -> Repayment | None:
    """A retry of the same posting gets it back; a reference or key used for another is a 409."""
    if key:
        found = Repayment.objects.filter(idempotency_key=key).first()
        if found is not None:
            if (found.loan_id, found.bank_reference, found.amount) != (loan.pk, bank_reference, amount):
                raise Conflict(_("This idempotency key was used for another repayment."))
            return found
    found = Repayment.objects.filter(bank_reference=bank_reference).first()
    if found is not None:
        raise Conflict(
            _("Bank reference %(ref)s is posted already (loan %(loan)s, %(amount)s on %(day)s).")
            % {"ref": bank_reference, "loan": found.loan.loan_number, "amount": found.amount, "day": found.value_date},
            extra={"repayment": found.pk, "duplicate": True},
        )
    return None


# ---------------------------------------------------------------------------
# Allocation (pure over the installments in memory)
# ---------------------------------------------------------------------------
@dataclass
class Allocation:
    row: Installment
    status_before: str
    paid_on_before: datetime.date | None
    principal: Decimal = ZERO
    interest: Decimal = ZERO
    penalty: Decimal = ZERO


@dataclass
class Allocated:
    items: list[Allocation] = field(default_factory=list)
    left: Decimal = ZERO

    def total(self, part: str) -> Decimal:
        return sum((getattr(item, part) for item in self.items), ZERO)


def _order(loan: Loan) -> list[str]:
    order = [part for part in (loan.product.allocation_order or []) if part in ALLOCATION_COMPONENTS]
    return order + [part for part in ALLOCATION_COMPONENTS if part not in order]


def _pay(row: Installment, funds: Decimal, order, value_date, items: list[Allocation]) -> Decimal:
    item = Allocation(row, row.status, row.paid_on)
    for part in order:
        owed = getattr(row, part) - getattr(row, f"{part}_paid")
        take = min(owed, funds)
        if take > 0:
            setattr(row, f"{part}_paid", getattr(row, f"{part}_paid") + take)
            setattr(item, part, take)
            funds -= take
    if item.principal or item.interest or item.penalty:
        if row.principal_paid + row.interest_paid + row.penalty_paid >= row.principal + row.interest + row.penalty:
            row.status, row.paid_on = Installment.Status.PAID, value_date
        else:
            row.status = Installment.Status.PARTLY_PAID
        items.append(item)
    return funds


def allocate(
    rows: list[Installment], amount: Decimal, value_date: datetime.date, order, *, ahead: bool = True
) -> Allocated:
    """Pay ``amount`` on ``rows`` (mutated): due ones oldest first, then (``ahead``) the next one."""
    result = Allocated()
    funds = amount
    for row in rows:
        if funds <= 0 or row.due_date > value_date:
            break
        funds = _pay(row, funds, order, value_date, result.items)
    if ahead and funds > 0:
        due_unpaid = any(r.due_date <= value_date and _unpaid(r) > 0 for r in rows)
        upcoming = next((r for r in rows if r.due_date > value_date and _unpaid(r) > 0), None)
        if not due_unpaid and upcoming is not None:
            funds = _pay(upcoming, funds, order, value_date, result.items)
    result.left = funds
    return result


def _unpaid(row: Installment) -> Decimal:
    return row.principal + row.interest + row.penalty - row.principal_paid - row.interest_paid - row.penalty_paid


def _snapshot(loan: Loan) -> dict:
    return {name: (str(v) if (v := getattr(loan, name)) is not None else None) for name in SNAPSHOT_FIELDS}


def _restore(snapshot: dict) -> dict:
    values = {}
    for name in SNAPSHOT_FIELDS:
        value = snapshot.get(name)
        if value is None:
            values[name] = None
        elif name in _DECIMALS:
            values[name] = Decimal(value)
        elif name in _DATES:
            values[name] = datetime.date.fromisoformat(value)
        elif name in ("schedule_version", "term_months"):
            values[name] = int(value)
        else:
            values[name] = value
    return values


# ---------------------------------------------------------------------------
# Posting
# ---------------------------------------------------------------------------
def _record(
    *,
    loan: Loan,
    actor,
    amount: Decimal,
    value_date,
    bank_reference: str,
    key: str,
    channel: str,
    kind: str,
    before: dict,
    mode: str = "",
) -> Repayment:
    try:
        with transaction.atomic():
            return Repayment.objects.create(
                loan=loan,
                kind=kind,
                amount=amount,
                value_date=value_date,
                bank_reference=bank_reference,
                channel=channel,
                idempotency_key=key or None,
                prepayment_mode=mode,
                loan_before=before,
                posted_by=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError:
        raise Conflict(
            _("Bank reference %(ref)s or this idempotency key is posted already.") % {"ref": bank_reference},
            extra={"duplicate": True},
        )


def _store_allocations(repayment: Repayment, allocated: Allocated) -> None:
    if not allocated.items:
        return
    Installment.objects.bulk_update(
        [item.row for item in allocated.items],
        ["principal_paid", "interest_paid", "penalty_paid", "status", "paid_on"],
    )
    RepaymentAllocation.objects.bulk_create(
        [
            RepaymentAllocation(
                repayment=repayment,
                installment=item.row,
                principal=item.principal,
                interest=item.interest,
                penalty=item.penalty,
                status_before=item.status_before,
                paid_on_before=item.paid_on_before,
            )
            for item in allocated.items
        ]
    )


def _settle(loan: Loan, rows: list[Installment], *, value_date, actor, reference: str, before: dict, **values) -> None:
    """Write the loan's new balances; close it when every installment is paid."""
    due_date, due_amount = next_due(rows)
    values.update(next_due_date=due_date, next_due_amount=due_amount)
    closing = values["outstanding_principal"] == 0 and all_paid(rows)
    if closing:
        values.update(status=Loan.Status.CLOSED, closed_on=value_date)
    elif loan.status == Loan.Status.OVERDUE and not any(
        r.pay_date < timezone.localdate() and _unpaid(r) > 0 for r in rows
    ):
        values["status"] = Loan.Status.ACTIVE
    released_principal = loan.principal_repaid
    loan_update(loan, **values)
    released_principal = loan.principal_repaid - released_principal
    before["line_released"] = str(
        credit_line_give_back(loan=loan, amount=released_principal, actor=actor, reason=reference)
    )
    if closing:
        before["security_released"] = collateral_release_for_loan(loan=loan, actor=actor)
        undisbursed = loan.approved_amount - loan.principal
        before["undisbursed_released"] = str(
            credit_line_give_back(loan=loan, amount=undisbursed, actor=actor, reason=reference)
        )


def _post(
    *,
    actor,
    loan: Loan,
    amount,
    value_date,
    bank_reference: str,
    idempotency_key: str | None,
    channel: str,
) -> Repayment:
    amount = _amount(amount)
    bank_reference = _reference(bank_reference, _("Bank reference"), "bank_reference")
    key = _reference(idempotency_key, _("Idempotency key"), "idempotency_key") if idempotency_key else ""
    loan = loan_lock(loan)
    found = _existing(loan=loan, bank_reference=bank_reference, key=key, amount=amount)
    if found is not None:
        return found
    _check_live(loan)
    value_date = _check_date(loan, value_date)
    rows = installments_current(loan, lock=True)
    before = _snapshot(loan)
    allocated = allocate(rows, amount, value_date, _order(loan))
    p, i, pen = allocated.total("principal"), allocated.total("interest"), allocated.total("penalty")
    credit = allocated.left
    repayment = _record(
        loan=loan,
        actor=actor,
        amount=amount,
        value_date=value_date,
        bank_reference=bank_reference,
        key=key,
        channel=channel,
        kind=Kind.REGULAR,
        before=before,
    )
    _store_allocations(repayment, allocated)
    _settle(
        loan,
        rows,
        value_date=value_date,
        actor=actor,
        reference=bank_reference,
        before=before,
        outstanding_principal=loan.outstanding_principal - p,
        principal_repaid=loan.principal_repaid + p,
        interest_paid=loan.interest_paid + i,
        penalty_paid=loan.penalty_paid + pen,
        credit_balance=loan.credit_balance + credit,
    )
    _finish(repayment, loan, before, principal=p, interest=i, penalty=pen, credit=credit, actor=actor)
    if p + i + pen:
        ledger_append(
            loan=loan,
            kind=LedgerEntry.Kind.REPAYMENT,
            value_date=value_date,
            amount=p + i + pen,
            principal=p,
            interest=i,
            penalty=pen,
            actor=actor,
            repayment=repayment,
            note=bank_reference,
        )
    _credit_held_append(loan, credit, value_date=value_date, actor=actor, repayment=repayment)
    _audit_posting(repayment, loan, actor)
    return repayment


def _finish(repayment: Repayment, loan: Loan, before: dict, *, actor, fee=ZERO, **parts) -> None:
    Repayment.objects.filter(pk=repayment.pk).update(
        loan_before=before,
        allocated_principal=parts["principal"],
        allocated_interest=parts["interest"],
        allocated_penalty=parts["penalty"],
        allocated_fee=fee,
        allocated_credit=parts["credit"],
    )
    repayment.loan_before = before
    repayment.allocated_principal = parts["principal"]
    repayment.allocated_interest = parts["interest"]
    repayment.allocated_penalty = parts["penalty"]
    repayment.allocated_fee = fee
    repayment.allocated_credit = parts["credit"]


def _credit_held_append(loan, amount, *, value_date, actor, repayment) -> None:
    """What a payment left over after its allocation: held on the loan as credit, never lost."""
    if amount:
        ledger_append(
            loan=loan,
            kind=LedgerEntry.Kind.OVERPAYMENT_CREDIT,
            value_date=value_date,
            amount=amount,
            credit=amount,
            actor=actor,
            repayment=repayment,
            note=repayment.bank_reference,
        )


def _audit_posting(repayment: Repayment, loan: Loan, actor) -> None:
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        target=repayment,
        changes={
            "loan": loan.loan_number,
            "kind": repayment.kind,
            "amount": repayment.amount,
            "value_date": repayment.value_date,
            "bank_reference": repayment.bank_reference,
            "channel": repayment.channel,
            "allocated": {
                "principal": repayment.allocated_principal,
                "interest": repayment.allocated_interest,
                "penalty": repayment.allocated_penalty,
                "fee": repayment.allocated_fee,
                "credit": repayment.allocated_credit,
            },
            "outstanding_principal": [repayment.loan_before.get("outstanding_principal"), loan.outstanding_principal],
            "status": [repayment.loan_before.get("status"), loan.status],
        },
    )


@transaction.atomic
def repayment_post(
    *,
    actor,
    loan: Loan,
    amount,
    value_date: datetime.date,
    bank_reference: str,
    idempotency_key: str | None = None,
    channel: str = Channel.ADMIN,
) -> Repayment:
    """Post a repayment received on ``value_date`` (see the module docstring for the allocation).

    The same idempotency key again returns the repayment it posted (a retry); a bank reference
    posted before is a 409 (the same statement line never posts twice).
    """
    require(actor, PERM_POST)
    if channel not in (Channel.ADMIN, Channel.API, Channel.IMPORT):
        raise ValidationFailed(_("Unknown channel."))
    return _post(
        actor=actor,
        loan=loan,
        amount=amount,
        value_date=value_date,
        bank_reference=bank_reference,
        idempotency_key=idempotency_key,
        channel=channel,
    )


# ---------------------------------------------------------------------------
# Credit held on the loan
# ---------------------------------------------------------------------------
@transaction.atomic
def loan_credit_apply(*, actor, loan: Loan, value_date: datetime.date, amount=None) -> Repayment:
    """Use credit held on the loan to pay what is due (and the next installment), like a repayment."""
    require(actor, PERM_POST)
    loan = loan_lock(loan)
    _check_live(loan)
    value_date = _check_date(loan, value_date)
    funds = loan.credit_balance if amount in (None, "") else _amount(amount)
    if funds <= 0 or funds > loan.credit_balance:
        raise ValidationFailed(
            _("The loan holds %(credit)s of credit.") % {"credit": loan.credit_balance}, extra={"field": "amount"}
        )
    rows = installments_current(loan, lock=True)
    before = _snapshot(loan)
    allocated = allocate(rows, funds, value_date, _order(loan))
    used = funds - allocated.left
    if not used:
        raise ValidationFailed(_("Nothing is due to apply the credit to."))
    p, i, pen = allocated.total("principal"), allocated.total("interest"), allocated.total("penalty")
    number = Repayment.objects.filter(loan=loan, channel=Channel.CREDIT).count() + 1
    reference = f"CREDIT-{loan.loan_number}-{number}"
    repayment = _record(
        loan=loan,
        actor=actor,
        amount=used,
        value_date=value_date,
        bank_reference=reference,
        key="",
        channel=Channel.CREDIT,
        kind=Kind.CREDIT_APPLIED,
        before=before,
    )
    _store_allocations(repayment, allocated)
    _settle(
        loan,
        rows,
        value_date=value_date,
        actor=actor,
        reference=reference,
        before=before,
        outstanding_principal=loan.outstanding_principal - p,
        principal_repaid=loan.principal_repaid + p,
        interest_paid=loan.interest_paid + i,
        penalty_paid=loan.penalty_paid + pen,
        credit_balance=loan.credit_balance - used,
    )
    _finish(repayment, loan, before, principal=p, interest=i, penalty=pen, credit=-used, actor=actor)
    ledger_append(
        loan=loan,
        kind=LedgerEntry.Kind.CREDIT_APPLIED,
        value_date=value_date,
        amount=ZERO,
        principal=p,
        interest=i,
        penalty=pen,
        credit=-used,
        actor=actor,
        repayment=repayment,
        note=reference,
    )
    _audit_posting(repayment, loan, actor)
    return repayment


@transaction.atomic
def loan_credit_refund(*, actor, loan: Loan, amount, value_date: datetime.date, reason: str) -> Loan:
    """Pay credit held on the loan back to the customer (a closed loan's too)."""
    require(actor, PERM_CREDIT)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Please give a reason."), extra={"field": "reason"})
    amount = _amount(amount)
    loan = loan_lock(loan)
    value_date = _check_date(loan, value_date)
    if amount > loan.credit_balance:
        raise ValidationFailed(
            _("The loan holds %(credit)s of credit.") % {"credit": loan.credit_balance}, extra={"field": "amount"}
        )
    before = loan.credit_balance
    loan_update(loan, credit_balance=loan.credit_balance - amount)
    ledger_append(
        loan=loan,
        kind=LedgerEntry.Kind.REFUND,
        value_date=value_date,
        amount=-amount,
        credit=-amount,
        actor=actor,
        note=reason,
    )
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        target=loan,
        changes={"credit_balance": [before, loan.credit_balance], "refunded": amount},
        reason=reason,
    )
    return loan


# ---------------------------------------------------------------------------
# Prepayment and payoff
# ---------------------------------------------------------------------------
@transaction.atomic
def loan_prepay(
    *,
    actor,
    loan: Loan,
    amount,
    value_date: datetime.date,
    bank_reference: str,
    mode: str = schedules.PrepaymentMode.LOWER_INSTALLMENT,
    full: bool = False,
    idempotency_key: str | None = None,
    channel: str = Channel.ADMIN,
) -> Repayment:
    """Prepay (提前还款) with ``amount`` received on ``value_date``; ``full`` pays the loan off
    (the amount must cover the payoff quote; anything above it is held as credit)."""
    require(actor, PERM_POST)
    try:
        mode = schedules.PrepaymentMode(mode)
    except ValueError:
        raise ValidationFailed(_("Unknown prepayment mode: %(mode)s.") % {"mode": mode}, extra={"field": "mode"})
    if channel not in (Channel.ADMIN, Channel.API, Channel.IMPORT):
        raise ValidationFailed(_("Unknown channel."))
    amount = _amount(amount)
    bank_reference = _reference(bank_reference, _("Bank reference"), "bank_reference")
    key = _reference(idempotency_key, _("Idempotency key"), "idempotency_key") if idempotency_key else ""
    loan = loan_lock(loan)
    found = _existing(loan=loan, bank_reference=bank_reference, key=key, amount=amount)
    if found is not None:
        return found
    _check_live(loan)
    value_date = _check_date(loan, value_date)
    rows = installments_current(loan, lock=True)
    quote = loan_payoff_figures(loan, rows, value_date)
    if quote.principal <= 0:
        raise ValidationFailed(_("Every installment is due: post a repayment instead of a prepayment."))
    if full and amount < quote.total:
        raise ValidationFailed(
            _("The payoff on %(day)s is %(total)s; %(amount)s does not settle the loan.")
            % {"day": value_date, "total": quote.total, "amount": amount},
            extra={"field": "amount", "payoff": str(quote.total)},
        )
    before = _snapshot(loan)
    arrears = allocate(rows, amount, value_date, _order(loan), ahead=False)
    i3, pen3 = arrears.total("interest"), arrears.total("penalty")
    ahead = [r for r in rows if r.due_date > value_date]
    paid_principal_ahead = sum((r.principal_paid for r in ahead), ZERO)
    paid_interest_ahead = sum((r.interest_paid for r in ahead), ZERO)
    pool = arrears.left + paid_principal_ahead + paid_interest_ahead
    balance, interest = quote.principal, quote.interest
    fee_rate = loan.product.prepayment_fee_rate
    if full:
        principal = balance
    else:
        principal = min(balance, ((pool - interest) / (1 + fee_rate)).quantize(CENT, ROUND_DOWN))
    fee = (principal * fee_rate).quantize(CENT, ROUND_HALF_UP)
    while principal > 0 and principal + interest + fee > pool:
        principal -= CENT
        fee = (principal * fee_rate).quantize(CENT, ROUND_HALF_UP)
    if principal <= paid_principal_ahead or principal <= 0:
        raise ValidationFailed(
            _("After the arrears and %(interest)s of interest to date, %(amount)s prepays no principal.")
            % {"interest": interest, "amount": amount},
            extra={"field": "amount"},
        )
    left = pool - principal - interest - fee
    new_rows = schedules.schedule_prepay(
        loan_terms(loan), schedule_rows(rows), on_date=value_date, principal=principal, mode=mode
    )
    version = schedule_version_write(
        loan=loan,
        old=rows,
        rows=new_rows,
        on_date=value_date,
        reason=ScheduleVersion.Reason.PREPAYMENT,
        actor=actor,
        terms={"mode": str(mode), "principal": str(principal), "amount": str(amount)},
        carry_early_payments=False,
    )
    before["version_created"] = version.number
    kind = Kind.PAYOFF if principal == balance else Kind.PREPAYMENT
    repayment = _record(
        loan=loan,
        actor=actor,
        amount=amount,
        value_date=value_date,
        bank_reference=bank_reference,
        key=key,
        channel=channel,
        kind=kind,
        before=before,
        mode=str(mode),
    )
    _store_allocations(repayment, arrears)
    outstanding = unpaid_principal(version.installments)
    principal_delta = loan.outstanding_principal - outstanding
    interest_delta = i3 + interest - paid_interest_ahead
    _settle(
        loan,
        version.installments,
        value_date=value_date,
        actor=actor,
        reference=bank_reference,
        before=before,
        outstanding_principal=outstanding,
        principal_repaid=loan.principal_repaid + principal_delta,
        interest_paid=loan.interest_paid + interest_delta,
        penalty_paid=loan.penalty_paid + pen3,
        fees_paid=loan.fees_paid + fee,
        credit_balance=loan.credit_balance + left,
        schedule_version=version.number,
        maturity_date=version.installments[-1].due_date if version.installments else value_date,
    )
    _finish(
        repayment,
        loan,
        before,
        principal=principal_delta,
        interest=interest_delta,
        penalty=pen3,
        fee=fee,
        credit=left,
        actor=actor,
    )
    ledger_append(
        loan=loan,
        kind=LedgerEntry.Kind.PREPAYMENT,
        value_date=value_date,
        amount=amount - left,
        principal=principal_delta,
        interest=interest_delta,
        penalty=pen3,
        fee=fee,
        actor=actor,
        repayment=repayment,
        note=bank_reference,
    )
    _credit_held_append(loan, left, value_date=value_date, actor=actor, repayment=repayment)
    _audit_posting(repayment, loan, actor)
    return repayment


# ---------------------------------------------------------------------------
# Reversal
# ---------------------------------------------------------------------------
@transaction.atomic
def repayment_reverse(*, actor, repayment: Repayment, reason: str) -> Repayment:
    """Undo a mistaken repayment exactly (an approver, with a reason). Only the loan's latest
    movement can be reversed: reverse later repayments first."""
    require(actor, PERM_REVERSE)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Please give a reason."), extra={"field": "reason"})
    rep = Repayment.objects.select_for_update().get(pk=repayment.pk)
    if rep.status != Repayment.Status.POSTED:
        raise InvalidTransition(_("Repayment %(ref)s is reversed already.") % {"ref": rep.bank_reference})
    if rep.posted_by_id == actor.pk:
        raise NotAllowed(_("You posted this repayment, so someone else must reverse it."))
    loan = loan_lock(rep.loan_id)
    own = LedgerEntry.objects.filter(repayment=rep)
    last_own = own.aggregate(top=Max("id"))["top"] or 0
    later = (
        LedgerEntry.objects.filter(loan=loan, id__gt=last_own)
        .exclude(repayment__status=Repayment.Status.REVERSED)
        .exclude(kind=LedgerEntry.Kind.PENALTY_ACCRUAL)
        .order_by("id")
        .first()
    )
    if later is not None:
        raise InvalidTransition(
            _("Later movements on loan %(loan)s (%(kind)s on %(day)s) must be reversed first.")
            % {"loan": loan.loan_number, "kind": later.get_kind_display(), "day": later.value_date}
        )
    before = rep.loan_before or {}
    for item in RepaymentAllocation.objects.filter(repayment=rep).select_related("installment"):
        row = item.installment
        updated = Installment.objects.filter(
            pk=row.pk,
            principal_paid__gte=item.principal,
            interest_paid__gte=item.interest,
            penalty_paid__gte=item.penalty,
        ).update(
            principal_paid=F("principal_paid") - item.principal,
            interest_paid=F("interest_paid") - item.interest,
            penalty_paid=F("penalty_paid") - item.penalty,
            status=item.status_before,
            paid_on=item.paid_on_before,
        )
        if updated != 1:
            raise Conflict()
    restored = _restore(before)
    created = before.get("version_created")
    if created:
        ScheduleVersion.objects.filter(loan=loan, number=created).update(current=False)
        ScheduleVersion.objects.filter(loan=loan, number=restored["schedule_version"]).update(current=True)
    after = _snapshot(loan)
    loan_update(loan, **restored)
    if before.get("security_released"):
        collateral_restore_for_loan(loan=loan, released=before["security_released"], actor=actor, reason=reason)
    taken = Decimal(before.get("line_released") or "0") + Decimal(before.get("undisbursed_released") or "0")
    credit_line_take_back(loan=loan, amount=taken, actor=actor, reason=f"{rep.bank_reference}: {reason}")
    sums = {
        name: sum((getattr(e, name) for e in own), ZERO)
        for name in ("amount", "principal", "interest", "penalty", "fee", "credit")
    }
    ledger_append(
        loan=loan,
        kind=LedgerEntry.Kind.REVERSAL,
        value_date=rep.value_date,
        actor=actor,
        repayment=rep,
        note=reason,
        **{name: -value for name, value in sums.items()},
    )
    updated = Repayment.objects.filter(pk=rep.pk, status=Repayment.Status.POSTED).update(
        status=Repayment.Status.REVERSED, reversed_by=actor, reversed_at=timezone.now(), reversal_reason=reason
    )
    if updated != 1:
        raise Conflict()
    rep.refresh_from_db()
    audit_record(
        action=AuditAction.TRANSITION,
        actor=actor,
        target=rep,
        changes={
            "status": [Repayment.Status.POSTED, Repayment.Status.REVERSED],
            "loan": loan.loan_number,
            "loan_restored": {k: [after[k], before.get(k)] for k in SNAPSHOT_FIELDS if after[k] != before.get(k)},
        },
        reason=reason,
    )
    return rep
