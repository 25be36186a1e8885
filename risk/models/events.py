"""Risk events, their timeline, alerts and the alerts' handling records."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from risk.models.inputs import Level


class EventSource(models.TextChoices):
    TRANSACTION = "transaction", _("Transaction")
    LOGIN = "login", _("Login")
    EARLY_WARNING = "early_warning", _("Early warning")
    DATA_QUALITY = "data_quality", _("Data quality")


class RiskEvent(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        INVESTIGATING = "investigating", _("Investigating")
        RESOLVED = "resolved", _("Resolved")
        FALSE_POSITIVE = "false_positive", _("False positive")

    class Outcome(models.TextChoices):
        CONFIRMED = "confirmed", _("Risk confirmed, action taken")
        CUSTOMER_CONTACTED = "customer_contacted", _("Customer contacted, explained")
        MONITOR = "monitor", _("Keep monitoring")
        NO_ISSUE = "no_issue", _("No issue found")

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.OPEN: frozenset({Status.INVESTIGATING, Status.RESOLVED, Status.FALSE_POSITIVE}),
        Status.INVESTIGATING: frozenset({Status.RESOLVED, Status.FALSE_POSITIVE}),
        Status.RESOLVED: frozenset(),
        Status.FALSE_POSITIVE: frozenset(),
    }
    ACTIVE = (Status.OPEN, Status.INVESTIGATING)

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="risk_events"
    )
    level = models.CharField(_("level"), max_length=8, choices=Level.choices)
    score = models.PositiveIntegerField(_("highest score"), default=0)
    rules_hit = models.JSONField(_("rules hit"), default=list, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=EventSource.choices)
    # Early warnings: one active event per signal (e.g. "pd_rise:1234"), so a repeated
    # signal updates it instead of opening another.
    signal_key = models.CharField(_("signal"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    escalated = models.BooleanField(_("escalated"), default=False)
    outcome = models.CharField(_("outcome"), max_length=24, choices=Outcome.choices, blank=True)
    hits = models.PositiveIntegerField(_("scored events"), default=1)
    opened_at = models.DateTimeField(_("opened"), default=timezone.now, db_index=True)
    last_seen_at = models.DateTimeField(_("last activity"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    # Bumped by every change: conditional updates compare it (SQLite has no row locks).
    version = models.PositiveIntegerField(_("version"), default=0, editable=False)

    class Meta:
        verbose_name = _("risk event")
        verbose_name_plural = _("risk events")
        ordering = ["-opened_at", "-id"]
        permissions = [("handle_riskevent", _("Can handle risk events (assign, note, resolve, act)"))]
        indexes = [
            models.Index(fields=["status", "level", "opened_at"], name="risk_event_queue_idx"),
            models.Index(fields=["customer", "status"], name="risk_event_customer_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "signal_key"],
                condition=Q(status__in=["open", "investigating"]) & ~Q(signal_key=""),
                name="risk_event_one_active_per_signal",
            )
        ]

    def __str__(self):
        return f"RE-{self.pk} {self.get_level_display()}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class RiskEventEntry(models.Model):
    """The event's timeline, in order of ``(created_at, id)``."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("New hit")
        ASSIGNED = "assigned", _("Assigned")
        NOTE = "note", _("Note")
        ESCALATED = "escalated", _("Escalated")
        LINKED = "linked", _("Linked")
        ACTION = "action", _("Action on the customer")
        RESOLVED = "resolved", _("Resolved")

    event = models.ForeignKey(RiskEvent, verbose_name=_("event"), on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    text = models.TextField(_("text"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline")
        ordering = ["created_at", "id"]
        default_permissions = ("view",)
        indexes = [models.Index(fields=["event", "created_at"], name="risk_entry_event_idx")]

    def __str__(self):
        return f"{self.event_id} {self.kind}"


class Alert(models.Model):
    class Severity(models.TextChoices):
        LOW = "low", _("Low")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")
        CRITICAL = "critical", _("Critical")

    class Status(models.TextChoices):
        NEW = "new", _("New")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        CLOSED = "closed", _("Closed")

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.NEW: frozenset({Status.ACKNOWLEDGED, Status.CLOSED}),
        Status.ACKNOWLEDGED: frozenset({Status.CLOSED}),
        Status.CLOSED: frozenset(),
    }

    event = models.ForeignKey(
        RiskEvent, verbose_name=_("risk event"), null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="risk_alerts",
    )
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    title = models.CharField(_("title"), max_length=200)
    source = models.CharField(_("source"), max_length=16, choices=EventSource.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.NEW)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("raised"), default=timezone.now, db_index=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=0, editable=False)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-created_at", "-id"]
        permissions = [("handle_alert", _("Can handle alerts"))]
        indexes = [models.Index(fields=["status", "severity", "created_at"], name="risk_alert_queue_idx")]

    def __str__(self):
        return f"AL-{self.pk} {self.get_severity_display()}: {self.title}"


class AlertAction(models.Model):
    """An alert's handling record."""

    class Kind(models.TextChoices):
        RAISED = "raised", _("Raised")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        ASSIGNED = "assigned", _("Assigned")
        NOTE = "note", _("Note")
        CLOSED = "closed", _("Closed")

    alert = models.ForeignKey(Alert, verbose_name=_("alert"), on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    text = models.TextField(_("text"), blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("alert handling record")
        verbose_name_plural = _("alert handling records")
        ordering = ["created_at", "id"]
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.alert_id} {self.kind}"
