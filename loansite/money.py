"""Money helpers: always Decimal, two places, rounded half-up."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def money(value) -> Decimal:
    """Convert to a two-place Decimal, rounding half-up. Floats go through ``str``."""
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, float):
        amount = Decimal(repr(value))
    else:
        try:
            amount = Decimal(str(value).replace(",", "").strip())
        except InvalidOperation as exc:
            raise ValueError(f"Not an amount of money: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"Not an amount of money: {value!r}")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def money_sum(values) -> Decimal:
    return money(sum((money(v) for v in values), ZERO))
