"""A customer's business with the bank at a glance (the customer page's overview)."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Sum

from loans.models import ApprovalDecision, Loan, LoanApplication

ZERO = Decimal("0.00")


@dataclass
class CustomerOverview:
    applications: int = 0
    pending: int = 0
    approved: int = 0
    rejected: int = 0
    requested_total: Decimal = ZERO
    decisions: int = 0
    live_loans: int = 0
    exposure: Decimal = ZERO
    recent: list = field(default_factory=list)


def customer_overview(*, customer, recent: int = 20) -> CustomerOverview:
    """Applications by outcome, the decisions taken on them, live loans and their outstanding
    principal (the exposure), and the latest applications; a fixed number of queries."""
    overview = CustomerOverview()
    applications = LoanApplication.objects.filter(customer=customer)
    by_status = dict(applications.values_list("status").annotate(n=Count("id")).order_by())
    S = LoanApplication.Status
    overview.applications = sum(by_status.values())
    overview.pending = sum(by_status.get(status, 0) for status in LoanApplication.PENDING)
    overview.approved = sum(by_status.get(status, 0) for status in (S.APPROVED, S.DISBURSED, S.CANCELLED))
    overview.rejected = by_status.get(S.REJECTED, 0)
    overview.requested_total = applications.aggregate(total=Sum("amount"))["total"] or ZERO
    overview.decisions = ApprovalDecision.objects.filter(application__customer=customer).count()
    live = Loan.objects.filter(customer=customer, status__in=Loan.LIVE).aggregate(
        n=Count("id"), total=Sum("outstanding_principal")
    )
    overview.live_loans = live["n"] or 0
    overview.exposure = live["total"] or ZERO
    overview.recent = list(applications.select_related("product").order_by("-created_at", "-id")[:recent])
    return overview
