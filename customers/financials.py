"""Financial ratios of a customer, computed in one place (pure, Decimal in and out)."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

RATIO_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class FinancialRatios:
    debt_ratio: Decimal | None  # total liabilities / total assets
    current_ratio: Decimal | None  # current assets / current liabilities
    net_margin: Decimal | None  # net profit / annual revenue


def _ratio(numerator, denominator) -> Decimal | None:
    """``None`` when either side is unknown or the denominator is zero (the ratio is undefined)."""
    if numerator is None or denominator is None:
        return None
    denominator = Decimal(denominator)
    if denominator == 0:
        return None
    return (Decimal(numerator) / denominator).quantize(RATIO_PLACES, rounding=ROUND_HALF_UP)


def financial_ratios(
    *,
    total_assets=None,
    total_liabilities=None,
    current_assets=None,
    current_liabilities=None,
    net_profit=None,
    annual_revenue=None,
) -> FinancialRatios:
    """Debt ratio, current ratio and net margin.

    Zero liabilities give a debt ratio of 0 but no current ratio (division by zero: the
    business owes nothing short-term, so the ratio is undefined rather than infinite).
    """
    return FinancialRatios(
        debt_ratio=_ratio(total_liabilities, total_assets),
        current_ratio=_ratio(current_assets, current_liabilities),
        net_margin=_ratio(net_profit, annual_revenue),
    )
