"""Loan applications (a state machine) and the approval decisions made on them.

Models hold fields, choices, constraints, indexes and the transition table; every state
change goes through ``loans.services``.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loans.models.products import MONEY, POSITIVE, RATE, LoanProduct, LoanPurpose, RepaymentMethod
from loansite.fields import EncryptedCharField, EncryptedFieldsModel, EncryptedJSONField, KeyedHashField


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    # A public application whose details name an existing customer but do not agree with
    # the record: held apart from that customer until an officer verifies the identity.
    PENDING_VERIFICATION = "pending_verification", _("Pending identity verification")
    SUBMITTED = "submitted", _("Submitted")
    UNDER_REVIEW = "under_review", _("Under review")
    RETURNED = "returned_for_info", _("Returned for information")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    CANCELLED = "cancelled", _("Cancelled")
    DISBURSED = "disbursed", _("Disbursed")


class OfferResponse(models.TextChoices):
    """The applicant's answer to a counter-offer (blank: none asked for)."""

    PENDING = "pending", _("Waiting for the applicant's answer")
    ACCEPTED = "accepted", _("Accepted by the applicant")
    DECLINED = "declined", _("Declined by the applicant")


class Channel(models.TextChoices):
    PUBLIC = "public", _("Public form")
    BRANCH = "branch", _("Branch")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    PORTAL = "portal", _("Customer portal")


class LoanApplication(EncryptedFieldsModel):
    Status = ApplicationStatus

    # The one definition of the state machine: from-state -> the states it may move to.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.DRAFT: frozenset({Status.SUBMITTED}),
        # Only application_verify_identity moves it on (submitted once verified).
        Status.PENDING_VERIFICATION: frozenset({Status.SUBMITTED, Status.REJECTED, Status.WITHDRAWN}),
        Status.SUBMITTED: frozenset({Status.UNDER_REVIEW, Status.WITHDRAWN}),
        Status.UNDER_REVIEW: frozenset({Status.APPROVED, Status.REJECTED, Status.RETURNED, Status.WITHDRAWN}),
        Status.RETURNED: frozenset({Status.SUBMITTED}),
        Status.APPROVED: frozenset({Status.DISBURSED, Status.CANCELLED}),
        Status.REJECTED: frozenset(),
        Status.WITHDRAWN: frozenset(),
        Status.CANCELLED: frozenset(),
        Status.DISBURSED: frozenset(),
    }
    # The workbench queue: what reviewers still have to decide.
    PENDING = (Status.SUBMITTED, Status.UNDER_REVIEW)
    EDITABLE = (Status.DRAFT, Status.RETURNED)
    # Where an application may have no customer: never linked (identity not verified).
    WITHOUT_CUSTOMER = (Status.PENDING_VERIFICATION, Status.REJECTED, Status.WITHDRAWN)

    class Grade(models.TextChoices):
        A = "A", "A"
        B = "B", "B"
        C = "C", "C"
        D = "D", "D"
        E = "E", "E"

    reference = models.CharField(_("reference number"), max_length=20, unique=True, editable=False)
    # Empty only while a public application's identity is unverified (and when that ended
    # in a rejection or withdrawal): such an application never touches a customer's record.
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        on_delete=models.PROTECT,
        related_name="applications",
    )
    product = models.ForeignKey(
        LoanProduct, verbose_name=_("product"), on_delete=models.PROTECT, related_name="applications"
    )
    amount = models.DecimalField(_("amount"), **MONEY, validators=POSITIVE)
    term_months = models.PositiveSmallIntegerField(_("term (months)"))
    purpose = models.CharField(_("purpose"), max_length=32, choices=LoanPurpose.choices)
    repayment_method = models.CharField(_("repayment method"), max_length=32, choices=RepaymentMethod.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.BRANCH)
    # Encrypted at rest (loansite/encryption.py), found by its keyed hash (the status page).
    contact_phone = EncryptedCharField(_("contact phone"), max_length=20, blank=True)
    contact_phone_hash = KeyedHashField(
        _("contact phone (keyed hash)"),
        source="contact_phone",
        normalizer="customers.validators.normalize_mobile_phone",
    )
    notes = models.TextField(_("notes"), blank=True)

    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    # Bumped by every state change: the conditional UPDATE compares it, so of two
    # concurrent decisions exactly one wins even where row locks are a no-op (SQLite).
    version = models.PositiveIntegerField(_("version"), default=0, editable=False)
    # A review round starts at each submission; approvals count within a round.
    review_round = models.PositiveSmallIntegerField(_("review round"), default=0, editable=False)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decision_reason = models.TextField(_("decision reason"), blank=True)

    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    # Filled set-wise by the scoring app.
    score_probability = models.DecimalField(
        _("probability of default"), max_digits=5, decimal_places=4, null=True, blank=True
    )
    score_points = models.IntegerField(_("score points"), null=True, blank=True)
    score_grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices, blank=True)
    score_reasons = models.JSONField(_("score reasons"), default=list, blank=True)
    score_model_version = models.CharField(_("model version"), max_length=64, blank=True)
    scored_at = models.DateTimeField(_("scored"), null=True, blank=True)
    # Short risk flags (e.g. "high_risk_event") set by other parts of the system.
    risk_flags = models.JSONField(_("risk flags"), default=list, blank=True)

    # The public form's applicant details as typed (never written to a customer), and the
    # customer on file they pointed at while the identity waits for an officer.
    # Encrypted at rest as a whole: it holds the applicant's phone and resident ID number.
    claimed_identity = EncryptedJSONField(_("details given by the applicant"), default=dict, blank=True)
    identity_match = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer on file to verify against"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    # The terms the approver decided (empty until approved). A counter-offer is an approval
    # on other terms than requested (a lower amount, another term or method); the
    # applicant sees it on the status page.
    approved_amount = models.DecimalField(_("approved amount"), **MONEY, null=True, blank=True)
    approved_term_months = models.PositiveSmallIntegerField(_("approved term (months)"), null=True, blank=True)
    approved_annual_rate = models.DecimalField(_("approved annual rate"), **RATE, null=True, blank=True)
    approved_method = models.CharField(
        _("approved repayment method"), max_length=32, choices=RepaymentMethod.choices, blank=True
    )
    conditions_precedent = models.JSONField(
        _("conditions precedent"),
        default=list,
        blank=True,
        help_text=_("What must be done before disbursement (contract signed, collateral registered, ...)."),
    )
    counter_offer = models.BooleanField(_("counter-offer"), default=False)
    # A counter-offer is disbursed only once the applicant accepted it (in the portal, or as
    # recorded by an officer); declining it cancels the approval. Blank when no answer is
    # asked for: approved on the terms requested, or approved before answers were recorded.
    offer_response = models.CharField(
        _("answer to the counter-offer"), max_length=8, choices=OfferResponse.choices, blank=True
    )
    offer_responded_at = models.DateTimeField(_("counter-offer answered"), null=True, blank=True)
    # The credit line the approval drew on (disbursement and repayments move it).
    credit_line = models.ForeignKey(
        "customers.CreditLine",
        verbose_name=_("credit line drawn"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applications",
    )

    class Meta:
        verbose_name = _("loan application")
        verbose_name_plural = _("loan applications")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="loan_application_amount_positive"),
            models.CheckConstraint(condition=Q(term_months__gte=1), name="loan_application_term_positive"),
            models.CheckConstraint(
                condition=Q(customer__isnull=False)
                | Q(
                    status__in=[
                        ApplicationStatus.PENDING_VERIFICATION,
                        ApplicationStatus.REJECTED,
                        ApplicationStatus.WITHDRAWN,
                    ]
                ),
                name="loan_application_customer_unless_unverified",
            ),
            models.CheckConstraint(
                condition=~Q(status=ApplicationStatus.PENDING_VERIFICATION) | Q(customer__isnull=True),
                name="loan_application_unverified_has_no_customer",
            ),
            models.CheckConstraint(
                condition=Q(approved_amount__isnull=True)
                | (Q(approved_amount__gt=0) & Q(approved_amount__lte=F("amount"))),
                name="loan_application_approved_within_requested",
            ),
        ]
        indexes = [
            # Plus, where the database has partial indexes, loan_app_pending_idx on
            # (submitted_at, id) WHERE status is pending (migration 0002) and
            # loan_app_workbench_idx for the workbench's view with returned ones (0023).
            models.Index(fields=["status", "submitted_at"], name="loan_app_queue_idx"),
            models.Index(fields=["status", "product", "submitted_at"], name="loan_app_status_product_idx"),
            models.Index(fields=["status", "channel", "submitted_at"], name="loan_app_status_channel_idx"),
            models.Index(fields=["status", "score_grade", "submitted_at"], name="loan_app_status_grade_idx"),
            # A customer's applications in time order, with their status: covers the scoring
            # pipeline's prior-application counts (no table reads) and "status for a customer".
            models.Index(fields=["customer", "created_at", "status"], name="loan_app_customer_time_idx"),
            # An officer's workbench (loansite/scoping.py): their customers' rows in a status,
            # without reading the applications of every other status.
            models.Index(fields=["customer", "status", "submitted_at"], name="loan_app_customer_status_idx"),
            models.Index(fields=["submitted_at"], name="loan_app_submitted_idx"),
            # The dashboard's approvals by period and month.
            models.Index(fields=["decided_at"], name="loan_app_decided_idx"),
        ]
        permissions = [
            ("submit_loanapplication", _("Can submit loan applications")),
            ("review_loanapplication", _("Can review loan applications")),
            ("approve_loanapplication", _("Can approve or reject loan applications")),
            ("import_loanapplication", _("Can import loan applications")),
            ("export_loanapplication", _("Can export loan applications")),
            # History (applications already decided elsewhere) bypasses the decision services:
            # a separate, audited permission of its own.
            ("import_history_loanapplication", _("Can import application history in decided states")),
            # Resolves public applications whose details name an existing customer.
            ("verify_identity_loanapplication", _("Can verify the identity behind public applications")),
        ]

    def __str__(self):
        return self.reference

    @classmethod
    def can_move(cls, from_status: str, to_status: str) -> bool:
        return to_status in cls.TRANSITIONS.get(from_status, frozenset())

    @property
    def is_pending(self) -> bool:
        return self.status in self.PENDING


class ApprovalAuthority(models.Model):
    """How much one approver (or everyone in a group) may approve alone.

    A user's own row wins over their groups'; among groups the highest limit counts.
    Above the limit an application needs a second, distinct approver.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="approval_authorities",
    )
    group = models.ForeignKey(
        "auth.Group",
        verbose_name=_("group"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="approval_authorities",
    )
    limit = models.DecimalField(_("approval limit"), **MONEY, validators=[MinValueValidator(Decimal("0"))])
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("approval authority")
        verbose_name_plural = _("approval authorities")
        ordering = ["-limit"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(group__isnull=True))
                | (Q(user__isnull=True) & Q(group__isnull=False)),
                name="approval_authority_user_xor_group",
            ),
            models.CheckConstraint(condition=Q(limit__gte=0), name="approval_authority_limit_non_negative"),
            models.UniqueConstraint(
                fields=["user"], condition=Q(user__isnull=False), name="approval_authority_one_per_user"
            ),
            models.UniqueConstraint(
                fields=["group"], condition=Q(group__isnull=False), name="approval_authority_one_per_group"
            ),
        ]

    def __str__(self):
        return f"{self.user or self.group}: {self.limit}"


class ApprovalDecision(models.Model):
    """One decision by one person on one application (the decision history)."""

    class Kind(models.TextChoices):
        REVIEW = "review", _("Started review")
        APPROVE = "approve", _("Approved")
        REJECT = "reject", _("Rejected")
        RETURN = "return", _("Returned for information")
        WITHDRAW = "withdraw", _("Withdrawn")
        CANCEL = "cancel", _("Cancelled")
        VERIFY_IDENTITY = "verify_identity", _("Identity verified")
        REJECT_IDENTITY = "reject_identity", _("Rejected: identity not verified")
        # An automated decision taken back into review by an approver.
        REOPEN = "reopen", _("Reopened for review")

    application = models.ForeignKey(
        LoanApplication, verbose_name=_("application"), on_delete=models.CASCADE, related_name="decisions"
    )
    decider = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(_("decision"), max_length=16, choices=Kind.choices)
    review_round = models.PositiveSmallIntegerField(_("review round"), default=0)
    amount = models.DecimalField(_("amount"), **MONEY)
    authority_limit = models.DecimalField(_("authority at the time"), **MONEY, null=True, blank=True)
    # True when this decision moved the application (an approval above authority may wait for a second).
    final = models.BooleanField(_("final"), default=True)
    reason = models.TextField(_("reason"), blank=True)
    # An approval's decided terms (amount, term, rate, method, conditions precedent).
    terms = models.JSONField(_("terms decided"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("approval decision")
        verbose_name_plural = _("approval decisions")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "review_round", "decider"],
                condition=Q(kind="approve"),
                name="approval_decision_one_approval_per_person_per_round",
            )
        ]
        indexes = [models.Index(fields=["application", "review_round", "kind"], name="approval_decision_round_idx")]
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.application} {self.get_kind_display()}"
