"""Collateral and guarantees (担保): add, register, release; every change audited.

Both attach to an application and carry over to its loan at disbursement
(``collateral_attach_to_loan``); they are released when the loan closes
(``collateral_release_for_loan``), and by an approver at any time with a reason.
"""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record, model_snapshot
from customers.validators import normalize_resident_id, validate_resident_id
from loans.models import Collateral, CollateralHaircut, Guarantee, LoanApplication
from loansite.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from loansite.money import money
from loansite.tabular import text_has_control_characters

PERM_ADD_COLLATERAL = "loans.add_collateral"
PERM_CHANGE_COLLATERAL = "loans.change_collateral"
PERM_ADD_GUARANTEE = "loans.add_guarantee"
PERM_RELEASE = "loans.release_collateral"

# Applications whose security can still be changed (not yet decided against or given up).
OPEN_STATUSES = (
    LoanApplication.Status.DRAFT,
    LoanApplication.Status.SUBMITTED,
    LoanApplication.Status.UNDER_REVIEW,
    LoanApplication.Status.RETURNED,
    LoanApplication.Status.APPROVED,
    LoanApplication.Status.DISBURSED,
)
_GUARANTEE_FIELDS = [
    "guarantor_customer_id",
    "guarantor_name",
    "guarantor_id_number",
    "kind",
    "guaranteed_amount",
    "joint_liability",
    "status",
]


def _require(actor, perm: str) -> None:
    if actor is None or not actor.is_active or not actor.has_perm(perm):
        raise NotAllowed(_("You do not have the role needed for this action."))


def _text(value, label: str, *, max_length: int, required: bool = True, multiline: bool = False) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ValidationFailed(_("%(label)s is required.") % {"label": label})
    if len(text) > max_length or text_has_control_characters(text, multiline=multiline):
        raise ValidationFailed(
            _("%(label)s: at most %(n)s characters, no control characters.") % {"label": label, "n": max_length}
        )
    return text


def _positive_money(value, label: str) -> Decimal:
    try:
        amount = money(value)
    except ValueError:
        raise ValidationFailed(_("%(label)s: not an amount of money.") % {"label": label})
    if amount <= 0:
        raise ValidationFailed(_("%(label)s must be greater than zero.") % {"label": label})
    return amount


def _open_application(application: LoanApplication) -> LoanApplication:
    app = LoanApplication.objects.select_related("loan").filter(pk=application.pk).first()
    if app is None:
        raise ValidationFailed(_("No such application."))
    if app.status not in OPEN_STATUSES:
        raise InvalidTransition(
            _("Application %(ref)s is %(status)s; its security can no longer change.")
            % {"ref": app.reference, "status": app.get_status_display()}
        )
    loan = getattr(app, "loan", None)
    if loan is not None and not loan.is_live:
        raise InvalidTransition(_("Loan %(loan)s is closed; its security can no longer change.") % {"loan": loan})
    return app


def collateral_haircut_for(kind: str) -> Decimal:
    row = CollateralHaircut.objects.filter(kind=kind).values_list("haircut", flat=True).first()
    return row if row is not None else Decimal("0")


@transaction.atomic
def collateral_add(
    *,
    actor,
    application: LoanApplication,
    kind: str,
    owner: str,
    description: str,
    appraised_value,
    appraisal_date: datetime.date,
    appraiser: str,
    haircut=None,
) -> Collateral:
    """Propose an item of collateral; its haircut defaults to the configured one for its kind."""
    _require(actor, PERM_ADD_COLLATERAL)
    if kind not in Collateral.Kind.values:
        raise ValidationFailed(_("Unknown kind of collateral: %(kind)s.") % {"kind": kind})
    if not isinstance(appraisal_date, datetime.date) or appraisal_date > timezone.localdate():
        raise ValidationFailed(_("The appraisal date must be a date not in the future."))
    if haircut in (None, ""):
        haircut = collateral_haircut_for(kind)
    try:
        haircut = Decimal(str(haircut))
    except Exception:  # noqa: BLE001 - any unreadable value is bad input
        raise ValidationFailed(_("The haircut must be between 0 and 1 (e.g. 0.3 for 30%)."))
    if not haircut.is_finite() or not 0 <= haircut <= 1:
        raise ValidationFailed(_("The haircut must be between 0 and 1 (e.g. 0.3 for 30%)."))
    app = _open_application(application)
    item = Collateral.objects.create(
        application=app,
        loan=getattr(app, "loan", None),
        kind=kind,
        owner=_text(owner, _("Owner"), max_length=200),
        description=_text(description, _("Description"), max_length=2000, multiline=True),
        appraised_value=_positive_money(appraised_value, _("Appraised value")),
        appraisal_date=appraisal_date,
        appraiser=_text(appraiser, _("Appraiser"), max_length=200),
        haircut=haircut.quantize(Decimal("0.0001")),
        created_by=actor,
    )
    audit_record(action=AuditAction.CREATE, actor=actor, target=item, changes={"created": model_snapshot(item)})
    return item


@transaction.atomic
def collateral_register(
    *, actor, collateral: Collateral, registration_number: str, registration_date: datetime.date
) -> Collateral:
    """Record the registration of the charge (抵押登记): proposed -> registered."""
    _require(actor, PERM_CHANGE_COLLATERAL)
    number = _text(registration_number, _("Registration number"), max_length=64)
    if not isinstance(registration_date, datetime.date) or registration_date > timezone.localdate():
        raise ValidationFailed(_("The registration date must be a date not in the future."))
    item = Collateral.objects.select_for_update().get(pk=collateral.pk)
    if item.status != Collateral.Status.PROPOSED:
        raise InvalidTransition(
            _("This collateral is %(status)s; only proposed collateral is registered.")
            % {"status": item.get_status_display()}
        )
    updated = Collateral.objects.filter(pk=item.pk, status=Collateral.Status.PROPOSED).update(
        status=Collateral.Status.REGISTERED, registration_number=number, registration_date=registration_date
    )
    if updated != 1:
        raise Conflict()
    item.refresh_from_db()
    audit_record(
        action=AuditAction.TRANSITION,
        actor=actor,
        target=item,
        changes={
            "status": [Collateral.Status.PROPOSED, Collateral.Status.REGISTERED],
            "registration_number": number,
            "registration_date": registration_date,
        },
    )
    return item


def _need_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Please give a reason."), extra={"field": "reason"})
    return reason


@transaction.atomic
def collateral_release(*, actor, collateral: Collateral, reason: str) -> Collateral:
    """Release an item of collateral (an approver, with a reason)."""
    _require(actor, PERM_RELEASE)
    reason = _need_reason(reason)
    item = Collateral.objects.select_for_update().get(pk=collateral.pk)
    if item.status == Collateral.Status.RELEASED:
        raise InvalidTransition(_("This collateral is released already."))
    before = item.status
    updated = Collateral.objects.filter(pk=item.pk, status=before).update(
        status=Collateral.Status.RELEASED, released_at=timezone.now()
    )
    if updated != 1:
        raise Conflict()
    item.refresh_from_db()
    audit_record(
        action=AuditAction.TRANSITION,
        actor=actor,
        target=item,
        changes={"status": [before, Collateral.Status.RELEASED]},
        reason=reason,
    )
    return item


@transaction.atomic
def guarantee_add(
    *,
    actor,
    application: LoanApplication,
    guaranteed_amount,
    kind: str = Guarantee.Kind.GUARANTEE,
    guarantor_customer=None,
    guarantor_name: str = "",
    guarantor_id_number: str = "",
    joint_liability: bool = True,
) -> Guarantee:
    """A guarantee by a customer on file, or by a named person with a valid resident ID number."""
    _require(actor, PERM_ADD_GUARANTEE)
    if kind not in Guarantee.Kind.values:
        raise ValidationFailed(_("Unknown kind of guarantee: %(kind)s.") % {"kind": kind})
    id_number = normalize_resident_id(guarantor_id_number) if guarantor_id_number else ""
    if guarantor_customer is None:
        name = _text(guarantor_name, _("Guarantor's name"), max_length=200)
        if not id_number:
            raise ValidationFailed(
                _("Name a customer on file as guarantor, or give the person's resident ID number."),
                extra={"field": "guarantor_id_number"},
            )
    else:
        name = _text(guarantor_name or guarantor_customer.name, _("Guarantor's name"), max_length=200)
    if id_number:
        try:
            validate_resident_id(id_number)
        except ValidationError as exc:
            raise ValidationFailed(" ".join(exc.messages), extra={"field": "guarantor_id_number"})
    app = _open_application(application)
    if guarantor_customer is not None and guarantor_customer.pk == app.customer_id:
        raise ValidationFailed(_("The borrower cannot guarantee their own loan."))
    guarantee = Guarantee.objects.create(
        application=app,
        loan=getattr(app, "loan", None),
        guarantor_customer=guarantor_customer,
        guarantor_name=name,
        guarantor_id_number=id_number,
        kind=kind,
        guaranteed_amount=_positive_money(guaranteed_amount, _("Guaranteed amount")),
        joint_liability=bool(joint_liability),
        created_by=actor,
    )
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        target=guarantee,
        changes={"created": model_snapshot(guarantee, _GUARANTEE_FIELDS)},
    )
    return guarantee


@transaction.atomic
def guarantee_release(*, actor, guarantee: Guarantee, reason: str) -> Guarantee:
    _require(actor, PERM_RELEASE)
    reason = _need_reason(reason)
    updated = Guarantee.objects.filter(pk=guarantee.pk, status=Guarantee.Status.ACTIVE).update(
        status=Guarantee.Status.RELEASED, released_at=timezone.now()
    )
    if updated != 1:
        raise InvalidTransition(_("This guarantee is released already."))
    guarantee.refresh_from_db()
    audit_record(
        action=AuditAction.TRANSITION,
        actor=actor,
        target=guarantee,
        changes={"status": [Guarantee.Status.ACTIVE, Guarantee.Status.RELEASED]},
        reason=reason,
    )
    return guarantee


def collateral_attach_to_loan(*, application: LoanApplication, loan) -> None:
    """At disbursement: the application's collateral and guarantees become the loan's (in the
    caller's transaction; the disbursement's audit entry records it)."""
    Collateral.objects.filter(application=application, loan__isnull=True).update(loan=loan)
    Guarantee.objects.filter(application=application, loan__isnull=True).update(loan=loan)


def collateral_release_for_loan(*, loan, actor) -> dict:
    """When a loan closes: release its collateral and guarantees, each audited. Returns what
    they were before ({"collateral": {id: status}, "guarantees": [ids]}), so that reversing the
    repayment that closed the loan can restore them."""
    before = {"collateral": {}, "guarantees": []}
    now = timezone.now()
    for item in Collateral.objects.select_for_update().filter(loan=loan).exclude(status=Collateral.Status.RELEASED):
        if Collateral.objects.filter(pk=item.pk, status=item.status).update(
            status=Collateral.Status.RELEASED, released_at=now
        ):
            before["collateral"][str(item.pk)] = item.status
            audit_record(
                action=AuditAction.TRANSITION,
                actor=actor,
                target=item,
                changes={"status": [item.status, Collateral.Status.RELEASED], "loan_closed": loan.loan_number},
            )
    for guarantee in Guarantee.objects.select_for_update().filter(loan=loan, status=Guarantee.Status.ACTIVE):
        if Guarantee.objects.filter(pk=guarantee.pk, status=Guarantee.Status.ACTIVE).update(
            status=Guarantee.Status.RELEASED, released_at=now
        ):
            before["guarantees"].append(guarantee.pk)
            audit_record(
                action=AuditAction.TRANSITION,
                actor=actor,
                target=guarantee,
                changes={
                    "status": [Guarantee.Status.ACTIVE, Guarantee.Status.RELEASED],
                    "loan_closed": loan.loan_number,
                },
            )
    return before


def collateral_restore_for_loan(*, loan, released: dict, actor, reason: str) -> None:
    """Undo ``collateral_release_for_loan`` (a reversed payoff): each item back to its status."""
    for pk, status in (released.get("collateral") or {}).items():
        Collateral.objects.filter(pk=int(pk), loan=loan, status=Collateral.Status.RELEASED).update(
            status=status, released_at=None
        )
        audit_record(
            action=AuditAction.TRANSITION,
            actor=actor,
            target=("loans.collateral", pk, ""),
            changes={"status": [Collateral.Status.RELEASED, status]},
            reason=reason,
        )
    ids = released.get("guarantees") or []
    if ids:
        Guarantee.objects.filter(pk__in=ids, loan=loan, status=Guarantee.Status.RELEASED).update(
            status=Guarantee.Status.ACTIVE, released_at=None
        )
        for pk in ids:
            audit_record(
                action=AuditAction.TRANSITION,
                actor=actor,
                target=("loans.guarantee", pk, ""),
                changes={"status": [Guarantee.Status.RELEASED, Guarantee.Status.ACTIVE]},
                reason=reason,
            )
