"""Reads for a relationship manager's "My book": customers, their applications and loans,
the manager's queue and tasks. Every list is bounded (``limit``) and read in a fixed number
of queries, whatever the size of the book."""

import datetime
from dataclasses import dataclass, field

from django.apps import apps
from django.db.models import Count, Q
from django.utils import timezone

from customers.models import Customer, CustomerAccessGrant, RelationshipManager

# How far ahead "due" reaches for promises to pay and instalments.
DUE_AHEAD_DAYS = 7


@dataclass
class MyBook:
    manager: RelationshipManager | None
    customers: list = field(default_factory=list)
    customers_total: int = 0
    granted: list = field(default_factory=list)
    applications: list = field(default_factory=list)
    loans: list = field(default_factory=list)
    drafts: list = field(default_factory=list)
    returned: list = field(default_factory=list)
    documents_missing: list = field(default_factory=list)
    promises_due: list = field(default_factory=list)
    installments_due: list = field(default_factory=list)

    @property
    def tasks_total(self) -> int:
        return len(self.documents_missing) + len(self.promises_due) + len(self.installments_due)


def manager_of(user) -> RelationshipManager | None:
    return RelationshipManager.objects.filter(user_id=user.pk).first() if user and user.pk else None


def my_book(*, user, limit: int = 20, today: datetime.date | None = None) -> MyBook:
    """What ``user`` (a relationship manager, or an officer with grants) has to look after."""
    from loans.models import Installment, Loan, LoanApplication, PromiseToPay

    today = today or timezone.localdate()
    manager = manager_of(user)
    book = MyBook(manager=manager)
    mine = Customer.objects.filter(manager__user_id=user.pk)
    book.customers_total = mine.count()
    book.customers = list(
        mine.annotate(
            n_applications=Count("applications", distinct=True),
            n_live_loans=Count("loans", filter=Q(loans__status__in=Loan.LIVE), distinct=True),
        ).order_by("name")[:limit]
    )
    book.granted = list(
        CustomerAccessGrant.objects.active()
        .filter(user_id=user.pk)
        .select_related("customer", "granted_by")
        .order_by("expires_at")[:limit]
    )
    granted_ids = [grant.customer_id for grant in book.granted]

    def in_book(prefix: str = "") -> Q:
        return Q(**{f"{prefix}customer__manager__user_id": user.pk}) | Q(**{f"{prefix}customer_id__in": granted_ids})

    ids = in_book()
    applications = LoanApplication.objects.filter(ids).select_related("customer", "product")
    book.applications = list(applications.order_by("-created_at", "-id")[:limit])
    # My queue: drafts I started, and applications returned to me (or to my customers).
    book.drafts = list(
        LoanApplication.objects.filter(status=LoanApplication.Status.DRAFT, created_by_id=user.pk)
        .select_related("customer", "product")
        .order_by("-created_at")[:limit]
    )
    book.returned = list(
        LoanApplication.objects.filter(status=LoanApplication.Status.RETURNED)
        .filter(ids | Q(created_by_id=user.pk) | Q(submitted_by_id=user.pk))
        .select_related("customer", "product")
        .order_by("-updated_at")[:limit]
    )
    loans = Loan.objects.filter(ids, status__in=Loan.LIVE).select_related("customer", "product")
    book.loans = list(loans.order_by("-days_past_due", "next_due_date", "id")[:limit])
    # Tasks.
    horizon = today + datetime.timedelta(days=DUE_AHEAD_DAYS)
    book.promises_due = list(
        PromiseToPay.objects.filter(
            in_book("loan__"),
            status=PromiseToPay.Status.OPEN,
            promised_date__lte=horizon,
        )
        .select_related("loan__customer")
        .order_by("promised_date", "id")[:limit]
    )
    book.installments_due = list(
        Installment.objects.filter(
            in_book("loan__"),
            loan__status__in=Loan.LIVE,
            status__in=[Installment.Status.FUTURE, Installment.Status.DUE, Installment.Status.PARTLY_PAID],
            due_date__gte=today,
            due_date__lte=horizon,
        )
        .select_related("loan__customer")
        .order_by("due_date", "id")[:limit]
    )
    book.documents_missing = _documents_missing(in_book("application__"), limit)
    return book


def _documents_missing(in_book: Q, limit: int) -> list:
    """Open document requests on my customers' applications (when documents are installed)."""
    try:
        request_model = apps.get_model("loans", "DocumentRequest")
    except LookupError:
        return []
    return list(
        request_model.objects.filter(in_book, status="open")
        .select_related("application__customer")
        .order_by("created_at", "id")[:limit]
    )
