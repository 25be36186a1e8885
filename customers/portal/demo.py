"""Demo portal accounts for the demo's customers (``manage.py bootstrap`` prints their sign-in)."""

import secrets
import string

from django.db import transaction

from audit.models import AuditAction
from audit.services import audit_record
from customers.models import Customer, PortalAccess, PortalAccount

DEMO_PORTAL_USERS = ("portal1", "portal2", "portal3")


def _password() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16))


@transaction.atomic
def portal_demo_accounts() -> list[tuple[str, str, str]]:
    """Create the demo portal accounts that do not exist yet: ``(username, password, customers)``
    each. ``portal1`` holds two customers (to show the switch); each account's phone is its first
    customer's phone on file, as a registration would make it."""
    if PortalAccount.objects.filter(username__in=DEMO_PORTAL_USERS).exists():
        return []
    taken = PortalAccess.objects.values("customer_id")
    candidates = list(
        Customer.objects.exclude(pk__in=taken).filter(loans__isnull=False).distinct().order_by("pk")[:4]
    ) or list(Customer.objects.exclude(pk__in=taken).order_by("pk")[:4])
    if not candidates:
        return []
    groups = [candidates[:2], candidates[2:3], candidates[3:4]]
    created = []
    for username, customers in zip(DEMO_PORTAL_USERS, groups, strict=False):
        if not customers or PortalAccount.objects.filter(phone=customers[0].phone).exists():
            continue
        password = _password()
        account = PortalAccount(username=username, phone=customers[0].phone)
        account.set_password(password)
        account.save()
        for customer in customers:
            PortalAccess.objects.create(account=account, customer=customer)
        audit_record(
            action=AuditAction.CREATE,
            target=account,
            changes={"username": username, "customers": [c.pk for c in customers]},
            reason="demo portal account created by bootstrap",
        )
        created.append((username, password, ", ".join(c.name for c in customers)))
    return created
