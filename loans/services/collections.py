"""Collections (催收): assignment to collectors, the contact log, promises to pay, legal escalation.

Who may do what (``loansite.roles``): ``loans.assign_collectioncase`` assigns loans to
collectors (risk analysts, administrators); ``loans.work_collectioncase`` logs contacts and
promises, on the loans assigned to the actor only (collectors and loan officers; whoever may also
assign works any loan); ``loans.escalate_legalcase`` opens and moves legal cases (credit
approvers, administrators). A collector is an active staff account with the work permission.

Every change: the case's conditional UPDATE on its version (the row lock is a no-op on SQLite),
the audit entry in the same transaction. ``promise_close_step`` is the daily close's step that
flags promises kept or broken, set-wise and idempotent for a date.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Least
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from loans.models import (
    CollectionAssignment,
    CollectionCase,
    CollectionContact,
    LegalCase,
    LegalCaseEvent,
    Loan,
    PromiseToPay,
    Recovery,
    Repayment,
)
from loans.services.accounts import require
from loansite.errors import ApplicationError, Conflict, InvalidTransition, NotAllowed, ValidationFailed
from loansite.money import ZERO, money
from loansite.tabular import text_has_control_characters

PERM_ASSIGN = "loans.assign_collectioncase"
PERM_WORK = "loans.work_collectioncase"
PERM_LEGAL = "loans.escalate_legalcase"
NOTE_MAX = 2000
# Loans that can be worked: live ones and written-off ones (the customer stays liable).
WORKABLE = (Loan.Status.ACTIVE, Loan.Status.OVERDUE, Loan.Status.WRITTEN_OFF)
PROMISE_HORIZON_DAYS = 366
CHUNK = 2000
_SUM = DecimalField(max_digits=20, decimal_places=2)


# ---------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------
def _text(value, *, label: str, field_name: str, required: bool = False, max_length: int = NOTE_MAX) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ValidationFailed(_("%(label)s is required.") % {"label": label}, extra={"field": field_name})
    if len(text) > max_length:
        raise ValidationFailed(
            _("%(label)s is longer than %(max)s characters.") % {"label": label, "max": max_length},
            extra={"field": field_name},
        )
    return text


def _line(value, *, label: str, field_name: str, max_length: int) -> str:
    text = _text(value, label=label, field_name=field_name, max_length=max_length)
    if text_has_control_characters(text):
        raise ValidationFailed(_("%(label)s must be one line.") % {"label": label}, extra={"field": field_name})
    return text


def _choice(value, choices, *, field_name: str) -> str:
    if value not in choices.values:
        raise ValidationFailed(
            _("Unknown %(field)s: %(value)s.") % {"field": field_name, "value": value}, extra={"field": field_name}
        )
    return value


def _date(value, *, field_name: str, required: bool = True) -> datetime.date | None:
    if value in (None, ""):
        if required:
            raise ValidationFailed(_("A date is required."), extra={"field": field_name})
        return None
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise ValidationFailed(_("Not a date: %(value)s.") % {"value": value}, extra={"field": field_name})
    return value


def _amount(value, *, field_name: str = "amount") -> Decimal:
    try:
        amount = money(value)
    except (ValueError, TypeError):
        raise ValidationFailed(_("Not an amount of money: %(value)s.") % {"value": value}, extra={"field": field_name})
    if amount <= 0:
        raise ValidationFailed(_("The amount must be greater than zero."), extra={"field": field_name})
    if amount >= Decimal("1e13"):
        raise ValidationFailed(_("Amount too large."), extra={"field": field_name})
    return amount


def _loan(loan: Loan | int) -> Loan:
    pk = loan.pk if isinstance(loan, Loan) else loan
    found = Loan.objects.select_related("customer").filter(pk=pk).first()
    if found is None:
        raise ValidationFailed(_("No such loan."), extra={"field": "loan"})
    return found


def _check_workable(loan: Loan) -> None:
    if loan.status not in WORKABLE:
        raise InvalidTransition(
            _("Loan %(loan)s is %(status)s; it is not in collections.")
            % {"loan": loan.loan_number, "status": loan.get_status_display()},
            extra={"status": loan.status},
        )


def collector_eligible(user) -> bool:
    """Whether ``user`` can be assigned loans to collect (an active staff account with the role)."""
    return bool(user is not None and user.is_active and user.is_staff and user.has_perm(PERM_WORK))


def collectors():
    """The accounts loans can be assigned to: active staff holding the work permission by role."""
    User = get_user_model()
    by_group = Q(groups__permissions__codename="work_collectioncase") | Q(
        user_permissions__codename="work_collectioncase"
    )
    return User.objects.filter(is_active=True, is_staff=True).filter(by_group).distinct().order_by("username")


# ---------------------------------------------------------------------------
# The case
# ---------------------------------------------------------------------------
def _case(loan: Loan, *, lock: bool = False) -> CollectionCase:
    """The loan's case, opened on first use (a concurrent opener's row is reused)."""
    qs = CollectionCase.objects.select_related("collector")
    if lock:
        qs = qs.select_for_update()
    case = qs.filter(loan=loan).first()
    if case is None:
        try:
            with transaction.atomic():
                CollectionCase.objects.create(loan=loan)
        except IntegrityError:
            pass
        case = qs.get(loan=loan)
    return case


def _case_update(case: CollectionCase, **values) -> None:
    updated = CollectionCase.objects.filter(pk=case.pk, version=case.version).update(version=F("version") + 1, **values)
    if updated != 1:
        raise Conflict()
    case.version += 1
    for key, value in values.items():
        setattr(case, key, value)


def _check_may_work(actor, case: CollectionCase) -> None:
    require(actor, PERM_WORK)
    if case.collector_id != actor.pk and not actor.has_perm(PERM_ASSIGN):
        raise NotAllowed(_("Loan %(loan)s is not assigned to you.") % {"loan": case.loan.loan_number})


# ---------------------------------------------------------------------------
# Assignment
# ---------------------------------------------------------------------------
@transaction.atomic
def collection_assign(*, actor, loan: Loan | int, collector, note: str = "") -> CollectionCase:
    """Assign a loan to a collector (or reassign it); the history keeps every assignment."""
    require(actor, PERM_ASSIGN)
    note = _line(note, label=_("Note"), field_name="note", max_length=255)
    if not collector_eligible(collector):
        raise ValidationFailed(
            _("%(user)s cannot collect loans (an active staff account with the collector or loan officer role).")
            % {"user": collector},
            extra={"field": "collector"},
        )
    loan = _loan(loan)
    _check_workable(loan)
    case = _case(loan, lock=True)
    previous = case.collector
    if previous is not None and previous.pk == collector.pk:
        return case
    now = timezone.now()
    _case_update(case, collector=collector, assigned_at=now)
    CollectionAssignment.objects.create(
        case=case, collector=collector, previous_collector=previous, assigned_by=actor, assigned_at=now, note=note
    )
    audit_record(
        action=AuditAction.ASSIGN,
        actor=actor,
        target=loan,
        changes={
            "collector": [previous.get_username() if previous else None, collector.get_username()],
            "case": case.pk,
        },
        reason=note,
    )
    return case


@dataclass
class BatchOutcome:
    done: list[int] = field(default_factory=list)
    failed: list[tuple[int, str, str]] = field(default_factory=list)  # (loan id, loan number, why)


def collection_assign_many(*, actor, loans, collector, note: str = "") -> BatchOutcome:
    """Assign each loan through ``collection_assign`` on its own: one failure never undoes the others."""
    require(actor, PERM_ASSIGN)
    outcome = BatchOutcome()
    for loan in loans:
        try:
            collection_assign(actor=actor, loan=loan, collector=collector, note=note)
        except ApplicationError as exc:
            number = loan.loan_number if isinstance(loan, Loan) else str(loan)
            outcome.failed.append((getattr(loan, "pk", loan), number, str(exc.message)))
            if isinstance(exc, ValidationFailed) and exc.extra.get("field") in ("collector", "note"):
                break
        else:
            outcome.done.append(getattr(loan, "pk", loan))
    return outcome


# ---------------------------------------------------------------------------
# Contacts and promises
# ---------------------------------------------------------------------------
def _promise(*, actor, case: CollectionCase, loan: Loan, promised_date, amount, contact=None) -> PromiseToPay:
    today = timezone.localdate()
    promised_date = _date(promised_date, field_name="promised_date")
    amount = _amount(amount)
    if promised_date < today:
        raise ValidationFailed(_("The promised date is in the past."), extra={"field": "promised_date"})
    if promised_date > today + datetime.timedelta(days=PROMISE_HORIZON_DAYS):
        raise ValidationFailed(_("The promised date is more than a year away."), extra={"field": "promised_date"})
    superseded = list(
        PromiseToPay.objects.filter(loan=loan, status=PromiseToPay.Status.OPEN).values_list("pk", flat=True)
    )
    if superseded:
        PromiseToPay.objects.filter(pk__in=superseded, status=PromiseToPay.Status.OPEN).update(
            status=PromiseToPay.Status.CANCELLED, resolved_on=today
        )
    promise = PromiseToPay.objects.create(
        case=case,
        loan=loan,
        contact=contact,
        promised_date=promised_date,
        amount=amount,
        created_on=today,
        by=actor,
    )
    _case_update(case, promise=promise)
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        target=promise,
        changes={
            "loan": loan.loan_number,
            "promised_date": promised_date,
            "amount": amount,
            "superseded": superseded,
        },
    )
    return promise


@transaction.atomic
def collection_contact_log(
    *,
    actor,
    loan: Loan | int,
    channel: str,
    outcome: str,
    note: str = "",
    next_action_date=None,
    promise_date=None,
    promise_amount=None,
) -> CollectionContact:
    """Log a contact with the customer; with a promise date and amount, record the promise too."""
    require(actor, PERM_WORK)
    channel = _choice(channel, CollectionContact.Channel, field_name="channel")
    outcome = _choice(outcome, CollectionContact.Outcome, field_name="outcome")
    note = _text(note, label=_("Note"), field_name="note")
    next_action_date = _date(next_action_date, field_name="next_action_date", required=False)
    if next_action_date is not None and next_action_date < timezone.localdate():
        raise ValidationFailed(_("The next action date is in the past."), extra={"field": "next_action_date"})
    if (promise_date in (None, "")) != (promise_amount in (None, "")):
        raise ValidationFailed(
            _("A promise needs both a date and an amount."),
            extra={"field": "promise_amount" if promise_amount in (None, "") else "promise_date"},
        )
    loan = _loan(loan)
    _check_workable(loan)
    case = _case(loan, lock=True)
    _check_may_work(actor, case)
    now = timezone.now()
    contact = CollectionContact.objects.create(
        case=case,
        loan=loan,
        channel=channel,
        outcome=outcome,
        note=note,
        next_action_date=next_action_date,
        contacted_at=now,
        by=actor,
    )
    _case_update(case, last_contact_at=now, last_contact_outcome=outcome, next_action_date=next_action_date)
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        target=contact,
        changes={"loan": loan.loan_number, "channel": channel, "outcome": outcome, "next_action": next_action_date},
    )
    if promise_date not in (None, ""):
        _promise(actor=actor, case=case, loan=loan, promised_date=promise_date, amount=promise_amount, contact=contact)
    return contact


@transaction.atomic
def promise_create(*, actor, loan: Loan | int, promised_date, amount) -> PromiseToPay:
    """Record a promise to pay (it replaces the loan's open promise, which is cancelled)."""
    require(actor, PERM_WORK)
    loan = _loan(loan)
    _check_workable(loan)
    case = _case(loan, lock=True)
    _check_may_work(actor, case)
    return _promise(actor=actor, case=case, loan=loan, promised_date=promised_date, amount=amount)


def _paid_between(on_date: datetime.date):
    """Money received on the promise's loan from the day it was made to min(its date, ``on_date``)
    (repayments not reversed, credit applications excluded, and recoveries)."""
    window = {
        "loan_id": OuterRef("loan_id"),
        "value_date__gte": OuterRef("created_on"),
        "value_date__lte": Least(OuterRef("promised_date"), Value(on_date)),
    }
    repaid = (
        Repayment.objects.filter(status=Repayment.Status.POSTED, **window)
        .exclude(channel=Repayment.Channel.CREDIT)
        .values("loan_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    recovered = Recovery.objects.filter(**window).values("loan_id").annotate(total=Sum("amount")).values("total")
    return Coalesce(Subquery(repaid, output_field=_SUM), Value(ZERO), output_field=_SUM) + Coalesce(
        Subquery(recovered, output_field=_SUM), Value(ZERO), output_field=_SUM
    )


def promise_close_step(*, on_date: datetime.date) -> dict:
    """The daily close's step: open promises made on or before ``on_date`` are kept once the money
    received from their creation to their date reaches the amount, broken the day after their
    date otherwise. Set-wise (UPDATEs over chunks of ids) and idempotent: only open promises move."""
    open_ = PromiseToPay.objects.filter(status=PromiseToPay.Status.OPEN, created_on__lte=on_date)
    paid = _paid_between(on_date)
    kept = list(open_.annotate(paid=paid).filter(paid__gte=F("amount")).values_list("pk", flat=True))
    broken = list(
        open_.filter(promised_date__lt=on_date)
        .annotate(paid=paid)
        .filter(paid__lt=F("amount"))
        .values_list("pk", flat=True)
    )
    with transaction.atomic():
        for status, ids in ((PromiseToPay.Status.KEPT, kept), (PromiseToPay.Status.BROKEN, broken)):
            for start in range(0, len(ids), CHUNK):
                PromiseToPay.objects.filter(pk__in=ids[start : start + CHUNK], status=PromiseToPay.Status.OPEN).update(
                    status=status, resolved_on=on_date, paid_amount=paid
                )
        if kept or broken:
            audit_record(
                action=AuditAction.SYSTEM,
                target=("loans.promisetopay", "", f"promises to pay, close of {on_date}"),
                changes={"date": on_date, "kept": kept, "broken": broken},
                reason="daily close: promises to pay",
            )
    return {"promises_kept": len(kept), "promises_broken": len(broken)}


def promises_close_day(ctx) -> dict:
    """The step registered in ``loans.close.CLOSE_STEPS``."""
    return promise_close_step(on_date=ctx.date)


# ---------------------------------------------------------------------------
# Legal escalation (诉讼)
# ---------------------------------------------------------------------------
@transaction.atomic
def legal_case_open(
    *, actor, loan: Loan | int, claim_amount=None, court: str = "", note: str = "", on_date=None
) -> LegalCase:
    """Escalate an overdue or written-off loan to legal action (status prepared)."""
    require(actor, PERM_LEGAL)
    court = _line(court, label=_("Court"), field_name="court", max_length=120)
    note = _text(note, label=_("Note"), field_name="note")
    on_date = _date(on_date, field_name="on_date", required=False) or timezone.localdate()
    loan = _loan(loan)
    if loan.status not in (Loan.Status.OVERDUE, Loan.Status.WRITTEN_OFF):
        raise InvalidTransition(
            _("Only overdue or written-off loans go to legal action; loan %(loan)s is %(status)s.")
            % {"loan": loan.loan_number, "status": loan.get_status_display()}
        )
    from loans.selectors.collections import loan_amount_owed

    claim = _amount(claim_amount, field_name="claim_amount") if claim_amount not in (None, "") else None
    claim = claim or loan_amount_owed(loan)
    case = _case(loan, lock=True)
    if LegalCase.objects.filter(loan=loan).exclude(status=LegalCase.Status.CLOSED).exists():
        raise Conflict(_("Loan %(loan)s has an open legal case already.") % {"loan": loan.loan_number})
    try:
        with transaction.atomic():
            legal = LegalCase.objects.create(
                case=case, loan=loan, claim_amount=claim, court=court, note=note, opened_by=actor
            )
    except IntegrityError:
        raise Conflict(_("Loan %(loan)s has an open legal case already.") % {"loan": loan.loan_number})
    LegalCaseEvent.objects.create(
        legal_case=legal, status_from="", status_to=legal.status, on_date=on_date, note=note, by=actor
    )
    audit_record(
        action=AuditAction.CREATE,
        actor=actor,
        target=legal,
        changes={"loan": loan.loan_number, "status": legal.status, "claim_amount": claim, "court": court},
        reason=note,
    )
    return legal


@transaction.atomic
def legal_case_move(
    *, actor, legal_case: LegalCase | int, status: str, note: str = "", on_date=None, court_case_number=None, court=None
) -> LegalCase:
    """Move a legal case along ``LegalCase.TRANSITIONS`` (any open case may be closed)."""
    require(actor, PERM_LEGAL)
    status = _choice(status, LegalCase.Status, field_name="status")
    note = _text(note, label=_("Note"), field_name="note")
    on_date = _date(on_date, field_name="on_date", required=False) or timezone.localdate()
    pk = legal_case.pk if isinstance(legal_case, LegalCase) else legal_case
    legal = LegalCase.objects.select_for_update().select_related("loan").filter(pk=pk).first()
    if legal is None:
        raise ValidationFailed(_("No such legal case."), extra={"field": "legal_case"})
    if status not in LegalCase.TRANSITIONS[legal.status]:
        raise InvalidTransition(
            _("A legal case cannot move from %(from)s to %(to)s.")
            % {"from": legal.get_status_display(), "to": LegalCase.Status(status).label}
        )
    values = {"status": status, "updated_at": timezone.now()}
    if court_case_number not in (None, ""):
        values["court_case_number"] = _line(
            court_case_number, label=_("Court case number"), field_name="court_case_number", max_length=64
        )
    if court not in (None, ""):
        values["court"] = _line(court, label=_("Court"), field_name="court", max_length=120)
    updated = LegalCase.objects.filter(pk=legal.pk, version=legal.version, status=legal.status).update(
        version=F("version") + 1, **values
    )
    if updated != 1:
        raise Conflict()
    before = legal.status
    LegalCaseEvent.objects.create(
        legal_case=legal, status_from=before, status_to=status, on_date=on_date, note=note, by=actor
    )
    legal.refresh_from_db()
    audit_record(
        action=AuditAction.TRANSITION,
        actor=actor,
        target=legal,
        changes={
            "loan": legal.loan.loan_number,
            "status": [before, status],
            **{k: v for k, v in values.items() if k in ("court", "court_case_number")},
        },
        reason=note,
    )
    return legal
