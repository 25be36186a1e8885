"""Security for a loan (担保): collateral with its haircut, and guarantees.

Both attach to an application and carry over to its loan at disbursement. Every change goes
through ``loans.services.collateral`` (audited); the coverage ratio and a guarantor's exposure
are read by ``loans.selectors``.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loans.models.products import MONEY, POSITIVE
from loansite.fields import EncryptedCharField, EncryptedFieldsModel, KeyedHashField

HAIRCUT = {"max_digits": 5, "decimal_places": 4}
HAIRCUT_RANGE = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))]


class CollateralKind(models.TextChoices):
    REAL_ESTATE = "real_estate", _("Real estate")
    EQUIPMENT = "equipment", _("Equipment")
    INVENTORY = "inventory", _("Inventory")
    RECEIVABLES = "receivables", _("Receivables")
    DEPOSIT = "deposit", _("Deposit / certificate")
    EQUITY = "equity", _("Equity")


class CollateralHaircut(models.Model):
    """The haircut applied to a kind of collateral (configurable; copied onto each item)."""

    kind = models.CharField(_("kind"), max_length=16, choices=CollateralKind.choices, unique=True)
    haircut = models.DecimalField(_("haircut"), **HAIRCUT, validators=HAIRCUT_RANGE, help_text=_("e.g. 0.3000 for 30%"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("collateral haircut")
        verbose_name_plural = _("collateral haircuts")
        ordering = ["kind"]
        constraints = [
            models.CheckConstraint(condition=Q(haircut__gte=0) & Q(haircut__lte=1), name="collateral_haircut_range")
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.haircut:.2%}"


class Collateral(models.Model):
    Kind = CollateralKind

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        REGISTERED = "registered", _("Registered")
        RELEASED = "released", _("Released")

    application = models.ForeignKey(
        "loans.LoanApplication", verbose_name=_("application"), on_delete=models.PROTECT, related_name="collateral"
    )
    loan = models.ForeignKey(
        "loans.Loan",
        verbose_name=_("loan"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="collateral",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=CollateralKind.choices)
    owner = models.CharField(_("owner"), max_length=200)
    description = models.TextField(_("description"))
    appraised_value = models.DecimalField(_("appraised value"), **MONEY, validators=POSITIVE)
    appraisal_date = models.DateField(_("appraisal date"))
    appraiser = models.CharField(_("appraiser"), max_length=200)
    haircut = models.DecimalField(_("haircut"), **HAIRCUT, validators=HAIRCUT_RANGE)
    registration_number = models.CharField(_("registration number"), max_length=64, blank=True)
    registration_date = models.DateField(_("registration date"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PROPOSED)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("collateral")
        verbose_name_plural = _("collateral")
        ordering = ["application", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(appraised_value__gt=0), name="collateral_value_positive"),
            models.CheckConstraint(
                condition=Q(haircut__gte=0) & Q(haircut__lte=1), name="collateral_item_haircut_range"
            ),
            models.CheckConstraint(
                condition=~Q(status="registered") | (~Q(registration_number="") & Q(registration_date__isnull=False)),
                name="collateral_registered_has_number",
            ),
        ]
        permissions = [("release_collateral", _("Can release collateral and guarantees"))]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.description[:60]}"

    @property
    def value_after_haircut(self) -> Decimal:
        return (self.appraised_value * (1 - self.haircut)).quantize(Decimal("0.01"))


class Guarantee(EncryptedFieldsModel):
    """A guarantee (保证), mortgage (抵押) or pledge (质押) given by a customer or a named person."""

    class Kind(models.TextChoices):
        GUARANTEE = "guarantee", _("Guarantee (保证)")
        MORTGAGE = "mortgage", _("Mortgage (抵押)")
        PLEDGE = "pledge", _("Pledge (质押)")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        RELEASED = "released", _("Released")

    application = models.ForeignKey(
        "loans.LoanApplication", verbose_name=_("application"), on_delete=models.PROTECT, related_name="guarantees"
    )
    loan = models.ForeignKey(
        "loans.Loan",
        verbose_name=_("loan"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="guarantees",
    )
    guarantor_customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("guarantor (customer)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="guarantees_given",
    )
    guarantor_name = models.CharField(_("guarantor's name"), max_length=200)
    # A named person's resident ID (GB 11643), encrypted at rest, matched by its keyed hash.
    guarantor_id_number = EncryptedCharField(_("guarantor's resident ID number"), max_length=18, blank=True)
    guarantor_id_hash = KeyedHashField(
        _("guarantor's resident ID number (keyed hash)"),
        source="guarantor_id_number",
        normalizer="customers.validators.normalize_resident_id",
        db_index=True,
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.GUARANTEE)
    guaranteed_amount = models.DecimalField(_("guaranteed amount"), **MONEY, validators=POSITIVE)
    joint_liability = models.BooleanField(_("joint and several liability"), default=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("guarantee")
        verbose_name_plural = _("guarantees")
        ordering = ["application", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(guaranteed_amount__gt=0), name="guarantee_amount_positive"),
            models.CheckConstraint(
                condition=Q(guarantor_customer__isnull=False) | ~Q(guarantor_id_hash=None),
                name="guarantee_names_a_guarantor",
            ),
        ]
        indexes = [models.Index(fields=["guarantor_customer", "status"], name="guarantee_customer_idx")]

    def __str__(self):
        return f"{self.guarantor_name} {self.guaranteed_amount}"
