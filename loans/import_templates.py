"""Templates of the application and bank statement imports: their columns, one example row each."""

import datetime
from decimal import Decimal

from django.utils import timezone

from customers import import_templates as customer_example
from loansite.import_templates import TemplateColumn

# Not in the template: the date (read by history imports only).
TEMPLATE_KEYS_SKIPPED = ("date",)


def _product():
    from loans.models import LoanProduct

    return LoanProduct.objects.filter(active=True).order_by("code").first()


def _amount(product) -> Decimal:
    if product is None:
        return Decimal("100000.00")
    return min(max(Decimal("100000.00"), product.min_amount), product.max_amount)


def _term(product) -> int:
    if product is None:
        return 12
    return min(max(12, product.min_term_months), product.max_term_months)


def _label(choices, value):
    return lambda: str(choices(value).label) if value else ""


def application_import_template_columns() -> list[TemplateColumn]:
    from loans.importing import COLUMNS, IMPORT_KEYS, REQUIRED_KEYS
    from loans.models import LoanApplication, LoanPurpose, RepaymentMethod

    product = _product()
    method = (product.repayment_methods or [RepaymentMethod.EQUAL_INSTALLMENT])[0] if product else ""
    examples = {
        "status": _label(LoanApplication.Status, LoanApplication.Status.SUBMITTED),
        "kind": customer_example.EXAMPLES["kind"],
        "customer_name": customer_example.EXAMPLES["name"],
        "credit_code": customer_example.example_credit_code,
        "id_number": None,
        "phone": customer_example.EXAMPLE_PHONE,
        "industry": customer_example.EXAMPLES["industry"],
        "city": customer_example.EXAMPLES["city"],
        "city_tier": customer_example.EXAMPLES["city_tier"],
        "credit_score": 680,
        "monthly_revenue": Decimal("150000.00"),
        "monthly_cost": Decimal("110000.00"),
        "years_in_business": 6,
        "employees": 8,
        "area_m2": Decimal("120.00"),
        "monthly_foot_traffic": 3000,
        "product": product.code if product else "",
        "amount": _amount(product),
        "term_months": _term(product),
        "purpose": _label(LoanPurpose, product.purpose if product else ""),
        "repayment_method": _label(RepaymentMethod, method),
    }
    kinds = {"city_tier": "number", "credit_score": "number", "years_in_business": "number", "term_months": "number"}
    return [
        TemplateColumn(
            english=COLUMNS[key][0],
            chinese=COLUMNS[key][1],
            example=examples.get(key),
            required=key in REQUIRED_KEYS,
            kind=kinds.get(key),
        )
        for key in IMPORT_KEYS
        if key not in TEMPLATE_KEYS_SKIPPED
    ]


def statement_import_template_columns() -> list[TemplateColumn]:
    from loans.statements import COLUMNS

    today = timezone.localdate()
    examples = {
        "loan_number": "LN-260101-ABCDEF",
        "amount": Decimal("1725.48"),
        "value_date": today if isinstance(today, datetime.date) else None,
        "bank_reference": f"BANK-{today:%Y%m%d}-0001",
    }
    return [
        TemplateColumn(english=english, chinese=chinese, example=examples[key], required=True)
        for key, (english, chinese) in COLUMNS.items()
    ]
