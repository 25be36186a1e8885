import random
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from customers.models import CreditLine, Customer, Interest, Need, RelationshipManager, Tag
from customers.validators import make_credit_code, make_mobile_phone, make_resident_id

_rng = random.Random(20261123)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tag-{n}")
    colour = "#1e88e5"


class NeedFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Need
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"need-{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())


class InterestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interest
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"interest-{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    kind = Customer.Kind.ENTERPRISE
    name = factory.Sequence(lambda n: f"Customer {n} Co., Ltd.")
    credit_code = factory.LazyFunction(lambda: make_credit_code(_rng))
    phone = factory.LazyFunction(lambda: make_mobile_phone(_rng))
    city = "Hangzhou"
    city_tier = 2
    industry = "retail"
    years_in_business = 5
    employees = 8
    monthly_revenue = Decimal("100000.00")
    monthly_cost = Decimal("80000.00")


class IndividualCustomerFactory(CustomerFactory):
    kind = Customer.Kind.INDIVIDUAL
    credit_code = None
    id_number = factory.LazyFunction(lambda: make_resident_id(_rng))


class ManagerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RelationshipManager

    user = factory.SubFactory(UserFactory)
    city = "Hangzhou"
    branch = "Hangzhou West Lake"
    industries = factory.LazyFunction(lambda: ["retail"])
    seniority = 2
    capacity = 10


class CreditLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CreditLine

    customer = factory.SubFactory(CustomerFactory)
    limit = Decimal("100000.00")
    used = Decimal("0.00")
    valid_from = factory.Faker("date_between", start_date="-30d", end_date="-1d")
    valid_to = factory.Faker("date_between", start_date="+30d", end_date="+365d")
