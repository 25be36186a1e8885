"""Rating governance: the internal rating (A-E) changes only here.

Two ways in: the rating service (``customer_rate_by_model``: the statistical model's grade
where an active PD model has scored the customer, else the expert scorecard, with its
inputs and version), or a risk analyst with a reason (``customer_rating_change``). Either
way an upgrade by more than one notch is a request that waits for an approver (someone
else holding ``customers.approve_customerrating``); everything else applies at once.
Every request, approval and refusal lands in the customer's rating history and the audit
trail. Forms, imports and the API cannot write the rating fields (``customer_update``
refuses them).
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from customers.models import Customer, CustomerRating, Rating
from loansite.errors import InvalidTransition, NotAllowed, ValidationFailed

PERM_RATE = "customers.rate_customer"
PERM_APPROVE_RATING = "customers.approve_customerrating"
RATING_ORDER = "ABCDE"
Source = CustomerRating.Source


def rating_notches_up(previous: str, new: str) -> int:
    """How many notches ``new`` is better than ``previous`` (negative: a downgrade; 0 when
    there is no previous rating)."""
    if not previous or previous not in RATING_ORDER:
        return 0
    return RATING_ORDER.index(previous) - RATING_ORDER.index(new)


def _allowed(actor, perm: str) -> bool:
    return actor is not None and actor.is_active and actor.has_perm(perm)


def _apply(request: CustomerRating, *, actor) -> Customer:
    customer = Customer.objects.select_for_update().get(pk=request.customer_id)
    before = {"rating": customer.rating, "rating_date": customer.rating_date, "rating_source": customer.rating_source}
    customer.rating = request.rating
    customer.rating_date = timezone.localdate()
    source = request.get_source_display() if request.source == Source.ANALYST else request.model_version
    customer.rating_source = str(source)[:64]
    customer.save(update_fields=["rating", "rating_date", "rating_source", "updated_at"])
    audit_record(
        action=AuditAction.SCORE,
        actor=actor,
        target=customer,
        changes={
            "rating": [before["rating"], customer.rating],
            "rating_date": [str(before["rating_date"] or ""), str(customer.rating_date)],
            "rating_source": [before["rating_source"], customer.rating_source],
            "rating_change": request.pk,
            "source": request.source,
            "model_version": request.model_version,
        },
        reason=request.reason,
    )
    return customer


def _request(*, actor, customer: Customer, rating: str, source: str, reason: str, model_version="", inputs=None):
    if rating not in Rating.values:
        raise ValidationFailed(_("The internal rating must be one of A-E."), extra={"field": "rating"})
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.rating == rating:
        return None
    if CustomerRating.objects.filter(customer=customer, status=CustomerRating.Status.PENDING).exists():
        raise InvalidTransition(
            _("A rating change of %(name)s awaits approval; approve or refuse it first.") % {"name": customer.name}
        )
    notches = rating_notches_up(customer.rating, rating)
    pending = notches > 1
    request = CustomerRating.objects.create(
        customer=customer,
        rating=rating,
        previous=customer.rating,
        source=source,
        status=CustomerRating.Status.PENDING if pending else CustomerRating.Status.APPLIED,
        model_version=model_version,
        inputs=inputs or {},
        reason=reason,
        requested_by=actor,
        decided_at=None if pending else timezone.now(),
    )
    if pending:
        audit_record(
            action=AuditAction.SCORE,
            actor=actor,
            target=customer,
            changes={
                "rating_requested": [customer.rating, rating],
                "notches_up": notches,
                "rating_change": request.pk,
                "source": source,
                "model_version": model_version,
                "needs_approval": True,
            },
            reason=reason,
        )
    else:
        _apply(request, actor=actor)
    return request


@transaction.atomic
def customer_rating_change(*, actor, customer: Customer, rating: str, reason: str) -> CustomerRating | None:
    """A risk analyst's rating, with a reason. ``None`` when it is the rating on record."""
    if not _allowed(actor, PERM_RATE):
        raise NotAllowed(_("Only risk analysts may change internal ratings."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Please give a reason for the rating."), extra={"field": "reason"})
    return _request(actor=actor, customer=customer, rating=rating, source=Source.ANALYST, reason=reason)


def customer_rating_proposal(*, customer: Customer) -> dict | None:
    """What the rating service would give: the statistical grade of the active PD model's
    latest score of the customer's applications, else the active expert scorecard's
    rating of the customer's ratios. ``None`` when neither can rate."""
    from scoring.models import ModelKind, ModelVersion, Score
    from scoring.selectors_decision import customer_expert_values, expert_result_for

    pd_version = ModelVersion.objects.filter(kind=ModelKind.PD, status=ModelVersion.Status.ACTIVE).first()
    if pd_version is not None:
        score = (
            Score.objects.filter(model_version=pd_version, application__customer=customer)
            .exclude(grade="")
            .select_related("application")
            .order_by("-created_at", "-id")
            .first()
        )
        if score is not None:
            return {
                "rating": score.grade,
                "source": Source.STATISTICAL,
                "model_version": pd_version.label,
                "inputs": {
                    "application": score.application.reference,
                    "probability": score.probability,
                    "points": score.points,
                    "grade": score.grade,
                },
            }
    result = expert_result_for(customer_expert_values(customer))
    if result is not None and result.rating:
        return {
            "rating": result.rating,
            "source": Source.EXPERT,
            "model_version": result.label,
            "inputs": result.as_json(),
        }
    return None


@transaction.atomic
def customer_rate_by_model(*, customer: Customer, actor=None) -> CustomerRating | None:
    """Rate the customer with the rating service (see :func:`customer_rating_proposal`).
    ``actor``: the analyst who asked (``None``: the system's scheduled run)."""
    if actor is not None and not _allowed(actor, PERM_RATE):
        raise NotAllowed(_("Only risk analysts may change internal ratings."))
    proposal = customer_rating_proposal(customer=customer)
    if proposal is None:
        raise ValidationFailed(
            _("Neither an active model nor the expert scorecard can rate this customer (ratios missing?).")
        )
    reason = _("Rating service: %(source)s %(version)s") % {
        "source": Source(proposal["source"]).label,
        "version": proposal["model_version"],
    }
    return _request(
        actor=actor,
        customer=customer,
        rating=proposal["rating"],
        source=proposal["source"],
        reason=reason,
        model_version=proposal["model_version"],
        inputs=proposal["inputs"],
    )


def _pending(request: CustomerRating, actor) -> CustomerRating:
    if not _allowed(actor, PERM_APPROVE_RATING):
        raise NotAllowed(_("Only approvers may decide rating upgrades."))
    request = CustomerRating.objects.select_for_update().get(pk=request.pk)
    if request.status != CustomerRating.Status.PENDING:
        raise InvalidTransition(_("This rating change is not awaiting approval."))
    if request.requested_by_id is not None and request.requested_by_id == actor.pk:
        raise NotAllowed(_("You asked for this rating change, so someone else must approve it."))
    return request


@transaction.atomic
def customer_rating_approve(*, actor, request: CustomerRating, note: str = "") -> CustomerRating:
    request = _pending(request, actor)
    updated = CustomerRating.objects.filter(pk=request.pk, status=CustomerRating.Status.PENDING).update(
        status=CustomerRating.Status.APPLIED, decided_by=actor, decided_at=timezone.now(), decision_note=note
    )
    if updated != 1:
        raise InvalidTransition(_("This rating change is not awaiting approval."))
    request.refresh_from_db()
    _apply(request, actor=actor)
    return request


@transaction.atomic
def customer_rating_refuse(*, actor, request: CustomerRating, note: str) -> CustomerRating:
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(_("Please give a reason."), extra={"field": "note"})
    request = _pending(request, actor)
    CustomerRating.objects.filter(pk=request.pk).update(
        status=CustomerRating.Status.REFUSED, decided_by=actor, decided_at=timezone.now(), decision_note=note
    )
    request.refresh_from_db()
    audit_record(
        action=AuditAction.SCORE,
        actor=actor,
        target=request.customer,
        changes={"rating_refused": [request.previous, request.rating], "rating_change": request.pk},
        reason=note,
    )
    return request
