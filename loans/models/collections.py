"""Collections (催收), legal escalation (诉讼), write-off (核销) and recovery.

A loan enters collections when the daily close marks it overdue. ``CollectionCase`` is its
file on the collections desk (one per loan, created on first assignment, contact or promise):
the collector it is assigned to and, denormalised for the lists, the last contact and the
latest promise. Everything is written by ``loans.services.collections`` and
``loans.services.writeoff`` (audited); the daily close flags promises kept or broken.

A write-off moves what the loan still owes off the books: the outstanding principal through a
``LedgerEntry`` of kind ``write_off`` (principal without cash; unpaid interest and penalty in the
same entry, tracked off balance on the ``WriteOff``). The customer stays liable: the schedule
keeps its installments, and money received later is a ``Recovery`` (ledger kind ``recovery``)
allocated to them like a repayment; the loan closes when every installment is paid.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loans.models.products import MONEY, POSITIVE
from loans.models.servicing import ZERO, Loan

USER = settings.AUTH_USER_MODEL


def _user(verbose, *, null=True):
    return models.ForeignKey(
        USER,
        verbose_name=verbose,
        null=null,
        blank=null,
        on_delete=models.SET_NULL if null else models.PROTECT,
        related_name="+",
    )


class ContactChannel(models.TextChoices):
    CALL = "call", _("Phone call")
    SMS = "sms", _("SMS")
    VISIT = "visit", _("Visit")
    LETTER = "letter", _("Letter")


class ContactOutcome(models.TextChoices):
    REACHED = "reached", _("Reached the customer")
    PROMISED = "promised", _("Promised to pay")
    NO_ANSWER = "no_answer", _("No answer")
    WRONG_NUMBER = "wrong_number", _("Wrong number / moved")
    REFUSED = "refused", _("Refused to pay")
    DISPUTE = "dispute", _("Disputes the debt")
    PAID = "paid", _("Says it is paid")
    LEFT_MESSAGE = "left_message", _("Left a message")
    OTHER = "other", _("Other")


class PromiseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    KEPT = "kept", _("Kept")
    BROKEN = "broken", _("Broken")
    CANCELLED = "cancelled", _("Cancelled")


class LegalStatus(models.TextChoices):
    PREPARED = "prepared", _("Prepared")
    FILED = "filed", _("Filed with the court")
    JUDGMENT = "judgment", _("Judgment")
    ENFORCEMENT = "enforcement", _("Enforcement")
    CLOSED = "closed", _("Closed")


class CollectionCase(models.Model):
    """A loan's file on the collections desk."""

    loan = models.OneToOneField(
        "loans.Loan", verbose_name=_("loan"), on_delete=models.PROTECT, related_name="collection_case"
    )
    collector = models.ForeignKey(
        USER,
        verbose_name=_("collector"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="collection_cases",
    )
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True)
    # Denormalised for the lists (no query per row): the last contact and the latest promise.
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    last_contact_outcome = models.CharField(
        _("last outcome"), max_length=16, choices=ContactOutcome.choices, blank=True
    )
    next_action_date = models.DateField(_("next action"), null=True, blank=True)
    promise = models.ForeignKey(
        "loans.PromiseToPay",
        verbose_name=_("latest promise"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("opened"), default=timezone.now)
    version = models.PositiveIntegerField(_("version"), default=0, editable=False)

    class Meta:
        verbose_name = _("collection case")
        verbose_name_plural = _("collection cases")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["collector", "next_action_date"], name="collection_collector_idx"),
        ]
        default_permissions = ("view",)
        permissions = [
            ("assign_collectioncase", _("Can assign overdue loans to collectors")),
            ("work_collectioncase", _("Can log contacts and promises on assigned loans")),
        ]

    def __str__(self):
        return str(self.loan)


class CollectionAssignment(models.Model):
    """One assignment of a loan to a collector (the history; the case holds the current one)."""

    case = models.ForeignKey(
        CollectionCase, verbose_name=_("case"), on_delete=models.CASCADE, related_name="assignments"
    )
    collector = models.ForeignKey(USER, verbose_name=_("collector"), on_delete=models.PROTECT, related_name="+")
    previous_collector = _user(_("previous collector"))
    assigned_by = _user(_("assigned by"))
    assigned_at = models.DateTimeField(_("assigned"), default=timezone.now)
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("collection assignment")
        verbose_name_plural = _("collection assignments")
        ordering = ["-assigned_at", "-id"]
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.case} -> {self.collector}"


class CollectionContact(models.Model):
    """One attempt to reach the customer (call, SMS, visit, letter) and what came of it."""

    Channel = ContactChannel
    Outcome = ContactOutcome

    case = models.ForeignKey(CollectionCase, verbose_name=_("case"), on_delete=models.CASCADE, related_name="contacts")
    loan = models.ForeignKey(
        "loans.Loan", verbose_name=_("loan"), on_delete=models.PROTECT, related_name="collection_contacts"
    )
    channel = models.CharField(_("channel"), max_length=8, choices=ContactChannel.choices)
    outcome = models.CharField(_("outcome"), max_length=16, choices=ContactOutcome.choices)
    note = models.TextField(_("note"), blank=True)
    next_action_date = models.DateField(_("next action"), null=True, blank=True)
    contacted_at = models.DateTimeField(_("contacted"), default=timezone.now)
    by = _user(_("by"))

    class Meta:
        verbose_name = _("collection contact")
        verbose_name_plural = _("collection contacts")
        ordering = ["-contacted_at", "-id"]
        indexes = [models.Index(fields=["loan", "contacted_at"], name="collection_contact_loan_idx")]
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.loan} {self.get_channel_display()} {self.contacted_at:%Y-%m-%d}"


class PromiseToPay(models.Model):
    """A promise to pay ``amount`` by ``promised_date``. The daily close flags it kept when the
    repayments posted from ``created_on`` to ``promised_date`` reach the amount, broken the day
    after the date otherwise."""

    Status = PromiseStatus

    case = models.ForeignKey(CollectionCase, verbose_name=_("case"), on_delete=models.CASCADE, related_name="promises")
    loan = models.ForeignKey("loans.Loan", verbose_name=_("loan"), on_delete=models.PROTECT, related_name="promises")
    contact = models.ForeignKey(
        CollectionContact,
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="promises",
    )
    promised_date = models.DateField(_("promised date"))
    amount = models.DecimalField(_("amount"), **MONEY, validators=POSITIVE)
    created_on = models.DateField(_("made on"))
    status = models.CharField(_("status"), max_length=16, choices=PromiseStatus.choices, default=PromiseStatus.OPEN)
    paid_amount = models.DecimalField(_("paid towards it"), **MONEY, default=ZERO)
    resolved_on = models.DateField(_("resolved on"), null=True, blank=True)
    by = _user(_("by"))
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("promise to pay")
        verbose_name_plural = _("promises to pay")
        ordering = ["-promised_date", "-id"]
        indexes = [models.Index(fields=["status", "promised_date"], name="promise_status_date_idx")]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="promise_amount_positive")]
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.loan} {self.amount} by {self.promised_date}"


class LegalCase(models.Model):
    """Escalation to legal action (诉讼): prepared -> filed -> judgment -> enforcement -> closed."""

    Status = LegalStatus
    # Forward moves; any open case may also be closed (settled, withdrawn).
    TRANSITIONS = {
        LegalStatus.PREPARED: {LegalStatus.FILED, LegalStatus.CLOSED},
        LegalStatus.FILED: {LegalStatus.JUDGMENT, LegalStatus.CLOSED},
        LegalStatus.JUDGMENT: {LegalStatus.ENFORCEMENT, LegalStatus.CLOSED},
        LegalStatus.ENFORCEMENT: {LegalStatus.CLOSED},
        LegalStatus.CLOSED: set(),
    }

    case = models.ForeignKey(
        CollectionCase, verbose_name=_("case"), on_delete=models.CASCADE, related_name="legal_cases"
    )
    loan = models.ForeignKey("loans.Loan", verbose_name=_("loan"), on_delete=models.PROTECT, related_name="legal_cases")
    status = models.CharField(_("status"), max_length=16, choices=LegalStatus.choices, default=LegalStatus.PREPARED)
    claim_amount = models.DecimalField(_("amount claimed"), **MONEY)
    court = models.CharField(_("court"), max_length=120, blank=True)
    court_case_number = models.CharField(_("court case number"), max_length=64, blank=True)
    note = models.TextField(_("note"), blank=True)
    opened_by = _user(_("opened by"))
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    version = models.PositiveIntegerField(_("version"), default=0, editable=False)

    class Meta:
        verbose_name = _("legal case")
        verbose_name_plural = _("legal cases")
        ordering = ["-opened_at", "-id"]
        constraints = [
            # One open legal case per loan.
            models.UniqueConstraint(fields=["loan"], condition=~Q(status="closed"), name="legal_case_one_open"),
        ]
        default_permissions = ("view",)
        permissions = [("escalate_legalcase", _("Can escalate loans to legal action and move their cases"))]

    def __str__(self):
        return f"{self.loan} {self.get_status_display()}"


class LegalCaseEvent(models.Model):
    """A legal case's history: each status it went through."""

    legal_case = models.ForeignKey(
        LegalCase, verbose_name=_("legal case"), on_delete=models.CASCADE, related_name="events"
    )
    status_from = models.CharField(_("from"), max_length=16, choices=LegalStatus.choices, blank=True)
    status_to = models.CharField(_("to"), max_length=16, choices=LegalStatus.choices)
    on_date = models.DateField(_("date"))
    note = models.TextField(_("note"), blank=True)
    by = _user(_("by"))
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("legal case event")
        verbose_name_plural = _("legal case events")
        ordering = ["legal_case", "id"]
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.legal_case_id} {self.status_from}->{self.status_to}"


class WriteOff(models.Model):
    """A loan's write-off (核销) and what was recovered since (off balance)."""

    loan = models.OneToOneField(
        "loans.Loan", verbose_name=_("loan"), on_delete=models.PROTECT, related_name="write_off"
    )
    written_off_on = models.DateField(_("written off on"))
    principal = models.DecimalField(_("principal written off"), **MONEY)
    interest = models.DecimalField(_("unpaid interest (off balance)"), **MONEY, default=ZERO)
    penalty = models.DecimalField(_("unpaid penalty (off balance)"), **MONEY, default=ZERO)
    days_past_due = models.PositiveIntegerField(_("days past due"), default=0)
    risk_class = models.CharField(_("risk class"), max_length=20, blank=True)
    reason = models.TextField(_("reason"))
    approved_by = _user(_("approved by"))
    recovered_principal = models.DecimalField(_("principal recovered"), **MONEY, default=ZERO)
    recovered_interest = models.DecimalField(_("interest recovered"), **MONEY, default=ZERO)
    recovered_penalty = models.DecimalField(_("penalty recovered"), **MONEY, default=ZERO)
    settled_on = models.DateField(_("settled on"), null=True, blank=True)
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("write-off")
        verbose_name_plural = _("write-offs")
        ordering = ["-written_off_on", "-id"]
        default_permissions = ("view",)
        permissions = [
            ("write_off_loan", _("Can write off loans")),
            ("post_recovery", _("Can post recoveries on written-off loans")),
        ]

    def __str__(self):
        return f"{self.loan} {self.principal}"

    @property
    def recovered(self):
        return self.recovered_principal + self.recovered_interest + self.recovered_penalty


class Recovery(models.Model):
    """Money received on a written-off loan, allocated to its installments like a repayment."""

    write_off = models.ForeignKey(
        WriteOff, verbose_name=_("write-off"), on_delete=models.PROTECT, related_name="recoveries"
    )
    loan = models.ForeignKey("loans.Loan", verbose_name=_("loan"), on_delete=models.PROTECT, related_name="recoveries")
    amount = models.DecimalField(_("amount"), **MONEY, validators=POSITIVE)
    value_date = models.DateField(_("value date"))
    # The same statement line never posts twice (nor as a repayment and a recovery).
    bank_reference = models.CharField(_("bank reference"), max_length=64, unique=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, unique=True, null=True, blank=True)
    principal = models.DecimalField(_("to principal"), **MONEY, default=ZERO)
    interest = models.DecimalField(_("to interest"), **MONEY, default=ZERO)
    penalty = models.DecimalField(_("to penalty"), **MONEY, default=ZERO)
    # [{"installment": id, "number": n, "principal": "..", "interest": "..", "penalty": ".."}]
    allocations = models.JSONField(_("allocations"), default=list, blank=True, editable=False)
    posted_by = _user(_("posted by"))
    created_at = models.DateTimeField(_("posted"), default=timezone.now)

    class Meta:
        verbose_name = _("recovery")
        verbose_name_plural = _("recoveries")
        ordering = ["-value_date", "-id"]
        default_permissions = ("view",)

    def __str__(self):
        return self.bank_reference


class DelinquentLoan(Loan):
    """The delinquency list and the collections workbench in the admin (the loan book's overdue part)."""

    class Meta:
        proxy = True
        verbose_name = _("delinquent loan")
        verbose_name_plural = _("delinquent loans")
        default_permissions = ("view",)
