import pytest

from tests.customers.factories import CustomerFactory
from tests.customers.portal.factories import PORTAL_PASSWORD, portal_account_make


@pytest.fixture
def customer(db):
    return CustomerFactory()


@pytest.fixture
def account(customer):
    return portal_account_make(customer, username="lanterns")


@pytest.fixture
def portal_client(client, account):
    """A browser signed in to the portal as ``account``."""
    response = client.post("/portal/login/", {"login": account.phone, "password": PORTAL_PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


@pytest.fixture
def sms_outbox(settings):
    from loansite import sms

    settings.SMS_BACKEND = "loansite.sms.LocmemSmsBackend"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()
