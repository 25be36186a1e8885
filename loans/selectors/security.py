"""Reads about an application's security and the checks an approver sees before deciding."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, Q, Sum, Value
from django.db.models.functions import Coalesce, Least
from django.utils.translation import gettext as _

from loans.models import Collateral, Guarantee, Loan, LoanApplication
from loansite.money import ZERO

RATIO_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Coverage:
    value_after_haircuts: Decimal
    amount: Decimal  # the approved amount, or the requested one before a decision
    ratio: Decimal | None  # None when there is no amount to cover
    minimum: Decimal | None  # the product's minimum, if it has one

    @property
    def sufficient(self) -> bool:
        return self.minimum is None or (self.ratio is not None and self.ratio >= self.minimum)


def collateral_value_after_haircuts(*, application: LoanApplication) -> Decimal:
    """Σ appraised value × (1 − haircut) over the application's collateral not released."""
    value = (
        Collateral.objects.filter(application=application)
        .exclude(status=Collateral.Status.RELEASED)
        .aggregate(
            total=Coalesce(
                Sum(
                    ExpressionWrapper(
                        F("appraised_value") * (Value(Decimal("1")) - F("haircut")),
                        output_field=DecimalField(max_digits=24, decimal_places=6),
                    )
                ),
                Value(Decimal("0")),
                output_field=DecimalField(max_digits=24, decimal_places=6),
            )
        )["total"]
    )
    return Decimal(value).quantize(Decimal("0.01"), ROUND_HALF_UP)


def application_coverage(*, application: LoanApplication, amount: Decimal | None = None) -> Coverage:
    """Coverage ratio = Σ (value × (1 − haircut)) / amount (the approved amount by default)."""
    if amount is None:
        amount = application.approved_amount or application.amount
    value = collateral_value_after_haircuts(application=application)
    ratio = (value / amount).quantize(RATIO_PLACES, ROUND_HALF_UP) if amount else None
    return Coverage(value, amount, ratio, application.product.min_coverage_ratio)


def guarantor_exposure(*, customer=None, id_number: str = "") -> Decimal:
    """What a guarantor stands behind across all live loans: for each active guarantee on an
    active or overdue loan, the guaranteed amount capped at the loan's outstanding principal.
    A customer is matched as guarantor by record and by their owner's resident ID."""
    condition = Q(pk__in=[])
    if customer is not None:
        condition |= Q(guarantor_customer=customer)
        if getattr(customer, "id_number", None):
            condition |= Q(guarantor_id_number=customer.id_number)
    if id_number:
        condition |= Q(guarantor_id_number=id_number)
    total = (
        Guarantee.objects.filter(condition, status=Guarantee.Status.ACTIVE, loan__status__in=Loan.LIVE)
        .annotate(exposed=Least(F("guaranteed_amount"), F("loan__outstanding_principal")))
        .aggregate(total=Sum("exposed"))["total"]
    )
    return total if total is not None else ZERO


def application_guarantees(*, application: LoanApplication) -> list[dict]:
    """The application's guarantees, each with its guarantor's exposure across live loans."""
    rows = []
    for guarantee in application.guarantees.select_related("guarantor_customer").order_by("id"):
        rows.append(
            {
                "guarantee": guarantee,
                "exposure": guarantor_exposure(
                    customer=guarantee.guarantor_customer, id_number=guarantee.guarantor_id_number
                ),
            }
        )
    return rows


def application_decision_warnings(*, application: LoanApplication, user) -> list[str]:
    """What would stop (or hold up) an approval by ``user``, said before the decision: the
    credit-line headroom, the approver's authority, maker-checker, the product's minimum
    coverage. Empty when the approval would go through as requested."""
    from customers.selectors import credit_line_active, credit_line_headroom
    from loans.selectors.applications import application_round_approvals, approver_authority_limit

    if application.status != LoanApplication.Status.UNDER_REVIEW or not user.has_perm("loans.approve_loanapplication"):
        return []
    warnings = []
    amount = application.amount
    if user.pk in {application.created_by_id, application.submitted_by_id}:
        warnings.append(_("You created or submitted this application, so someone else must decide on it."))
    customer = application.customer
    if customer is not None and credit_line_active(customer=customer) is not None:
        headroom = credit_line_headroom(customer=customer)
        if amount > headroom:
            warnings.append(
                _(
                    "The credit-line headroom is %(headroom)s, less than the %(amount)s requested: approve at most "
                    "%(headroom)s (a counter-offer) or raise the line first."
                )
                % {"headroom": headroom, "amount": amount}
            )
    earlier = set(application_round_approvals(application=application).values_list("decider_id", flat=True))
    if user.pk in earlier:
        warnings.append(_("You already approved this application; a second approver must decide."))
    elif not earlier:
        limit = approver_authority_limit(user=user)
        if amount > limit:
            warnings.append(
                _(
                    "The amount is above your approval authority of %(limit)s: your approval will be recorded and "
                    "a second approver must approve too."
                )
                % {"limit": limit}
            )
    coverage = application_coverage(application=application, amount=amount)
    if not coverage.sufficient:
        warnings.append(
            _(
                "Collateral covers %(ratio)s of the amount after haircuts; the product requires at least "
                "%(minimum)s. Add collateral or approve a lower amount."
            )
            % {"ratio": _percent(coverage.ratio), "minimum": _percent(coverage.minimum)}
        )
    return warnings


def _percent(ratio: Decimal | None) -> str:
    if ratio is None:
        return "-"
    return f"{(ratio * 100).quantize(Decimal('0.1'), ROUND_HALF_UP)}%"
