"""What the risk engine reads: transactions, logins, devices, IP ranges and watch lists."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 16, "decimal_places": 2}


class Source(models.TextChoices):
    """Where an input came from (the data sources of the monitoring page)."""

    API = "api", _("API")
    IMPORT = "import", _("Import")
    DEMO = "demo", _("Demo generator")
    SYSTEM = "system", _("This system")


class Level(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class ScoredMixin(models.Model):
    """The engine's answer, stored with the input it scored and never rewritten.

    ``rule_versions`` records ``{rule code: version}`` of every rule the engine ran (hit or
    not) and the level thresholds, so a past score can always be explained.
    """

    score = models.PositiveIntegerField(_("score"), default=0)
    level = models.CharField(_("level"), max_length=8, choices=Level.choices, default=Level.LOW)
    rules_hit = models.JSONField(_("rules hit"), default=list, blank=True)
    rule_versions = models.JSONField(_("rule versions used"), default=dict, blank=True)
    event = models.ForeignKey(
        "risk.RiskEvent",
        verbose_name=_("risk event"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        abstract = True


class Device(models.Model):
    fingerprint = models.CharField(_("fingerprint"), max_length=128, unique=True)
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True)
    browser = models.CharField(_("browser"), max_length=64, blank=True)
    os = models.CharField(_("operating system"), max_length=64, blank=True)
    device_family = models.CharField(_("device"), max_length=64, blank=True)
    first_seen_at = models.DateTimeField(_("first seen"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now, db_index=True)
    customers = models.ManyToManyField(
        "customers.Customer", verbose_name=_("customers seen on it"), through="DeviceCustomer", related_name="devices"
    )
    flagged = models.BooleanField(_("flagged"), default=False, db_index=True)
    flag_reason = models.CharField(_("flag reason"), max_length=500, blank=True)
    flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("flagged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    flagged_at = models.DateTimeField(_("flagged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["-last_seen_at"]
        permissions = [("flag_device", _("Can flag devices"))]

    def __str__(self):
        label = " / ".join(part for part in (self.device_family, self.os, self.browser) if part)
        return f"{self.fingerprint[:16]} {label}".strip()


class DeviceCustomer(models.Model):
    """A customer seen on a device, from when (a device is "new" for a customer before that)."""

    # No single-column indexes: the unique (device, customer) and (customer, first_seen_at)
    # indexes start with these columns and serve every lookup by either.
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="links", db_index=False)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="device_links", db_index=False
    )
    first_seen_at = models.DateTimeField(_("first seen"))

    class Meta:
        verbose_name = _("device use")
        verbose_name_plural = _("device uses")
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["device", "customer"], name="risk_device_customer_unique")]
        indexes = [models.Index(fields=["customer", "first_seen_at"], name="risk_devcust_customer_idx")]

    def __str__(self):
        return f"{self.device_id} / {self.customer_id}"


class Transaction(ScoredMixin):
    class Direction(models.TextChoices):
        IN = "in", _("Incoming")
        OUT = "out", _("Outgoing")

    class Channel(models.TextChoices):
        MOBILE = "mobile", _("Mobile app")
        WEB = "web", _("Online banking")
        POS = "pos", _("Card terminal")
        ATM = "atm", _("ATM")
        BRANCH = "branch", _("Branch")
        TRANSFER = "transfer", _("Bank transfer")

    external_id = models.CharField(
        _("external id"), max_length=64, null=True, blank=True, unique=True, help_text=_("The sender's id; unique.")
    )
    # The customer's and the device's lookups use the (customer, time) and (device, time)
    # indexes below; a single-column index of each only cost every insert its upkeep.
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="risk_transactions",
        db_index=False,
    )
    account = models.CharField(_("account"), max_length=64, blank=True)
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices, default=Direction.OUT)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.MOBILE)
    counterparty = models.CharField(_("counterparty"), max_length=200, blank=True)
    occurred_at = models.DateTimeField(_("time"))
    device = models.ForeignKey(
        Device,
        verbose_name=_("device"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="transactions",
        db_index=False,
    )
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    city = models.CharField(_("city"), max_length=64, blank=True)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.API)
    received_at = models.DateTimeField(_("received"), default=timezone.now)

    class Meta:
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "occurred_at"], name="risk_tx_customer_time_idx"),
            models.Index(fields=["device", "occurred_at"], name="risk_tx_device_time_idx"),
            models.Index(fields=["ip", "occurred_at"], name="risk_tx_ip_time_idx"),
            models.Index(fields=["occurred_at"], name="risk_tx_time_idx"),
            models.Index(fields=["source", "received_at"], name="risk_tx_source_idx"),
            models.Index(fields=["counterparty"], name="risk_tx_counterparty_idx"),
        ]
        permissions = [("import_transaction", _("Can import transactions and logins"))]

    def __str__(self):
        return f"{self.external_id or self.pk} {self.amount} {self.currency}"


class LoginEvent(ScoredMixin):
    """A sign-in by a customer (the portal) or a member of staff (the admin and API). A staff
    login whose account was deleted since keeps its row, with neither set."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="risk_logins",
        db_index=False,  # (customer, time) below
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # (user, time) below
    )
    occurred_at = models.DateTimeField(_("time"))
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    city = models.CharField(_("city"), max_length=64, blank=True)
    device = models.ForeignKey(
        Device, verbose_name=_("device"), null=True, blank=True, on_delete=models.SET_NULL, related_name="logins"
    )
    success = models.BooleanField(_("success"), default=True)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.API)
    received_at = models.DateTimeField(_("received"), default=timezone.now)

    class Meta:
        verbose_name = _("login event")
        verbose_name_plural = _("login events")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "occurred_at"], name="risk_login_customer_time_idx"),
            models.Index(fields=["user", "occurred_at"], name="risk_login_user_time_idx"),
            models.Index(fields=["occurred_at"], name="risk_login_time_idx"),
            models.Index(fields=["ip", "occurred_at"], name="risk_login_ip_time_idx"),
        ]

    def __str__(self):
        who = self.customer_id and f"customer {self.customer_id}" or f"user {self.user_id}"
        return f"{who} {self.occurred_at:%Y-%m-%d %H:%M}"


class IpRange(models.Model):
    """A configured address range and the city it belongs to (IPv4 or IPv6).

    Cities are resolved offline from these rows: no maintained offline IP-to-region package
    ships its data inside the package, so the ranges are reference data kept here.
    """

    network = models.CharField(_("network (CIDR)"), max_length=50, unique=True, help_text=_("e.g. 101.68.0.0/14"))
    city = models.CharField(_("city"), max_length=64)
    province = models.CharField(_("province"), max_length=64, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("IP range")
        verbose_name_plural = _("IP ranges")
        ordering = ["network"]

    def __str__(self):
        return f"{self.network} {self.city}"

    def clean(self):
        import ipaddress

        from django.core.exceptions import ValidationError

        try:
            self.network = str(ipaddress.ip_network(self.network.strip(), strict=False))
        except ValueError:
            raise ValidationError({"network": _("A network such as 101.68.0.0/14 or 2408:8000::/20.")})


class WatchListEntry(models.Model):
    class Kind(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        COUNTERPARTY = "counterparty", _("Counterparty")
        DEVICE = "device", _("Device")
        IP = "ip", _("IP address")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # Customers by id, counterparties by their normalised name, devices by fingerprint.
    value = models.CharField(_("value"), max_length=200)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="watch_list_entries",
    )
    reason = models.CharField(_("reason"), max_length=500)
    active = models.BooleanField(_("active"), default=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("added by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("added"), default=timezone.now)
    removed_at = models.DateTimeField(_("removed"), null=True, blank=True)

    class Meta:
        verbose_name = _("watch list entry")
        verbose_name_plural = _("watch list")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "value"], condition=Q(active=True), name="risk_watch_one_active_per_value"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.value}"


class CustomerRestriction(models.Model):
    """A freeze an analyst put on a customer: the portal account or new applications."""

    class Kind(models.TextChoices):
        PORTAL = "portal", _("Portal account frozen")
        APPLICATIONS = "applications", _("New applications frozen")

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="risk_restrictions"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    reason = models.CharField(_("reason"), max_length=500)
    active = models.BooleanField(_("active"), default=True)
    event = models.ForeignKey(
        "risk.RiskEvent", verbose_name=_("risk event"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("since"), default=timezone.now)
    lifted_at = models.DateTimeField(_("lifted"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer restriction")
        verbose_name_plural = _("customer restrictions")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind"], condition=Q(active=True), name="risk_restriction_one_active"
            )
        ]

    def __str__(self):
        return f"{self.customer_id}: {self.get_kind_display()}"
