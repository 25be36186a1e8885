"""Portal accounts for tests: ``portal_account_make(customer)`` (password ``PORTAL_PASSWORD``)."""

from customers.models import PortalAccess, PortalAccount

PORTAL_PASSWORD = "Lantern-harbour-42"


def portal_account_make(*customers, username=None, password=PORTAL_PASSWORD, active=True) -> PortalAccount:
    account = PortalAccount(phone=customers[0].phone, username=username, is_active=active)
    account.set_password(password)
    account.save()
    for customer in customers:
        PortalAccess.objects.create(account=account, customer=customer)
    return account
