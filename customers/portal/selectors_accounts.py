"""Reads for the portal's account pages."""

from dataclasses import dataclass, replace
from datetime import datetime

from django.utils.translation import gettext as _

from customers.models import Customer, PortalChangeRequest

MESSAGES_LIMIT = 100


@dataclass(frozen=True)
class PortalMessage:
    at: datetime
    kind: str
    subject: str
    body: str
    new: bool = False


def _sent_reminders(customer: Customer):
    from loans.models.delinquency import Reminder

    return Reminder.objects.filter(loan__customer=customer, status=Reminder.Status.SENT)


def portal_messages(*, customer: Customer, account=None, limit: int = MESSAGES_LIMIT) -> list[PortalMessage]:
    """What the bank sent this customer, newest first: the reminders that went out (email or text
    message) and the decisions on its profile change requests. With ``account``, those after
    the last one it saw for this customer (all if it never did) are ``new``."""
    seen_at = _seen_at(account, customer) if account is not None else None
    reminders = _sent_reminders(customer).select_related("loan").order_by("-sent_at", "-id")[:limit]
    items = [
        PortalMessage(
            at=reminder.sent_at or reminder.created_at,
            kind=reminder.get_kind_display(),
            subject=reminder.subject or reminder.get_kind_display(),
            body=reminder.body,
        )
        for reminder in reminders
    ]
    decided = PortalChangeRequest.objects.filter(customer=customer, decided_at__isnull=False).order_by("-decided_at")[
        :limit
    ]
    for request in decided:
        approved = request.status == PortalChangeRequest.Status.APPROVED
        items.append(
            PortalMessage(
                at=request.decided_at,
                kind=_("Profile change request"),
                subject=_("Your profile change request was approved.")
                if approved
                else _("Your profile change request was rejected."),
                body=request.reason,
            )
        )
    items.sort(key=lambda item: item.at, reverse=True)
    if account is None:
        return items[:limit]
    return [replace(item, new=seen_at is None or item.at > seen_at) for item in items[:limit]]


def portal_messages_unread(*, account, customer: Customer) -> int:
    """How many of this customer's messages came after the last one ``account`` saw for it (all
    if it never did)."""
    seen_at = _seen_at(account, customer)
    reminders = _sent_reminders(customer)
    decided = PortalChangeRequest.objects.filter(customer=customer, decided_at__isnull=False)
    if seen_at is not None:
        from django.db.models.functions import Coalesce

        reminders = reminders.annotate(at=Coalesce("sent_at", "created_at")).filter(at__gt=seen_at)
        decided = decided.filter(decided_at__gt=seen_at)
    return reminders.count() + decided.count()


def _seen_at(account, customer: Customer):
    """When ``account`` last saw this customer's messages (None: never)."""
    from customers.models import PortalAccess

    return (
        PortalAccess.objects.filter(account=account, customer=customer)
        .values_list("messages_seen_at", flat=True)
        .first()
    )
