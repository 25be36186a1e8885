from decimal import Decimal

import pytest

from loans.models import LoanApplication
from tests.loans.factories import ApplicationFactory, AuthorityFactory, CustomerFactory, ProductFactory


@pytest.fixture
def officer(make_user):
    return make_user("officer", role="Loan officer")


@pytest.fixture
def approver(make_user):
    user = make_user("approver", role="Credit approver")
    AuthorityFactory(user=user, limit=Decimal("200000.00"))
    return user


@pytest.fixture
def approver2(make_user):
    user = make_user("approver2", role="Credit approver")
    AuthorityFactory(user=user, limit=Decimal("200000.00"))
    return user


@pytest.fixture
def auditor(make_user):
    return make_user("auditor", role="Auditor")


@pytest.fixture
def product(db):
    return ProductFactory()


@pytest.fixture
def customer(db):
    return CustomerFactory()


@pytest.fixture
def pending(officer, product):
    """An application under review, created and submitted by the officer."""
    return ApplicationFactory(
        product=product,
        status=LoanApplication.Status.UNDER_REVIEW,
        created_by=officer,
        submitted_by=officer,
        review_round=1,
    )
