"""What an application was judged on: the point-in-time copy of its inputs.

Taken by ``loans.services.snapshots.application_snapshot_take`` at every submission (admin,
public form, API, import, identity verification, history import); the models' features,
training sets, the application page and exports read it, so editing a customer later
rewrites no application's history. Typed columns (not JSON) so that batch scoring reads a
million rows with one plain SELECT.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loans.models.products import MONEY

RATIO = {"max_digits": 12, "decimal_places": 4, "null": True, "blank": True}
MONEY_NULL = {**MONEY, "null": True, "blank": True}

# The snapshot's format: bump when its columns change meaning.
SNAPSHOT_VERSION = 1

# The customer's inputs copied into a snapshot (the same names on Customer).
SNAPSHOT_CUSTOMER_FIELDS = (
    "industry",
    "city",
    "city_tier",
    "years_in_business",
    "employees",
    "area_m2",
    "monthly_revenue",
    "monthly_cost",
    "monthly_foot_traffic",
    "credit_score",
    "total_assets",
    "total_liabilities",
    "current_assets",
    "current_liabilities",
    "net_profit",
    "annual_revenue",
    "rating",
    "rating_date",
    "rating_source",
)


class ApplicationSnapshot(models.Model):
    application = models.OneToOneField(
        "loans.LoanApplication",
        verbose_name=_("application"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="snapshot",
    )
    version = models.PositiveSmallIntegerField(_("snapshot format"), default=SNAPSHOT_VERSION)
    taken_at = models.DateTimeField(_("taken"), default=timezone.now)
    # Filled afterwards from what was on file then (data migration), not at the submission.
    backfilled = models.BooleanField(_("backfilled"), default=False)

    industry = models.CharField(_("industry"), max_length=32, blank=True)
    city = models.CharField(_("city"), max_length=64, blank=True)
    city_tier = models.PositiveSmallIntegerField(_("city tier"), null=True, blank=True)
    years_in_business = models.PositiveSmallIntegerField(_("years in business"), null=True, blank=True)
    employees = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    area_m2 = models.DecimalField(_("business area (m²)"), max_digits=10, decimal_places=2, null=True, blank=True)
    monthly_revenue = models.DecimalField(_("monthly revenue"), **MONEY_NULL)
    monthly_cost = models.DecimalField(_("monthly cost"), **MONEY_NULL)
    monthly_foot_traffic = models.PositiveIntegerField(_("monthly foot traffic"), null=True, blank=True)
    credit_score = models.PositiveSmallIntegerField(_("credit bureau score"), null=True, blank=True)
    total_assets = models.DecimalField(_("total assets"), **MONEY_NULL)
    total_liabilities = models.DecimalField(_("total liabilities"), **MONEY_NULL)
    current_assets = models.DecimalField(_("current assets"), **MONEY_NULL)
    current_liabilities = models.DecimalField(_("current liabilities"), **MONEY_NULL)
    net_profit = models.DecimalField(_("net profit"), **MONEY_NULL)
    annual_revenue = models.DecimalField(_("annual revenue"), **MONEY_NULL)
    debt_ratio = models.DecimalField(_("debt ratio"), **RATIO)
    current_ratio = models.DecimalField(_("current ratio"), **RATIO)
    net_margin = models.DecimalField(_("net margin"), **RATIO)
    operating_margin = models.DecimalField(_("operating margin"), **RATIO)
    prior_applications = models.PositiveIntegerField(_("earlier applications"), default=0)
    prior_approved = models.PositiveIntegerField(_("earlier applications approved"), default=0)
    prior_rejected = models.PositiveIntegerField(_("earlier applications rejected"), default=0)
    rating = models.CharField(_("internal rating"), max_length=1, blank=True)
    rating_date = models.DateField(_("rating date"), null=True, blank=True)
    rating_source = models.CharField(_("rating source"), max_length=64, blank=True)
    # The application's grade when the snapshot was taken (blank before its first score).
    grade = models.CharField(_("grade"), max_length=1, blank=True)

    class Meta:
        verbose_name = _("application snapshot")
        verbose_name_plural = _("application snapshots")
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.application_id} @ {self.taken_at:%Y-%m-%d %H:%M}"

    def get_industry_display(self) -> str:
        from customers.reference import industry_label

        return industry_label(self.industry) or "-"

    def get_city_tier_display(self) -> str:
        from customers.models import CityTier

        return str(dict(CityTier.choices).get(self.city_tier, self.city_tier or "-"))
