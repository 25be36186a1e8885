"""Disbursement (放款): an officer prepares it, another user authorises it (maker-checker).

Authorising the first tranche creates the ``Loan`` with its schedule (``loans.schedules``),
its first ledger entry and the carry-over of the application's collateral and guarantees,
and moves the application to ``disbursed``, all in one transaction and audited. Further
tranches, up to the approved amount, extend the schedule as a new version.

Disbursing twice (a double click, two officers, an API retry) makes one loan: preparing is
idempotent by its idempotency key and by one live disbursement per tranche; authorising is a
conditional UPDATE ``prepared -> authorised`` (exactly one of several concurrent authorisers
wins), the application's ``approved -> disbursed`` move is another, and the loan is unique per
application.
"""

import datetime
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record, audit_record_many, model_snapshot
from loans import schedules
from loans.models import (
    Collateral,
    Disbursement,
    Guarantee,
    Installment,
    LedgerEntry,
    Loan,
    LoanApplication,
    OfferResponse,
    ScheduleVersion,
)
from loans.services.accounts import (
    installment_from_row,
    installments_current,
    ledger_append,
    loan_lock,
    loan_terms,
    loan_update,
    months_between,
    next_due,
    require,
    schedule_rows,
    schedule_version_write,
)
from loans.services.collateral import collateral_attach_to_loan
from loans.services.terms import application_decided_terms
from loansite.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from loansite.money import money
from loansite.tabular import text_has_control_characters

PERM_PREPARE = "loans.prepare_disbursement"
PERM_AUTHORISE = "loans.authorise_disbursement"
KEY_LENGTH = 64
# How far ahead a value date may be set.
VALUE_DATE_AHEAD_DAYS = 31
Status = Disbursement.Status


def loan_number_for(application: LoanApplication) -> str:
    """``LA-250101-ABCDEF`` -> ``LN-250101-ABCDEF``: one loan per application, traceable by eye."""
    reference = application.reference
    return "LN" + reference[2:] if reference.startswith("LA") else f"LN-{reference}"


def _text(value, label, *, max_length=64) -> str:
    text = str(value or "").strip()
    if not text or len(text) > max_length or text_has_control_characters(text):
        raise ValidationFailed(
            _("%(label)s is required: one line of at most %(n)s characters.") % {"label": label, "n": max_length},
            extra={"field": str(label)},
        )
    return text


def _amount(value) -> Decimal:
    try:
        amount = money(value)
    except ValueError:
        raise ValidationFailed(_("Not an amount of money: %(value)s.") % {"value": value}, extra={"field": "amount"})
    if amount <= 0:
        raise ValidationFailed(_("The amount must be greater than zero."), extra={"field": "amount"})
    return amount


def _key(value) -> str:
    key = str(value or "").strip()
    if len(key) > KEY_LENGTH or text_has_control_characters(key):
        raise ValidationFailed(_("The idempotency key is at most 64 characters."), extra={"field": "idempotency_key"})
    return key


def _first_terms(app: LoanApplication, *, amount, value_date, first_due_date, repayment_day) -> schedules.ScheduleTerms:
    terms = application_decided_terms(app)
    return schedules.ScheduleTerms(
        principal=amount,
        annual_rate=terms.annual_rate,
        term_months=terms.term_months,
        method=terms.method,
        day_count=app.product.day_count,
        disbursement_date=value_date,
        first_due_date=first_due_date,
        holiday_shift=app.product.holiday_shift,
        repayment_day=repayment_day,
    )


# ---------------------------------------------------------------------------
# Prepare and cancel
# ---------------------------------------------------------------------------
@transaction.atomic
def disbursement_prepare(
    *,
    actor,
    application: LoanApplication,
    amount,
    value_date: datetime.date,
    contract_number: str = "",
    account: str = "",
    first_due_date: datetime.date | None = None,
    repayment_day: int | None = None,
    conditions_checked=(),
    idempotency_key: str = "",
) -> Disbursement:
    """Prepare the first tranche of an approved application, or a further tranche of its loan.

    Every condition precedent decided at approval must be ticked. The same idempotency key
    again returns the disbursement it made (a retry); a second live disbursement of the same
    tranche is refused (409).
    """
    require(actor, PERM_PREPARE)
    key = _key(idempotency_key)
    amount = _amount(amount)
    if key:
        existing = Disbursement.objects.filter(idempotency_key=key).first()
        if existing is not None:
            if existing.application_id != application.pk or existing.amount != amount:
                raise Conflict(_("This idempotency key was used for another disbursement."))
            return existing
    if not isinstance(value_date, datetime.date) or isinstance(value_date, datetime.datetime):
        raise ValidationFailed(_("A value date is required."), extra={"field": "value_date"})
    app = LoanApplication.objects.select_for_update().select_related("product", "customer").get(pk=application.pk)
    today = timezone.localdate()
    if value_date > today + datetime.timedelta(days=VALUE_DATE_AHEAD_DAYS):
        raise ValidationFailed(
            _("The value date is more than %(n)s days ahead.") % {"n": VALUE_DATE_AHEAD_DAYS},
            extra={"field": "value_date"},
        )
    terms = application_decided_terms(app)
    if app.status == LoanApplication.Status.APPROVED:
        _check_offer_accepted(app)
        tranche = 1
        contract = _text(contract_number, _("Contract number"))
        if app.decided_at is not None and value_date < timezone.localdate(app.decided_at):
            raise ValidationFailed(_("The value date is before the approval."), extra={"field": "value_date"})
        if amount > terms.amount:
            raise ValidationFailed(
                _("The amount is more than the approved %(approved)s.") % {"approved": terms.amount},
                extra={"field": "amount"},
            )
        checked = {str(c).strip() for c in conditions_checked or () if str(c).strip()}
        missing = [c for c in terms.conditions_precedent if c not in checked]
        if missing:
            raise ValidationFailed(
                _("Conditions precedent not met: %(missing)s.") % {"missing": "; ".join(missing)},
                extra={"field": "conditions_checked", "missing": missing},
            )
        # The schedule must be buildable now (dates, repayment day): an error here, not at authorisation.
        schedules.schedule_build(
            _first_terms(
                app, amount=amount, value_date=value_date, first_due_date=first_due_date, repayment_day=repayment_day
            )
        )
        conditions = list(terms.conditions_precedent)
    elif app.status == LoanApplication.Status.DISBURSED:
        loan = Loan.objects.filter(application=app).first()
        if loan is None or not loan.is_live:
            raise InvalidTransition(_("The loan of %(ref)s is closed; no further tranche.") % {"ref": app.reference})
        if loan.principal >= loan.approved_amount:
            raise InvalidTransition(
                _("The approved amount of %(ref)s is disbursed in full.") % {"ref": app.reference},
                extra={"status": app.status},
            )
        if Disbursement.objects.filter(application=app, status=Status.PREPARED).exists():
            raise Conflict(_("A tranche of this loan waits for authorisation; authorise or cancel it first."))
        tranche = (
            Disbursement.objects.filter(application=app)
            .exclude(status=Status.CANCELLED)
            .aggregate(top=Max("tranche"))["top"]
            or 1
        ) + 1
        contract = _text(contract_number or loan.contract_number, _("Contract number"))
        if amount > loan.approved_amount - loan.principal:
            raise ValidationFailed(
                _("The tranches would exceed the approved amount (%(approved)s); %(left)s is left.")
                % {"approved": loan.approved_amount, "left": loan.approved_amount - loan.principal},
                extra={"field": "amount"},
            )
        if not loan.disbursement_date <= value_date < loan.maturity_date:
            raise ValidationFailed(
                _("A tranche's value date is between the first disbursement and the maturity."),
                extra={"field": "value_date"},
            )
        first_due_date, repayment_day, conditions = None, None, list(conditions_checked or [])
    else:
        raise InvalidTransition(
            _("Application %(ref)s is %(status)s; only approved applications are disbursed.")
            % {"ref": app.reference, "status": app.get_status_display()},
            extra={"status": app.status},
        )
    # Under the application's row lock (MariaDB has no partial unique index; SQLite has one too).
    if Disbursement.objects.filter(application=app, tranche=tranche).exclude(status=Status.CANCELLED).exists():
        raise Conflict(
            _("Tranche %(n)s of %(ref)s is prepared already; authorise or cancel it.")
            % {"n": tranche, "ref": app.reference}
        )
    try:
        with transaction.atomic():
            disbursement = Disbursement.objects.create(
                application=app,
                tranche=tranche,
                amount=amount,
                contract_number=contract,
                account=_text(account, _("Disbursement account")),
                value_date=value_date,
                first_due_date=first_due_date,
                repayment_day=repayment_day,
                conditions_checked=conditions,
                idempotency_key=key or uuid.uuid4().hex,
                prepared_by=actor,
            )
    except IntegrityError:
        existing = Disbursement.objects.filter(idempotency_key=key).first() if key else None
        if existing is not None and existing.application_id == app.pk and existing.amount == amount:
            return existing
        raise Conflict(
            _("Tranche %(n)s of %(ref)s is prepared already; authorise or cancel it.")
            % {"n": tranche, "ref": app.reference}
        )
    audit_record(
        action=AuditAction.CREATE, actor=actor, target=disbursement, changes={"created": model_snapshot(disbursement)}
    )
    return disbursement


@transaction.atomic
def disbursement_cancel(*, actor, disbursement: Disbursement, reason: str) -> Disbursement:
    if actor is None or not actor.is_active or not (actor.has_perm(PERM_PREPARE) or actor.has_perm(PERM_AUTHORISE)):
        raise NotAllowed(_("You do not have the role needed for this action."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Please give a reason."), extra={"field": "reason"})
    d = Disbursement.objects.select_for_update().get(pk=disbursement.pk)
    if d.status != Status.PREPARED:
        raise InvalidTransition(
            _("This disbursement is %(status)s; only prepared ones are cancelled.") % {"status": d.get_status_display()}
        )
    _move(d, to=Status.CANCELLED, cancel_reason=reason)
    audit_record(
        action=AuditAction.TRANSITION,
        actor=actor,
        target=d,
        changes={"status": [Status.PREPARED, Status.CANCELLED]},
        reason=reason,
    )
    return d


def _move(d: Disbursement, *, to: str, **values) -> None:
    updated = Disbursement.objects.filter(pk=d.pk, status=Status.PREPARED, version=d.version).update(
        status=to, version=F("version") + 1, **values
    )
    if updated != 1:
        raise Conflict(_("Someone else authorised or cancelled this disbursement first."))
    d.status, d.version = to, d.version + 1
    for key, value in values.items():
        setattr(d, key, value)


# ---------------------------------------------------------------------------
# Authorise
# ---------------------------------------------------------------------------
def _check_authoriser(d: Disbursement, actor) -> None:
    if d.prepared_by_id == actor.pk:
        raise NotAllowed(_("You prepared this disbursement, so someone else must authorise it."))


@transaction.atomic
def disbursement_authorise(*, actor, disbursement: Disbursement) -> Loan:
    """Authorise a prepared disbursement: the loan is created (first tranche) or extended.

    The same user asking again for an authorised disbursement (a double click, an API retry)
    gets the loan it made; anyone else gets a 409.
    """
    require(actor, PERM_AUTHORISE)
    d = Disbursement.objects.select_for_update().select_related("application").get(pk=disbursement.pk)
    if d.status == Status.AUTHORISED:
        if d.authorised_by_id == actor.pk and d.loan_id is not None:
            return Loan.objects.get(pk=d.loan_id)
        raise Conflict(_("This disbursement is authorised already."))
    if d.status != Status.PREPARED:
        raise InvalidTransition(
            _("This disbursement is %(status)s; it cannot be authorised.") % {"status": d.get_status_display()}
        )
    _check_authoriser(d, actor)
    if d.tranche == 1:
        return _authorise_first(d, actor)
    return _authorise_tranche(d, actor)


def _loan_for(app: LoanApplication, d: Disbursement, rows: list[schedules.Installment], terms) -> Loan:
    decided = application_decided_terms(app)
    due, amount = rows[0].due_date, rows[0].total
    return Loan(
        loan_number=loan_number_for(app),
        customer_id=app.customer_id,
        application=app,
        product_id=app.product_id,
        credit_line_id=app.credit_line_id,
        contract_number=d.contract_number,
        approved_amount=decided.amount,
        principal=d.amount,
        annual_rate=terms.annual_rate,
        term_months=terms.term_months,
        method=terms.method,
        day_count=terms.day_count,
        holiday_shift=terms.holiday_shift,
        repayment_day=terms.anchor_day,
        disbursement_date=d.value_date,
        first_due_date=terms.first_due,
        maturity_date=rows[-1].due_date,
        outstanding_principal=d.amount,
        next_due_date=due,
        next_due_amount=amount,
    )


def _check_offer_accepted(app: LoanApplication) -> None:
    """A counter-offer is disbursed only once the applicant accepted it."""
    if app.offer_response == OfferResponse.PENDING:
        raise InvalidTransition(
            _("The applicant has not accepted the counter-offer of %(ref)s yet.") % {"ref": app.reference},
            extra={"status": app.status, "offer_response": app.offer_response},
        )


def _authorise_first(d: Disbursement, actor) -> Loan:
    app = LoanApplication.objects.select_for_update().select_related("product", "customer").get(pk=d.application_id)
    if app.status != LoanApplication.Status.APPROVED:
        raise InvalidTransition(
            _("Application %(ref)s is %(status)s; it cannot be disbursed.")
            % {"ref": app.reference, "status": app.get_status_display()},
            extra={"status": app.status},
        )
    _check_offer_accepted(app)
    terms = _first_terms(
        app, amount=d.amount, value_date=d.value_date, first_due_date=d.first_due_date, repayment_day=d.repayment_day
    )
    rows = schedules.schedule_build(terms)
    now = timezone.now()
    moved = LoanApplication.objects.filter(
        pk=app.pk, status=LoanApplication.Status.APPROVED, version=app.version
    ).update(status=LoanApplication.Status.DISBURSED, status_changed_at=now, version=F("version") + 1)
    if moved != 1:
        raise Conflict(_("Application %(ref)s was disbursed or changed meanwhile.") % {"ref": app.reference})
    try:
        with transaction.atomic():
            loan = _loan_for(app, d, rows, terms)
            loan.save(force_insert=True)
    except IntegrityError:
        raise Conflict(_("Application %(ref)s has a loan already.") % {"ref": app.reference})
    Installment.objects.bulk_create([installment_from_row(loan, 1, row) for row in rows])
    ScheduleVersion.objects.create(
        loan=loan,
        number=1,
        reason=ScheduleVersion.Reason.DISBURSEMENT,
        effective_date=d.value_date,
        terms=_version_terms(terms),
        created_by=actor,
    )
    _move(d, to=Status.AUTHORISED, authorised_by=actor, authorised_at=now, loan=loan)
    ledger_append(
        loan=loan,
        kind=LedgerEntry.Kind.DISBURSEMENT,
        value_date=d.value_date,
        amount=-d.amount,
        principal=-d.amount,
        actor=actor,
        disbursement=d,
        note=d.account,
    )
    collateral_attach_to_loan(application=app, loan=loan)
    audit_record(
        action=AuditAction.TRANSITION,
        actor=actor,
        target=d,
        changes={"status": [Status.PREPARED, Status.AUTHORISED], "loan": loan.loan_number, "amount": d.amount},
    )
    audit_record(action=AuditAction.CREATE, actor=actor, target=loan, changes={"created": model_snapshot(loan)})
    audit_record(
        action=AuditAction.TRANSITION,
        actor=actor,
        target=app,
        changes={
            "status": [LoanApplication.Status.APPROVED, LoanApplication.Status.DISBURSED],
            "loan": loan.loan_number,
        },
    )
    return loan


def _version_terms(terms: schedules.ScheduleTerms, **extra) -> dict:
    return {
        "annual_rate": str(terms.annual_rate),
        "method": str(terms.method),
        "term_months": terms.term_months,
        "day_count": str(terms.day_count),
        **{key: str(value) for key, value in extra.items()},
    }


def _authorise_tranche(d: Disbursement, actor) -> Loan:
    loan = loan_lock(Loan.objects.get(application_id=d.application_id))
    if not loan.is_live:
        raise InvalidTransition(_("Loan %(loan)s is closed; no further tranche.") % {"loan": loan})
    if d.amount > loan.approved_amount - loan.principal:
        raise ValidationFailed(
            _("The tranches would exceed the approved amount (%(approved)s).") % {"approved": loan.approved_amount}
        )
    old = installments_current(loan, lock=True)
    terms = loan_terms(loan)
    rows = schedules.schedule_add_tranche(
        terms,
        schedule_rows(old),
        amount=d.amount,
        value_date=d.value_date,
        approved_amount=loan.approved_amount,
        disbursed=loan.principal,
    )
    version = schedule_version_write(
        loan=loan,
        old=old,
        rows=rows,
        on_date=d.value_date,
        reason="tranche",
        actor=actor,
        terms=_version_terms(terms, tranche=d.tranche, amount=d.amount),
    )
    left_over = version.interest_left_over
    due_date, due_amount = next_due(version.installments)
    before = {"principal": loan.principal, "outstanding_principal": loan.outstanding_principal}
    loan_update(
        loan,
        principal=loan.principal + d.amount,
        outstanding_principal=loan.outstanding_principal + d.amount,
        interest_paid=loan.interest_paid - left_over,
        credit_balance=loan.credit_balance + left_over,
        schedule_version=version.number,
        maturity_date=version.installments[-1].due_date,
        term_months=months_between(loan.disbursement_date, version.installments[-1].due_date),
        next_due_date=due_date,
        next_due_amount=due_amount,
    )
    now = timezone.now()
    _move(d, to=Status.AUTHORISED, authorised_by=actor, authorised_at=now, loan=loan)
    ledger_append(
        loan=loan,
        kind=LedgerEntry.Kind.DISBURSEMENT,
        value_date=d.value_date,
        amount=-d.amount,
        principal=-d.amount,
        interest=-left_over,
        credit=left_over,
        actor=actor,
        disbursement=d,
        note=d.account,
    )
    audit_record(
        action=AuditAction.TRANSITION,
        actor=actor,
        target=d,
        changes={"status": [Status.PREPARED, Status.AUTHORISED], "loan": loan.loan_number, "amount": d.amount},
    )
    audit_record(
        action=AuditAction.UPDATE,
        actor=actor,
        target=loan,
        changes={
            "tranche": d.tranche,
            "principal": [before["principal"], loan.principal],
            "outstanding_principal": [before["outstanding_principal"], loan.outstanding_principal],
            "schedule_version": version.number,
        },
    )
    return loan


# ---------------------------------------------------------------------------
# Batch
# ---------------------------------------------------------------------------
@dataclass
class BatchDisbursementOutcome:
    done: list[int] = field(default_factory=list)  # loan ids
    failed: list[tuple[int, str]] = field(default_factory=list)  # (disbursement id, why)


def disbursement_authorise_batch(*, actor, disbursements, chunk: int = 500) -> BatchDisbursementOutcome:
    """Authorise many prepared first tranches: per chunk, one transaction of set-wise writes (a
    conditional UPDATE of the applications and of the disbursements, the loans, installments,
    schedule versions and ledger entries inserted in bulk, one audit entry per disbursement,
    loan and application appended to the chain in bulk). Every check of the single service
    runs per item; a chunk that meets a concurrent change is retried item by item."""
    require(actor, PERM_AUTHORISE)
    ids = [d.pk if isinstance(d, Disbursement) else int(d) for d in disbursements]
    outcome = BatchDisbursementOutcome()
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        try:
            with transaction.atomic():
                _authorise_chunk(part, actor, outcome)
        except _ChunkConflict:
            for pk in part:
                try:
                    loan = disbursement_authorise(actor=actor, disbursement=Disbursement(pk=pk))
                except (ValidationFailed, NotAllowed, InvalidTransition, Conflict) as exc:
                    outcome.failed.append((pk, str(exc.message)))
                else:
                    outcome.done.append(loan.pk)
    return outcome


class _ChunkConflict(Exception):
    pass


def _authorise_chunk(ids: list[int], actor, outcome: BatchDisbursementOutcome) -> None:
    locked = list(
        Disbursement.objects.select_for_update()
        .select_related("application__product")
        .filter(pk__in=ids)
        .order_by("pk")
    )
    found = {d.pk for d in locked}
    failed = [(pk, str(_("No such disbursement."))) for pk in ids if pk not in found]
    ready = []
    for d in locked:
        app = d.application
        try:
            if d.status != Status.PREPARED:
                raise InvalidTransition(_("This disbursement is %(status)s.") % {"status": d.get_status_display()})
            if d.tranche != 1:
                raise _ChunkConflict()  # further tranches go one by one
            _check_authoriser(d, actor)
            if app.status != LoanApplication.Status.APPROVED:
                raise InvalidTransition(
                    _("Application %(ref)s is %(status)s; it cannot be disbursed.")
                    % {"ref": app.reference, "status": app.get_status_display()}
                )
            _check_offer_accepted(app)
            terms = _first_terms(
                app,
                amount=d.amount,
                value_date=d.value_date,
                first_due_date=d.first_due_date,
                repayment_day=d.repayment_day,
            )
            rows = schedules.schedule_build(terms)
        except (ValidationFailed, NotAllowed, InvalidTransition) as exc:
            failed.append((d.pk, str(exc.message)))
            continue
        ready.append((d, app, terms, rows))
    if not ready:
        outcome.failed.extend(failed)
        return
    now = timezone.now()
    app_ids = [app.pk for _d, app, _t, _r in ready]
    moved = LoanApplication.objects.filter(pk__in=app_ids, status=LoanApplication.Status.APPROVED).update(
        status=LoanApplication.Status.DISBURSED, status_changed_at=now, version=F("version") + 1
    )
    if moved != len(ready):
        raise _ChunkConflict()
    loans = [_loan_for(app, d, rows, terms) for d, app, terms, rows in ready]
    try:
        with transaction.atomic():
            Loan.objects.bulk_create(loans)
    except IntegrityError:
        raise _ChunkConflict()
    if any(loan.pk is None for loan in loans):
        by_number = dict(
            Loan.objects.filter(loan_number__in=[loan.loan_number for loan in loans]).values_list("loan_number", "pk")
        )
        for loan in loans:
            loan.pk = loan.id = by_number[loan.loan_number]
    installments, versions, entries = [], [], []
    for loan, (d, _app, terms, rows) in zip(loans, ready, strict=True):
        installments.extend(installment_from_row(loan, 1, row) for row in rows)
        versions.append(
            ScheduleVersion(
                loan=loan,
                number=1,
                reason=ScheduleVersion.Reason.DISBURSEMENT,
                effective_date=d.value_date,
                terms=_version_terms(terms),
                created_by=actor,
                created_at=now,
            )
        )
        entries.append(
            LedgerEntry(
                loan=loan,
                kind=LedgerEntry.Kind.DISBURSEMENT,
                value_date=d.value_date,
                amount=-d.amount,
                principal=-d.amount,
                balance_after=d.amount,
                disbursement=d,
                note=d.account[:255],
                actor=actor,
                created_at=now,
            )
        )
    Installment.objects.bulk_create(installments, batch_size=2000)
    ScheduleVersion.objects.bulk_create(versions, batch_size=2000)
    LedgerEntry.objects.bulk_create(entries, batch_size=2000)
    updated = Disbursement.objects.filter(pk__in=[d.pk for d, *_ in ready], status=Status.PREPARED).update(
        status=Status.AUTHORISED, authorised_by=actor, authorised_at=now, version=F("version") + 1
    )
    if updated != len(ready):
        raise _ChunkConflict()
    for loan, (d, *_rest) in zip(loans, ready, strict=True):
        d.loan = loan
    Disbursement.objects.bulk_update([d for d, *_ in ready], ["loan"], batch_size=500)
    with_security = set(
        Collateral.objects.filter(application_id__in=app_ids, loan__isnull=True).values_list(
            "application_id", flat=True
        )
    ) | set(
        Guarantee.objects.filter(application_id__in=app_ids, loan__isnull=True).values_list("application_id", flat=True)
    )
    for loan, (_d, app, *_rest) in zip(loans, ready, strict=True):
        if app.pk in with_security:
            collateral_attach_to_loan(application=app, loan=loan)
    moves, created = [], []
    for loan, (d, app, *_rest) in zip(loans, ready, strict=True):
        number = loan.loan_number
        moves.append((d, {"status": [Status.PREPARED, Status.AUTHORISED], "loan": number, "amount": str(d.amount)}))
        moves.append(
            (app, {"status": [LoanApplication.Status.APPROVED, LoanApplication.Status.DISBURSED], "loan": number})
        )
        created.append((loan, {"created": _loan_audit(loan)}))
    audit_record_many(action=AuditAction.TRANSITION, actor=actor, items=moves, reason="batch disbursement")
    audit_record_many(action=AuditAction.CREATE, actor=actor, items=created, reason="batch disbursement")
    outcome.done.extend(loan.pk for loan in loans)
    outcome.failed.extend(failed)


def _loan_audit(loan: Loan) -> dict:
    return {
        "loan_number": loan.loan_number,
        "application": loan.application_id,
        "principal": str(loan.principal),
        "annual_rate": str(loan.annual_rate),
        "term_months": loan.term_months,
        "method": loan.method,
        "disbursement_date": loan.disbursement_date.isoformat(),
        "maturity_date": loan.maturity_date.isoformat(),
    }


def disbursement_schedule_preview(d: Disbursement) -> list[schedules.Installment]:
    """The schedule a prepared first tranche will get (a read, for the authorisation page)."""
    if d.status != Status.PREPARED or d.tranche != 1:
        return []
    try:
        return schedules.schedule_build(
            _first_terms(
                d.application,
                amount=d.amount,
                value_date=d.value_date,
                first_due_date=d.first_due_date,
                repayment_day=d.repayment_day,
            )
        )
    except ValidationFailed:
        return []
