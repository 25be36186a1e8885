from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 16, "decimal_places": 2}
NON_NEGATIVE = [MinValueValidator(Decimal("0"))]


class Industry(models.TextChoices):
    RETAIL = "retail", _("Retail")
    CATERING = "catering", _("Catering")
    WHOLESALE = "wholesale", _("Wholesale")
    MANUFACTURING = "manufacturing", _("Manufacturing")
    SERVICES = "services", _("Services")
    TECHNOLOGY = "technology", _("Technology")
    AGRICULTURE = "agriculture", _("Agriculture")
    TRANSPORT = "transport", _("Transport")


class CityTier(models.IntegerChoices):
    TIER_1 = 1, _("Tier 1")
    TIER_2 = 2, _("Tier 2")
    TIER_3 = 3, _("Tier 3")
    TIER_4 = 4, _("Tier 4")


class Rating(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"
    E = "E", "E"


class Customer(models.Model):
    class Kind(models.TextChoices):
        ENTERPRISE = "enterprise", _("Enterprise")
        INDIVIDUAL = "individual", _("Individual business")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.ENTERPRISE)
    name = models.CharField(_("name"), max_length=200, db_index=True)
    # Unified social credit code (GB 32100) for enterprises; owner's resident ID (GB 11643)
    # for individual businesses. Validators live in customers/validators.py.
    credit_code = models.CharField(_("unified social credit code"), max_length=18, null=True, blank=True, unique=True)
    id_number = models.CharField(_("owner's resident ID number"), max_length=18, null=True, blank=True, unique=True)
    phone = models.CharField(_("mobile phone"), max_length=20, unique=True)
    email = models.EmailField(_("email"), blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    city = models.CharField(_("city"), max_length=64, db_index=True)
    city_tier = models.PositiveSmallIntegerField(_("city tier"), choices=CityTier.choices, default=CityTier.TIER_3)
    industry = models.CharField(_("industry"), max_length=32, choices=Industry.choices, db_index=True)

    years_in_business = models.PositiveSmallIntegerField(_("years in business"), default=0)
    employees = models.PositiveIntegerField(_("employees"), default=1)
    area_m2 = models.DecimalField(_("business area (m²)"), max_digits=10, decimal_places=2, default=Decimal("0"))
    monthly_revenue = models.DecimalField(_("monthly revenue"), **MONEY, validators=NON_NEGATIVE, default=Decimal("0"))
    monthly_cost = models.DecimalField(_("monthly cost"), **MONEY, validators=NON_NEGATIVE, default=Decimal("0"))
    monthly_foot_traffic = models.PositiveIntegerField(_("monthly foot traffic"), default=0)
    credit_score = models.PositiveSmallIntegerField(_("credit bureau score"), null=True, blank=True)

    # Financials where known (null = not reported).
    total_assets = models.DecimalField(_("total assets"), **MONEY, null=True, blank=True)
    total_liabilities = models.DecimalField(_("total liabilities"), **MONEY, null=True, blank=True)
    current_assets = models.DecimalField(_("current assets"), **MONEY, null=True, blank=True)
    current_liabilities = models.DecimalField(_("current liabilities"), **MONEY, null=True, blank=True)
    net_profit = models.DecimalField(_("net profit"), **MONEY, null=True, blank=True)
    annual_revenue = models.DecimalField(_("annual revenue"), **MONEY, null=True, blank=True)

    rating = models.CharField(_("internal rating"), max_length=1, choices=Rating.choices, blank=True, db_index=True)
    rating_date = models.DateField(_("rating date"), null=True, blank=True)
    rating_source = models.CharField(_("rating source"), max_length=64, blank=True)

    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(monthly_revenue__gte=0) & Q(monthly_cost__gte=0), name="customer_money_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(credit_code__isnull=False) | Q(id_number__isnull=False), name="customer_has_identity"
            ),
        ]
        permissions = [("import_customer", _("Can import customers")), ("export_customer", _("Can export customers"))]

    def __str__(self):
        return self.name


class CreditLine(models.Model):
    """A customer's credit line (授信): ``used`` never exceeds ``limit``."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        EXPIRED = "expired", _("Expired")
        CLOSED = "closed", _("Closed")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="credit_lines"
    )
    limit = models.DecimalField(_("limit"), **MONEY, validators=NON_NEGATIVE)
    used = models.DecimalField(_("used"), **MONEY, default=Decimal("0"), validators=NON_NEGATIVE)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("credit line")
        verbose_name_plural = _("credit lines")
        ordering = ["-valid_to"]
        constraints = [
            models.CheckConstraint(
                condition=Q(used__gte=0) & Q(used__lte=F("limit")), name="credit_line_used_within_limit"
            ),
            models.CheckConstraint(condition=Q(valid_to__gte=F("valid_from")), name="credit_line_valid_period"),
            models.UniqueConstraint(
                fields=["customer"], condition=Q(status="active"), name="credit_line_one_active_per_customer"
            ),
        ]

    def __str__(self):
        return f"{self.customer} {self.limit}"

    @property
    def available(self) -> Decimal:
        return self.limit - self.used
