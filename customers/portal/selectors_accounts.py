"""Reads for the portal's account pages."""

from dataclasses import dataclass
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


def portal_messages(*, customer: Customer, limit: int = MESSAGES_LIMIT) -> list[PortalMessage]:
    """What the bank sent this customer, newest first: the reminders that went out (email or text
    message) and the decisions on its profile change requests."""
    from loans.models.delinquency import Reminder

    reminders = (
        Reminder.objects.filter(loan__customer=customer, status=Reminder.Status.SENT)
        .select_related("loan")
        .order_by("-sent_at", "-id")[:limit]
    )
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
    return items[:limit]
