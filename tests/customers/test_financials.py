from decimal import Decimal

from customers.financials import financial_ratios
from customers.models import Customer


def test_ratios():
    ratios = financial_ratios(
        total_assets=Decimal("1000"),
        total_liabilities=Decimal("600"),
        current_assets=Decimal("300"),
        current_liabilities=Decimal("200"),
        net_profit=Decimal("-50"),
        annual_revenue=Decimal("800"),
    )
    assert ratios.debt_ratio == Decimal("0.6000")
    assert ratios.current_ratio == Decimal("1.5000")
    assert ratios.net_margin == Decimal("-0.0625")


def test_zero_liabilities_give_zero_debt_ratio_and_no_current_ratio():
    ratios = financial_ratios(
        total_assets=Decimal("500"),
        total_liabilities=Decimal("0"),
        current_assets=Decimal("100"),
        current_liabilities=Decimal("0"),
    )
    assert ratios.debt_ratio == Decimal("0.0000")
    assert ratios.current_ratio is None  # undefined, not infinite and not an error


def test_zero_assets_or_revenue_and_unknown_figures_are_undefined():
    ratios = financial_ratios(total_assets=Decimal("0"), total_liabilities=Decimal("10"), annual_revenue=Decimal("0"))
    assert ratios.debt_ratio is None and ratios.net_margin is None
    assert financial_ratios().current_ratio is None
    assert financial_ratios(total_assets=Decimal("3"), total_liabilities=None).debt_ratio is None


def test_ratio_rounds_half_up_to_four_places():
    assert financial_ratios(total_assets=Decimal("3"), total_liabilities=Decimal("2")).debt_ratio == Decimal("0.6667")
    assert financial_ratios(total_assets=Decimal("8"), total_liabilities=Decimal("0.00045") * 8).debt_ratio == Decimal(
        "0.0005"
    )


def test_customer_exposes_the_same_ratios():
    customer = Customer(total_assets=Decimal("200"), total_liabilities=Decimal("50"), net_profit=Decimal("1"))
    assert customer.debt_ratio == Decimal("0.2500")
    assert customer.current_ratio is None and customer.net_margin is None
