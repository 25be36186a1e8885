"""Credit lines (授信): grant, change, draw and release. ``used`` never exceeds ``limit``.

Draws and releases are conditional ``UPDATE ... WHERE used + amount <= limit`` statements
(safe on SQLite, where ``select_for_update`` is a no-op) after locking the row, and a
check constraint backs them in the database.
"""

import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record, changes_between, model_snapshot
from customers.models import CreditLine, Customer
from loansite.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from loansite.money import ZERO, money

_SNAPSHOT = ["limit", "used", "valid_from", "valid_to", "status"]


def _require(actor, perm: str) -> None:
    """Granting a line or changing its limit is a credit decision, whichever screen asks."""
    if actor is None or not actor.is_active or not actor.has_perm(perm):
        raise NotAllowed(_("You do not have the role needed to grant or change credit lines."))


def _positive(amount) -> Decimal:
    try:
        amount = money(amount)
    except ValueError:
        raise ValidationFailed(_("Not an amount of money: %(value)s.") % {"value": amount})
    if amount <= ZERO:
        raise ValidationFailed(_("The amount must be greater than zero."))
    return amount


@transaction.atomic
def credit_line_grant(
    *,
    customer: Customer,
    limit,
    valid_from: datetime.date,
    valid_to: datetime.date,
    actor,
    reason: str = "",
) -> CreditLine:
    """Open a new active line. A customer has at most one active line: change that one instead."""
    _require(actor, "customers.add_creditline")
    limit = money(limit)
    if limit <= ZERO:
        raise ValidationFailed(_("The credit limit must be greater than zero."))
    if valid_to < valid_from:
        raise ValidationFailed(_("The line must end on or after the day it starts."))
    Customer.objects.select_for_update().filter(pk=customer.pk).first()
    if CreditLine.objects.filter(customer=customer, status=CreditLine.Status.ACTIVE).exists():
        raise Conflict(_("The customer already has an active credit line; change it instead."))
    try:
        with transaction.atomic():  # the one-active-line constraint settles a race the check above missed
            line = CreditLine.objects.create(
                customer=customer, limit=limit, valid_from=valid_from, valid_to=valid_to, created_by=actor
            )
    except IntegrityError:
        raise Conflict(_("The customer already has an active credit line; change it instead."))
    audit_record(
        action=AuditAction.CREATE, actor=actor, target=line, changes=model_snapshot(line, _SNAPSHOT), reason=reason
    )
    return line


@transaction.atomic
def credit_line_change(
    *,
    credit_line: CreditLine,
    actor,
    reason: str = "",
    limit=None,
    valid_to: datetime.date | None = None,
    status: str | None = None,
) -> CreditLine:
    """Change the limit, the end date or the status (per ``CreditLine.TRANSITIONS``)."""
    _require(actor, "customers.change_creditline")
    line = CreditLine.objects.select_for_update().get(pk=credit_line.pk)
    before = model_snapshot(line, _SNAPSHOT)
    if status is not None and status != line.status:
        if status not in CreditLine.TRANSITIONS.get(line.status, set()):
            raise InvalidTransition(
                _("A credit line cannot go from %(old)s to %(new)s.") % {"old": line.status, "new": status}
            )
        if status == CreditLine.Status.ACTIVE and (
            CreditLine.objects.filter(customer_id=line.customer_id, status=CreditLine.Status.ACTIVE)
            .exclude(pk=line.pk)
            .exists()
        ):
            raise Conflict(_("The customer already has another active credit line."))
    updates = {}
    if limit is not None:
        limit = money(limit)
        if limit < ZERO:
            raise ValidationFailed(_("The credit limit cannot be negative."))
        updates["limit"] = limit
    if valid_to is not None:
        if valid_to < line.valid_from:
            raise ValidationFailed(_("The line must end on or after the day it starts."))
        updates["valid_to"] = valid_to
    if status is not None:
        updates["status"] = status
    if not updates:
        return line
    query = CreditLine.objects.filter(pk=line.pk, status=line.status)
    if "limit" in updates:
        query = query.filter(used__lte=updates["limit"])
    if query.update(**updates, updated_at=timezone.now()) != 1:
        if "limit" in updates and updates["limit"] < line.used:
            raise ValidationFailed(
                _("The new limit %(limit)s is below what is already used (%(used)s).")
                % {"limit": updates["limit"], "used": line.used}
            )
        raise Conflict()
    line.refresh_from_db()
    audit_record(
        action=AuditAction.TRANSITION if "status" in updates and status != before["status"] else AuditAction.UPDATE,
        actor=actor,
        target=line,
        changes=changes_between(before, model_snapshot(line, _SNAPSHOT)),
        reason=reason,
    )
    return line


@transaction.atomic
def credit_line_use(
    *,
    customer: Customer,
    amount,
    actor,
    reason: str = "",
    on: datetime.date | None = None,
    credit_line: CreditLine | None = None,
) -> CreditLine:
    """Draw ``amount`` on the customer's active line valid ``on`` (today); never past the limit.

    With ``credit_line``: draw on that line again (a reversed repayment takes back the headroom
    it gave), whatever its dates, unless it is closed; never past the limit either.
    """
    amount = _positive(amount)
    on = on or timezone.localdate()
    if credit_line is not None:
        line = CreditLine.objects.select_for_update().filter(pk=credit_line.pk, customer=customer).first()
        if line is None or line.status == CreditLine.Status.CLOSED:
            raise ValidationFailed(_("The credit line is closed; nothing can be drawn on it."))
        statuses = [line.status]
    else:
        line = (
            CreditLine.objects.select_for_update()
            .filter(customer=customer, status=CreditLine.Status.ACTIVE, valid_from__lte=on, valid_to__gte=on)
            .first()
        )
        statuses = [CreditLine.Status.ACTIVE]
    if line is None:
        raise ValidationFailed(_("The customer has no active credit line valid on %(day)s.") % {"day": on})
    updated = CreditLine.objects.filter(pk=line.pk, status__in=statuses, used__lte=F("limit") - amount).update(
        used=F("used") + amount, updated_at=timezone.now()
    )
    if updated != 1:
        line.refresh_from_db()
        raise ValidationFailed(
            _("The amount %(amount)s exceeds the available credit line %(available)s.")
            % {"amount": amount, "available": line.available},
            extra={"available": str(line.available)},
        )
    before = line.used
    line.refresh_from_db()
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        target=line,
        changes={"used": [before, line.used], "drawn": amount},
        reason=reason,
    )
    return line


@transaction.atomic
def credit_line_release(
    *, customer: Customer, amount, actor, reason: str = "", credit_line: CreditLine | None = None
) -> CreditLine:
    """Give ``amount`` back (a repayment or a cancelled draw): to ``credit_line`` when given (the
    line a loan drew on), else the active line first, else the latest one."""
    amount = _positive(amount)
    if credit_line is not None:
        line = CreditLine.objects.select_for_update().filter(pk=credit_line.pk, customer=customer).first()
        if line is None or line.used < amount:
            raise ValidationFailed(_("Nothing to release: no credit line has %(amount)s in use.") % {"amount": amount})
        return _release(line, amount, actor=actor, reason=reason)
    line = (
        CreditLine.objects.select_for_update()
        .filter(customer=customer, used__gte=amount)
        .exclude(status=CreditLine.Status.CLOSED)
        .order_by("-valid_to", "-pk")
        .first()
    )
    active = CreditLine.objects.filter(customer=customer, status=CreditLine.Status.ACTIVE, used__gte=amount).first()
    line = active or line
    if line is None:
        raise ValidationFailed(_("Nothing to release: no credit line has %(amount)s in use.") % {"amount": amount})
    return _release(line, amount, actor=actor, reason=reason)


def _release(line: CreditLine, amount: Decimal, *, actor, reason: str) -> CreditLine:
    updated = CreditLine.objects.filter(pk=line.pk, used__gte=amount).update(
        used=F("used") - amount, updated_at=timezone.now()
    )
    if updated != 1:
        raise Conflict()
    before = line.used
    line.refresh_from_db()
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        target=line,
        changes={"used": [before, line.used], "released": amount},
        reason=reason,
    )
    return line
