"""Data management: where inputs come from, quality checks and early-warning baselines."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DataSource(models.Model):
    """A feed of inputs (API, import, demo); volumes and last receipt are read from the data."""

    code = models.SlugField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(_("description"), max_length=500, blank=True)
    # A source silent for longer than this fails the freshness check.
    expected_every_hours = models.PositiveIntegerField(_("expected at least every (hours)"), default=24)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("data source")
        verbose_name_plural = _("data sources")
        ordering = ["code"]

    def __str__(self):
        return self.name


class DataQualityCheck(models.Model):
    class Kind(models.TextChoices):
        COMPLETENESS = "completeness", _("Completeness")
        VALIDITY = "validity", _("Validity")
        FRESHNESS = "freshness", _("Freshness")
        DUPLICATES = "duplicates", _("Duplicates")
        DRIFT = "drift", _("Value drift")

    class Dataset(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        TRANSACTIONS = "transactions", _("Transactions")
        IMPORTS = "imports", _("Imports")

    code = models.SlugField(_("code"), max_length=48, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    dataset = models.CharField(_("data"), max_length=16, choices=Dataset.choices)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        verbose_name = _("data-quality check")
        verbose_name_plural = _("data-quality checks")
        ordering = ["dataset", "code"]

    def __str__(self):
        return self.name


class DataQualityResult(models.Model):
    check_def = models.ForeignKey(
        DataQualityCheck, verbose_name=_("check"), on_delete=models.CASCADE, related_name="results"
    )
    ran_at = models.DateTimeField(_("run"), default=timezone.now, db_index=True)
    passed = models.BooleanField(_("passed"))
    checked = models.PositiveIntegerField(_("rows checked"), default=0)
    failing = models.PositiveIntegerField(_("rows failing"), default=0)
    measured = models.FloatField(_("measured value"), null=True, blank=True)
    # The first failing rows: [{"id": ..., "problem": ...}].
    failing_rows = models.JSONField(_("failing rows"), default=list, blank=True)
    detail = models.CharField(_("detail"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("data-quality result")
        verbose_name_plural = _("data-quality results")
        ordering = ["-ran_at", "-id"]
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.check_def_id} {self.ran_at:%Y-%m-%d %H:%M} {'ok' if self.passed else 'failed'}"


class WatchBaseline(models.Model):
    """The last value an early-warning scan saw for a customer (e.g. monthly revenue), so the
    next scan can tell by how much it moved."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    metric = models.CharField(max_length=32)
    value = models.DecimalField(max_digits=20, decimal_places=4)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["customer", "metric"], name="risk_baseline_unique")]

    def __str__(self):
        return f"{self.customer_id} {self.metric}={self.value}"
