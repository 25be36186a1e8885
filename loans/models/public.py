"""Public form submissions: one row per submitted form, so a form is never filed twice."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PublicSubmission(models.Model):
    """The one-time token of a public application form as served, and what it made.

    The token is unique: the same form posted again (a refresh, a double click, back and
    submit) finds this row and its application instead of making another. ``application``
    is empty only for a moment inside the submitting transaction.
    """

    token = models.CharField(_("submission token"), max_length=64, unique=True)
    application = models.OneToOneField(
        "loans.LoanApplication",
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="public_submission",
    )
    created_at = models.DateTimeField(_("submitted"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("public form submission")
        verbose_name_plural = _("public form submissions")
        default_permissions = ()

    def __str__(self):
        return self.token[:8]
