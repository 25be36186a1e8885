"""Helpers for servicing tests: a product, an approved application and a disbursed loan made
through the services (the same path as the admin and the API)."""

import datetime
from decimal import Decimal

from loans.models import LoanApplication
from loans.services import application_approve
from loans.services.disbursements import disbursement_authorise, disbursement_prepare
from tests.loans.factories import ApplicationFactory, CreditLineFactory, ProductFactory

DAY = datetime.date(2025, 1, 15)
ALL_METHODS = ["equal_installment", "equal_principal", "interest_only", "bullet"]


def servicing_product(**extra):
    values = {
        "code": "SV",
        "name": "Servicing",
        "min_amount": Decimal("1000"),
        "max_amount": Decimal("3000000"),
        "min_term_months": 1,
        "max_term_months": 60,
        "annual_rate_min": Decimal("0.0300"),
        "annual_rate_max": Decimal("0.2400"),
        "repayment_methods": ALL_METHODS,
        "day_count": "30/360",
        **extra,
    }
    return ProductFactory(**values)


def approved_application(
    officer,
    approver,
    *,
    amount="10000",
    term=6,
    rate="0.12",
    method="equal_installment",
    product=None,
    line_limit="500000",
    conditions=None,
    customer=None,
    approved_amount=None,
    decided_on=DAY,
):
    product = product or servicing_product()
    if customer is None:
        customer = CreditLineFactory(limit=Decimal(line_limit)).customer if line_limit else None
    extra = {"customer": customer} if customer is not None else {}
    app = ApplicationFactory(
        product=product,
        amount=Decimal(amount),
        term_months=term,
        repayment_method=method,
        status=LoanApplication.Status.UNDER_REVIEW,
        created_by=officer,
        submitted_by=officer,
        review_round=1,
        **extra,
    )
    application_approve(
        actor=approver,
        application=app,
        approved_amount=approved_amount,
        approved_annual_rate=rate,
        approved_method=method,
        conditions_precedent=conditions,
    )
    LoanApplication.objects.filter(pk=app.pk).update(
        decided_at=datetime.datetime.combine(decided_on, datetime.time(9), tzinfo=datetime.UTC)
    )
    app.refresh_from_db()
    return app


def disburse(officer, approver, app, *, amount=None, value_date=DAY, first_due_date=None, key="", **extra):
    d = disbursement_prepare(
        actor=officer,
        application=app,
        amount=amount or app.approved_amount,
        value_date=value_date,
        first_due_date=first_due_date,
        contract_number=extra.pop("contract_number", f"HT-{app.pk}"),
        account=extra.pop("account", "6222 0000 1111 2222"),
        conditions_checked=extra.pop("conditions_checked", app.conditions_precedent),
        idempotency_key=key,
        **extra,
    )
    return disbursement_authorise(actor=approver, disbursement=d)


def disbursed_loan(officer, approver, **terms):
    value_date = terms.pop("value_date", DAY)
    first_due_date = terms.pop("first_due_date", None)
    app = approved_application(officer, approver, **terms)
    return disburse(officer, approver, app, value_date=value_date, first_due_date=first_due_date)
