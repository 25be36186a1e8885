"""The customer portal's accounts (``/portal/`` and ``/api/v1/portal/``).

A ``PortalAccount`` is a customer-side login, not a ``django.contrib.auth`` user: staff and
customers never share an account table, so a portal account can never reach the admin or
the staff API. One account may hold several customers (``PortalAccess``), each proven by
its identifier, the phone on file and a one-time code (``PortalCode``). Changes to identity
fields go to officers as a ``PortalChangeRequest``.
"""

import secrets
import uuid

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.validators import validate_mobile_phone
from loansite.fields import EncryptedCharField, EncryptedFieldsModel, EncryptedJSONField, KeyedHashField


def portal_stamp_new() -> str:
    return secrets.token_hex(16)


class PortalAccount(EncryptedFieldsModel):
    """A customer's sign-in: by phone or username, with a password (Django's hashers)."""

    username = models.CharField(_("username"), max_length=150, unique=True, null=True, blank=True)
    phone = EncryptedCharField(_("mobile phone"), max_length=20, validators=[validate_mobile_phone])
    phone_hash = KeyedHashField(
        _("mobile phone (keyed hash)"),
        source="phone",
        normalizer="customers.validators.normalize_mobile_phone",
        unique=True,
    )
    password = models.CharField(_("password"), max_length=128)
    is_active = models.BooleanField(_("may sign in"), default=True)
    # Rotated by a password change or reset, a deactivation or "sign out everywhere": every
    # session and token issued before carries the old value and stops working.
    security_stamp = models.CharField(_("security stamp"), max_length=32, default=portal_stamp_new)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_login_at = models.DateTimeField(_("last sign-in"), null=True, blank=True)

    customers = models.ManyToManyField(
        "customers.Customer", through="PortalAccess", related_name="portal_accounts", verbose_name=_("customers")
    )

    # What DRF, the audit trail and the templates ask of a signed-in principal.
    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    class Meta:
        verbose_name = _("portal account")
        verbose_name_plural = _("portal accounts")
        ordering = ["-created_at"]
        permissions = [("unlock_portalaccount", _("Can unlock and deactivate portal accounts"))]

    def __str__(self):
        return self.get_username()

    def get_username(self) -> str:
        from loansite.sms import phone_masked

        return self.username or phone_masked(self.phone)

    def set_password(self, raw_password: str) -> None:
        self.password = make_password(raw_password)

    def check_password(self, raw_password: str) -> bool:
        return check_password(raw_password, self.password)

    def has_perm(self, perm, obj=None) -> bool:  # never a staff permission
        return False

    def has_perms(self, perms, obj=None) -> bool:
        return False


class PortalAccess(models.Model):
    """An account's access to one customer (proven by identifier + phone on file + code)."""

    account = models.ForeignKey(
        PortalAccount, verbose_name=_("portal account"), on_delete=models.CASCADE, related_name="accesses"
    )
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="portal_accesses"
    )
    marketing_consent = models.BooleanField(_("agrees to hear about products and offers"), default=False)
    consent_updated_at = models.DateTimeField(_("consent updated"), null=True, blank=True)
    # The newest message this account has seen for this customer (later ones show as new).
    messages_seen_at = models.DateTimeField(_("messages seen up to"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("portal access")
        verbose_name_plural = _("portal accesses")
        ordering = ["created_at", "id"]
        default_permissions = ("view",)
        constraints = [models.UniqueConstraint(fields=["account", "customer"], name="portal_access_unique")]

    def __str__(self):
        return f"{self.account} -> {self.customer}"


class PortalCode(models.Model):
    """A one-time code sent by text message: only its keyed hash is kept, it expires soon and
    allows a few tries. A request that matched nobody gets a row too (no customer, no account,
    no message sent), so that answers and timing do not tell whether it matched."""

    class Purpose(models.TextChoices):
        REGISTER = "register", _("Registration")
        ADD_ACCESS = "add_access", _("Access to another customer")
        RESET = "reset", _("Password reset")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    code_hash = models.CharField(_("code (keyed hash)"), max_length=64)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    account = models.ForeignKey(
        PortalAccount,
        verbose_name=_("portal account"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        default_permissions = ()

    def __str__(self):
        return f"{self.get_purpose_display()} {self.created_at:%Y-%m-%d %H:%M}"


class PortalLoginFailure(models.Model):
    """Failed sign-ins per (login name, address) like staff lockout; ``key`` is a keyed hash."""

    key = models.CharField(max_length=64, unique=True)
    account = models.ForeignKey(PortalAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    failures = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField(default=timezone.now)

    class Meta:
        default_permissions = ()

    def __str__(self):
        return f"{self.failures} @ {self.last_at:%H:%M}"


class PortalRevokedToken(models.Model):
    """Portal API tokens ended before they expire (logout, a used refresh token)."""

    jti = models.CharField(max_length=64, unique=True)
    account = models.ForeignKey(PortalAccount, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        default_permissions = ()

    def __str__(self):
        return self.jti


class PortalChangeRequest(EncryptedFieldsModel):
    """A customer's request to change identity fields; an officer approves or rejects it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    # The identity fields a customer may ask to change, in form order.
    FIELDS = ("name", "credit_code", "id_number", "phone")

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="change_requests"
    )
    account = models.ForeignKey(
        PortalAccount, verbose_name=_("requested by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # {field: new value}; identifiers are sensitive, so the whole request is encrypted at rest.
    changes = EncryptedJSONField(_("requested changes"), default=dict)
    note = models.TextField(_("note from the customer"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("profile change request")
        verbose_name_plural = _("profile change requests")
        ordering = ["-created_at"]
        default_permissions = ("view",)
        permissions = [("decide_portalchangerequest", _("Can approve or reject profile change requests"))]

    def __str__(self):
        return f"{self.customer} ({self.get_status_display()})"
