"""Rating history: every internal rating a customer was given or asked to get, with who
or what set it, on which inputs and model version. Written only by
``customers.services.ratings``."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, Rating


class CustomerRating(models.Model):
    class Source(models.TextChoices):
        EXPERT = "expert", _("Expert scorecard")
        STATISTICAL = "statistical", _("Statistical model")
        ANALYST = "analyst", _("Risk analyst")

    class Status(models.TextChoices):
        APPLIED = "applied", _("Applied")
        PENDING = "pending", _("Awaiting approval")
        REFUSED = "refused", _("Refused")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="rating_history"
    )
    rating = models.CharField(_("internal rating"), max_length=1, choices=Rating.choices)
    previous = models.CharField(_("previous rating"), max_length=1, choices=Rating.choices, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.APPLIED)
    model_version = models.CharField(_("model or scorecard version"), max_length=64, blank=True)
    inputs = models.JSONField(_("inputs"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved or refused by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decision_note = models.TextField(_("approver's note"), blank=True)
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        verbose_name = _("rating change")
        verbose_name_plural = _("rating history")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="customer_rating_history_idx"),
            models.Index(fields=["status", "created_at"], name="customer_rating_status_idx"),
        ]
        permissions = [("approve_customerrating", _("Can approve rating upgrades of more than one notch"))]

    def __str__(self):
        return f"{self.customer_id}: {self.previous or '-'} -> {self.rating} ({self.get_status_display()})"
