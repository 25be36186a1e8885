"""Supervisors' grants of another manager's customer to an officer (row-level scoping).

A credit approver or an administrator (``customers.add_customeraccessgrant``) lets an officer
see and work on one customer outside the officer's book, with a reason and an expiry; the
grant ends at its expiry or when revoked. Both are audited. ``loansite/scoping.py`` reads the
grants in force.
"""

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from customers.models import Customer, CustomerAccessGrant
from loansite.errors import InvalidTransition, NotAllowed, ValidationFailed
from loansite.scoping import scoping_applies

GRANT_PERMISSION = "customers.add_customeraccessgrant"
REVOKE_PERMISSION = "customers.revoke_customeraccessgrant"
# A grant is a temporary exception, not a reassignment: at most this long.
GRANT_MAX_DAYS = 90


def _require(actor, perm: str) -> None:
    if actor is None or not actor.is_active or not actor.has_perm(perm):
        raise NotAllowed(_("Only a supervisor (credit approver or administrator) grants access to customers."))


def customer_access_grant_check(*, actor, user, customer: Customer, reason: str, expires_at):
    """The grant's rules (raises the domain error a form shows); returns ``(reason, expires_at)``
    as they will be stored."""
    _require(actor, GRANT_PERMISSION)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the access is granted."))
    now = timezone.now()
    if isinstance(expires_at, datetime.date) and not isinstance(expires_at, datetime.datetime):
        # A day: until the end of that day, local time.
        expires_at = timezone.make_aware(datetime.datetime.combine(expires_at, datetime.time.max))
    if expires_at is None or expires_at <= now:
        raise ValidationFailed(_("The expiry must be in the future."))
    if expires_at > now + datetime.timedelta(days=GRANT_MAX_DAYS):
        raise ValidationFailed(
            _("A grant lasts at most %(days)s days; reassign the customer for longer.") % {"days": GRANT_MAX_DAYS}
        )
    if user is None or not user.is_active or not user.is_staff:
        raise ValidationFailed(_("Access is granted to an active staff user."))
    if not scoping_applies(user):
        raise ValidationFailed(_("%(user)s already sees every customer.") % {"user": user.get_username()})
    if customer.manager_id is not None and customer.manager.user_id == user.pk:
        raise ValidationFailed(_("%(user)s already manages this customer.") % {"user": user.get_username()})
    return reason, expires_at


@transaction.atomic
def customer_access_grant(*, actor, user, customer: Customer, reason: str, expires_at) -> CustomerAccessGrant:
    """Let ``user`` see ``customer`` until ``expires_at`` (audited)."""
    reason, expires_at = customer_access_grant_check(
        actor=actor, user=user, customer=customer, reason=reason, expires_at=expires_at
    )
    grant = CustomerAccessGrant.objects.create(
        user=user, customer=customer, granted_by=actor, reason=reason, expires_at=expires_at
    )
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        target=grant,
        changes={
            "user": user.get_username(),
            "customer": customer.pk,
            "expires_at": expires_at.isoformat(),
        },
        reason=reason,
    )
    return grant


@transaction.atomic
def customer_access_revoke(*, actor, grant: CustomerAccessGrant, reason: str = "") -> CustomerAccessGrant:
    """End ``grant`` now (audited); a grant already ended cannot be revoked again."""
    _require(actor, REVOKE_PERMISSION)
    now = timezone.now()
    updated = CustomerAccessGrant.objects.filter(pk=grant.pk, revoked_at__isnull=True, expires_at__gt=now).update(
        revoked_at=now, revoked_by=actor
    )
    if updated != 1:
        raise InvalidTransition(_("This grant has already ended."))
    grant.refresh_from_db()
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        target=grant,
        changes={"revoked_at": [None, now.isoformat()]},
        reason=(reason or "").strip(),
    )
    return grant
