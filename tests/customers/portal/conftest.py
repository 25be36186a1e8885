from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from customers.portal.api_auth import portal_token_pair
from tests.customers.factories import CustomerFactory
from tests.customers.portal.factories import PORTAL_PASSWORD, portal_account_make
from tests.customers.portal.pages_helpers import customer_with_line, portal_account_for


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


# The portal pages' tests: staff who make applications and loans through the services, and two
# customers with a credit line each, one of them the signed-in customer's.
@pytest.fixture
def officer(make_user):
    return make_user("officer", role="Loan officer")


@pytest.fixture
def approver(make_user):
    from tests.loans.factories import AuthorityFactory

    user = make_user("approver", role="Credit approver")
    AuthorityFactory(user=user, limit=Decimal("5000000.00"))
    return user


@pytest.fixture
def mine(db):
    return customer_with_line(name="Lantern Tea House")


@pytest.fixture
def theirs(db):
    return customer_with_line(name="Harbour Noodles")


@pytest.fixture
def documents_root(tmp_path, settings):
    settings.DOCUMENTS_ROOT = tmp_path / "documents"
    return settings.DOCUMENTS_ROOT


@pytest.fixture
def browser(client, mine):
    """A browser signed in to the portal (through the sign-in page) as the holder of ``mine``."""
    account = portal_account_for(mine)
    response = client.post("/portal/login/", {"login": account.phone, "password": PORTAL_PASSWORD})
    assert response.status_code == 302
    client.account = account
    return client


@pytest.fixture
def api(mine):
    account = portal_account_for(mine)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {portal_token_pair(account=account)['access']}")
    client.account = account
    return client
