"""Reads of the loan book: lists, a loan's page, payoff quotes."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from loans import schedules
from loans.models import Installment, LedgerEntry, Loan, Repayment, ScheduleVersion
from loansite.money import ZERO

ARREARS = "arrears"


@dataclass(frozen=True)
class PayoffQuote:
    """What settles the loan on ``on_date``: the arrears (installments due by then and not paid),
    the principal not yet due, interest accrued on it since the current period began and the
    prepayment fee, less what was paid ahead on installments not yet due. Credit held on the
    loan is shown apart (refundable, or applied on request)."""

    on_date: datetime.date
    arrears_principal: Decimal
    arrears_interest: Decimal
    arrears_penalty: Decimal
    principal: Decimal
    interest: Decimal
    fee: Decimal
    paid_ahead: Decimal
    credit_held: Decimal

    @property
    def arrears(self) -> Decimal:
        return self.arrears_principal + self.arrears_interest + self.arrears_penalty

    @property
    def total(self) -> Decimal:
        return self.arrears + self.principal + self.interest + self.fee - self.paid_ahead

    def as_dict(self) -> dict:
        return {
            "on_date": self.on_date.isoformat(),
            "arrears_principal": str(self.arrears_principal),
            "arrears_interest": str(self.arrears_interest),
            "arrears_penalty": str(self.arrears_penalty),
            "principal": str(self.principal),
            "interest": str(self.interest),
            "fee": str(self.fee),
            "paid_ahead": str(self.paid_ahead),
            "total": str(self.total),
            "credit_held": str(self.credit_held),
        }


def loan_payoff_figures(loan: Loan, installments: list[Installment], on_date: datetime.date) -> PayoffQuote:
    """The quote from a loan's current installments (the prepayment service uses the same figures)."""
    from loans.services.accounts import loan_terms, schedule_rows

    due = [row for row in installments if row.due_date <= on_date]
    ahead = [row for row in installments if row.due_date > on_date]
    rows = schedule_rows(installments)
    terms = loan_terms(loan)
    if ahead:
        quote = schedules.payoff_quote(rows, on_date, terms=terms, fee_rate=loan.product.prepayment_fee_rate)
        principal, interest, fee = quote.principal, quote.interest, quote.fee
    else:
        principal = interest = fee = ZERO
    return PayoffQuote(
        on_date=on_date,
        arrears_principal=sum((r.principal - r.principal_paid for r in due), ZERO),
        arrears_interest=sum((r.interest - r.interest_paid for r in due), ZERO),
        arrears_penalty=sum((r.penalty - r.penalty_paid for r in due), ZERO),
        principal=principal,
        interest=interest,
        fee=fee,
        paid_ahead=sum((r.principal_paid + r.interest_paid for r in ahead), ZERO),
        credit_held=loan.credit_balance,
    )


def loan_payoff_quote(*, loan: Loan, on_date: datetime.date | None = None) -> PayoffQuote:
    from loans.services.accounts import installments_current

    on_date = on_date or timezone.localdate()
    if on_date < loan.disbursement_date:
        raise schedules.ScheduleError("The date is before the disbursement date.")
    return loan_payoff_figures(loan, installments_current(loan), on_date)


def loan_list(*, filters: dict | None = None) -> QuerySet:
    """The loan book with what its list shows (customer, product, manager) in one query."""
    return (
        Loan.objects.select_related("customer__manager__user", "product")
        .filter(**(filters or {}))
        .order_by("-disbursement_date", "-id")
    )


def loan_schedule(*, loan: Loan, version: int | None = None) -> QuerySet:
    return Installment.objects.filter(loan=loan, schedule_version=version or loan.schedule_version).order_by("number")


def installment_display_status(row: Installment, today: datetime.date) -> str:
    """Paid, partly paid, due (on or before today, unpaid) or future."""
    if row.status == Installment.Status.PAID:
        return Installment.Status.PAID
    if row.status == Installment.Status.OVERDUE:
        return Installment.Status.OVERDUE
    if row.principal_paid or row.interest_paid or row.penalty_paid:
        return Installment.Status.PARTLY_PAID
    return Installment.Status.DUE if row.due_date <= today else Installment.Status.FUTURE


def loan_ledger(*, loan: Loan) -> QuerySet:
    return LedgerEntry.objects.filter(loan=loan).select_related("actor", "repayment").order_by("id")


def loan_repayments(*, loan: Loan) -> QuerySet:
    return Repayment.objects.filter(loan=loan).select_related("posted_by", "reversed_by").order_by("-id")


def loan_schedule_versions(*, loan: Loan) -> QuerySet:
    return ScheduleVersion.objects.filter(loan=loan).select_related("created_by").order_by("number")


def loan_last_value_date(loan: Loan) -> datetime.date:
    last = LedgerEntry.objects.filter(loan=loan).order_by("-value_date").values_list("value_date", flat=True).first()
    return last or loan.disbursement_date
