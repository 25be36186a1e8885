import pytest

from customers.models import PortalAccount
from customers.portal.demo import portal_demo_accounts
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_demo_portal_accounts_sign_in_and_are_made_once(client):
    customers = [CustomerFactory() for _ in range(4)]
    made = portal_demo_accounts()
    assert [username for username, _p, _c in made] == ["portal1", "portal2", "portal3"]
    assert set(PortalAccount.objects.get(username="portal1").customers.all()) == set(customers[:2])
    username, password, _customers = made[0]
    assert client.post("/portal/login/", {"login": username, "password": password}).status_code == 302
    assert portal_demo_accounts() == []
