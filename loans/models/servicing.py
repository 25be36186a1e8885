"""Servicing: the loan account, its schedule (versioned), ledger, disbursements and repayments.

Money moves only through ``loans.services.disbursements``, ``loans.services.repayments`` and
``loans.services.restructuring``. The ledger is append-only: every movement is one
``LedgerEntry`` whose components say what it did to the loan (see ``LedgerEntry``); the
loan's denormalised balances, its current schedule version and the ledger agree at all
times (``manage.py check_ledger``).
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loans.models.delinquency import DpdBucket, RiskClass
from loans.models.products import MONEY, POSITIVE, RATE, DayCount, RepaymentMethod

ZERO = Decimal("0.00")


class LoanStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    # Set by the daily close (delinquency); a repayment that clears the arrears makes it active again.
    OVERDUE = "overdue", _("Overdue")
    CLOSED = "closed", _("Closed")
    WRITTEN_OFF = "written_off", _("Written off")


class Loan(models.Model):
    """A disbursed loan. ``restructured`` flags a loan whose schedule was restructured (展期 / 重组):
    a flag, not a status, so a restructured loan can still be active, overdue or closed."""

    Status = LoanStatus
    LIVE = (LoanStatus.ACTIVE, LoanStatus.OVERDUE)

    loan_number = models.CharField(_("loan number"), max_length=24, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="loans"
    )
    application = models.OneToOneField(
        "loans.LoanApplication", verbose_name=_("application"), on_delete=models.PROTECT, related_name="loan"
    )
    product = models.ForeignKey(
        "loans.LoanProduct", verbose_name=_("product"), on_delete=models.PROTECT, related_name="loans"
    )
    # The line the approval drew on (repayments of principal give headroom back to it).
    credit_line = models.ForeignKey(
        "customers.CreditLine",
        verbose_name=_("credit line"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="loans",
    )
    contract_number = models.CharField(_("contract number"), max_length=64)
    approved_amount = models.DecimalField(_("approved amount"), **MONEY)
    principal = models.DecimalField(_("principal disbursed"), **MONEY, validators=POSITIVE)
    annual_rate = models.DecimalField(_("annual interest rate"), **RATE)
    term_months = models.PositiveSmallIntegerField(_("term (months)"))
    method = models.CharField(_("repayment method"), max_length=32, choices=RepaymentMethod.choices)
    day_count = models.CharField(_("day count"), max_length=16, choices=DayCount.choices)
    holiday_shift = models.BooleanField(_("pay date moves to the next business day"), default=False)
    repayment_day = models.PositiveSmallIntegerField(_("repayment day"))
    grace_months = models.PositiveSmallIntegerField(_("grace months"), default=0)
    disbursement_date = models.DateField(_("disbursement date"))
    first_due_date = models.DateField(_("first due date"))
    maturity_date = models.DateField(_("maturity date"))

    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    restructured = models.BooleanField(_("restructured"), default=False)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)

    # Denormalised balances, kept by the services and checked against the ledger and the schedule.
    outstanding_principal = models.DecimalField(_("outstanding principal"), **MONEY, default=ZERO)
    principal_repaid = models.DecimalField(_("principal repaid"), **MONEY, default=ZERO)
    interest_paid = models.DecimalField(_("interest paid"), **MONEY, default=ZERO)
    penalty_paid = models.DecimalField(_("penalty paid"), **MONEY, default=ZERO)
    fees_paid = models.DecimalField(_("fees paid"), **MONEY, default=ZERO)
    written_off_amount = models.DecimalField(_("principal written off"), **MONEY, default=ZERO)
    # Overpayments held for the customer: refundable, or applied to the next installment.
    credit_balance = models.DecimalField(_("credit held"), **MONEY, default=ZERO)
    # The next installment not fully paid (the loan list shows it without a query per row).
    next_due_date = models.DateField(_("next due date"), null=True, blank=True)
    next_due_amount = models.DecimalField(_("next due amount"), **MONEY, null=True, blank=True)

    # Delinquency, kept by the daily close (``loans.close``): days past due from the oldest unpaid
    # pay date, its bucket, the five-category class (and a manual floor set by a downgrade or an
    # approved upgrade), penalty and compound interest accrued to date, and the last date accrued.
    days_past_due = models.PositiveIntegerField(_("days past due"), default=0, db_default=0)
    dpd_bucket = models.CharField(
        _("DPD bucket"), max_length=8, choices=DpdBucket.choices, default=DpdBucket.CURRENT, db_default="current"
    )
    risk_class = models.CharField(
        _("classification"), max_length=16, choices=RiskClass.choices, default=RiskClass.NORMAL, db_default="normal"
    )
    risk_class_manual = models.CharField(
        _("classification set manually (at least)"), max_length=16, choices=RiskClass.choices, blank=True, db_default=""
    )
    overdue_since = models.DateField(_("overdue since"), null=True, blank=True)
    penalty_accrued = models.DecimalField(_("penalty accrued"), **MONEY, default=ZERO, db_default=ZERO)
    penalty_through = models.DateField(_("penalty accrued through"), null=True, blank=True, editable=False)

    schedule_version = models.PositiveIntegerField(_("schedule version"), default=1)
    # Bumped by every movement: the conditional UPDATE compares it (exactly one concurrent writer wins).
    version = models.PositiveIntegerField(_("version"), default=0, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("loan")
        verbose_name_plural = _("loans")
        ordering = ["-disbursement_date", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(outstanding_principal__gte=0), name="loan_outstanding_non_negative"),
            models.CheckConstraint(condition=Q(credit_balance__gte=0), name="loan_credit_non_negative"),
            models.CheckConstraint(condition=Q(principal__lte=F("approved_amount")), name="loan_within_approved"),
            models.CheckConstraint(
                condition=~Q(status="closed") | Q(outstanding_principal=0), name="loan_closed_owes_nothing"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "disbursement_date"], name="loan_status_disbursed_idx"),
            models.Index(fields=["status", "next_due_date"], name="loan_status_next_due_idx"),
            models.Index(fields=["customer", "status"], name="loan_customer_status_idx"),
            models.Index(fields=["credit_line", "status"], name="loan_line_status_idx"),
            models.Index(fields=["maturity_date"], name="loan_maturity_idx"),
            models.Index(fields=["disbursement_date", "id"], name="loan_disbursed_id_idx"),
            models.Index(fields=["status", "dpd_bucket"], name="loan_status_bucket_idx"),
            models.Index(fields=["risk_class"], name="loan_risk_class_idx"),
        ]
        default_permissions = ("view",)
        permissions = [
            ("restructure_loan", _("Can restructure loans (extension, change of method)")),
            ("refund_credit_loan", _("Can refund or apply a loan's credit balance")),
            ("export_loan", _("Can export loan schedules and repayment history")),
        ]

    def __str__(self):
        return self.loan_number

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE


class ScheduleVersion(models.Model):
    """One version of a loan's schedule: the original, then one per tranche, prepayment and
    restructuring. Superseded versions keep their installments as they stood (the history)."""

    class Reason(models.TextChoices):
        DISBURSEMENT = "disbursement", _("Disbursement")
        TRANCHE = "tranche", _("Further tranche")
        PREPAYMENT = "prepayment", _("Prepayment")
        RESTRUCTURE = "restructure", _("Restructuring")

    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.CASCADE, related_name="schedule_versions")
    number = models.PositiveIntegerField(_("version"))
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    effective_date = models.DateField(_("effective from"))
    # What the version was built with (annual rate, method, term, mode ...), for the history page.
    terms = models.JSONField(_("terms"), default=dict, blank=True)
    note = models.TextField(_("reason given"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # False once a later version replaced it (or the movement that made it was reversed).
    current = models.BooleanField(_("current"), default=True)

    class Meta:
        verbose_name = _("schedule version")
        verbose_name_plural = _("schedule versions")
        ordering = ["loan", "number"]
        constraints = [models.UniqueConstraint(fields=["loan", "number"], name="schedule_version_unique")]
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.loan_id} v{self.number}"


class InstallmentStatus(models.TextChoices):
    FUTURE = "future", _("Future")
    DUE = "due", _("Due")
    PARTLY_PAID = "partly_paid", _("Partly paid")
    PAID = "paid", _("Paid")
    OVERDUE = "overdue", _("Overdue")


class Installment(models.Model):
    """One row of one schedule version. Amounts due are what ``loans.schedules`` computed;
    the ``*_paid`` columns what repayments allocated. ``penalty`` accrues in the daily close."""

    Status = InstallmentStatus

    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.CASCADE, related_name="installments")
    schedule_version = models.PositiveIntegerField(_("schedule version"))
    number = models.PositiveSmallIntegerField(_("number"))
    period_start = models.DateField(_("period start"))
    due_date = models.DateField(_("due date"))
    pay_date = models.DateField(_("pay date"))
    days = models.PositiveSmallIntegerField(_("days"))
    principal = models.DecimalField(_("principal"), **MONEY)
    interest = models.DecimalField(_("interest"), **MONEY)
    carried_interest = models.DecimalField(_("interest carried in"), **MONEY, default=ZERO)
    penalty = models.DecimalField(_("penalty"), **MONEY, default=ZERO)
    principal_paid = models.DecimalField(_("principal paid"), **MONEY, default=ZERO)
    interest_paid = models.DecimalField(_("interest paid"), **MONEY, default=ZERO)
    penalty_paid = models.DecimalField(_("penalty paid"), **MONEY, default=ZERO)
    grace = models.BooleanField(_("grace (interest only)"), default=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.FUTURE)
    paid_on = models.DateField(_("paid on"), null=True, blank=True)

    class Meta:
        verbose_name = _("installment")
        verbose_name_plural = _("installments")
        ordering = ["loan", "schedule_version", "number"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "schedule_version", "number"], name="installment_unique"),
            models.CheckConstraint(
                condition=Q(principal_paid__gte=0)
                & Q(principal_paid__lte=F("principal"))
                & Q(interest_paid__gte=0)
                & Q(interest_paid__lte=F("interest"))
                & Q(penalty_paid__gte=0)
                & Q(penalty_paid__lte=F("penalty")),
                name="installment_paid_within_due",
            ),
        ]
        # The daily close to come: unpaid installments by due date.
        indexes = [
            models.Index(fields=["status", "due_date"], name="installment_status_due_idx"),
            # The daily close reads a chunk of loans' overdue installments by this one.
            models.Index(fields=["status", "loan"], name="installment_status_loan_idx"),
        ]
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.loan_id} v{self.schedule_version} #{self.number}"

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.penalty

    @property
    def paid(self) -> Decimal:
        return self.principal_paid + self.interest_paid + self.penalty_paid

    @property
    def unpaid(self) -> Decimal:
        return self.total - self.paid

    @property
    def unpaid_principal(self) -> Decimal:
        return self.principal - self.principal_paid


class Disbursement(models.Model):
    """A disbursement (放款) or a further tranche: prepared by an officer, authorised by someone else."""

    class Status(models.TextChoices):
        PREPARED = "prepared", _("Prepared")
        AUTHORISED = "authorised", _("Authorised")
        CANCELLED = "cancelled", _("Cancelled")

    application = models.ForeignKey(
        "loans.LoanApplication",
        verbose_name=_("application"),
        on_delete=models.PROTECT,
        related_name="disbursements",
    )
    loan = models.ForeignKey(
        Loan, verbose_name=_("loan"), null=True, blank=True, on_delete=models.PROTECT, related_name="disbursements"
    )
    tranche = models.PositiveSmallIntegerField(_("tranche"), default=1)
    amount = models.DecimalField(_("amount"), **MONEY, validators=POSITIVE)
    contract_number = models.CharField(_("contract number"), max_length=64)
    account = models.CharField(_("disbursement account"), max_length=64)
    value_date = models.DateField(_("value date"))
    first_due_date = models.DateField(_("first repayment date"), null=True, blank=True)
    repayment_day = models.PositiveSmallIntegerField(_("repayment day"), null=True, blank=True)
    conditions_checked = models.JSONField(_("conditions precedent ticked"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PREPARED)
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("prepared by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    authorised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("authorised by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    prepared_at = models.DateTimeField(_("prepared"), default=timezone.now)
    authorised_at = models.DateTimeField(_("authorised"), null=True, blank=True)
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True)
    version = models.PositiveIntegerField(_("version"), default=0, editable=False)

    class Meta:
        verbose_name = _("disbursement")
        verbose_name_plural = _("disbursements")
        ordering = ["-prepared_at", "-id"]
        constraints = [
            # One live disbursement per tranche: two officers preparing the same one make one.
            models.UniqueConstraint(
                fields=["application", "tranche"],
                condition=~Q(status="cancelled"),
                name="disbursement_one_per_tranche",
            ),
        ]
        indexes = [models.Index(fields=["status", "prepared_at"], name="disbursement_status_idx")]
        default_permissions = ("view",)
        permissions = [
            ("prepare_disbursement", _("Can prepare disbursements")),
            ("authorise_disbursement", _("Can authorise disbursements")),
        ]

    def __str__(self):
        return f"{self.contract_number} #{self.tranche}"


class Repayment(models.Model):
    """Money received for a loan (or its credit applied), with how it was allocated."""

    class Channel(models.TextChoices):
        ADMIN = "admin", _("Admin")
        API = "api", _("API")
        IMPORT = "import", _("Bank statement import")
        CREDIT = "credit", _("Credit held on the loan")

    class Kind(models.TextChoices):
        REGULAR = "regular", _("Repayment")
        PREPAYMENT = "prepayment", _("Prepayment")
        PAYOFF = "payoff", _("Full payoff")
        CREDIT_APPLIED = "credit_applied", _("Credit applied")

    class Status(models.TextChoices):
        POSTED = "posted", _("Posted")
        REVERSED = "reversed", _("Reversed")

    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="repayments")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.REGULAR)
    amount = models.DecimalField(_("amount"), **MONEY, validators=POSITIVE)
    value_date = models.DateField(_("value date"))
    # The bank's reference of the movement: the same statement line never posts twice.
    bank_reference = models.CharField(_("bank reference"), max_length=64, unique=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.ADMIN)
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, unique=True, null=True, blank=True)
    prepayment_mode = models.CharField(_("prepayment mode"), max_length=20, blank=True)
    allocated_principal = models.DecimalField(_("to principal"), **MONEY, default=ZERO)
    allocated_interest = models.DecimalField(_("to interest"), **MONEY, default=ZERO)
    allocated_penalty = models.DecimalField(_("to penalty"), **MONEY, default=ZERO)
    allocated_fee = models.DecimalField(_("to fees"), **MONEY, default=ZERO)
    # Positive: held as credit (overpayment); negative: credit used (a credit application).
    allocated_credit = models.DecimalField(_("to credit held"), **MONEY, default=ZERO)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.POSTED)
    # The loan as it stood before the posting (what a reversal restores).
    loan_before = models.JSONField(_("loan before"), default=dict, blank=True, editable=False)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("posted by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reversed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reversal_reason = models.TextField(_("reason for the reversal"), blank=True)
    reversed_at = models.DateTimeField(_("reversed"), null=True, blank=True)
    created_at = models.DateTimeField(_("posted"), default=timezone.now)

    class Meta:
        verbose_name = _("repayment")
        verbose_name_plural = _("repayments")
        ordering = ["-value_date", "-id"]
        indexes = [models.Index(fields=["loan", "status", "id"], name="repayment_loan_status_idx")]
        permissions = [
            ("post_repayment", _("Can post repayments")),
            ("reverse_repayment", _("Can reverse repayments")),
            ("import_repayment", _("Can import bank statements")),
            ("export_repayment", _("Can export repayment history")),
        ]
        default_permissions = ("view",)

    def __str__(self):
        return self.bank_reference


class RepaymentAllocation(models.Model):
    """What one repayment paid on one installment (and what the installment showed before)."""

    repayment = models.ForeignKey(
        Repayment, verbose_name=_("repayment"), on_delete=models.CASCADE, related_name="allocations"
    )
    installment = models.ForeignKey(
        Installment, verbose_name=_("installment"), on_delete=models.PROTECT, related_name="allocations"
    )
    principal = models.DecimalField(_("principal"), **MONEY, default=ZERO)
    interest = models.DecimalField(_("interest"), **MONEY, default=ZERO)
    penalty = models.DecimalField(_("penalty"), **MONEY, default=ZERO)
    status_before = models.CharField(_("status before"), max_length=16, choices=InstallmentStatus.choices)
    paid_on_before = models.DateField(_("paid on before"), null=True, blank=True)

    class Meta:
        verbose_name = _("repayment allocation")
        verbose_name_plural = _("repayment allocations")
        default_permissions = ()

    def __str__(self):
        return f"{self.repayment_id} -> {self.installment_id}"


class LedgerEntry(models.Model):
    """One movement on a loan's account. Append-only (the services never update or delete).

    ``amount`` is the cash: received from the customer (+) or paid out to them (−). The
    components say what it did: ``principal`` repaid (a disbursement is negative principal),
    ``interest``, ``penalty`` and ``fee`` received, ``credit`` held for the customer (+) or
    used / refunded (−). For every kind but a write-off, amount = principal + interest +
    penalty + fee + credit; a write-off moves principal without cash. A reversal is the
    exact negative of what it reverses.
    """

    class Kind(models.TextChoices):
        DISBURSEMENT = "disbursement", _("Disbursement")
        REPAYMENT = "repayment", _("Repayment")
        PREPAYMENT = "prepayment", _("Prepayment")
        REVERSAL = "reversal", _("Reversal")
        OVERPAYMENT_CREDIT = "overpayment_credit", _("Overpayment held as credit")
        CREDIT_APPLIED = "credit_applied", _("Credit applied")
        REFUND = "refund", _("Credit refunded")
        RESTRUCTURE = "restructure", _("Restructuring")
        WRITE_OFF = "write_off", _("Write-off")
        RECOVERY = "recovery", _("Recovery")
        PENALTY_ACCRUAL = "penalty_accrual", _("Penalty accrual")

    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    value_date = models.DateField(_("value date"))
    amount = models.DecimalField(_("cash"), **MONEY)
    principal = models.DecimalField(_("principal"), **MONEY, default=ZERO)
    interest = models.DecimalField(_("interest"), **MONEY, default=ZERO)
    penalty = models.DecimalField(_("penalty"), **MONEY, default=ZERO)
    fee = models.DecimalField(_("fee"), **MONEY, default=ZERO)
    credit = models.DecimalField(_("credit"), **MONEY, default=ZERO)
    # Penalty and compound interest charged by the daily close (no cash; ``PENALTY_ACCRUAL`` only):
    # repayments then receive it as ``penalty``.
    accrued = models.DecimalField(_("accrued"), **MONEY, default=ZERO, db_default=ZERO)
    # The outstanding principal after this entry.
    balance_after = models.DecimalField(_("outstanding after"), **MONEY)
    repayment = models.ForeignKey(
        Repayment,
        verbose_name=_("repayment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
    )
    disbursement = models.ForeignKey(
        Disbursement,
        verbose_name=_("disbursement"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
    )
    note = models.CharField(_("note"), max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["loan", "id"]
        indexes = [models.Index(fields=["loan", "id"], name="ledger_loan_idx")]
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.loan_id} {self.kind} {self.amount}"
