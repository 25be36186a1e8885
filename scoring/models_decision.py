"""Decisioning data: the expert scorecard, policy rules and the straight-through policy,
derived-outcome backtests with their alerts, and champion/challenger shadow scores.

Fields, choices and constraints only; every write goes through ``scoring.services``.
Imported by ``scoring.models`` (one app, two modules).
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scoring.models import ModelKind, ModelVersion

RATINGS = [("A", "A"), ("B", "B"), ("C", "C"), ("D", "D"), ("E", "E")]


class ExpertIndicator(models.TextChoices):
    """The indicators of the working-capital expert scorecard (ratios as fractions)."""

    DEBT_RATIO = "debt_ratio", _("Debt ratio")
    CURRENT_RATIO = "current_ratio", _("Current ratio")
    NET_MARGIN = "net_margin", _("Net margin")


class RiskLevel(models.TextChoices):
    LOW = "low", _("Low risk")
    MEDIUM = "medium", _("Medium risk")
    HIGH = "high", _("High risk")


class ExpertScorecard(models.Model):
    """An expert (judgemental) scorecard: weights and bands per indicator, levels by
    weighted score. At most one is active; every saved change raises ``version``."""

    name = models.CharField(_("name"), max_length=120)
    active = models.BooleanField(_("active"), default=False)
    version = models.PositiveIntegerField(_("version"), default=1)
    notes = models.TextField(_("notes"), blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("expert scorecard")
        verbose_name_plural = _("expert scorecards")
        ordering = ["-active", "name"]
        constraints = [
            models.UniqueConstraint(fields=["active"], condition=Q(active=True), name="scoring_one_active_expert")
        ]

    def __str__(self):
        return f"{self.name} v{self.version}"

    @property
    def label(self) -> str:
        return f"expert-{self.pk}-v{self.version}"


class ExpertWeight(models.Model):
    scorecard = models.ForeignKey(
        ExpertScorecard, verbose_name=_("scorecard"), on_delete=models.CASCADE, related_name="weights"
    )
    indicator = models.CharField(_("indicator"), max_length=32, choices=ExpertIndicator.choices)
    weight = models.DecimalField(
        _("weight"),
        max_digits=5,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )

    class Meta:
        verbose_name = _("indicator weight")
        verbose_name_plural = _("indicator weights")
        ordering = ["scorecard", "indicator"]
        constraints = [models.UniqueConstraint(fields=["scorecard", "indicator"], name="scoring_expert_weight_unique")]

    def __str__(self):
        return f"{self.get_indicator_display()}: {self.weight}"


class ExpertBand(models.Model):
    """One band of an indicator: ``lower`` (<= or <) value (<= or <) ``upper``; an empty
    edge is open. Ratios are fractions: 0.5 is 50 %."""

    scorecard = models.ForeignKey(
        ExpertScorecard, verbose_name=_("scorecard"), on_delete=models.CASCADE, related_name="bands"
    )
    indicator = models.CharField(_("indicator"), max_length=32, choices=ExpertIndicator.choices)
    lower = models.DecimalField(_("from"), max_digits=12, decimal_places=4, null=True, blank=True)
    lower_inclusive = models.BooleanField(_("from included"), default=True)
    upper = models.DecimalField(_("to"), max_digits=12, decimal_places=4, null=True, blank=True)
    upper_inclusive = models.BooleanField(_("to included"), default=False)
    points = models.DecimalField(_("points"), max_digits=6, decimal_places=2)

    class Meta:
        verbose_name = _("indicator band")
        verbose_name_plural = _("indicator bands")
        ordering = ["scorecard", "indicator", "lower"]

    def __str__(self):
        return f"{self.get_indicator_display()} {self.lower}..{self.upper}: {self.points}"


class ExpertLevel(models.Model):
    """A weighted score of at least ``min_score`` (and below the next level's) is this level."""

    scorecard = models.ForeignKey(
        ExpertScorecard, verbose_name=_("scorecard"), on_delete=models.CASCADE, related_name="levels"
    )
    min_score = models.DecimalField(_("from score"), max_digits=6, decimal_places=2)
    level = models.CharField(_("risk level"), max_length=8, choices=RiskLevel.choices)
    rating = models.CharField(_("internal rating"), max_length=1, choices=RATINGS)

    class Meta:
        verbose_name = _("score level")
        verbose_name_plural = _("score levels")
        ordering = ["scorecard", "-min_score"]
        constraints = [models.UniqueConstraint(fields=["scorecard", "min_score"], name="scoring_expert_level_unique")]

    def __str__(self):
        return f">= {self.min_score}: {self.get_level_display()} ({self.rating})"


class PolicyRule(models.Model):
    """A knock-out rule as data. ``product`` empty: every product."""

    class Kind(models.TextChoices):
        BUREAU_SCORE_BELOW = "bureau_score_below", _("Credit bureau score below the threshold")
        DEBT_RATIO_ABOVE = "debt_ratio_above", _("Debt ratio above the threshold")
        WATCH_LIST = "watch_list", _("Customer on a watch list")
        HIGH_RISK_EVENT = "high_risk_event", _("Customer with an open high risk event")
        LOAN_OVERDUE = "loan_overdue", _("Customer with a loan overdue")
        AMOUNT_ABOVE = "amount_above", _("Amount above the threshold")
        CREDIT_LINE_EXCEEDED = "credit_line_exceeded", _("Amount above the credit line's headroom")
        PRODUCT_LIMITS = "product_limits", _("Amount or term outside the product's limits")

    class Action(models.TextChoices):
        RECOMMEND_DECLINE = "recommend_decline", _("Recommend declining")
        AUTO_DECLINE = "auto_decline", _("Decline automatically")

    NEEDS_THRESHOLD = frozenset({Kind.BUREAU_SCORE_BELOW, Kind.DEBT_RATIO_ABOVE, Kind.AMOUNT_ABOVE})

    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    threshold = models.DecimalField(
        _("threshold"),
        max_digits=16,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=_("Bureau score points, a debt ratio as a fraction (0.7 = 70 %) or an amount."),
    )
    product = models.ForeignKey(
        "loans.LoanProduct",
        verbose_name=_("product"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="policy_rules",
        help_text=_("Empty: every product."),
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices, default=Action.RECOMMEND_DECLINE)
    active = models.BooleanField(_("active"), default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("updated by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("policy rule")
        verbose_name_plural = _("policy rules")
        ordering = ["kind", "product_id", "id"]

    def __str__(self):
        threshold = "" if self.threshold is None else f" {self.threshold.normalize():f}"
        return f"{self.get_kind_display()}{threshold}"


class DecisionPolicy(models.Model):
    """Automated decisions for a product (``product`` empty: the default for every product
    without its own policy)."""

    product = models.OneToOneField(
        "loans.LoanProduct",
        verbose_name=_("product"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="decision_policy",
    )
    straight_through = models.BooleanField(_("straight-through approval"), default=False)
    max_amount = models.DecimalField(_("straight-through up to amount"), max_digits=16, decimal_places=2)
    grades = models.CharField(_("straight-through grades"), max_length=5, default="AB", help_text=_("e.g. AB"))
    require_coverage = models.BooleanField(_("collateral coverage must be met"), default=True)
    auto_decline = models.BooleanField(
        _("decline automatically"),
        default=False,
        help_text=_("Off: rules set to decline automatically only recommend declining for this product."),
    )
    sample_rate = models.DecimalField(
        _("share sampled for human review"),
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.1000"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    reopen_days = models.PositiveSmallIntegerField(_("reopenable for (days)"), default=30)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("updated by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("decision policy")
        verbose_name_plural = _("decision policies")
        constraints = [
            models.UniqueConstraint(fields=["product"], condition=Q(product=None), name="scoring_one_default_policy")
        ]

    def __str__(self):
        return str(self.product) if self.product_id else str(_("Default policy"))


class Backtest(models.Model):
    """Predicted against realised default for one model version at one date."""

    model_version = models.ForeignKey(
        ModelVersion, verbose_name=_("model version"), on_delete=models.CASCADE, related_name="backtests"
    )
    as_of = models.DateField(_("as of"))
    rows = models.PositiveIntegerField(_("loans with an outcome"), default=0)
    defaults = models.PositiveIntegerField(_("defaults"), default=0)
    auc = models.FloatField(_("AUC"), null=True, blank=True)
    psi = models.FloatField(_("PSI"), null=True, blank=True)
    figures = models.JSONField(_("figures"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("backtest")
        verbose_name_plural = _("backtests")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["model_version", "-created_at"], name="scoring_backtest_version_idx")]

    def __str__(self):
        return f"{self.model_version_id} @ {self.as_of}"


class ModelAlert(models.Model):
    class Kind(models.TextChoices):
        AUC_DROP = "auc_drop", _("AUC dropped")
        PSI = "psi", _("Population stability (PSI) above 0.25")

    model_version = models.ForeignKey(
        ModelVersion, verbose_name=_("model version"), on_delete=models.CASCADE, related_name="alerts"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    value = models.FloatField(_("value"))
    threshold = models.FloatField(_("threshold"))
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    created_at = models.DateTimeField(_("raised"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("model alert")
        verbose_name_plural = _("model alerts")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "kind"], condition=Q(closed_at=None), name="scoring_one_open_alert_per_kind"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.value:.3f})"


class Challenger(models.Model):
    """The version of a kind that scores in shadow next to the champion (never decides)."""

    kind = models.CharField(_("kind"), max_length=16, choices=ModelKind.choices, unique=True)
    model_version = models.ForeignKey(
        ModelVersion, verbose_name=_("model version"), on_delete=models.CASCADE, related_name="+"
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("started by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    started_at = models.DateTimeField(_("started"), default=timezone.now)

    class Meta:
        verbose_name = _("challenger")
        verbose_name_plural = _("challengers")

    def __str__(self):
        return f"{self.kind}: {self.model_version_id}"


class ShadowScore(models.Model):
    """A challenger's score of an application: stored apart from ``Score`` so nothing that
    decides or shows the application's score can read it."""

    application = models.ForeignKey(
        "loans.LoanApplication", verbose_name=_("application"), on_delete=models.CASCADE, related_name="+"
    )
    model_version = models.ForeignKey(
        ModelVersion, verbose_name=_("model version"), on_delete=models.CASCADE, related_name="shadow_scores"
    )
    probability = models.FloatField(_("probability"), null=True, blank=True)
    points = models.IntegerField(_("points"), null=True, blank=True)
    grade = models.CharField(_("grade"), max_length=1, blank=True)
    created_at = models.DateTimeField(_("scored"), default=timezone.now)

    class Meta:
        verbose_name = _("shadow score")
        verbose_name_plural = _("shadow scores")
        constraints = [
            models.UniqueConstraint(fields=["model_version", "application"], name="scoring_shadow_one_per_version")
        ]

    def __str__(self):
        return f"{self.application_id} / {self.model_version_id}"
