"""Reads for the loans app: the workbench queue, approval authority, status lookup."""

from decimal import Decimal

from django.db.models import BooleanField, Exists, Max, OuterRef, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _

from loans.models import ApprovalAuthority, ApprovalDecision, LoanApplication, LoanProduct

NO_AUTHORITY = Decimal("0.00")


def application_pending_condition() -> RawSQL:
    """``status IN ('submitted', 'under_review')`` with literal values, not bound parameters:
    SQLite uses the partial index loan_app_pending_idx only when it can see the values."""
    statuses = ", ".join(f"'{status}'" for status in LoanApplication.PENDING)
    table = LoanApplication._meta.db_table
    return RawSQL(f"{table}.status IN ({statuses})", [], output_field=BooleanField())


def application_pending(qs: QuerySet | None = None) -> QuerySet:
    qs = qs if qs is not None else LoanApplication.objects.all()
    return qs.filter(application_pending_condition())


def application_workbench_queue(qs: QuerySet | None = None) -> QuerySet:
    """The workbench's default view: the pending applications plus those returned for
    information (waiting for the officer), with literal values as above."""
    statuses = ", ".join(f"'{status}'" for status in (*LoanApplication.PENDING, LoanApplication.Status.RETURNED))
    table = LoanApplication._meta.db_table
    qs = qs if qs is not None else LoanApplication.objects.all()
    return qs.filter(RawSQL(f"{table}.status IN ({statuses})", [], output_field=BooleanField()))


def application_awaiting_second_condition() -> Exists:
    """An approval in the current review round that was not final (above the first approver's
    authority): the application waits for a second, different approver."""
    return Exists(
        ApprovalDecision.objects.filter(
            application_id=OuterRef("pk"),
            review_round=OuterRef("review_round"),
            kind=ApprovalDecision.Kind.APPROVE,
            final=False,
        )
    )


def application_awaiting_second_approval(qs: QuerySet | None = None) -> QuerySet:
    qs = qs if qs is not None else LoanApplication.objects.all()
    return qs.filter(application_awaiting_second_condition(), status=LoanApplication.Status.UNDER_REVIEW)


def application_queue(*, base: QuerySet | None = None) -> QuerySet:
    """Pending applications (submitted or under review), oldest submission first."""
    return application_pending(base).order_by("submitted_at", "id")


def application_list(*, filters: dict | None = None) -> QuerySet:
    qs = LoanApplication.objects.select_related("customer", "product")
    return qs.filter(**(filters or {}))


def approver_authority_limit(*, user) -> Decimal:
    """How much ``user`` may approve alone: their own active row, else the highest of their groups'."""
    if user is None or not getattr(user, "is_authenticated", False):
        return NO_AUTHORITY
    own = ApprovalAuthority.objects.filter(user=user, active=True).values_list("limit", flat=True).first()
    if own is not None:
        return own
    best = ApprovalAuthority.objects.filter(group__user=user, active=True).aggregate(best=Max("limit"))["best"]
    return best if best is not None else NO_AUTHORITY


def application_round_approvals(*, application: LoanApplication) -> QuerySet:
    """The approvals recorded in the application's current review round."""
    return ApprovalDecision.objects.filter(
        application=application, review_round=application.review_round, kind=ApprovalDecision.Kind.APPROVE
    )


def application_history(*, application: LoanApplication) -> QuerySet:
    return application.decisions.select_related("decider").order_by("created_at", "id")


def application_public_lookup(*, reference: str, phone: str) -> LoanApplication | None:
    """The application with this reference and this contact phone (the one given on that
    application), else ``None``. The customer's phone on record does not open it: the
    applicant proves nothing about a customer by knowing its phone.

    Both a wrong reference and a wrong phone give ``None``: callers answer the same way.
    """
    reference = (reference or "").strip().upper()
    from customers.validators import normalize_mobile_phone

    phone = normalize_mobile_phone(phone)
    if not reference or not phone:
        return None
    return (
        LoanApplication.objects.select_related("product")
        .only(
            "reference",
            "status",
            "amount",
            "submitted_at",
            "contact_phone",
            "product__name",
            "product__code",
            "counter_offer",
            "approved_amount",
            "approved_term_months",
            "approved_annual_rate",
            "approved_method",
            "term_months",
            "repayment_method",
        )
        .filter(reference=reference, contact_phone=phone)
        .first()
    )


# What the status page says: a new application and one whose identity is being checked
# read alike, so the page never tells whether the details named a customer on file.
PUBLIC_STATUS_LABELS = {
    LoanApplication.Status.PENDING_VERIFICATION: _("Received, being checked"),
    LoanApplication.Status.SUBMITTED: _("Received, being checked"),
}


def application_public_status(application: LoanApplication) -> str:
    return str(PUBLIC_STATUS_LABELS.get(application.status) or application.get_status_display())


def application_public_offer(application: LoanApplication) -> dict | None:
    """A counter-offer as the applicant sees it on the status page (``None`` when the
    application was not approved on other terms than requested)."""
    from loans.models import OfferResponse, RepaymentMethod

    decided = (LoanApplication.Status.APPROVED, LoanApplication.Status.DISBURSED)
    declined = application.offer_response == OfferResponse.DECLINED
    if not application.counter_offer or (application.status not in decided and not declined):
        return None
    rate = application.approved_annual_rate
    return {
        "amount": application.approved_amount,
        "requested_amount": application.amount,
        "term_months": application.approved_term_months,
        "annual_rate_percent": (rate * 100).normalize() if rate is not None else None,
        "method": RepaymentMethod(application.approved_method).label if application.approved_method else "",
        # "pending": the applicant is asked to accept or decline; "" when no answer is asked for.
        "response": application.offer_response,
        "responded_at": application.offer_responded_at,
    }


def product_active_list() -> QuerySet:
    return LoanProduct.objects.filter(active=True).order_by("code")


def customer_other_applications(*, application: LoanApplication, limit: int = 20) -> QuerySet:
    if application.customer_id is None:
        return LoanApplication.objects.none()
    return (
        LoanApplication.objects.filter(customer_id=application.customer_id)
        .exclude(pk=application.pk)
        .select_related("product")
        .order_by("-created_at")[:limit]
    )
