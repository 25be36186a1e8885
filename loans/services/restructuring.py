"""Restructuring (展期 / 重组): a live loan's remaining principal rescheduled from a date, on an
approver's decision with a reason.

The old schedule is kept as a version (its installments as they stood); the new one starts on
the restructuring date (installments due by then stay as they are, paid or not), with more or
fewer installments (an extension moves the maturity), another method or rate and optional
grace months; interest accrued to the date is carried into the first new installment. What was
paid ahead on replaced installments is carried onto the new ones. The loan is flagged
restructured; everything is audited and recorded in the ledger.
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from loans import schedules
from loans.models import LedgerEntry, Loan, RepaymentMethod, ScheduleVersion
from loans.services.accounts import (
    installments_current,
    ledger_append,
    loan_lock,
    loan_terms,
    loan_update,
    months_between,
    next_due,
    require,
    schedule_rows,
    schedule_version_write,
)
from loansite.errors import InvalidTransition, ValidationFailed
from loansite.money import ZERO

PERM_RESTRUCTURE = "loans.restructure_loan"
AHEAD_DAYS = 31


@transaction.atomic
def loan_restructure(
    *,
    actor,
    loan: Loan,
    on_date: datetime.date,
    reason: str,
    term_months: int | None = None,
    method: str | None = None,
    annual_rate=None,
    grace_months: int | None = None,
) -> Loan:
    """Reschedule the outstanding principal from ``on_date`` over ``term_months`` installments
    from the next due date (default: as many as remain), with ``method`` / ``annual_rate``
    (within the product's range) / ``grace_months`` if given."""
    require(actor, PERM_RESTRUCTURE)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Please give a reason."), extra={"field": "reason"})
    if term_months is None and not method and annual_rate in (None, "") and not grace_months:
        raise ValidationFailed(_("Change the term, the method, the rate or give grace months."))
    loan = loan_lock(loan)
    if not loan.is_live:
        raise InvalidTransition(
            _("Loan %(loan)s is %(status)s; only live loans are restructured.")
            % {"loan": loan.loan_number, "status": loan.get_status_display()},
            extra={"status": loan.status},
        )
    from loans.selectors.loans import loan_last_value_date

    if not isinstance(on_date, datetime.date) or isinstance(on_date, datetime.datetime):
        raise ValidationFailed(_("A restructuring date is required."), extra={"field": "on_date"})
    last = loan_last_value_date(loan)
    if on_date < last or on_date > timezone.localdate() + datetime.timedelta(days=AHEAD_DAYS):
        raise ValidationFailed(
            _("The restructuring date must be from the loan's last movement (%(day)s) to %(n)s days ahead.")
            % {"day": last, "n": AHEAD_DAYS},
            extra={"field": "on_date"},
        )
    if method and method not in RepaymentMethod.values:
        raise ValidationFailed(_("Unknown repayment method: %(value)s.") % {"value": method}, extra={"field": "method"})
    rate = None
    if annual_rate not in (None, ""):
        try:
            rate = Decimal(str(annual_rate)).quantize(Decimal("0.0001"))
        except InvalidOperation:
            raise ValidationFailed(_("Not a rate (e.g. 0.0850 for 8.5%)."), extra={"field": "annual_rate"})
        product = loan.product
        if not product.annual_rate_min <= rate <= product.annual_rate_max:
            raise ValidationFailed(
                _("The annual rate must be between %(min)s and %(max)s for this product.")
                % {"min": product.annual_rate_min, "max": product.annual_rate_max},
                extra={"field": "annual_rate"},
            )
    old = installments_current(loan, lock=True)
    terms = loan_terms(loan)
    rows = schedules.schedule_restructure(
        terms,
        schedule_rows(old),
        on_date=on_date,
        term_months=term_months,
        method=method or None,
        annual_rate=rate,
        grace_months=grace_months or 0,
    )
    new_method = method or loan.method
    new_rate = rate if rate is not None else loan.annual_rate
    version = schedule_version_write(
        loan=loan,
        old=old,
        rows=rows,
        on_date=on_date,
        reason=ScheduleVersion.Reason.RESTRUCTURE,
        actor=actor,
        terms={
            "method": new_method,
            "annual_rate": str(new_rate),
            "term_months": term_months,
            "grace_months": grace_months or 0,
            "previous": {
                "method": loan.method,
                "annual_rate": str(loan.annual_rate),
                "maturity": str(loan.maturity_date),
            },
        },
        note=reason,
    )
    left = version.interest_left_over
    before = {
        "method": loan.method,
        "annual_rate": loan.annual_rate,
        "maturity_date": loan.maturity_date,
        "schedule_version": loan.schedule_version,
        "restructured": loan.restructured,
    }
    due_date, due_amount = next_due(version.installments)
    maturity = version.installments[-1].due_date
    loan_update(
        loan,
        method=new_method,
        annual_rate=new_rate,
        maturity_date=maturity,
        term_months=months_between(loan.disbursement_date, maturity),
        schedule_version=version.number,
        restructured=True,
        interest_paid=loan.interest_paid - left,
        credit_balance=loan.credit_balance + left,
        next_due_date=due_date,
        next_due_amount=due_amount,
    )
    ledger_append(
        loan=loan,
        kind=LedgerEntry.Kind.RESTRUCTURE,
        value_date=on_date,
        amount=ZERO,
        interest=-left,
        credit=left,
        actor=actor,
        note=reason,
    )
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        target=loan,
        changes={
            "restructured": [before["restructured"], True],
            "method": [before["method"], new_method],
            "annual_rate": [before["annual_rate"], new_rate],
            "maturity_date": [before["maturity_date"], maturity],
            "schedule_version": [before["schedule_version"], version.number],
            "on_date": on_date,
        },
        reason=reason,
    )
    return loan
