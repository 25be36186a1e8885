"""Automated decisions: after an application is scored (in the worker, never on the public
form's request), its product's decision policy and the knock-out rules in force decide
what happens:

- a rule set to decline automatically hit, and the policy declines automatically: the
  decision engine rejects it;
- any other rule hit: a decline recommendation for the reviewer (the status stays);
- no rule hit and inside the straight-through policy (amount, grade, no risk flags,
  coverage): the decision engine approves it;
- otherwise nothing is recorded beyond a referral (when straight-through is on).

The decision engine is a dedicated system account (no usable password) acting through the
same application services (row locks, conditional updates, maker-checker, credit line,
coverage), so every automated move has the same audit entries as a person's, with the rules
and the score in the reason. A share of automated decisions (the policy's sample rate) is
sampled into the review queue; an approver may reopen any automated decision within the
policy's number of days (audited).
"""

import datetime
import logging
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from loans.models import ApprovalDecision, AutomatedDecision, LoanApplication
from loans.services.applications import (
    application_approve,
    application_reject,
    application_start_review,
)
from loansite.errors import ApplicationError, InvalidTransition, NotAllowed, ValidationFailed

logger = logging.getLogger(__name__)

SYSTEM_USERNAME = "system.decision-engine"
SYSTEM_LABEL = "decision engine"
PERM_REVIEW_AUTOMATED = "loans.review_automateddecision"
_SYSTEM_PERMS = ("review_loanapplication", "approve_loanapplication")

Kind = AutomatedDecision.Kind
Review = AutomatedDecision.Review
Status = LoanApplication.Status


def decision_engine_user():
    """The system account automated decisions are made by: active (so the application
    services accept it), not staff, without a usable password (nobody signs in as it),
    holding only the review and approve permissions."""
    from django.contrib.auth.models import Permission

    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=SYSTEM_USERNAME, defaults={"is_active": True, "is_staff": False, "first_name": "Decision engine"}
    )
    if created or user.has_usable_password():
        user.set_unusable_password()
        user.save(update_fields=["password"])
    wanted = Permission.objects.filter(content_type__app_label="loans", codename__in=_SYSTEM_PERMS)
    if set(user.user_permissions.values_list("pk", flat=True)) != {p.pk for p in wanted}:
        user.user_permissions.set(wanted)
    return user_model.objects.get(pk=user.pk)  # a fresh permission cache


def _snapshot(app):
    try:
        return app.snapshot
    except (ObjectDoesNotExist, AttributeError):
        return None


def application_policy_facts(*, application: LoanApplication):
    """The facts the rules and the straight-through policy judge (point in time where the
    application has its snapshot)."""
    from customers.selectors import credit_line_active, credit_line_headroom
    from loans.models import Loan
    from risk.models import RiskEvent, WatchListEntry
    from risk.selectors import customer_is_restricted
    from scoring.policy import Facts

    app, customer = application, application.customer
    snap = _snapshot(app)
    bureau = (snap.credit_score if snap is not None else None) or customer.credit_score
    debt_ratio = snap.debt_ratio if snap is not None and snap.debt_ratio is not None else customer.debt_ratio
    events = list(
        RiskEvent.objects.filter(customer=customer, status__in=RiskEvent.ACTIVE).values_list("level", flat=True)
    )
    watched = (
        WatchListEntry.objects.filter(kind=WatchListEntry.Kind.CUSTOMER, customer=customer, active=True).exists()
        or WatchListEntry.objects.filter(
            kind=WatchListEntry.Kind.CUSTOMER, value=str(customer.pk), active=True
        ).exists()
    )
    loans = Loan.objects.filter(customer=customer, status__in=Loan.LIVE)
    overdue = loans.filter(
        Q(status=Loan.Status.OVERDUE) | Q(days_past_due__gt=0) | Q(installments__status="overdue")
    ).exists()
    headroom = credit_line_headroom(customer=customer) if credit_line_active(customer=customer) else None
    coverage_met = None
    if app.product.min_coverage_ratio is not None:
        from loans.selectors.security import application_coverage

        coverage_met = application_coverage(application=app, amount=app.amount).sufficient
    restricted = customer_is_restricted(customer.pk, "applications")
    return Facts(
        amount=app.amount,
        term_months=app.term_months,
        bureau_score=bureau,
        debt_ratio=debt_ratio,
        on_watch_list=watched,
        high_risk_event="high" in events,
        risk_flags=len(events) + int(restricted),
        loan_overdue=overdue,
        credit_line_headroom=headroom,
        product_min_amount=app.product.min_amount,
        product_max_amount=app.product.max_amount,
        product_min_term=app.product.min_term_months,
        product_max_term=app.product.max_term_months,
        grade=app.score_grade or "",
        points=app.score_points,
        coverage_met=coverage_met,
    )


def _reason(kind: str, hits: list[dict], app: LoanApplication) -> str:
    score = (
        _("score %(points)s, grade %(grade)s, PD %(pd)s (%(version)s)")
        % {
            "points": app.score_points,
            "grade": app.score_grade,
            "pd": app.score_probability,
            "version": app.score_model_version,
        }
        if app.score_grade
        else _("not scored")
    )
    rules = ", ".join(
        f"{h['kind']}" + (f" {h['threshold']}" if h.get("threshold") is not None else "") + f" (value {h['value']})"
        for h in hits
    )
    if kind == Kind.APPROVED:
        return _("Straight-through approval by the decision engine: inside policy, no rule hit; %(score)s.") % {
            "score": score
        }
    if kind == Kind.DECLINED:
        return _("Declined automatically by the decision engine: %(rules)s; %(score)s.") % {
            "rules": rules,
            "score": score,
        }
    return _("Decline recommended by the policy rules: %(rules)s; %(score)s.") % {"rules": rules, "score": score}


def application_auto_decide(*, application_id: int, draw: float | None = None) -> AutomatedDecision | None:
    """Apply the decision policy to a submitted, scored application (once per review round).
    ``draw`` in [0, 1) decides the sampling (random when not given)."""
    from scoring.policy import APPROVED, DECLINED, REFERRED, policy_decide, sample_for_review
    from scoring.selectors_decision import decision_policy_for, policy_def, policy_rules_for

    app = (
        LoanApplication.objects.select_related("product", "customer")
        .filter(pk=application_id, status=Status.SUBMITTED)
        .exclude(customer=None)
        .first()
    )
    if app is None:
        return None
    policy = decision_policy_for(app.product_id)
    if policy is None:
        return None
    if AutomatedDecision.objects.filter(application=app, review_round=app.review_round).exists():
        return None
    pdef = policy_def(policy)
    outcome = policy_decide(pdef, policy_rules_for(app.product_id), application_policy_facts(application=app))
    if outcome.kind == REFERRED and not pdef.straight_through:
        return None
    kind, checks = outcome.kind, list(outcome.checks)
    draw = random.SystemRandom().random() if draw is None else draw
    system = decision_engine_user()
    try:
        with transaction.atomic():
            decision = AutomatedDecision.objects.create(
                application=app,
                review_round=app.review_round,
                kind=kind,
                rules=outcome.hits,
                checks=checks,
                score_points=app.score_points,
                score_grade=app.score_grade or "",
                score_probability=app.score_probability,
                score_model_version=app.score_model_version or "",
                actor_label=SYSTEM_LABEL,
            )
    except IntegrityError:
        return None  # another run of this round got there first
    reason = _reason(kind, outcome.hits, app)
    if kind in (APPROVED, DECLINED):
        try:
            with transaction.atomic():
                application_start_review(actor=system, application=app, reason=reason)
                if kind == APPROVED:
                    application_approve(actor=system, application=app, reason=reason, authority=pdef.max_amount)
                else:
                    application_reject(actor=system, application=app, reason=reason)
        except ApplicationError as exc:
            # A person got there first, or approval refused (headroom, coverage ...): people decide.
            kind = Kind.REFERRED
            checks.append(f"service_refused: {exc.message}")
            logger.info("automated decision on %s referred: %s", app.reference, exc.message)
    sampled = kind in AutomatedDecision.FINAL and sample_for_review(pdef.sample_rate, draw)
    now = timezone.now()
    with transaction.atomic():
        AutomatedDecision.objects.filter(pk=decision.pk).update(
            kind=kind,
            checks=checks,
            sampled=sampled,
            review_status=Review.PENDING if sampled else Review.NONE,
            reopen_until=now + datetime.timedelta(days=pdef.reopen_days) if kind in AutomatedDecision.FINAL else None,
            created_at=now,
        )
        decision.refresh_from_db()
        audit_record(
            action=AuditAction.SYSTEM,
            actor=system,
            target=app,
            changes={
                "automated_decision": kind,
                "decision_id": decision.pk,
                "rules": outcome.hits,
                "checks": checks,
                "score": {
                    "points": app.score_points,
                    "grade": app.score_grade,
                    "probability": str(app.score_probability) if app.score_probability is not None else None,
                    "model_version": app.score_model_version,
                },
                "policy": policy.pk,
                "sampled": sampled,
            },
            reason=reason
            if kind != Kind.REFERRED
            else _("Referred to a reviewer: %(checks)s") % {"checks": ", ".join(checks)},
        )
    return decision


def _require_reviewer(actor) -> None:
    if actor is None or not actor.is_active or not actor.has_perm(PERM_REVIEW_AUTOMATED):
        raise NotAllowed(_("You do not have the role needed for this action."))


@transaction.atomic
def automated_decision_review(*, actor, decision: AutomatedDecision, note: str = "") -> AutomatedDecision:
    """A sampled decision checked by a person and confirmed."""
    _require_reviewer(actor)
    decision = AutomatedDecision.objects.select_for_update().get(pk=decision.pk)
    if decision.review_status != Review.PENDING:
        raise InvalidTransition(_("This automated decision is not waiting for review."))
    now = timezone.now()
    AutomatedDecision.objects.filter(pk=decision.pk, review_status=Review.PENDING).update(
        review_status=Review.CONFIRMED, reviewed_by=actor, reviewed_at=now, review_note=note
    )
    decision.refresh_from_db()
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        target=decision.application,
        changes={"automated_decision": decision.pk, "review": [Review.PENDING, Review.CONFIRMED]},
        reason=note,
    )
    return decision


@transaction.atomic
def automated_decision_reopen(*, actor, decision: AutomatedDecision, reason: str) -> LoanApplication:
    """Take an automated approval or decline back into review (within the policy's days):
    the application is under review again in a new round, by ``actor``; an approval's draw
    on the credit line is released."""
    _require_reviewer(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Please give a reason."), extra={"field": "reason"})
    decision = AutomatedDecision.objects.select_for_update().get(pk=decision.pk)
    if decision.kind not in AutomatedDecision.FINAL or decision.review_status == Review.REOPENED:
        raise InvalidTransition(_("Only an automated approval or decline can be reopened, once."))
    if decision.reopen_until is None or timezone.now() > decision.reopen_until:
        raise NotAllowed(_("The time to reopen this automated decision has passed."))
    app = (
        LoanApplication.objects.select_for_update()
        .select_related("customer", "credit_line")
        .get(pk=decision.application_id)
    )
    expected = Status.APPROVED if decision.kind == Kind.APPROVED else Status.REJECTED
    if app.status != expected or app.review_round != decision.review_round:
        raise InvalidTransition(
            _("Application %(ref)s is %(status)s now; its automated decision can no longer be reopened.")
            % {"ref": app.reference, "status": app.get_status_display()}
        )
    drawn, line = app.approved_amount, app.credit_line
    before = app.status
    now = timezone.now()
    updated = LoanApplication.objects.filter(pk=app.pk, status=before, version=app.version).update(
        status=Status.UNDER_REVIEW,
        status_changed_at=now,
        version=F("version") + 1,
        review_round=F("review_round") + 1,
        reviewer=actor,
        decided_by=None,
        decided_at=None,
        decision_reason="",
        approved_amount=None,
        approved_term_months=None,
        approved_annual_rate=None,
        approved_method="",
        conditions_precedent=[],
        counter_offer=False,
        offer_response="",
        offer_responded_at=None,
        credit_line=None,
    )
    if updated != 1:
        from loansite.errors import Conflict

        raise Conflict()
    app.refresh_from_db()
    if before == Status.APPROVED and line is not None and drawn:
        from customers.services import credit_line_release

        credit_line_release(
            customer=app.customer, amount=Decimal(drawn), actor=actor, reason=app.reference, credit_line=line
        )
    AutomatedDecision.objects.filter(pk=decision.pk).update(
        review_status=Review.REOPENED, reviewed_by=actor, reviewed_at=now, review_note=reason
    )
    ApprovalDecision.objects.create(
        application=app,
        decider=actor,
        kind=ApprovalDecision.Kind.REOPEN,
        review_round=app.review_round,
        amount=app.amount,
        final=False,
        reason=reason,
    )
    audit_record(
        action=AuditAction.TRANSITION,
        actor=actor,
        target=app,
        changes={
            "status": [before, Status.UNDER_REVIEW],
            "reopened_automated_decision": decision.pk,
            "automated": decision.kind,
            "credit_line_released": str(drawn) if before == Status.APPROVED and line is not None else None,
        },
        reason=reason,
    )
    return app
