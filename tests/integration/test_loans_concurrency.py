"""Concurrent decisions on one application, on MariaDB: exactly one wins."""

from decimal import Decimal

import pytest

from audit.models import AuditAction, AuditEntry
from loans import services
from loans.models import ApprovalDecision, LoanApplication
from tests.integration.concurrency import race
from tests.loans.factories import ApplicationFactory, AuthorityFactory, ProductFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("approvers", [2, 6])
def test_concurrent_approve_has_exactly_one_winner(make_user, approvers):
    officer = make_user("maker", role="Loan officer")
    users = []
    for i in range(approvers):
        user = make_user(f"approver{i}", role="Credit approver")
        AuthorityFactory(user=user, limit=Decimal("1000000"))
        users.append(user)
    app = ApplicationFactory(
        product=ProductFactory(), status=LoanApplication.Status.UNDER_REVIEW, created_by=officer, review_round=1
    )

    results, errors = race(
        [lambda u=u: services.application_approve(actor=u, application=app, reason=u.username) for u in users]
    )

    assert len(results) == 1
    assert len(errors) == approvers - 1
    assert all(type(e).__name__ in ("InvalidTransition", "Conflict") for e in errors)
    app.refresh_from_db()
    assert app.status == LoanApplication.Status.APPROVED
    assert app.version == 1
    assert ApprovalDecision.objects.filter(application=app).count() == 1
    entries = AuditEntry.objects.filter(
        target_type="loans.loanapplication", target_id=str(app.pk), action=AuditAction.APPROVE
    )
    assert entries.count() == 1
    assert entries.get().actor_id == app.decided_by_id


def test_concurrent_approve_and_reject_one_decision(make_user):
    officer = make_user("maker", role="Loan officer")
    a = make_user("a", role="Credit approver")
    b = make_user("b", role="Credit approver")
    AuthorityFactory(user=a, limit=Decimal("1000000"))
    app = ApplicationFactory(
        product=ProductFactory(), status=LoanApplication.Status.UNDER_REVIEW, created_by=officer, review_round=1
    )
    results, errors = race(
        [
            lambda: services.application_approve(actor=a, application=app),
            lambda: services.application_reject(actor=b, application=app, reason="no"),
        ]
    )
    assert len(results) == 1 and len(errors) == 1
    app.refresh_from_db()
    assert app.status in (LoanApplication.Status.APPROVED, LoanApplication.Status.REJECTED)
    assert ApprovalDecision.objects.filter(application=app).count() == 1


def test_public_submissions_in_parallel_never_duplicate_the_customer(make_user):
    import random

    from customers.models import Customer
    from customers.validators import make_credit_code, make_mobile_phone

    product = ProductFactory()
    rng = random.Random(3)
    fields = {
        "kind": "enterprise",
        "name": "Parallel Shop",
        "credit_code": make_credit_code(rng),
        "phone": make_mobile_phone(rng),
        "city": "Wuhan",
        "city_tier": 2,
        "industry": "retail",
        "years_in_business": 3,
        "employees": 4,
        "monthly_revenue": Decimal("50000"),
        "monthly_cost": Decimal("40000"),
    }

    def submit():
        return services.application_submit_public(
            customer_fields=fields,
            product=product,
            amount=Decimal("100000"),
            term_months=12,
            purpose="working_capital",
            repayment_method="equal_installment",
        )

    results, _errors = race([submit for _ in range(4)])
    assert Customer.objects.filter(credit_code=fields["credit_code"]).count() == 1
    assert LoanApplication.objects.count() == len(results) >= 1
