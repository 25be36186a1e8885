"""Rules as data: what the engine checks, with every version kept."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RuleKind(models.TextChoices):
    # Scored on every transaction or login (risk.engine).
    AMOUNT = "amount_threshold", _("Amount threshold")
    VELOCITY = "velocity", _("Velocity (N events within a window)")
    FLAGGED_DEVICE = "flagged_device", _("Flagged device")
    NEW_DEVICE = "new_device", _("New device")
    GEO_VELOCITY = "geo_velocity", _("Another city within a window")
    WATCH_LIST = "watch_list", _("Watch list")
    NIGHT_TIME = "night_time", _("Night-time activity")
    # Early warnings from the rest of the system (risk.services.early_warnings).
    PD_RISE = "pd_rise", _("PD rising between two scorings")
    CREDIT_LINE_USE = "credit_line_use", _("Credit line use above a share")
    REVENUE_DROP = "revenue_drop", _("Revenue dropping between financials")
    LOAN_OVERDUE = "loan_overdue", _("Loan overdue")
    BUCKET_WORSE = "bucket_worse", _("Loan in a worse overdue bucket")
    DOWNGRADE = "downgrade", _("Loan classification downgraded")


EVENT_RULE_KINDS = frozenset(
    {
        RuleKind.AMOUNT,
        RuleKind.VELOCITY,
        RuleKind.FLAGGED_DEVICE,
        RuleKind.NEW_DEVICE,
        RuleKind.GEO_VELOCITY,
        RuleKind.WATCH_LIST,
        RuleKind.NIGHT_TIME,
    }
)


class RiskRule(models.Model):
    """The current version of a rule. Every change is a new :class:`RiskRuleVersion` row
    (kept for ever) and an audit entry; scores name the versions they used."""

    code = models.SlugField(_("code"), max_length=48, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=RuleKind.choices)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    points = models.PositiveSmallIntegerField(_("points"))
    enabled = models.BooleanField(_("enabled"), default=True)
    description = models.CharField(_("description"), max_length=500, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    updated_at = models.DateTimeField(_("changed"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("risk rule")
        verbose_name_plural = _("risk rules")
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} v{self.version}"


class RiskRuleVersion(models.Model):
    rule = models.ForeignKey(RiskRule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField(_("version"))
    kind = models.CharField(_("kind"), max_length=20, choices=RuleKind.choices)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    points = models.PositiveSmallIntegerField(_("points"))
    enabled = models.BooleanField(_("enabled"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)
    reason = models.CharField(_("reason"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("rule version")
        verbose_name_plural = _("rule versions")
        ordering = ["rule", "-version"]
        default_permissions = ("view",)
        constraints = [models.UniqueConstraint(fields=["rule", "version"], name="risk_rule_version_unique")]

    def __str__(self):
        return f"{self.rule_id} v{self.version}"


class LevelThreshold(models.Model):
    """Where a level starts: low from 0, medium from 40, high from 80 (by default)."""

    level = models.CharField(
        _("level"), max_length=8, unique=True, choices=[("medium", _("Medium")), ("high", _("High"))]
    )
    min_score = models.PositiveSmallIntegerField(_("from score"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    updated_at = models.DateTimeField(_("changed"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("level threshold")
        verbose_name_plural = _("level thresholds")
        ordering = ["min_score"]

    def __str__(self):
        return f"{self.level} ≥ {self.min_score}"
