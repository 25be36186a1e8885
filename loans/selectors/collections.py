"""Reads for collections: the queue, a loan's collections file, write-off eligibility, what is owed."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.utils.translation import gettext as _

from loans.models import (
    CollectionAssignment,
    CollectionCase,
    CollectionContact,
    Installment,
    LegalCase,
    Loan,
    PromiseToPay,
    Recovery,
    WriteOff,
)
from loansite.money import ZERO

LOSS = "loss"


def collections_queue(*, bucket: str | None = None, collector=None, unassigned: bool = False):
    """Overdue loans (and written-off ones still owed, when no bucket is asked), worst first,
    with their case, collector and latest promise in one query."""
    qs = Loan.objects.select_related(
        "customer", "product", "collection_case__collector", "collection_case__promise"
    ).filter(status=Loan.Status.OVERDUE)
    if bucket:
        qs = qs.filter(dpd_bucket=bucket)
    if collector is not None:
        qs = qs.filter(collection_case__collector=collector)
    if unassigned:
        qs = qs.filter(Q(collection_case__isnull=True) | Q(collection_case__collector__isnull=True))
    return qs.order_by("-days_past_due", "id")


def collections_my_loans(*, collector):
    """The loans assigned to ``collector`` that are still being collected, next action first."""
    return (
        Loan.objects.select_related("customer", "product", "collection_case__promise")
        .filter(collection_case__collector=collector, status__in=(Loan.Status.OVERDUE, Loan.Status.WRITTEN_OFF))
        .order_by(F("collection_case__next_action_date").asc(nulls_last=True), "-days_past_due", "id")
    )


def collections_bucket_counts() -> list[dict]:
    """Overdue loans per bucket: how many, how many unassigned, outstanding principal."""
    from loans.models.delinquency import DpdBucket

    rows = {
        row["dpd_bucket"]: row
        for row in Loan.objects.filter(status=Loan.Status.OVERDUE)
        .values("dpd_bucket")
        .annotate(
            loans=Count("id"),
            unassigned=Count("id", filter=Q(collection_case__isnull=True) | Q(collection_case__collector__isnull=True)),
            outstanding=Sum("outstanding_principal"),
        )
    }
    return [
        {
            "bucket": value,
            "label": label,
            "loans": rows.get(value, {}).get("loans") or 0,
            "unassigned": rows.get(value, {}).get("unassigned") or 0,
            "outstanding": rows.get(value, {}).get("outstanding") or ZERO,
        }
        for value, label in DpdBucket.choices
        if value != DpdBucket.CURRENT
    ]


def loan_amount_owed(loan: Loan) -> Decimal:
    """Everything unpaid on the current schedule (principal, interest, penalty), due or not."""
    total = Installment.objects.filter(loan=loan, schedule_version=loan.schedule_version).aggregate(
        owed=Sum(
            F("principal") + F("interest") + F("penalty") - F("principal_paid") - F("interest_paid") - F("penalty_paid")
        )
    )["owed"]
    return Decimal(total or 0).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class WriteOffCheck:
    allowed: bool
    why: str


def loan_write_off_check(loan: Loan) -> WriteOffCheck:
    """Whether the loan may be written off: live, owing principal, no credit held, and in the loss
    category or at least ``WRITE_OFF_MIN_DPD`` days past due."""
    from loans.services.writeoff import write_off_min_dpd

    if loan.status not in Loan.LIVE:
        return WriteOffCheck(
            False,
            _("Loan %(loan)s is %(status)s; only active or overdue loans can be written off.")
            % {"loan": loan.loan_number, "status": loan.get_status_display()},
        )
    if loan.outstanding_principal <= 0:
        return WriteOffCheck(False, _("Loan %(loan)s owes no principal.") % {"loan": loan.loan_number})
    if loan.credit_balance > 0:
        return WriteOffCheck(
            False,
            _("Loan %(loan)s holds %(credit)s of credit: apply or refund it first.")
            % {"loan": loan.loan_number, "credit": loan.credit_balance},
        )
    threshold = write_off_min_dpd()
    dpd = getattr(loan, "days_past_due", 0) or 0
    if getattr(loan, "risk_class", "") != LOSS and dpd < threshold:
        return WriteOffCheck(
            False,
            _(
                "Loan %(loan)s is %(dpd)s days past due and not in the loss category; a write-off needs "
                "the loss category or at least %(min)s days past due."
            )
            % {"loan": loan.loan_number, "dpd": dpd, "min": threshold},
        )
    return WriteOffCheck(True, "")


def loan_collections(loan: Loan) -> dict:
    """A loan's collections file for its page: case, assignments, contacts, promises, legal, write-off."""
    case = CollectionCase.objects.select_related("collector", "promise").filter(loan=loan).first()
    legal = list(LegalCase.objects.filter(loan=loan).select_related("opened_by").prefetch_related("events__by"))
    write_off = WriteOff.objects.select_related("approved_by").filter(loan=loan).first()
    return {
        "case": case,
        "assignments": list(
            CollectionAssignment.objects.filter(case__loan=loan).select_related("collector", "assigned_by")[:20]
        ),
        "contacts": list(CollectionContact.objects.filter(loan=loan).select_related("by")[:50]),
        "promises": list(PromiseToPay.objects.filter(loan=loan).select_related("by")[:50]),
        "legal_cases": legal,
        "legal_open": next((c for c in legal if c.status != LegalCase.Status.CLOSED), None),
        "write_off": write_off,
        "recoveries": list(Recovery.objects.filter(loan=loan).select_related("posted_by").order_by("-id")[:50]),
        "write_off_check": loan_write_off_check(loan),
        "owed": loan_amount_owed(loan),
    }
