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


class LoanProduct(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
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
        ]

    def __str__(self):
        return f"{self.code} {self.name}"
