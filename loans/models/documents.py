"""Documents (资料) attached to a customer, and optionally to one of its applications or loans,
and the document requests that say what an application still needs.

A document's bytes live under ``DOCUMENTS_ROOT`` (inside MEDIA_ROOT, outside any served URL)
under a random name; the name the uploader gave is kept for display only. The type is the one
detected from the content (``loans.services.documents.document_detect``), never the name's.
Documents are written only by ``loans.services.documents.document_upload`` (audited) and read
only through the permission-checked download views.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DocumentKind(models.TextChoices):
    BUSINESS_LICENCE = "business_licence", _("Business licence")
    ID = "id", _("Identity document")
    FINANCIAL_STATEMENTS = "financial_statements", _("Financial statements")
    BANK_STATEMENTS = "bank_statements", _("Bank statements")
    CONTRACT = "contract", _("Contract")
    COLLATERAL_PAPERS = "collateral_papers", _("Collateral papers")
    OTHER = "other", _("Other")


class Document(models.Model):
    Kind = DocumentKind

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="documents"
    )
    application = models.ForeignKey(
        "loans.LoanApplication",
        verbose_name=_("application"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="documents",
    )
    loan = models.ForeignKey(
        "loans.Loan", verbose_name=_("loan"), null=True, blank=True, on_delete=models.PROTECT, related_name="documents"
    )
    kind = models.CharField(_("kind"), max_length=24, choices=DocumentKind.choices)
    # What the uploader called the file: shown, never used as a path or trusted for the type.
    original_name = models.CharField(_("file name"), max_length=255)
    # The random name of the stored file, relative to DOCUMENTS_ROOT.
    storage_name = models.CharField(_("stored as"), max_length=80, unique=True, editable=False)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # A customer's upload through the portal (a PortalAccount, never a staff user).
    uploaded_by_portal_account = models.ForeignKey(
        "customers.PortalAccount",
        verbose_name=_("uploaded by portal account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="documents",
    )
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-created_at", "-id"]
        # Documents are never edited: a wrong one is replaced by a new upload.
        default_permissions = ("view", "add")
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="document_customer_idx"),
            models.Index(fields=["application", "-created_at"], name="document_application_idx"),
            models.Index(fields=["loan", "-created_at"], name="document_loan_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(uploaded_by__isnull=True) | Q(uploaded_by_portal_account__isnull=True),
                name="document_one_uploader",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.original_name}"

    @property
    def uploaded_through_portal(self) -> bool:
        return self.uploaded_by_portal_account_id is not None


class DocumentRequestStatus(models.TextChoices):
    OPEN = "open", _("Open")
    FULFILLED = "fulfilled", _("Fulfilled")
    CANCELLED = "cancelled", _("Cancelled")


class DocumentRequest(models.Model):
    """A document an application still needs; an upload of that kind for that application
    fulfils it (``loans.services.documents.document_upload``)."""

    Status = DocumentRequestStatus

    application = models.ForeignKey(
        "loans.LoanApplication",
        verbose_name=_("application"),
        on_delete=models.PROTECT,
        related_name="document_requests",
    )
    kind = models.CharField(_("kind"), max_length=24, choices=DocumentKind.choices)
    note = models.TextField(_("note"), blank=True, help_text=_("What exactly is needed; the customer sees this."))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=DocumentRequestStatus.choices, default=DocumentRequestStatus.OPEN
    )
    fulfilled_by = models.ForeignKey(
        Document,
        verbose_name=_("fulfilled by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="fulfilled_requests",
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cancelled by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("requested"), default=timezone.now, editable=False)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("document request")
        verbose_name_plural = _("document requests")
        ordering = ["-created_at", "-id"]
        default_permissions = ("view", "add", "change")
        indexes = [models.Index(fields=["application", "status"], name="document_request_app_idx")]
        constraints = [
            # One open request per kind and application: asking twice is the same request.
            models.UniqueConstraint(
                fields=["application", "kind"], condition=Q(status="open"), name="document_request_one_open"
            ),
            models.CheckConstraint(
                condition=~Q(status="fulfilled") | Q(fulfilled_by__isnull=False),
                name="document_request_fulfilled_by",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.get_status_display()})"
