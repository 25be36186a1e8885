"""The customer import's template: every column it reads, one example row it accepts."""

import random
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from loansite.import_templates import TemplateColumn

EXAMPLE_CITY = "Hangzhou"
EXAMPLE_INDUSTRY = "retail"
EXAMPLE_PHONE = "13800138000"
EXAMPLE_NAME = _("Example Trading Co., Ltd.")


def example_credit_code() -> str:
    """A valid unified social credit code (GB 32100 checksums), the same every time."""
    from customers.validators import make_credit_code

    return make_credit_code(random.Random(15), city=EXAMPLE_CITY)


def _kind():
    from customers.models import Customer

    return str(Customer.Kind.ENTERPRISE.label)


def _city():
    from customers.reference import city_label

    return city_label(EXAMPLE_CITY)


def _tier():
    from customers.reference import city_tier_of

    return city_tier_of(EXAMPLE_CITY)


def _industry():
    from customers.reference import industry_label

    return industry_label(EXAMPLE_INDUSTRY)


EXAMPLES = {
    "kind": _kind,
    "name": lambda: str(EXAMPLE_NAME),
    "credit_code": example_credit_code,
    "id_number": None,
    "phone": EXAMPLE_PHONE,
    "email": "finance@example.com",
    "address": lambda: str(_("1 Example Road")),
    "city": _city,
    "city_tier": _tier,
    "industry": _industry,
    "years_in_business": 6,
    "employees": 8,
    "area_m2": Decimal("120.00"),
    "monthly_revenue": Decimal("150000.00"),
    "monthly_cost": Decimal("110000.00"),
    "monthly_foot_traffic": 3000,
    "credit_score": 680,
    "total_assets": Decimal("900000.00"),
    "total_liabilities": Decimal("420000.00"),
    "current_assets": Decimal("500000.00"),
    "current_liabilities": Decimal("300000.00"),
    "net_profit": Decimal("180000.00"),
    "annual_revenue": Decimal("1800000.00"),
    "rating": None,
    "tags": None,
    "notes": None,
}
KINDS = {"city_tier": "number", "years_in_business": "number", "credit_score": "number"}


def customer_import_template_columns() -> list[TemplateColumn]:
    from customers.importing import COLUMNS

    return [
        TemplateColumn(
            english=c.english,
            chinese=c.chinese,
            example=EXAMPLES.get(c.field),
            required=c.required,
            kind=KINDS.get(c.field),
        )
        for c in COLUMNS
    ]
