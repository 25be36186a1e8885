"""Five-category classification (五级分类) by hand: downgrades, upgrade requests and approvals.

The daily close classifies every loan by days past due, the restructuring floor and the manual
floor (``Loan.risk_class_manual``); these services move the manual floor:
- a downgrade (risk analyst, with a reason) applies at once and sets the floor;
- an upgrade is requested (risk analyst, with a reason) and applied only when someone else with
  the approval permission (credit approver) approves it; it never goes below what the rules
  demand (days past due, restructuring), so the loan's class becomes the worse of the two.
Each change is one ``ClassificationChange`` row and one audit entry.
"""

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from loans.models import (
    RISK_CLASS_ORDER,
    ClassificationChange,
    ClassificationThreshold,
    CloseSettings,
    DelinquencySignal,
    Loan,
    RiskClass,
    ScheduleVersion,
)
from loans.models.delinquency import risk_class_worse
from loans.services.accounts import loan_lock, require
from loansite.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed

PERM_DOWNGRADE = "loans.downgrade_classificationchange"
PERM_APPROVE = "loans.approve_classificationchange"


def risk_class_for_dpd(days_past_due: int, thresholds: list[tuple[str, int]] | None = None) -> str:
    """The category the thresholds give for a number of days past due."""
    if thresholds is None:
        thresholds = list(ClassificationThreshold.objects.values_list("risk_class", "min_days_past_due"))
    result = RiskClass.NORMAL.value
    for risk_class, days in thresholds:
        if days > 0 and days_past_due >= days:
            result = risk_class_worse(result, risk_class)
    return result


def loan_rule_class(loan: Loan, *, on: datetime.date | None = None) -> str:
    """What the rules demand at least: days past due, and the restructuring floor."""
    from loans.close import _months_before

    on = on or timezone.localdate()
    result = risk_class_for_dpd(loan.days_past_due)
    if loan.restructured:
        settings = CloseSettings.objects.first() or CloseSettings()
        cutoff = _months_before(on, settings.observation_months)
        if ScheduleVersion.objects.filter(
            loan=loan, reason=ScheduleVersion.Reason.RESTRUCTURE, effective_date__gt=cutoff
        ).exists():
            result = risk_class_worse(result, settings.restructured_class)
    return result


def _check_class(value: str) -> str:
    if value not in RISK_CLASS_ORDER:
        raise ValidationFailed(_("Unknown category."), extra={"field": "to_class"})
    return value


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Please give a reason."), extra={"field": "reason"})
    return reason


@transaction.atomic
def loan_classification_downgrade(*, actor, loan: Loan, to_class: str, reason: str) -> ClassificationChange:
    require(actor, PERM_DOWNGRADE)
    to_class, reason = _check_class(to_class), _reason(reason)
    loan = loan_lock(loan)
    if not loan.is_live:
        raise InvalidTransition(_("Only live loans are classified."))
    if RISK_CLASS_ORDER[to_class] <= RISK_CLASS_ORDER[loan.risk_class]:
        raise ValidationFailed(
            _("A downgrade must be to a worse category than %(current)s.") % {"current": loan.get_risk_class_display()},
            extra={"field": "to_class"},
        )
    today = timezone.localdate()
    before = loan.risk_class
    updated = Loan.objects.filter(pk=loan.pk, risk_class=before).update(risk_class=to_class, risk_class_manual=to_class)
    if updated != 1:
        raise Conflict()
    change = ClassificationChange.objects.create(
        loan=loan,
        date=today,
        from_class=before,
        to_class=to_class,
        source=ClassificationChange.Source.MANUAL,
        status=ClassificationChange.Status.APPLIED,
        reason=reason,
        days_past_due=loan.days_past_due,
        requested_by=actor,
        decided_at=timezone.now(),
    )
    DelinquencySignal.objects.get_or_create(
        loan=loan,
        date=today,
        kind=DelinquencySignal.Kind.DOWNGRADE,
        defaults={"customer_id": loan.customer_id, "detail": {"from": before, "to": to_class, "manual": True}},
    )
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        target=loan,
        changes={"risk_class": [before, to_class], "classification_change": change.pk},
        reason=reason,
    )
    return change


@transaction.atomic
def loan_classification_request_upgrade(*, actor, loan: Loan, to_class: str, reason: str) -> ClassificationChange:
    require(actor, PERM_DOWNGRADE)
    to_class, reason = _check_class(to_class), _reason(reason)
    loan = loan_lock(loan)
    if not loan.is_live:
        raise InvalidTransition(_("Only live loans are classified."))
    if RISK_CLASS_ORDER[to_class] >= RISK_CLASS_ORDER[loan.risk_class]:
        raise ValidationFailed(
            _("An upgrade must be to a better category than %(current)s.") % {"current": loan.get_risk_class_display()},
            extra={"field": "to_class"},
        )
    floor = loan_rule_class(loan)
    if RISK_CLASS_ORDER[to_class] < RISK_CLASS_ORDER[floor]:
        raise ValidationFailed(
            _("The rules keep this loan at least %(floor)s (days past due or restructuring).")
            % {"floor": RiskClass(floor).label},
            extra={"field": "to_class"},
        )
    if ClassificationChange.objects.filter(loan=loan, status=ClassificationChange.Status.PENDING).exists():
        raise Conflict(_("An upgrade of this loan is waiting for approval already."))
    change = ClassificationChange.objects.create(
        loan=loan,
        date=timezone.localdate(),
        from_class=loan.risk_class,
        to_class=to_class,
        source=ClassificationChange.Source.MANUAL,
        status=ClassificationChange.Status.PENDING,
        reason=reason,
        days_past_due=loan.days_past_due,
        requested_by=actor,
    )
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        target=change,
        changes={"loan": loan.loan_number, "from": loan.risk_class, "to": to_class, "status": change.status},
        reason=reason,
    )
    return change


def _pending(change: ClassificationChange, actor) -> ClassificationChange:
    change = ClassificationChange.objects.select_for_update().get(pk=change.pk)
    if change.status != ClassificationChange.Status.PENDING:
        raise InvalidTransition(_("This classification change is decided already."))
    if change.requested_by_id == actor.pk:
        raise NotAllowed(_("You requested this upgrade, so someone else must decide it."))
    return change


@transaction.atomic
def classification_change_approve(*, actor, change: ClassificationChange, note: str = "") -> ClassificationChange:
    require(actor, PERM_APPROVE)
    change = _pending(change, actor)
    loan = loan_lock(change.loan_id)
    before = loan.risk_class
    new_class = risk_class_worse(change.to_class, loan_rule_class(loan))
    manual = "" if change.to_class == RiskClass.NORMAL else change.to_class
    updated = ClassificationChange.objects.filter(pk=change.pk, status=ClassificationChange.Status.PENDING).update(
        status=ClassificationChange.Status.APPLIED,
        approved_by=actor,
        decided_at=timezone.now(),
        decision_note=(note or "").strip(),
        from_class=before,
        to_class=new_class,
    )
    if updated != 1:
        raise Conflict()
    Loan.objects.filter(pk=loan.pk).update(risk_class=new_class, risk_class_manual=manual)
    change.refresh_from_db()
    audit_record(
        action=AuditAction.APPROVE,
        actor=actor,
        target=loan,
        changes={"risk_class": [before, new_class], "classification_change": change.pk},
        reason=change.reason,
    )
    return change


@transaction.atomic
def classification_change_refuse(*, actor, change: ClassificationChange, note: str) -> ClassificationChange:
    require(actor, PERM_APPROVE)
    note = _reason(note)
    change = _pending(change, actor)
    updated = ClassificationChange.objects.filter(pk=change.pk, status=ClassificationChange.Status.PENDING).update(
        status=ClassificationChange.Status.REFUSED, approved_by=actor, decided_at=timezone.now(), decision_note=note
    )
    if updated != 1:
        raise Conflict()
    change.refresh_from_db()
    audit_record(
        action=AuditAction.REJECT,
        actor=actor,
        target=change,
        changes={"status": [ClassificationChange.Status.PENDING, ClassificationChange.Status.REFUSED]},
        reason=note,
    )
    return change
