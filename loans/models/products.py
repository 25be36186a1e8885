"""Loan products: limits, rates, repayment methods and how a product's loans are serviced."""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 16, "decimal_places": 2}
RATE = {"max_digits": 7, "decimal_places": 4}
POSITIVE = [MinValueValidator(Decimal("0.01"))]


class LoanPurpose(models.TextChoices):
    WORKING_CAPITAL = "working_capital", _("Working capital")
    EQUIPMENT = "equipment", _("Equipment")
    EXPANSION = "expansion", _("Expansion")
    INVENTORY = "inventory", _("Inventory")
    RENOVATION = "renovation", _("Renovation")
    OTHER = "other", _("Other")


class RepaymentMethod(models.TextChoices):
    EQUAL_INSTALLMENT = "equal_installment", _("Equal installment (annuity)")
    EQUAL_PRINCIPAL = "equal_principal", _("Equal principal")
    INTEREST_ONLY = "interest_only", _("Interest only, principal at maturity")
    BULLET = "bullet", _("Single payment at maturity")


class DayCount(models.TextChoices):
    """How interest counts days (the codes of ``loans.schedules.DayCount``)."""

    THIRTY_360 = "30/360", _("30/360")
    ACTUAL_360 = "actual/360", _("Actual/360")
    ACTUAL_365 = "actual/365", _("Actual/365")


# What a repayment pays first, within each installment (oldest due installment first).
ALLOCATION_COMPONENTS = ("penalty", "interest", "principal")


def default_allocation_order() -> list[str]:
    return list(ALLOCATION_COMPONENTS)


class LoanProduct(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_zh = models.CharField(
        _("name in Chinese"), max_length=120, blank=True, help_text=_("Shown on Chinese pages; the name when empty.")
    )
    purpose = models.CharField(
        _("purpose"), max_length=32, choices=LoanPurpose.choices, default=LoanPurpose.WORKING_CAPITAL
    )
    min_amount = models.DecimalField(_("minimum amount"), **MONEY, validators=POSITIVE)
    max_amount = models.DecimalField(_("maximum amount"), **MONEY, validators=POSITIVE)
    min_term_months = models.PositiveSmallIntegerField(_("minimum term (months)"), default=1)
    max_term_months = models.PositiveSmallIntegerField(_("maximum term (months)"), default=36)
    annual_rate_min = models.DecimalField(_("annual interest rate from"), **RATE, help_text=_("e.g. 0.0650 for 6.5%"))
    annual_rate_max = models.DecimalField(_("annual interest rate to"), **RATE)
    repayment_methods = models.JSONField(
        _("repayment methods allowed"), default=list, help_text=_("A list of repayment method codes.")
    )
    penalty_rate = models.DecimalField(
        _("penalty rate (daily)"), **RATE, default=Decimal("0.0005"), help_text=_("e.g. 0.0005 for 0.05% a day")
    )
    compound_interest = models.BooleanField(
        _("compound interest on overdue interest"),
        default=False,
        db_default=False,
        help_text=_("The daily close also charges overdue interest at the compound rate (复利)."),
    )
    compound_rate = models.DecimalField(
        _("compound rate (daily)"),
        **RATE,
        null=True,
        blank=True,
        help_text=_("Empty: the penalty rate."),
    )
    # Servicing: how the product's loans are scheduled and how repayments are allocated.
    day_count = models.CharField(_("day count"), max_length=16, choices=DayCount.choices, default=DayCount.ACTUAL_360)
    holiday_shift = models.BooleanField(
        _("move pay dates off holidays"),
        default=False,
        help_text=_("A due date on a weekend or public holiday is paid on the next business day."),
    )
    allocation_order = models.JSONField(
        _("allocation order"),
        default=default_allocation_order,
        help_text=_('The order repayments pay each installment\'s parts, e.g. ["penalty", "interest", "principal"].'),
    )
    prepayment_fee_rate = models.DecimalField(
        _("prepayment fee rate"),
        **RATE,
        default=Decimal("0"),
        help_text=_("A share of the principal repaid early, e.g. 0.0100 for 1%"),
    )
    min_coverage_ratio = models.DecimalField(
        _("minimum collateral coverage"),
        **RATE,
        null=True,
        blank=True,
        help_text=_("Collateral after haircuts / approved amount; empty for none (e.g. 1.2000 for 120%)"),
    )
    grade_rates = models.JSONField(
        _("annual rate by grade"),
        default=dict,
        blank=True,
        help_text=_('Default annual rate per score grade, e.g. {"A": "0.0550", "E": "0.1150"}.'),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("loan product")
        verbose_name_plural = _("loan products")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_amount__gt=0) & Q(max_amount__gte=F("min_amount")), name="loan_product_amount_range"
            ),
            models.CheckConstraint(
                condition=Q(min_term_months__gte=1) & Q(max_term_months__gte=F("min_term_months")),
                name="loan_product_term_range",
            ),
            models.CheckConstraint(
                condition=Q(annual_rate_min__gte=0) & Q(annual_rate_max__gte=F("annual_rate_min")),
                name="loan_product_rate_range",
            ),
            models.CheckConstraint(
                condition=Q(prepayment_fee_rate__gte=0) & Q(prepayment_fee_rate__lte=1),
                name="loan_product_prepayment_fee_range",
            ),
            models.CheckConstraint(
                condition=Q(min_coverage_ratio__isnull=True) | Q(min_coverage_ratio__gte=0),
                name="loan_product_min_coverage_non_negative",
            ),
        ]

    def __str__(self):
        # Filters, pickers and lists name the product in the reader's language.
        return f"{self.code} {self.display_name}"

    @property
    def display_name(self) -> str:
        """The product's name in the current language (applicants never see its code)."""
        from django.utils import translation

        if self.name_zh and (translation.get_language() or "").lower().startswith("zh"):
            return self.name_zh
        return self.name
