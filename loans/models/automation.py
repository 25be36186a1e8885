"""Automated decisions: what the decision engine did with an application after scoring
(straight-through approval, automatic decline, a decline recommendation or a referral to
people), on which rules and score, whether it was sampled for human review, and its
review or reopening. Written only by ``loans.services.automation``."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loans.models.applications import LoanApplication


class AutomatedDecision(models.Model):
    class Kind(models.TextChoices):
        APPROVED = "approved", _("Approved straight through")
        DECLINED = "declined", _("Declined automatically")
        DECLINE_RECOMMENDED = "recommend_decline", _("Decline recommended")
        REFERRED = "referred", _("Referred to a reviewer")

    class Review(models.TextChoices):
        NONE = "none", _("Not sampled")
        PENDING = "pending", _("Sampled: awaiting review")
        CONFIRMED = "confirmed", _("Reviewed: confirmed")
        REOPENED = "reopened", _("Reopened")

    # Decisions that changed the application's status (and so can be reopened).
    FINAL = (Kind.APPROVED, Kind.DECLINED)

    application = models.ForeignKey(
        LoanApplication, verbose_name=_("application"), on_delete=models.CASCADE, related_name="automated_decisions"
    )
    review_round = models.PositiveSmallIntegerField(_("review round"))
    kind = models.CharField(_("decision"), max_length=20, choices=Kind.choices)
    # [{"rule": id, "kind": ..., "threshold": ..., "value": ..., "action": ...}]
    rules = models.JSONField(_("rules hit"), default=list, blank=True)
    # Why it was not approved straight through (empty when it was).
    checks = models.JSONField(_("checks"), default=list, blank=True)
    score_points = models.IntegerField(_("score points"), null=True, blank=True)
    score_grade = models.CharField(_("grade"), max_length=1, blank=True)
    score_probability = models.DecimalField(_("probability of default"), max_digits=6, decimal_places=4, null=True)
    score_model_version = models.CharField(_("model version"), max_length=64, blank=True)
    actor_label = models.CharField(_("decided by"), max_length=64)
    sampled = models.BooleanField(_("sampled for review"), default=False)
    review_status = models.CharField(_("review"), max_length=16, choices=Review.choices, default=Review.NONE)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    review_note = models.TextField(_("review note"), blank=True)
    reopen_until = models.DateTimeField(_("reopenable until"), null=True, blank=True)
    created_at = models.DateTimeField(_("decided"), default=timezone.now)

    class Meta:
        verbose_name = _("automated decision")
        verbose_name_plural = _("automated decisions")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "review_round"], name="loans_one_automated_per_round")
        ]
        indexes = [models.Index(fields=["review_status", "created_at"], name="loans_auto_review_idx")]
        permissions = [("review_automateddecision", _("Can review and reopen automated decisions"))]

    def __str__(self):
        return f"{self.application_id}: {self.get_kind_display()}"
