"""Masking of sensitive identifiers: resident ID numbers and mobile phone numbers.

Lists, exports and API answers show ``138****5678`` and ``110***********1234`` to every role
without ``customers.view_identifiers``; those who have it (loan officers for their book,
credit approvers, collectors, administrators) see the full values on the customer's page and
in their exports and API answers, and every page or API answer that shows a customer's full
ID number writes an audit entry (``customer_identifiers_viewed``). The unified social credit
code is public registration data and is never masked.
"""

from audit.models import AuditAction
from audit.services import audit_record

IDENTIFIERS_PERMISSION = "customers.view_identifiers"
MASK = "*"


def identifiers_visible(user) -> bool:
    return bool(user is not None and user.is_active and user.has_perm(IDENTIFIERS_PERMISSION))


def mask_phone(value: str | None) -> str:
    """``13812345678`` -> ``138****5678`` (first 3 and last 4 kept); short values fully masked."""
    text = (value or "").strip()
    if not text:
        return ""
    if len(text) < 8:
        return MASK * len(text)
    return text[:3] + MASK * (len(text) - 7) + text[-4:]


def mask_id_number(value: str | None) -> str:
    """``110101199003071234`` -> ``110***********1234`` (region code and last 4 kept)."""
    text = (value or "").strip()
    if not text:
        return ""
    if len(text) < 8:
        return MASK * len(text)
    return text[:3] + MASK * (len(text) - 7) + text[-4:]


def phone_for(user, value: str | None) -> str:
    return (value or "") if identifiers_visible(user) else mask_phone(value)


def id_number_for(user, value: str | None) -> str:
    return (value or "") if identifiers_visible(user) else mask_id_number(value)


def customer_identifiers_viewed(*, actor, customer, where: str) -> None:
    """Record that ``actor`` was shown ``customer``'s full ID number (``where``: page or API)."""
    if not customer.id_number:
        return
    audit_record(
        action=AuditAction.EXPORT,
        actor=actor,
        target=customer,
        changes={"shown_in_full": ["id_number"], "where": where},
        reason="Full ID number shown",
    )


def application_identifiers_viewed(*, actor, application, where: str) -> None:
    """Record that ``actor`` was shown an ID number in full on ``application``'s page or answer
    (the one the applicant gave, or the matched customer's)."""
    claimed = (application.claimed_identity or {}).get("id_number")
    on_file = application.identity_match or application.customer
    if not claimed and not getattr(on_file, "id_number", None):
        return
    audit_record(
        action=AuditAction.EXPORT,
        actor=actor,
        target=application,
        changes={"shown_in_full": ["id_number"], "where": where},
        reason="Full ID number shown",
    )
