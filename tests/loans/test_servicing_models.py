"""Servicing models: the database refuses what the services must never write."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from loans.models import (
    Collateral,
    CollateralHaircut,
    DayCount,
    Installment,
    LoanApplication,
    LoanProduct,
    RepaymentMethod,
)
from tests.loans.factories import ApplicationFactory, LoanFactory

pytestmark = pytest.mark.django_db


def test_default_haircuts_are_seeded_for_every_kind():
    haircuts = dict(CollateralHaircut.objects.values_list("kind", "haircut"))
    assert set(haircuts) == set(Collateral.Kind.values)
    assert haircuts["real_estate"] == Decimal("0.3000")
    assert haircuts["deposit"] == Decimal("0.0500")


def test_products_default_to_actual_360_and_penalty_interest_principal():
    product = LoanProduct.objects.create(
        code="P1",
        name="p",
        min_amount=1,
        max_amount=10,
        annual_rate_min=Decimal("0.04"),
        annual_rate_max=Decimal("0.12"),
    )
    assert product.day_count == DayCount.ACTUAL_360
    assert product.allocation_order == ["penalty", "interest", "principal"]
    assert "bullet" in RepaymentMethod.values


def test_an_approved_amount_above_the_request_is_refused():
    app = ApplicationFactory(status=LoanApplication.Status.APPROVED, amount=Decimal("1000.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        LoanApplication.objects.filter(pk=app.pk).update(approved_amount=Decimal("1000.01"))


def test_a_closed_loan_cannot_owe_principal():
    loan = LoanFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        type(loan).objects.filter(pk=loan.pk).update(status="closed")


def test_an_installment_cannot_be_paid_beyond_what_it_asks():
    loan = LoanFactory()
    row = Installment.objects.create(
        loan=loan,
        schedule_version=1,
        number=1,
        period_start=datetime.date(2025, 1, 1),
        due_date=datetime.date(2025, 2, 1),
        pay_date=datetime.date(2025, 2, 1),
        days=31,
        principal=Decimal("100.00"),
        interest=Decimal("1.00"),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Installment.objects.filter(pk=row.pk).update(principal_paid=Decimal("100.01"))
