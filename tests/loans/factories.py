import datetime
import random
from decimal import Decimal

import factory
from django.utils import timezone

from customers.models import CreditLine, Customer
from customers.validators import make_credit_code, make_mobile_phone
from loans.models import ApprovalAuthority, LoanApplication, LoanProduct

_rng = random.Random(4)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    kind = Customer.Kind.ENTERPRISE
    name = factory.Sequence(lambda n: f"Merchant {n}")
    credit_code = factory.LazyFunction(lambda: make_credit_code(_rng))
    phone = factory.LazyFunction(lambda: make_mobile_phone(_rng))
    city = "Hangzhou"
    city_tier = 2
    industry = "retail"
    years_in_business = 5
    monthly_revenue = Decimal("120000.00")
    monthly_cost = Decimal("90000.00")


class CreditLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CreditLine

    customer = factory.SubFactory(CustomerFactory)
    limit = Decimal("500000.00")
    used = Decimal("0.00")
    valid_from = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=30))
    valid_to = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=335))


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LoanProduct
        django_get_or_create = ("code",)

    code = "WC"
    name = "Working capital"
    purpose = "working_capital"
    min_amount = Decimal("10000.00")
    max_amount = Decimal("3000000.00")
    min_term_months = 3
    max_term_months = 36
    annual_rate_min = Decimal("0.0450")
    annual_rate_max = Decimal("0.1200")
    repayment_methods = ["equal_installment", "equal_principal", "interest_only"]


class ApplicationFactory(factory.django.DjangoModelFactory):
    """A row in any state, written directly (tests that need history); services move it."""

    class Meta:
        model = LoanApplication

    reference = factory.Sequence(lambda n: f"LA-260101-T{n:05d}")
    customer = factory.SubFactory(CustomerFactory)
    product = factory.SubFactory(ProductFactory)
    amount = Decimal("100000.00")
    term_months = 12
    purpose = "working_capital"
    repayment_method = "equal_installment"
    channel = "branch"
    status = LoanApplication.Status.DRAFT
    contact_phone = factory.LazyAttribute(lambda o: o.customer.phone if o.customer else "13900000001")


class AuthorityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApprovalAuthority

    limit = Decimal("200000.00")


class LoanFactory(factory.django.DjangoModelFactory):
    """A loan row as written directly (no schedule): for model-level tests only; services build loans."""

    class Meta:
        model = "loans.Loan"

    application = factory.SubFactory(ApplicationFactory, status=LoanApplication.Status.DISBURSED)
    customer = factory.LazyAttribute(lambda o: o.application.customer)
    product = factory.LazyAttribute(lambda o: o.application.product)
    loan_number = factory.Sequence(lambda n: f"LN-260101-T{n:05d}")
    contract_number = factory.Sequence(lambda n: f"C-{n:05d}")
    approved_amount = Decimal("100000.00")
    principal = Decimal("100000.00")
    outstanding_principal = Decimal("100000.00")
    annual_rate = Decimal("0.0800")
    term_months = 12
    method = "equal_installment"
    day_count = "actual/360"
    repayment_day = 15
    disbursement_date = datetime.date(2025, 1, 15)
    first_due_date = datetime.date(2025, 2, 15)
    maturity_date = datetime.date(2026, 1, 15)
