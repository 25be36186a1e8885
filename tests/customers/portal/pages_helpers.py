"""Data for the portal page tests: two customers, each with applications and a disbursed loan
made through the services (the same path as the back office)."""

import datetime
from decimal import Decimal

from customers.models import Assignment
from loans.models import ApprovalDecision, LoanApplication
from tests.customers.factories import ManagerFactory, UserFactory
from tests.loans.factories import ApplicationFactory, CreditLineFactory, CustomerFactory
from tests.loans.servicing import DAY, disbursed_loan, servicing_product


def customer_with_line(**extra):
    customer = CustomerFactory(**extra)
    CreditLineFactory(customer=customer, limit=Decimal("900000"))
    return customer


def loan_for(customer, officer, approver, *, amount="10000", term=6, value_date=DAY):
    return disbursed_loan(
        officer, approver, customer=customer, amount=amount, term=term, rate="0.12", value_date=value_date
    )


def returned_application(customer, officer, *, reason="Please send last year's bank statements."):
    app = ApplicationFactory(
        customer=customer,
        product=servicing_product(),
        amount=Decimal("20000"),
        term_months=6,
        status=LoanApplication.Status.RETURNED,
        created_by=officer,
        submitted_by=officer,
        review_round=1,
        submitted_at=datetime.datetime(2025, 1, 2, 9, tzinfo=datetime.UTC),
    )
    ApprovalDecision.objects.create(
        application=app, decider=officer, kind=ApprovalDecision.Kind.RETURN, review_round=1, amount=app.amount,
        reason=reason, final=False,
    )  # fmt: skip
    return app


def assign_manager(customer, *, first_name="Tao", last_name="Yang", email="tao.yang@bank.example"):
    user = UserFactory(first_name=first_name, last_name=last_name, email=email)
    manager = ManagerFactory(user=user, city="Hangzhou", industries=["retail"], seniority=3)
    components = {
        "industry": {"value": 1.0, "weight": 0.35, "points": 35.0},
        "city": {"value": 0.4, "weight": 0.25, "points": 10.0},
        "workload": {"value": 0.8, "weight": 0.15, "points": 12.0},
        "value_fit": {"value": 0.75, "weight": 0.15, "points": 11.25},
        "book_quality": {"value": 0.5, "weight": 0.10, "points": 5.0},
    }
    Assignment.objects.create(
        customer=customer,
        manager=manager,
        kind=Assignment.Kind.MATCHING,
        score=73.25,
        components=components,
        reason="internal: moved from the north branch",
    )
    type(customer).objects.filter(pk=customer.pk).update(manager=manager)
    customer.refresh_from_db()
    return manager


def portal_account_for(*customers, phone=None):
    """A portal account holding ``customers`` (as registration makes it)."""
    from tests.customers.portal.factories import portal_account_make

    account = portal_account_make(*customers)
    if phone:
        account.phone = phone
        account.save()
    return account


def document_request(application, officer, kind="bank_statements", note="2024, all accounts"):
    from loans.models import DocumentRequest

    return DocumentRequest.objects.create(application=application, kind=kind, note=note, requested_by=officer)
