"""Delinquency: the daily close and what it keeps (see ``loans.close``).

- ``DayClose``: one row per closed date (status, counts, the step reached: a killed run resumes).
- ``ClassificationThreshold``: days past due from which each of the five categories applies (data,
  edited by the risk role); ``ProvisionRate``: the provision rate per category; ``CloseSettings``:
  the close's other parameters (restructuring floor and observation period, default LGD and PD,
  reminder lead days).
- ``LoanDaySnapshot``: each live loan as the close left it on a date (what the reports read).
- ``ClassificationChange``: the classification history (the close's own changes, manual
  downgrades, upgrade requests and their decision).
- ``Reminder``: every reminder sent (never twice per installment, kind and channel).
- ``DelinquencySignal``: early-warning records (loan overdue, worse bucket, downgrade) that the
  risk app consumes.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loans.models.products import MONEY, RATE

SHARE = {"max_digits": 7, "decimal_places": 6}
SHARE_RANGE = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))]


class DpdBucket(models.TextChoices):
    CURRENT = "current", _("Current")
    D1_30 = "1-30", _("1-30 days")
    D31_60 = "31-60", _("31-60 days")
    D61_90 = "61-90", _("61-90 days")
    D91_180 = "91-180", _("91-180 days")
    D181_360 = "181-360", _("181-360 days")
    D360_PLUS = "360+", _("More than 360 days")


# The first day past due of each bucket (ordered, worst last).
DPD_BUCKET_FROM = (
    (DpdBucket.CURRENT, 0),
    (DpdBucket.D1_30, 1),
    (DpdBucket.D31_60, 31),
    (DpdBucket.D61_90, 61),
    (DpdBucket.D91_180, 91),
    (DpdBucket.D181_360, 181),
    (DpdBucket.D360_PLUS, 361),
)
DPD_BUCKET_ORDER = {bucket.value: rank for rank, (bucket, _days) in enumerate(DPD_BUCKET_FROM)}


class RiskClass(models.TextChoices):
    """The five categories (五级分类), best first."""

    NORMAL = "normal", _("Normal")
    SPECIAL_MENTION = "special_mention", _("Special mention")
    SUBSTANDARD = "substandard", _("Substandard")
    DOUBTFUL = "doubtful", _("Doubtful")
    LOSS = "loss", _("Loss")


RISK_CLASS_ORDER = {value: rank for rank, value in enumerate(RiskClass.values)}
# Non-performing loans (不良贷款).
NPL_CLASSES = (RiskClass.SUBSTANDARD, RiskClass.DOUBTFUL, RiskClass.LOSS)


def risk_class_worse(a: str, b: str) -> str:
    return a if RISK_CLASS_ORDER[a] >= RISK_CLASS_ORDER[b] else b


class DayClose(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    date = models.DateField(_("date"), unique=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # The last step finished (a resumed run starts after it) and the steps' counts.
    step = models.CharField(_("step reached"), max_length=40, blank=True)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    runs = models.PositiveIntegerField(_("runs"), default=0)

    class Meta:
        verbose_name = _("day close")
        verbose_name_plural = _("day closes")
        ordering = ["-date"]
        default_permissions = ("view",)
        permissions = [("run_dayclose", _("Can run the daily close"))]

    def __str__(self):
        return f"{self.date} {self.status}"


class ClassificationThreshold(models.Model):
    """From how many days past due a category applies at least (the close takes the worst)."""

    risk_class = models.CharField(_("category"), max_length=16, choices=RiskClass.choices, unique=True)
    min_days_past_due = models.PositiveIntegerField(_("from days past due"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("classification threshold")
        verbose_name_plural = _("classification thresholds")
        ordering = ["min_days_past_due"]
        default_permissions = ("view", "change")

    def __str__(self):
        return f"{self.get_risk_class_display()} ≥ {self.min_days_past_due}"


class ProvisionRate(models.Model):
    risk_class = models.CharField(_("category"), max_length=16, choices=RiskClass.choices, unique=True)
    rate = models.DecimalField(_("provision rate"), **RATE, validators=SHARE_RANGE, help_text=_("e.g. 0.0200 for 2%"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("provision rate")
        verbose_name_plural = _("provision rates")
        ordering = ["risk_class"]
        default_permissions = ("view", "change")
        constraints = [models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lte=1), name="provision_rate_range")]

    def __str__(self):
        return f"{self.get_risk_class_display()}: {self.rate:.2%}"


class CloseSettings(models.Model):
    """The close's parameters (one row)."""

    restructured_class = models.CharField(
        _("restructured loans at least"), max_length=16, choices=RiskClass.choices, default=RiskClass.SUBSTANDARD
    )
    observation_months = models.PositiveSmallIntegerField(
        _("observation period after restructuring (months)"), default=12
    )
    default_lgd = models.DecimalField(
        _("loss given default, unsecured"), **SHARE, validators=SHARE_RANGE, default=Decimal("0.450000")
    )
    default_pd = models.DecimalField(
        _("probability of default without a score"), **SHARE, validators=SHARE_RANGE, default=Decimal("0.050000")
    )
    reminder_days_before = models.PositiveSmallIntegerField(
        _("reminder days before the due date"), default=3, validators=[MaxValueValidator(60)]
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("close settings")
        verbose_name_plural = _("close settings")
        default_permissions = ("view", "change")

    def __str__(self):
        return str(_("Close settings"))


class LoanDaySnapshot(models.Model):
    # No index of its own: the unique (loan, date) leads with it (one index less per row written).
    loan = models.ForeignKey(
        "loans.Loan", verbose_name=_("loan"), on_delete=models.CASCADE, related_name="snapshots", db_index=False
    )
    date = models.DateField(_("date"))
    status = models.CharField(_("status"), max_length=16)
    days_past_due = models.PositiveIntegerField(_("days past due"), default=0)
    dpd_bucket = models.CharField(_("bucket"), max_length=8, choices=DpdBucket.choices, default=DpdBucket.CURRENT)
    risk_class = models.CharField(_("category"), max_length=16, choices=RiskClass.choices, default=RiskClass.NORMAL)
    outstanding_principal = models.DecimalField(_("outstanding principal"), **MONEY)
    overdue_principal = models.DecimalField(_("overdue principal"), **MONEY, default=0)
    overdue_interest = models.DecimalField(_("overdue interest"), **MONEY, default=0)
    penalty_accrued = models.DecimalField(_("penalty accrued"), **MONEY, default=0)
    penalty_unpaid = models.DecimalField(_("penalty unpaid"), **MONEY, default=0)
    provision = models.DecimalField(_("provision"), **MONEY, default=0)
    pd = models.DecimalField(_("PD"), **SHARE, default=0)
    lgd = models.DecimalField(_("LGD"), **SHARE, default=0)
    ead = models.DecimalField(_("EAD"), **MONEY, default=0)
    expected_loss = models.DecimalField(_("expected loss"), **MONEY, default=0)

    class Meta:
        verbose_name = _("loan day snapshot")
        verbose_name_plural = _("loan day snapshots")
        ordering = ["-date", "loan"]
        default_permissions = ("view",)
        constraints = [models.UniqueConstraint(fields=["loan", "date"], name="loan_day_snapshot_unique")]
        indexes = [models.Index(fields=["date", "risk_class"], name="loan_snapshot_date_class_idx")]

    def __str__(self):
        return f"{self.loan_id} {self.date}"


class ClassificationChange(models.Model):
    class Source(models.TextChoices):
        CLOSE = "close", _("Daily close")
        MANUAL = "manual", _("Manual")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        APPLIED = "applied", _("Applied")
        REFUSED = "refused", _("Refused")

    loan = models.ForeignKey(
        "loans.Loan", verbose_name=_("loan"), on_delete=models.CASCADE, related_name="classification_changes"
    )
    date = models.DateField(_("date"))
    from_class = models.CharField(_("from"), max_length=16, choices=RiskClass.choices)
    to_class = models.CharField(_("to"), max_length=16, choices=RiskClass.choices)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.APPLIED)
    reason = models.TextField(_("reason"), blank=True)
    days_past_due = models.PositiveIntegerField(_("days past due"), default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decision_note = models.TextField(_("decision note"), blank=True)
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        verbose_name = _("classification change")
        verbose_name_plural = _("classification changes")
        ordering = ["-date", "-id"]
        default_permissions = ("view",)
        permissions = [
            ("downgrade_classificationchange", _("Can downgrade a loan's classification and request upgrades")),
            ("approve_classificationchange", _("Can approve a loan's classification upgrade")),
        ]
        indexes = [
            models.Index(fields=["loan", "date"], name="classification_loan_date_idx"),
            models.Index(fields=["status", "created_at"], name="classification_status_idx"),
        ]

    def __str__(self):
        return f"{self.loan_id} {self.from_class} -> {self.to_class}"


class Reminder(models.Model):
    class Kind(models.TextChoices):
        BEFORE_DUE = "before_due", _("Before the due date")
        OVERDUE_1 = "overdue_1", _("First day overdue")
        OVERDUE_7 = "overdue_7", _("7 days overdue")
        OVERDUE_30 = "overdue_30", _("30 days overdue")

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("No address")

    installment = models.ForeignKey(
        "loans.Installment", verbose_name=_("installment"), on_delete=models.CASCADE, related_name="reminders"
    )
    loan = models.ForeignKey("loans.Loan", verbose_name=_("loan"), on_delete=models.CASCADE, related_name="reminders")
    date = models.DateField(_("close date"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    # An email address, or the mobile number masked (the full number stays encrypted on the customer).
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("message"), blank=True)
    error = models.CharField(_("error"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["-date", "-id"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(fields=["installment", "kind", "channel"], name="reminder_once_per_kind_channel")
        ]
        indexes = [
            models.Index(fields=["status", "id"], name="reminder_status_idx"),
            models.Index(fields=["loan", "date"], name="reminder_loan_date_idx"),
        ]

    def __str__(self):
        return f"{self.installment_id} {self.kind} {self.channel}"


class DelinquencySignal(models.Model):
    """An early-warning record from the close; the risk app turns it into a risk event and
    sets ``consumed_at``."""

    class Kind(models.TextChoices):
        LOAN_OVERDUE = "loan_overdue", _("Loan became overdue")
        BUCKET_WORSE = "bucket_worse", _("Moved to a worse bucket")
        DOWNGRADE = "downgrade", _("Classification downgraded")

    loan = models.ForeignKey(
        "loans.Loan", verbose_name=_("loan"), on_delete=models.CASCADE, related_name="delinquency_signals"
    )
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="delinquency_signals"
    )
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    consumed_at = models.DateTimeField(_("consumed"), null=True, blank=True)

    class Meta:
        verbose_name = _("delinquency signal")
        verbose_name_plural = _("delinquency signals")
        ordering = ["-date", "-id"]
        default_permissions = ("view",)
        constraints = [models.UniqueConstraint(fields=["loan", "date", "kind"], name="delinquency_signal_once")]
        indexes = [models.Index(fields=["consumed_at"], name="delinq_signal_consumed_idx")]

    def __str__(self):
        return f"{self.loan_id} {self.date} {self.kind}"
