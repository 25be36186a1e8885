import datetime
import random
from decimal import Decimal

import factory
from django.utils import timezone

from customers.models import Customer
from customers.validators import make_credit_code, make_mobile_phone

_rng = random.Random(30)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    kind = Customer.Kind.ENTERPRISE
    name = factory.Sequence(lambda n: f"Risk merchant {n}")
    credit_code = factory.LazyFunction(lambda: make_credit_code(_rng))
    phone = factory.LazyFunction(lambda: make_mobile_phone(_rng))
    city = "Hangzhou"
    city_tier = 2
    industry = "retail"
    monthly_revenue = Decimal("120000.00")
    monthly_cost = Decimal("90000.00")


# One moment for the whole run (read once): two calls in one test never straddle a second,
# so gaps such as "exactly 600 seconds" stay exact.
_BASE = timezone.now().replace(microsecond=0) - datetime.timedelta(hours=2)


def at(minutes: float = 0, seconds: float = 0) -> datetime.datetime:
    """A fixed moment in the recent past, shifted."""
    return _BASE + datetime.timedelta(minutes=minutes, seconds=seconds)


def risk_defaults_write() -> None:
    """The seed's rules, thresholds, sources and checks as migration 0002 writes them, for tests
    that run after a transactional test's flush removed what migrations wrote."""
    import importlib

    from django.apps import apps

    importlib.import_module("risk.migrations.0002_default_rules").create(apps, None)
