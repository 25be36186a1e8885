"""Loan application writes: create, edit, and every move of the state machine.

Each transition locks the row, checks ``LoanApplication.TRANSITIONS``, updates with a
conditional ``UPDATE ... WHERE status=<expected> AND version=<read>`` (so exactly one of
several concurrent deciders wins even where row locks are a no-op), records an
``ApprovalDecision`` where a person decided, writes its audit entry in the same
transaction and queues follow-ups on commit.
"""

import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record, changes_between, model_snapshot
from loans.models import ApprovalDecision, Channel, LoanApplication, LoanProduct, OfferResponse
from loans.selectors import application_round_approvals, approver_authority_limit
from loans.services.snapshots import application_snapshot_take
from loans.services.terms import application_is_counter_offer, application_terms_resolve
from loansite.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from loansite.formatting import format_money
from loansite.money import money

Status = LoanApplication.Status

PERM_ADD = "loans.add_loanapplication"
PERM_CHANGE = "loans.change_loanapplication"
PERM_SUBMIT = "loans.submit_loanapplication"
PERM_REVIEW = "loans.review_loanapplication"
PERM_APPROVE = "loans.approve_loanapplication"
PERM_VERIFY_IDENTITY = "loans.verify_identity_loanapplication"

IDENTITY_VERIFIED = "verified"
IDENTITY_REJECTED = "rejected"

EDITABLE_FIELDS = ("product", "amount", "term_months", "purpose", "repayment_method", "contact_phone", "notes")

# Reference numbers: "LA-YYMMDD-XXXXXX" from an alphabet without look-alikes (0/O, 1/I/L).
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def reference_new(*, on=None, rand=None) -> str:
    """A human-friendly, hard-to-guess reference number."""
    day = timezone.localtime(on or timezone.now()).strftime("%y%m%d")
    pick = rand.choice if rand is not None else secrets.choice
    return f"LA-{day}-" + "".join(pick(REFERENCE_ALPHABET) for _ in range(6))


def _require(actor, perm: str) -> None:
    if actor is None or not actor.is_active or not actor.has_perm(perm):
        raise NotAllowed(_("You do not have the role needed for this action."))


def _lock(application: LoanApplication) -> LoanApplication:
    """Reload the application under a row lock (a no-op on SQLite; the conditional UPDATE covers it)."""
    return LoanApplication.objects.select_for_update().select_related("product", "customer").get(pk=application.pk)


CUSTOMER_FROZEN = "customer_frozen"


class ApplicationsFrozen(ValidationFailed):
    """A risk analyst froze new applications of this customer (Admin -> Risk -> the event's
    actions); lifting the freeze lets them apply again."""


def application_customer_check(*, customer_id, public: bool = False) -> None:
    """Refuse a new application, or a submission, for a customer whose new applications are
    frozen (``risk.selectors.customer_is_restricted(customer_id, "applications")``). The
    public form's wording asks the applicant to contact the bank and says nothing more."""
    from risk.selectors import customer_is_restricted

    if customer_id is None or not customer_is_restricted(customer_id, "applications"):
        return
    if public:
        message = _("We cannot take an application from you online at the moment. Please contact the bank.")
    else:
        message = _("New applications for this customer are frozen by risk control; the freeze must be lifted first.")
    raise ApplicationsFrozen(message, extra={"field": "customer", "code": CUSTOMER_FROZEN})


def _check_move(app: LoanApplication, to_status: str) -> None:
    if not LoanApplication.can_move(app.status, to_status):
        raise InvalidTransition(
            _("Application %(ref)s is %(status)s; it cannot become %(to)s.")
            % {"ref": app.reference, "status": app.get_status_display(), "to": Status(to_status).label},
            extra={"status": app.status},
        )


def _check_not_pending_verification(app: LoanApplication) -> None:
    """Out of ``pending_verification`` only through ``application_verify_identity`` (or a withdrawal)."""
    if app.status == Status.PENDING_VERIFICATION:
        raise InvalidTransition(
            _("Application %(ref)s waits for identity verification; verify or reject the identity instead.")
            % {"ref": app.reference},
            extra={"status": app.status},
        )


def _conditional_update(app: LoanApplication, **values) -> None:
    """UPDATE only if nobody changed the row since we read it; refresh ``app`` in memory."""
    updated = LoanApplication.objects.filter(pk=app.pk, status=app.status, version=app.version).update(
        version=F("version") + 1, **values
    )
    if updated != 1:
        raise Conflict()
    app.version += 1
    for key, value in values.items():
        setattr(app, key, value)


def _move(
    app: LoanApplication, *, to_status: str, actor, action: str, reason: str = "", extra: dict | None = None, **values
) -> None:
    _check_move(app, to_status)
    before = app.status
    now = timezone.now()
    _conditional_update(app, status=to_status, status_changed_at=now, **values)
    audit_record(
        action=action,
        actor=actor,
        target=app,
        changes={"status": [before, to_status], **(extra or {})},
        reason=reason,
    )


# Steps that move a review along without deciding it: never "final" in the decision history.
STEP_DECISIONS = frozenset(
    {ApprovalDecision.Kind.REVIEW, ApprovalDecision.Kind.RETURN, ApprovalDecision.Kind.VERIFY_IDENTITY}
)


def _decision(app: LoanApplication, *, actor, kind: str, reason: str = "", final=True, authority=None, terms=None):
    final = final and kind not in STEP_DECISIONS
    return ApprovalDecision.objects.create(
        application=app,
        decider=actor,
        kind=kind,
        review_round=app.review_round,
        amount=terms.amount if terms is not None else app.amount,
        authority_limit=authority,
        final=final,
        reason=reason,
        terms=terms.as_json() if terms is not None else {},
    )


def _need_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Please give a reason."), extra={"field": "reason"})
    return reason


def application_check_product_limits(*, product: LoanProduct, amount: Decimal, term_months: int, method: str) -> None:
    """Raise ``ValidationFailed`` when the request does not fit the product."""
    errors = {}
    if not product.active:
        errors["product"] = _("This product is not offered any more.")
    if amount < product.min_amount or amount > product.max_amount:
        errors["amount"] = _("The amount must be between %(min)s and %(max)s for this product.") % {
            "min": format_money(product.min_amount),
            "max": format_money(product.max_amount),
        }
    if term_months < product.min_term_months or term_months > product.max_term_months:
        errors["term_months"] = _("The term must be between %(min)s and %(max)s months for this product.") % {
            "min": product.min_term_months,
            "max": product.max_term_months,
        }
    if product.repayment_methods and method not in product.repayment_methods:
        errors["repayment_method"] = _("This product does not offer that repayment method.")
    if errors:
        raise ValidationFailed(" ".join(str(e) for e in errors.values()), extra={"errors": errors})


# ---------------------------------------------------------------------------
# Create and edit
# ---------------------------------------------------------------------------
@transaction.atomic
def application_create(
    *,
    actor,
    customer,
    product: LoanProduct,
    amount,
    term_months: int,
    purpose: str = "",
    repayment_method: str = "",
    channel: str = Channel.BRANCH,
    contact_phone: str = "",
    notes: str = "",
    submit: bool = False,
    reference: str = "",
    claimed_identity: dict | None = None,
    audit_details: dict | None = None,
    public: bool = False,
) -> LoanApplication:
    """A new application in draft, or with ``submit`` created already submitted.

    Creating it submitted is one step (one row written, one audit entry recording the
    status), as the public form and API clients need it; scoring is queued on commit.
    ``reference`` is one drawn by ``application_reference_allocate()`` before the
    transaction (the unique index still refuses a duplicate). ``claimed_identity``: the
    applicant's details as given on the public form (kept on the application only).
    ``audit_details``: added to the audit entry (the portal account that applied).
    ``public``: a frozen customer's refusal is worded for the applicant (the public form).
    """
    if actor is not None:
        _require(actor, PERM_ADD)
        if submit:
            _require(actor, PERM_SUBMIT)
    application_customer_check(customer_id=customer.pk, public=public)
    amount = money(amount)
    repayment_method = repayment_method or (product.repayment_methods or ["equal_installment"])[0]
    application_check_product_limits(product=product, amount=amount, term_months=term_months, method=repayment_method)
    now = timezone.now()
    app = LoanApplication.objects.create(
        reference=reference or application_reference_allocate(),
        customer=customer,
        product=product,
        amount=amount,
        term_months=term_months,
        purpose=purpose or product.purpose,
        repayment_method=repayment_method,
        channel=channel,
        contact_phone=contact_phone or customer.phone,
        notes=notes,
        claimed_identity=claimed_identity or {},
        created_by=actor,
        created_at=now,
        **(
            {"status": Status.SUBMITTED, "submitted_at": now, "submitted_by": actor, "review_round": 1}
            if submit
            else {}
        ),
    )
    changes = {"created": model_snapshot(app)}
    if submit:
        changes["status"] = [None, Status.SUBMITTED]
    changes.update(audit_details or {})
    audit_record(action=AuditAction.CREATE, actor=actor, target=app, changes=changes)
    if submit:
        application_snapshot_take(application=app, customer=customer, first=True)
        app_id = app.pk
        transaction.on_commit(lambda: _queue_scoring(app_id), robust=True)
    return app


def application_reference_allocate() -> str:
    """A reference number not in use yet (a read: callers may draw it before their transaction)."""
    for _attempt in range(8):
        reference = reference_new()
        if not LoanApplication.objects.filter(reference=reference).exists():
            return reference
    raise Conflict(_("Could not allocate a reference number; please try again."))


@transaction.atomic
def application_update(*, actor, application: LoanApplication, **fields) -> LoanApplication:
    """Edit the request while it is a draft or returned for information."""
    _require(actor, PERM_CHANGE)
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(_("These fields cannot be edited: %(f)s") % {"f": ", ".join(sorted(unknown))})
    app = _lock(application)
    if app.status not in LoanApplication.EDITABLE:
        raise InvalidTransition(
            _("Application %(ref)s is %(status)s and can no longer be edited.")
            % {"ref": app.reference, "status": app.get_status_display()}
        )
    before = model_snapshot(app)
    if "amount" in fields:
        fields["amount"] = money(fields["amount"])
    for key, value in fields.items():
        setattr(app, key, value)
    application_check_product_limits(
        product=app.product, amount=app.amount, term_months=app.term_months, method=app.repayment_method
    )
    _conditional_update(app, **{k: getattr(app, k) for k in fields})
    changes = changes_between(before, model_snapshot(app))
    changes.pop("version", None)
    changes.pop("updated_at", None)
    audit_record(action=AuditAction.UPDATE, actor=actor, target=app, changes=changes)
    return app


# ---------------------------------------------------------------------------
# Transitions
# ---------------------------------------------------------------------------
@transaction.atomic
def application_submit(
    *, actor, application: LoanApplication, reason: str = "", audit_details: dict | None = None
) -> LoanApplication:
    """draft / returned_for_info -> submitted. Starts a review round; scoring runs on commit.

    ``actor`` is ``None`` for the public form and the customer portal (no staff account);
    ``audit_details`` are added to the audit entry (the portal account that sent it back).
    """
    if actor is not None:
        _require(actor, PERM_SUBMIT)
    app = _lock(application)
    _check_not_pending_verification(app)
    _check_move(app, Status.SUBMITTED)
    application_customer_check(customer_id=app.customer_id)
    application_check_product_limits(
        product=app.product, amount=app.amount, term_months=app.term_months, method=app.repayment_method
    )
    now = timezone.now()
    _move(
        app,
        to_status=Status.SUBMITTED,
        actor=actor,
        action=AuditAction.TRANSITION,
        reason=reason,
        extra=audit_details,
        submitted_at=now if app.submitted_at is None else app.submitted_at,
        submitted_by=actor,
        review_round=app.review_round + 1,
    )
    application_snapshot_take(application=app)
    app_id = app.pk
    # robust: a broker outage must not turn a saved application into an error page.
    transaction.on_commit(lambda: _queue_scoring(app_id), robust=True)
    return app


def _queue_scoring(application_id: int) -> None:
    from scoring.tasks import score_application

    score_application.delay(application_id)


@transaction.atomic
def application_verify_identity(
    *, actor, application: LoanApplication, decision: str, reason: str = ""
) -> LoanApplication:
    """pending_verification -> submitted (``verified``) or rejected (``rejected``).

    ``verified``: the officer confirmed, against the customer on file (by its phone on
    record, not the one typed in), that the applicant is that customer. Only now is the
    application linked to the customer, enters the queue and is scored. ``rejected``: it
    is not that customer; the application ends without ever touching the customer's
    record. The applicant's details stay on the application in either case.
    """
    _require(actor, PERM_VERIFY_IDENTITY)
    if decision not in (IDENTITY_VERIFIED, IDENTITY_REJECTED):
        raise ValidationFailed(
            _("The decision must be %(a)s or %(b)s.") % {"a": IDENTITY_VERIFIED, "b": IDENTITY_REJECTED},
            extra={"field": "decision"},
        )
    reason = (reason or "").strip()
    if decision == IDENTITY_REJECTED:
        reason = _need_reason(reason)
    app = _lock(application)
    if app.status != Status.PENDING_VERIFICATION:
        raise InvalidTransition(
            _("Application %(ref)s is %(status)s; only applications pending identity verification can be resolved.")
            % {"ref": app.reference, "status": app.get_status_display()},
            extra={"status": app.status},
        )
    now = timezone.now()
    if decision == IDENTITY_REJECTED:
        _move(
            app,
            to_status=Status.REJECTED,
            actor=actor,
            action=AuditAction.REJECT,
            reason=reason,
            extra={"identity": IDENTITY_REJECTED, "identity_match": app.identity_match_id},
            decided_by=actor,
            decided_at=now,
            decision_reason=reason,
        )
        _decision(app, actor=actor, kind=ApprovalDecision.Kind.REJECT_IDENTITY, reason=reason)
        return app
    customer = app.identity_match
    if customer is None:
        raise ValidationFailed(
            _("The customer these details matched is no longer on file; reject the identity instead."),
        )
    application_customer_check(customer_id=customer.pk)
    _move(
        app,
        to_status=Status.SUBMITTED,
        actor=actor,
        action=AuditAction.TRANSITION,
        reason=reason,
        extra={"identity": IDENTITY_VERIFIED, "customer": [None, customer.pk]},
        customer=customer,
        submitted_at=app.submitted_at or now,
        review_round=app.review_round + 1,
    )
    _decision(app, actor=actor, kind=ApprovalDecision.Kind.VERIFY_IDENTITY, reason=reason)
    application_snapshot_take(application=app)
    app_id = app.pk
    transaction.on_commit(lambda: _queue_scoring(app_id), robust=True)
    return app


@transaction.atomic
def application_start_review(*, actor, application: LoanApplication, reason: str = "") -> LoanApplication:
    """submitted -> under_review; the actor becomes the reviewer unless one is assigned."""
    _require(actor, PERM_REVIEW)
    app = _lock(application)
    _check_move(app, Status.UNDER_REVIEW)
    _move(
        app,
        to_status=Status.UNDER_REVIEW,
        actor=actor,
        action=AuditAction.TRANSITION,
        reason=reason,
        reviewer=app.reviewer or actor,
    )
    _decision(app, actor=actor, kind=ApprovalDecision.Kind.REVIEW, reason=reason)
    return app


def _check_maker_checker(app: LoanApplication, actor) -> None:
    if actor.pk in {app.created_by_id, app.submitted_by_id}:
        raise NotAllowed(
            _("You created or submitted application %(ref)s, so someone else must decide on it.")
            % {"ref": app.reference}
        )


def _credit_line_headroom(customer) -> Decimal | None:
    """Available credit on the customer's active line, or ``None`` when there is no line."""
    from customers.selectors import credit_line_active, credit_line_headroom

    if credit_line_active(customer=customer) is None:
        return None
    return credit_line_headroom(customer=customer)


@dataclass(frozen=True)
class ApprovalPrefetch:
    """What a batch read once, in its open transaction, for a chunk of applications.

    ``locked``: the chunk's rows read under lock (one ``SELECT ... FOR UPDATE``);
    ``with_credit_line``: ids of their customers that hold an active credit line (only
    those customers' headroom is then read, item by item, as each approval draws on it);
    ``earlier``: application id -> deciders of the approvals in its current review round.
    """

    locked: dict[int, LoanApplication]
    with_credit_line: frozenset[int]
    earlier: dict[int, list[int]]


def application_approval_prefetch(*, ids: list[int]) -> ApprovalPrefetch:
    """Lock and read, in the caller's transaction, what approving ``ids`` needs (three queries)."""
    from customers.models import CreditLine

    locked = {
        app.pk: app
        for app in LoanApplication.objects.select_for_update()
        .select_related("product", "customer")
        .filter(pk__in=ids)
        .order_by("pk")
    }
    customer_ids = {app.customer_id for app in locked.values()}
    with_line = frozenset(
        CreditLine.objects.filter(customer_id__in=customer_ids, status=CreditLine.Status.ACTIVE).values_list(
            "customer_id", flat=True
        )
    )
    earlier: dict[int, list[int]] = {}
    for app_id, review_round, decider_id in ApprovalDecision.objects.filter(
        application_id__in=list(locked), kind=ApprovalDecision.Kind.APPROVE
    ).values_list("application_id", "review_round", "decider_id"):
        if locked[app_id].review_round == review_round:
            earlier.setdefault(app_id, []).append(decider_id)
    return ApprovalPrefetch(locked=locked, with_credit_line=with_line, earlier=earlier)


@transaction.atomic
def application_approve(
    *,
    actor,
    application: LoanApplication,
    reason: str = "",
    authority: Decimal | None = None,
    prefetch: ApprovalPrefetch | None = None,
    approved_amount=None,
    approved_term_months: int | None = None,
    approved_annual_rate=None,
    approved_method: str | None = None,
    conditions_precedent: list[str] | None = None,
) -> LoanApplication:
    """under_review -> approved on decided terms, within the approver's authority.

    The terms (all optional): ``approved_amount`` (at most the amount requested),
    ``approved_term_months``, ``approved_annual_rate`` (within the product's range) and
    ``approved_method`` default to the terms an earlier approver of this round decided, else
    to the request and the product's rate for the score grade (``loans.services.terms``);
    ``conditions_precedent`` is a list of texts to tick before disbursement. Terms other than
    requested make the approval a counter-offer. The authority, the credit-line headroom, the
    draw on the line and the product's minimum collateral coverage all use the approved amount.

    ``authority`` is the actor's approval limit when the caller has looked it up already
    (a batch does so once for all its items). ``prefetch`` holds the row (already read
    under lock in this transaction), its round's earlier approvers and whether its
    customer has a credit line, read once per chunk by a batch; every check below still
    runs per item and the write is still the conditional UPDATE.

    Above the approver's authority the approval is recorded and the application waits
    for a second, distinct approver; that second approval moves it. Approval also
    checks the product's limits and, when the customer has an active credit line, its
    headroom; the approved amount is then drawn on the line.
    """
    _require(actor, PERM_APPROVE)
    app = prefetch.locked.get(application.pk) if prefetch is not None else None
    if app is None:
        app = _lock(application)
    _check_move(app, Status.APPROVED)
    _check_maker_checker(app, actor)
    if prefetch is not None and app.pk in prefetch.locked:
        earlier = list(prefetch.earlier.get(app.pk, []))
        base = {}
        if earlier:
            base = _round_terms(app)
    else:
        earlier = list(application_round_approvals(application=app).values_list("decider_id", flat=True))
        base = _round_terms(app) if earlier else {}
    terms = application_terms_resolve(
        application=app,
        amount=approved_amount,
        term_months=approved_term_months,
        annual_rate=approved_annual_rate,
        method=approved_method,
        conditions_precedent=conditions_precedent,
        base=base,
    )
    if not app.product.active:
        raise ValidationFailed(_("This product is not offered any more."))
    has_line = prefetch is None or app.customer_id in prefetch.with_credit_line
    headroom = _credit_line_headroom(app.customer) if has_line else None
    if headroom is not None and terms.amount > headroom:
        raise ValidationFailed(
            _("The amount %(amount)s exceeds the customer's credit-line headroom of %(headroom)s.")
            % {"amount": terms.amount, "headroom": headroom}
        )
    if app.product.min_coverage_ratio is not None:
        from loans.selectors.security import application_coverage

        coverage = application_coverage(application=app, amount=terms.amount)
        if not coverage.sufficient:
            raise ValidationFailed(
                _(
                    "Collateral after haircuts (%(value)s) covers %(ratio)s of the amount; this product requires at "
                    "least %(minimum)s. Add collateral or approve a lower amount."
                )
                % {
                    "value": coverage.value_after_haircuts,
                    "ratio": coverage.ratio,
                    "minimum": coverage.minimum,
                },
                extra={"field": "approved_amount"},
            )
    if actor.pk in earlier:
        raise NotAllowed(_("You already approved this application; a second approver must decide."))
    limit = authority if authority is not None else approver_authority_limit(user=actor)
    final = terms.amount <= limit or len(set(earlier)) >= 1
    if not final:
        # First of two approvals: bump the version so a concurrent decision conflicts.
        _check_move(app, Status.APPROVED)
        _conditional_update(app)
        audit_record(
            action=AuditAction.APPROVE,
            actor=actor,
            target=app,
            changes={
                "step": "first_approval",
                "amount": terms.amount,
                "terms": terms.as_json(),
                "authority_limit": limit,
                "needs_second": True,
            },
            reason=reason,
        )
        _decision(
            app,
            actor=actor,
            kind=ApprovalDecision.Kind.APPROVE,
            reason=reason,
            final=False,
            authority=limit,
            terms=terms,
        )
        return app
    now = timezone.now()
    line = None
    if headroom is not None:
        from customers.services import credit_line_use

        line = credit_line_use(customer=app.customer, amount=terms.amount, actor=actor, reason=app.reference)
    counter_offer = application_is_counter_offer(application=app, terms=terms)
    _move(
        app,
        to_status=Status.APPROVED,
        actor=actor,
        action=AuditAction.APPROVE,
        reason=reason,
        extra={
            "amount": terms.amount,
            "terms": terms.as_json(),
            "counter_offer": counter_offer,
            "authority_limit": limit,
            "approvers": [*earlier, actor.pk],
        },
        decided_by=actor,
        decided_at=now,
        decision_reason=reason,
        approved_amount=terms.amount,
        approved_term_months=terms.term_months,
        approved_annual_rate=terms.annual_rate,
        approved_method=terms.method,
        conditions_precedent=terms.conditions_precedent,
        counter_offer=counter_offer,
        offer_response=OfferResponse.PENDING if counter_offer else "",
        offer_responded_at=None,
        credit_line=line,
    )
    _decision(
        app, actor=actor, kind=ApprovalDecision.Kind.APPROVE, reason=reason, final=True, authority=limit, terms=terms
    )
    return app


def _round_terms(app: LoanApplication) -> dict:
    """The terms the latest approver of the current round decided (what a second approver confirms)."""
    decision = application_round_approvals(application=app).exclude(terms={}).order_by("-created_at", "-id").first()
    return dict(decision.terms) if decision is not None else {}


@transaction.atomic
def application_reject(*, actor, application: LoanApplication, reason: str) -> LoanApplication:
    """under_review -> rejected, with a reason; maker-checker applies."""
    _require(actor, PERM_APPROVE)
    reason = _need_reason(reason)
    app = _lock(application)
    _check_not_pending_verification(app)
    _check_move(app, Status.REJECTED)
    _check_maker_checker(app, actor)
    _move(
        app,
        to_status=Status.REJECTED,
        actor=actor,
        action=AuditAction.REJECT,
        reason=reason,
        decided_by=actor,
        decided_at=timezone.now(),
        decision_reason=reason,
    )
    _decision(app, actor=actor, kind=ApprovalDecision.Kind.REJECT, reason=reason)
    return app


@transaction.atomic
def application_return(*, actor, application: LoanApplication, reason: str) -> LoanApplication:
    """under_review -> returned_for_info: the officer or applicant must add what the reason asks."""
    _require(actor, PERM_REVIEW)
    reason = _need_reason(reason)
    app = _lock(application)
    _check_move(app, Status.RETURNED)
    _move(app, to_status=Status.RETURNED, actor=actor, action=AuditAction.TRANSITION, reason=reason)
    _decision(app, actor=actor, kind=ApprovalDecision.Kind.RETURN, reason=reason)
    return app


@transaction.atomic
def application_withdraw(*, actor, application: LoanApplication, reason: str = "") -> LoanApplication:
    """submitted / under_review -> withdrawn (the applicant changed their mind)."""
    _require(actor, PERM_CHANGE)
    app = _lock(application)
    _check_move(app, Status.WITHDRAWN)
    _move(app, to_status=Status.WITHDRAWN, actor=actor, action=AuditAction.TRANSITION, reason=reason)
    _decision(app, actor=actor, kind=ApprovalDecision.Kind.WITHDRAW, reason=reason)
    return app


@transaction.atomic
def application_cancel(*, actor, application: LoanApplication, reason: str) -> LoanApplication:
    """approved -> cancelled before disbursement; the credit line is released. A counter-offer
    still waiting for the applicant's answer is withdrawn with it (no answer is asked for)."""
    _require(actor, PERM_APPROVE)
    reason = _need_reason(reason)
    app = _lock(application)
    withdrawn = "" if app.offer_response == OfferResponse.PENDING else None
    _approval_cancel(app, actor=actor, reason=reason, offer_response=withdrawn)
    return app


def _approval_cancel(
    app: LoanApplication, *, actor, reason: str, offer_response=None, audit_details: dict | None = None, **values
) -> None:
    """approved -> cancelled under the caller's row lock: the move (audited), its decision, and
    the credit line given back what the approval drew on it. ``offer_response``: the
    counter-offer's answer moved with it (audited from what it was), ``None`` to leave it."""
    from customers.selectors import credit_line_active
    from customers.services import credit_line_release

    extra = dict(audit_details or {})
    if offer_response is not None:
        extra["offer_response"] = [str(app.offer_response), str(offer_response)]
        values["offer_response"] = offer_response
    _move(
        app,
        to_status=Status.CANCELLED,
        actor=actor,
        action=AuditAction.TRANSITION,
        reason=reason,
        extra=extra,
        **values,
    )
    _decision(app, actor=actor, kind=ApprovalDecision.Kind.CANCEL, reason=reason)
    drawn = app.approved_amount or app.amount
    if app.credit_line_id is not None:
        # The line the approval drew on gets exactly that back.
        credit_line_release(
            customer=app.customer, amount=drawn, actor=actor, reason=app.reference, credit_line=app.credit_line
        )
        return
    line = credit_line_active(customer=app.customer)
    if line is not None and line.used >= drawn:
        credit_line_release(customer=app.customer, amount=drawn, actor=actor, reason=app.reference)


OFFER_ANSWER_MAX = 2000


@transaction.atomic
def application_offer_answer(
    *, application: LoanApplication, accept: bool, actor=None, reason: str = "", audit_details: dict | None = None
) -> LoanApplication:
    """The applicant's answer to a counter-offer waiting for one.

    - Accepted: the approval may be disbursed on the terms offered.
    - Declined: the approval is cancelled (approved -> cancelled) and the credit line gets
      back what the approval drew on it.

    From the portal (no ``actor``; the portal account goes into ``audit_details``), or recorded
    by staff on the applicant's word (the change permission, and a note of how and when the
    applicant answered). The row is locked, the answer audited; a second answer is refused.
    """
    if actor is not None:
        _require(actor, PERM_CHANGE)
        reason = _need_reason(reason)
    reason = (reason or "").strip()
    if len(reason) > OFFER_ANSWER_MAX:
        raise ValidationFailed(
            _("Please keep the note under %(n)s characters.") % {"n": OFFER_ANSWER_MAX}, extra={"field": "reason"}
        )
    app = _lock(application)
    if app.status != Status.APPROVED or app.offer_response != OfferResponse.PENDING:
        raise InvalidTransition(
            _("Application %(ref)s has no counter-offer waiting for an answer.") % {"ref": app.reference},
            extra={"status": app.status, "offer_response": app.offer_response},
        )
    now = timezone.now()
    if accept:
        changes = {**(audit_details or {}), "offer_response": [str(app.offer_response), OfferResponse.ACCEPTED.value]}
        _conditional_update(app, offer_response=OfferResponse.ACCEPTED, offer_responded_at=now)
        audit_record(action=AuditAction.UPDATE, actor=actor, target=app, changes=changes, reason=reason)
        return app
    _approval_cancel(
        app,
        actor=actor,
        reason=reason or _("The applicant declined the counter-offer."),
        offer_response=OfferResponse.DECLINED,
        audit_details=audit_details,
        offer_responded_at=now,
    )
    return app


@transaction.atomic
def application_assign_reviewer(*, actor, application: LoanApplication, reviewer, reason: str = "") -> LoanApplication:
    """Give a pending application to a reviewer who holds the review permission."""
    _require(actor, PERM_REVIEW)
    if reviewer is None or not reviewer.is_active or not reviewer.has_perm(PERM_REVIEW):
        raise ValidationFailed(_("The chosen reviewer cannot review applications."))
    app = _lock(application)
    if app.status not in LoanApplication.PENDING:
        raise InvalidTransition(
            _("Application %(ref)s is %(status)s; only pending applications get a reviewer.")
            % {"ref": app.reference, "status": app.get_status_display()}
        )
    before = app.reviewer_id
    _conditional_update(app, reviewer=reviewer)
    audit_record(
        action=AuditAction.ASSIGN, actor=actor, target=app, changes={"reviewer": [before, reviewer.pk]}, reason=reason
    )
    return app
