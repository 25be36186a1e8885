"""What every session and API token of a user is bound to, so that they can be ended early."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SecurityStamp(models.Model):
    """A random value per user; rotating it ends all of the user's sessions and API tokens.

    Tokens carry a keyed hash of it (with the password hash and the active, staff and
    superuser flags), sessions store one (with the flags): see ``loansite.security``. A user
    without a row has the empty stamp until the first rotation.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="security_stamp",
        verbose_name=_("user"),
    )
    value = models.CharField(_("value"), max_length=64)
    rotated_at = models.DateTimeField(_("rotated at"))

    class Meta:
        verbose_name = _("security stamp")
        verbose_name_plural = _("security stamps")
        default_permissions = ()

    def __str__(self):
        return f"security stamp of user {self.user_id}"


class RevokedToken(models.Model):
    """An API access token ended before it expires (logout). Rows past ``expires_at`` are pruned."""

    jti = models.CharField(_("token id"), max_length=255, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    expires_at = models.DateTimeField(_("expires at"), db_index=True)

    class Meta:
        verbose_name = _("revoked token")
        verbose_name_plural = _("revoked tokens")
        default_permissions = ()

    def __str__(self):
        return f"revoked token {self.jti}"


# The report files (monthly reports, loan-level exports) live with the reports.
from loansite.dashboard.reports_models import ReportFile  # noqa: E402, F401
