import pytest

from loansite.roles import RISK_ANALYST


@pytest.fixture
def analyst(make_user):
    return make_user("analyst", role=RISK_ANALYST)


@pytest.fixture
def customer(db):
    from tests.risk.factories import CustomerFactory

    return CustomerFactory()


@pytest.fixture(autouse=True)
def _fresh_ip_ranges():
    from risk.selectors import ip_ranges_forget, ruleset_forget

    ip_ranges_forget()
    ruleset_forget()
    yield
    ip_ranges_forget()
    ruleset_forget()
