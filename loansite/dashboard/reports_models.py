"""Report files kept for download: the monthly report beat generates (and administrators
generate on demand) and the loan-level exports a worker writes for the person who asked.

The file is stored under a random name (``reports/<year>/<hex>.xlsx``); the list page and the
download view decide who may read it (``loansite.dashboard.reports_views``)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReportFile(models.Model):
    class Kind(models.TextChoices):
        MONTHLY = "monthly", _("Monthly report")
        LOANS = "loans", _("Loan-level export")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    # The month a monthly report covers (its first day); empty for exports.
    month = models.DateField(_("month"), null=True, blank=True)
    # What the export was filtered by (plain JSON, as the form cleaned it) and in which language.
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    file = models.FileField(_("file"), upload_to="reports/%Y/", blank=True, max_length=200)
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    rows = models.PositiveBigIntegerField(_("rows"), default=0)
    error = models.CharField(_("error"), max_length=500, blank=True)
    # Empty for the monthly report beat generates.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("report file")
        verbose_name_plural = _("report files")
        ordering = ["-created_at", "-id"]
        default_permissions = ("view",)
        permissions = [
            ("view_reports", _("Can view the portfolio reports")),
            ("generate_reportfile", _("Can generate the monthly report now")),
        ]
        constraints = [
            # One monthly report per month: beat and "generate now" regenerate it in place.
            models.UniqueConstraint(fields=["month"], condition=Q(kind="monthly"), name="report_file_one_per_month"),
        ]
        indexes = [models.Index(fields=["kind", "created_at"], name="report_file_kind_idx")]

    def __str__(self):
        if self.kind == self.Kind.MONTHLY and self.month:
            return f"{self.get_kind_display()} {self.month:%Y-%m}"
        return f"{self.get_kind_display()} #{self.pk}"
