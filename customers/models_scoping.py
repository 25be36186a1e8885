"""Row-level scoping of the customer book: a supervisor's grant of another manager's customer.

Who sees which customers is decided in one place, ``loansite/scoping.py``; this model holds
the exceptions a supervisor granted (who, which customer, why, until when). Written only by
``customers.services.access_grants`` (audited). The permissions that decide who is scoped
and who sees identifiers in full are declared here as well.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer


class CustomerAccessGrantQuerySet(models.QuerySet):
    def active(self, *, at=None):
        """Grants in force now (or at ``at``): not revoked and not expired."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=at or timezone.now())


class CustomerAccessGrant(models.Model):
    """``user`` may see and work on ``customer`` (another manager's) until ``expires_at``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("granted to"), on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="access_grants"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("granted by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.TextField(_("reason"))
    expires_at = models.DateTimeField(_("expires"))
    created_at = models.DateTimeField(_("granted at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = CustomerAccessGrantQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer access grant")
        verbose_name_plural = _("customer access grants")
        ordering = ["-created_at", "-id"]
        # Grants are revoked, never edited or deleted (the audit trail keeps both).
        default_permissions = ("view", "add")
        permissions = [
            ("revoke_customeraccessgrant", _("Can revoke customer access grants")),
            # Not scoped to one's own book: sees every customer, application and loan.
            ("view_all_customers", _("Can see every customer (not only their own book)")),
            # Resident ID numbers and phone numbers in full on the customer's page (audited).
            ("view_identifiers", _("Can see full ID and phone numbers")),
        ]
        indexes = [
            models.Index(fields=["user", "expires_at"], name="grant_user_expires_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="grant_has_reason"),
        ]

    def __str__(self):
        return f"{self.user} → {self.customer}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
