"""Model registry, training and batch runs, score rows and observed outcomes.

Fields, choices, constraints and the transition table only; every write goes through
``scoring.services``.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ModelKind(models.TextChoices):
    APPROVAL = "approval", _("Approval classifier")
    PD = "pd", _("Probability-of-default scorecard")
    LIMIT = "limit", _("Credit-limit estimator")
    # A PD scorecard trained on an uploaded data set with its own columns (a bank's history,
    # a public set): never scores applications; predicts from files or JSON with those columns.
    FILE_PD = "file_pd", _("PD scorecard from a file")


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        TRAINING = "training", _("Training")
        READY = "ready", _("Ready")
        ACTIVE = "active", _("Active")
        RETIRED = "retired", _("Retired")
        FAILED = "failed", _("Failed")

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.TRAINING: frozenset({Status.READY, Status.FAILED}),
        Status.READY: frozenset({Status.ACTIVE, Status.RETIRED}),
        Status.ACTIVE: frozenset({Status.RETIRED}),
        # A retired version can come back (rollback).
        Status.RETIRED: frozenset({Status.ACTIVE}),
        Status.FAILED: frozenset(),
    }

    kind = models.CharField(_("kind"), max_length=16, choices=ModelKind.choices)
    version = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.TRAINING)
    algorithm = models.CharField(_("algorithm"), max_length=64, blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    features = models.JSONField(_("features"), default=list, blank=True)
    training_rows = models.PositiveIntegerField(_("training rows"), default=0)
    data_hash = models.CharField(_("training data hash"), max_length=64, blank=True)
    metrics = models.JSONField(_("metrics"), default=dict, blank=True)
    # Training population per feature and of the score (decile edges and shares), for PSI.
    reference = models.JSONField(_("reference distribution"), default=dict, blank=True)
    library_versions = models.JSONField(_("library versions"), default=dict, blank=True)
    # joblib bytes in the database: every worker on every machine reads the same artifact.
    artifact = models.BinaryField(_("artifact"), null=True, blank=True, editable=False)
    artifact_size = models.PositiveIntegerField(_("artifact size (bytes)"), default=0)
    error = models.TextField(_("error"), blank=True)
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("trained by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    trained_at = models.DateTimeField(_("trained"), null=True, blank=True)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)

    class Meta:
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="scoring_model_version_unique"),
            models.UniqueConstraint(
                fields=["kind"], condition=Q(status="active"), name="scoring_one_active_version_per_kind"
            ),
        ]
        permissions = [
            ("train_model", _("Can train models and run batch scoring")),
            ("activate_modelversion", _("Can activate, retire and roll back model versions")),
        ]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        return f"{self.kind}-v{self.version}"

    @classmethod
    def can_move(cls, from_status: str, to_status: str) -> bool:
        return to_status in cls.TRANSITIONS.get(from_status, frozenset())


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class TrainingRun(models.Model):
    kind = models.CharField(_("kind"), max_length=16, choices=ModelKind.choices)
    status = models.CharField(_("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    percent = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    stage = models.CharField(_("stage"), max_length=120, blank=True)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    model_version = models.ForeignKey(
        ModelVersion,
        verbose_name=_("model version"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="training_runs",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    task_id = models.CharField(_("task id"), max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("training run")
        verbose_name_plural = _("training runs")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"


class ScoringRun(models.Model):
    """One batch scoring run; ``cursor`` (last application id done) makes it resumable."""

    class Scope(models.TextChoices):
        PENDING = "pending", _("Pending applications")
        PORTFOLIO = "portfolio", _("Whole portfolio")

    scope = models.CharField(_("scope"), max_length=16, choices=Scope.choices, default=Scope.PENDING)
    status = models.CharField(_("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    total = models.PositiveIntegerField(_("rows to score"), default=0)
    done = models.PositiveIntegerField(_("rows done"), default=0)
    written = models.PositiveIntegerField(_("score rows written"), default=0)
    cursor = models.BigIntegerField(_("last application id done"), default=0)
    chunk_size = models.PositiveIntegerField(_("chunk size"), default=20000)
    # The versions this run scores with, fixed at its start so a resume uses the same ones.
    model_version_ids = models.JSONField(_("model versions"), default=list, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    task_id = models.CharField(_("task id"), max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("scoring run")
        verbose_name_plural = _("scoring runs")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_scope_display()} #{self.pk}"

    @property
    def percent(self) -> int:
        if self.status == RunStatus.SUCCEEDED:
            return 100
        return int(100 * self.done / self.total) if self.total else 0


class Score(models.Model):
    """One model version's output for one application. Written as inserts, never updated."""

    # No single-column indexes: the unique (application, model_version) and the
    # (model_version, created_at) index lead with these columns and serve the foreign keys.
    # Two indexes instead of four make the batch insert of a million rows half as costly.
    application = models.ForeignKey(
        "loans.LoanApplication",
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        related_name="scores",
        db_index=False,
    )
    model_version = models.ForeignKey(
        ModelVersion, verbose_name=_("model version"), on_delete=models.PROTECT, related_name="scores", db_index=False
    )
    # Approval model: probability of approval; PD scorecard: probability of default.
    probability = models.FloatField(_("probability"), null=True, blank=True)
    points = models.IntegerField(_("points"), null=True, blank=True)
    grade = models.CharField(_("grade"), max_length=1, blank=True)
    # Credit-limit estimator: the recommended limit.
    value = models.DecimalField(_("recommended limit"), max_digits=16, decimal_places=2, null=True, blank=True)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    created_at = models.DateTimeField(_("scored"), default=timezone.now)

    class Meta:
        verbose_name = _("score")
        verbose_name_plural = _("scores")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "model_version"], name="scoring_score_one_per_version")
        ]
        indexes = [models.Index(fields=["model_version", "created_at"], name="scoring_score_version_idx")]

    def __str__(self):
        return f"{self.application_id} / {self.model_version_id}"


class TrainingDataset(models.Model):
    """An uploaded historical data set (CSV or XLSX, parsed within the import limits) and the
    schema it is trained with; the worker reads it from here, so every machine sees it."""

    file_name = models.CharField(_("file"), max_length=255)
    file_format = models.CharField(_("format"), max_length=8)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    content = models.BinaryField(_("content"), editable=False)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    target = models.CharField(_("target column"), max_length=200)
    schema = models.JSONField(_("schema"), default=dict, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        verbose_name = _("training data set")
        verbose_name_plural = _("training data sets")
        ordering = ["-created_at"]
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.file_name} ({self.rows})"


class LoanOutcome(models.Model):
    """The observed outcome of an approved loan: the PD model's training label."""

    class Source(models.TextChoices):
        SERVICING = "servicing", _("Loan servicing")
        IMPORT = "import", _("Import")
        DEMO = "demo", _("Demo data")
        # Typed in for an application without a loan (kept, labelled; servicing replaces it).
        MANUAL = "manual", _("Manual (no loan)")

    application = models.OneToOneField(
        "loans.LoanApplication", verbose_name=_("application"), on_delete=models.CASCADE, related_name="outcome"
    )
    defaulted = models.BooleanField(_("defaulted"))
    # Typed in by hand unless a process says otherwise (servicing, import, demo).
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.MANUAL)
    observed_at = models.DateTimeField(_("observed"), default=timezone.now)
    # Derived from servicing: the worst days past due within the window and the day 90 was reached.
    max_days_past_due = models.PositiveIntegerField(_("worst days past due"), null=True, blank=True)
    default_date = models.DateField(_("default date"), null=True, blank=True)

    class Meta:
        verbose_name = _("loan outcome")
        verbose_name_plural = _("loan outcomes")

    def __str__(self):
        return f"{self.application_id}: {'default' if self.defaulted else 'good'}"


# The decisioning models (expert scorecard, policy, backtests, challengers) live in their own module.
from scoring.models_decision import (  # noqa: E402,F401
    Backtest,
    Challenger,
    DecisionPolicy,
    ExpertBand,
    ExpertIndicator,
    ExpertLevel,
    ExpertScorecard,
    ExpertWeight,
    ModelAlert,
    PolicyRule,
    RiskLevel,
    ShadowScore,
)
