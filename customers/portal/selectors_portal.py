"""What a signed-in customer sees in the portal: reads, always through the selected customer.

Every query starts from the customer the portal selected (``request.portal_customer``), so
another customer's application or loan is simply not found (the views answer 404). Nothing
here shows what stays with the bank's staff: internal notes, scores, reviewers, who posted
a repayment, the officer's free-text reason for a reassignment.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, F, Min, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Assignment, Customer
from loans.models import Installment, Loan, LoanApplication, Repayment
from loans.selectors import application_public_offer, application_public_status
from loans.selectors.loans import installment_display_status, loan_payoff_quote
from loansite.money import ZERO, money

Status = LoanApplication.Status

# Applications a customer sees: everything filed under them. (An application whose identity
# was never verified has no customer and shows nowhere in the portal.)
APPLICATION_FIELDS = (
    "pk",
    "reference",
    "status",
    "amount",
    "term_months",
    "purpose",
    "repayment_method",
    "channel",
    "created_at",
    "submitted_at",
    "decided_at",
    "status_changed_at",
    "counter_offer",
    "approved_amount",
    "approved_term_months",
    "approved_annual_rate",
    "approved_method",
    "customer_id",
    "product__name",
    "product__name_zh",
    "product__code",
)
# The loans list and home page read only these (no schedule, no ledger).
LOAN_FIELDS = (
    "pk",
    "loan_number",
    "customer_id",
    "status",
    "principal",
    "annual_rate",
    "term_months",
    "method",
    "disbursement_date",
    "maturity_date",
    "outstanding_principal",
    "next_due_date",
    "next_due_amount",
    "days_past_due",
    "credit_balance",
    "product__name",
    "product__name_zh",
    "product__code",
)
HOME_LOANS = 5
HOME_APPLICATIONS = 5
# Applications to which the customer may add documents (asked for or not).
UPLOAD_STATUSES = (Status.SUBMITTED, Status.UNDER_REVIEW, Status.RETURNED, Status.APPROVED)
RECENT_MESSAGE_DAYS = 30


# ---------------------------------------------------------------------------
# Applications
# ---------------------------------------------------------------------------
def portal_applications(*, customer: Customer) -> QuerySet[LoanApplication]:
    """The customer's applications, newest first (what the list and the API show)."""
    return (
        LoanApplication.objects.filter(customer=customer)
        .select_related("product")
        .only(*APPLICATION_FIELDS)
        .order_by("-created_at", "-id")
    )


def portal_application_status(application: LoanApplication) -> str:
    """The status in the applicant's words (the public status page's labels)."""
    return application_public_status(application)


def portal_application_offer(application: LoanApplication) -> dict | None:
    """A counter-offer: the terms offered next to those requested (``None`` when none)."""
    offer = application_public_offer(application)
    if offer is None:
        return None
    from loans.models import RepaymentMethod

    return {
        **offer,
        "requested_term_months": application.term_months,
        "requested_method": RepaymentMethod(application.repayment_method).label if application.repayment_method else "",
    }


def portal_application_return_reason(application: LoanApplication) -> str:
    """What the officer asked for when returning the application (the latest return's reason)."""
    from loans.models import ApprovalDecision

    if application.status != Status.RETURNED:
        return ""
    reason = (
        ApprovalDecision.objects.filter(application=application, kind=ApprovalDecision.Kind.RETURN)
        .order_by("-created_at", "-id")
        .values_list("reason", flat=True)
        .first()
    )
    return reason or ""


# ---------------------------------------------------------------------------
# Loans
# ---------------------------------------------------------------------------
def portal_loans(*, customer: Customer) -> QuerySet[Loan]:
    """The customer's loans, the latest disbursed first."""
    return (
        Loan.objects.filter(customer=customer)
        .select_related("product")
        .only(*LOAN_FIELDS)
        .order_by("-disbursement_date", "-id")
    )


@dataclass
class LoanAccount:
    """One loan as its borrower sees it."""

    loan: Loan
    schedule: list[dict]
    repayments: list[Repayment]
    arrears: Decimal
    payoff: object = None  # loans.selectors.loans.PayoffQuote, or None for a loan no longer live
    totals: dict = field(default_factory=dict)


def portal_loan_account(*, loan: Loan, today: datetime.date | None = None) -> LoanAccount:
    """The schedule (each installment with its status), the repayments, the arrears and a payoff
    quote for today. Four queries whatever the length of the schedule."""
    today = today or timezone.localdate()
    labels = dict(Installment.Status.choices)
    installments = list(
        Installment.objects.filter(loan=loan, schedule_version=loan.schedule_version).order_by("number")
    )
    schedule = []
    arrears = ZERO
    for row in installments:
        shown = installment_display_status(row, today)
        if row.due_date <= today:
            arrears += row.unpaid
        schedule.append(
            {
                "row": row,
                "status": shown,
                "status_label": labels[shown],
                "total": row.total,
                "paid": row.paid,
                "unpaid": row.unpaid,
            }
        )
    repayments = list(
        Repayment.objects.filter(loan=loan)
        .only(
            "pk",
            "loan_id",
            "kind",
            "amount",
            "value_date",
            "status",
            "allocated_principal",
            "allocated_interest",
            "allocated_penalty",
            "allocated_fee",
            "allocated_credit",
        )
        .order_by("-value_date", "-id")
    )
    payoff = None
    if loan.is_live and today >= loan.disbursement_date:
        from loans.selectors.loans import loan_payoff_figures

        payoff = loan_payoff_figures(loan, installments, today)
    return LoanAccount(
        loan=loan,
        schedule=schedule,
        repayments=repayments,
        arrears=arrears,
        payoff=payoff,
        totals={
            "principal": sum((r.principal for r in installments), ZERO),
            "interest": sum((r.interest for r in installments), ZERO),
            "penalty": sum((r.penalty for r in installments), ZERO),
            "due": sum((r.total for r in installments), ZERO),
            "paid": sum((r.paid for r in installments), ZERO),
        },
    )


def portal_loan_payoff(*, loan: Loan, on_date: datetime.date | None = None):
    """The payoff quote of a live loan on a day (today by default); ``None`` for a closed loan."""
    if not loan.is_live:
        return None
    return loan_payoff_quote(loan=loan, on_date=on_date)


# ---------------------------------------------------------------------------
# My relationship manager
# ---------------------------------------------------------------------------
def _percent(value: float) -> int:
    return round(100 * float(value or 0))


def portal_match_reasons(components: dict, *, customer: Customer) -> list[dict]:
    """The match score's components in words: one sentence each, with its points and weight.

    ``components`` is what an assignment stored (``customers.matching.explain``): per component
    its value in [0, 1], its weight and the points it gave (value x weight x 100).
    """
    from customers.matching import COMPONENTS, SAME_TIER_CITY

    reasons = []
    for name in COMPONENTS:
        part = components.get(name)
        if not isinstance(part, dict):
            continue
        value = float(part.get("value") or 0)
        weight = float(part.get("weight") or 0)
        points = float(part.get("points") or 0)
        if name == "industry":
            industry = customer.get_industry_display() or _("your industry")
            text = (
                _("Your manager specialises in your industry (%(industry)s).")
                if value >= 1
                else _("Your manager does not specialise in your industry (%(industry)s).")
            ) % {"industry": industry}
            title = _("Industry expertise")
        elif name == "city":
            if value >= 1:
                text = _("Your manager works in your city.")
            elif value >= SAME_TIER_CITY:
                text = _("Your manager works in a city of the same tier as yours.")
            else:
                text = _("Your manager works in another city.")
            title = _("Location")
        elif name == "workload":
            text = _("Your manager had %(percent)s%% of their capacity free to look after you.") % {
                "percent": _percent(value)
            }
            title = _("Time for you")
        elif name == "value_fit":
            text = _("Your business's size fits your manager's seniority (a %(percent)s%% fit).") % {
                "percent": _percent(value)
            }
            title = _("Experience")
        else:  # book_quality
            text = _("Your manager's customers are in good standing (%(percent)s%% on the bank's rating scale).") % {
                "percent": _percent(value)
            }
            title = _("Track record")
        reasons.append(
            {
                "component": name,
                "title": title,
                "text": text,
                "value": value,
                "weight": weight,
                "points": round(points, 1),
                "max_points": round(100 * weight, 1),
            }
        )
    return reasons


@dataclass
class ManagerCard:
    name: str
    email: str
    branch: str
    city: str
    since: datetime.datetime | None
    matched: bool  # by the matching run (True) or assigned by the bank's staff (False)
    score: float | None
    reasons: list[dict]


def portal_manager(*, customer: Customer) -> ManagerCard | None:
    """The customer's relationship manager and why they were matched (one query)."""
    assignment = (
        Assignment.objects.filter(customer=customer, is_current=True)
        .select_related("manager__user")
        .only(
            "pk",
            "customer_id",
            "kind",
            "score",
            "components",
            "created_at",
            "manager__branch",
            "manager__city",
            "manager__user__first_name",
            "manager__user__last_name",
            "manager__user__username",
            "manager__user__email",
        )
        .first()
    )
    if assignment is not None:
        manager = assignment.manager
    elif customer.manager_id is not None:
        from customers.models import RelationshipManager

        manager = RelationshipManager.objects.select_related("user").filter(pk=customer.manager_id).first()
        if manager is None:
            return None
    else:
        return None
    from customers.reference import city_label

    user = manager.user
    components = assignment.components if assignment is not None else {}
    return ManagerCard(
        name=user.get_full_name() or user.get_username(),
        email=user.email,
        branch=manager.branch,
        city=city_label(manager.city),
        since=assignment.created_at if assignment is not None else None,
        matched=assignment is not None and assignment.kind == Assignment.Kind.MATCHING,
        score=round(assignment.score, 1) if assignment is not None and components else None,
        reasons=portal_match_reasons(components or {}, customer=customer),
    )


# ---------------------------------------------------------------------------
# Home
# ---------------------------------------------------------------------------
@dataclass
class PortalHome:
    customer: Customer
    applications: dict  # counts: total, in_progress, returned, approved, offers
    recent_applications: list[LoanApplication]
    loans: dict  # live, closed, outstanding, next_due_date, next_due_amount
    next_loans: list[Loan]
    manager: ManagerCard | None
    recent_messages: int  # sent in the last RECENT_MESSAGE_DAYS days (messages have no read state)


IN_PROGRESS = (Status.DRAFT, Status.PENDING_VERIFICATION, Status.SUBMITTED, Status.UNDER_REVIEW)


def portal_recent_messages(*, customer: Customer, days: int = RECENT_MESSAGE_DAYS) -> int:
    """How many messages the bank sent this customer in the last ``days`` days (the messages
    page's reminders and decisions on profile change requests): two counts."""
    from customers.models import PortalChangeRequest
    from loans.models.delinquency import Reminder

    since = timezone.now() - datetime.timedelta(days=days)
    reminders = Reminder.objects.filter(loan__customer=customer, status=Reminder.Status.SENT, sent_at__gte=since)
    decided = PortalChangeRequest.objects.filter(customer=customer, decided_at__gte=since)
    return reminders.count() + decided.count()


def portal_home(*, customer: Customer, account=None) -> PortalHome:
    """The home page's summary, in a constant number of queries (however many loans)."""
    counts = LoanApplication.objects.filter(customer=customer).aggregate(
        total=Count("pk"),
        in_progress=Count("pk", filter=Q(status__in=IN_PROGRESS)),
        returned=Count("pk", filter=Q(status=Status.RETURNED)),
        approved=Count("pk", filter=Q(status=Status.APPROVED)),
        offers=Count("pk", filter=Q(status=Status.APPROVED, counter_offer=True)),
    )
    recent = list(portal_applications(customer=customer)[:HOME_APPLICATIONS])
    live = Loan.objects.filter(customer=customer, status__in=Loan.LIVE)
    first_due = live.filter(next_due_date__isnull=False).order_by("next_due_date").values("next_due_date")[:1]
    totals = Loan.objects.filter(customer=customer).aggregate(
        live=Count("pk", filter=Q(status__in=Loan.LIVE)),
        closed=Count("pk", filter=~Q(status__in=Loan.LIVE)),
        overdue=Count("pk", filter=Q(status=Loan.Status.OVERDUE)),
        outstanding=Sum("outstanding_principal", filter=Q(status__in=Loan.LIVE)),
        first_due_date=Min("next_due_date", filter=Q(status__in=Loan.LIVE)),
        # Every live loan falling due on that first day, not only those the page lists.
        first_due_amount=Sum("next_due_amount", filter=Q(status__in=Loan.LIVE, next_due_date=Subquery(first_due))),
    )
    # Sums as money (two places), whatever the database returns.
    totals["outstanding"] = money(totals["outstanding"] or ZERO)
    totals["next_due_date"] = totals.pop("first_due_date")
    totals["next_due_amount"] = money(totals.pop("first_due_amount") or ZERO)
    next_loans = list(
        live.select_related("product")
        .only(*LOAN_FIELDS)
        .order_by(F("next_due_date").asc(nulls_last=True), "id")[:HOME_LOANS]
    )
    return PortalHome(
        customer=customer,
        applications=counts,
        recent_applications=recent,
        loans=totals,
        next_loans=next_loans,
        manager=portal_manager(customer=customer),
        recent_messages=portal_recent_messages(customer=customer),
    )
