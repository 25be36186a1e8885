from decimal import Decimal

import pytest

from audit.models import AuditAction, AuditEntry
from loans import services
from loans.models import ApprovalDecision, LoanApplication
from loansite.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from tests.loans.factories import ApplicationFactory, AuthorityFactory, CreditLineFactory

S = LoanApplication.Status
ALL = list(S.values)


def audit_for(app, action=None):
    qs = AuditEntry.objects.filter(target_type="loans.loanapplication", target_id=str(app.pk))
    return qs.filter(action=action) if action else qs


# ---------------------------------------------------------------------------
# The transition table, exhaustively: every (from, to) pair is legal or refused.
# ---------------------------------------------------------------------------
def _mover(to_status):
    return {
        S.SUBMITTED: lambda actor, app: services.application_submit(actor=actor, application=app),
        S.UNDER_REVIEW: lambda actor, app: services.application_start_review(actor=actor, application=app),
        S.APPROVED: lambda actor, app: services.application_approve(actor=actor, application=app, reason="ok"),
        S.REJECTED: lambda actor, app: services.application_reject(actor=actor, application=app, reason="no"),
        S.RETURNED: lambda actor, app: services.application_return(actor=actor, application=app, reason="docs"),
        S.WITHDRAWN: lambda actor, app: services.application_withdraw(actor=actor, application=app),
        S.CANCELLED: lambda actor, app: services.application_cancel(actor=actor, application=app, reason="x"),
    }.get(to_status)


TARGETS = [S.SUBMITTED, S.UNDER_REVIEW, S.APPROVED, S.REJECTED, S.RETURNED, S.WITHDRAWN, S.CANCELLED]


@pytest.mark.parametrize("from_status", ALL)
@pytest.mark.parametrize("to_status", TARGETS)
def test_every_transition_is_legal_or_refused(make_user, product, from_status, to_status):
    superuser = make_user("boss", superuser=True)
    AuthorityFactory(user=superuser, limit=Decimal("10000000"))
    maker = make_user("maker", role="Loan officer")
    unverified = from_status == S.PENDING_VERIFICATION  # never linked to a customer
    app = ApplicationFactory(
        product=product,
        status=from_status,
        created_by=maker,
        review_round=1,
        **({"customer": None} if unverified else {}),
    )
    # Out of pending_verification only a withdrawal goes through the ordinary services;
    # submitted / rejected are application_verify_identity's (tested on their own).
    legal = LoanApplication.can_move(from_status, to_status) and not (unverified and to_status != S.WITHDRAWN)
    if legal:
        moved = _mover(to_status)(superuser, app)
        assert moved.status == to_status
        app.refresh_from_db()
        assert app.status == to_status
        assert app.version == 1
        entry = audit_for(app).latest("seq")
        assert entry.changes["status"] == [from_status, to_status]
    else:
        with pytest.raises(InvalidTransition):
            _mover(to_status)(superuser, app)
        app.refresh_from_db()
        assert app.status == from_status
        assert app.version == 0
        assert not audit_for(app).exists()


def test_transition_table_matches_the_issue():
    t = LoanApplication.TRANSITIONS
    assert t[S.DRAFT] == {S.SUBMITTED}
    assert t[S.SUBMITTED] == {S.UNDER_REVIEW, S.WITHDRAWN}
    assert t[S.UNDER_REVIEW] == {S.APPROVED, S.REJECTED, S.RETURNED, S.WITHDRAWN}
    assert t[S.RETURNED] == {S.SUBMITTED}
    assert t[S.APPROVED] == {S.DISBURSED, S.CANCELLED}
    for terminal in (S.REJECTED, S.WITHDRAWN, S.CANCELLED, S.DISBURSED):
        assert t[terminal] == set()


# ---------------------------------------------------------------------------
# Create, submit, the full path
# ---------------------------------------------------------------------------
def test_create_submit_review_approve_path(officer, approver, customer, product, django_capture_on_commit_callbacks):
    app = services.application_create(
        actor=officer, customer=customer, product=product, amount="150000", term_months=12
    )
    assert app.status == S.DRAFT
    assert app.reference.startswith("LA-") and len(app.reference) == 16
    with django_capture_on_commit_callbacks() as callbacks:
        services.application_submit(actor=officer, application=app)
    assert any("_queue_scoring" in repr(cb) or "application_submit" in cb.__qualname__ for cb in callbacks)
    app.refresh_from_db()
    assert (app.status, app.review_round, app.submitted_by) == (S.SUBMITTED, 1, officer)
    assert app.submitted_at is not None
    services.application_start_review(actor=approver, application=app)
    app = services.application_approve(actor=approver, application=app, reason="Good history")
    app.refresh_from_db()
    assert app.status == S.APPROVED
    assert app.decided_by == approver and app.decision_reason == "Good history"
    kinds = list(app.decisions.values_list("kind", flat=True))
    assert kinds == ["review", "approve"]
    approve_entry = audit_for(app, AuditAction.APPROVE).get()
    assert approve_entry.reason == "Good history"
    assert approve_entry.actor == approver


def test_submit_queues_scoring_task(officer, customer, product, django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    from scoring import tasks

    monkeypatch.setattr(tasks.score_application, "delay", lambda app_id: queued.append(app_id))
    app = services.application_create(actor=officer, customer=customer, product=product, amount="50000", term_months=6)
    with django_capture_on_commit_callbacks(execute=True):
        services.application_submit(actor=officer, application=app)
    assert queued == [app.pk]


def test_create_refuses_amount_outside_product(officer, customer, product):
    with pytest.raises(ValidationFailed) as exc:
        services.application_create(actor=officer, customer=customer, product=product, amount="5000", term_months=12)
    assert "amount" in exc.value.extra["errors"]
    with pytest.raises(ValidationFailed) as exc:
        services.application_create(actor=officer, customer=customer, product=product, amount="50000", term_months=60)
    assert "term_months" in exc.value.extra["errors"]
    assert not LoanApplication.objects.exists()


def test_update_only_while_draft_or_returned(officer, product):
    app = ApplicationFactory(product=product, status=S.RETURNED, created_by=officer)
    services.application_update(actor=officer, application=app, amount="120000", notes="tax return attached")
    app.refresh_from_db()
    assert app.amount == Decimal("120000.00")
    assert audit_for(app, AuditAction.UPDATE).get().changes["amount"] == ["100000.00", "120000.00"]
    app2 = ApplicationFactory(product=product, status=S.UNDER_REVIEW)
    with pytest.raises(InvalidTransition):
        services.application_update(actor=officer, application=app2, amount="1")


def test_returned_then_resubmitted_starts_a_new_round(officer, approver, pending):
    services.application_return(actor=approver, application=pending, reason="Need bank statements")
    app = services.application_submit(actor=officer, application=pending)
    assert app.status == S.SUBMITTED and app.review_round == 2


def test_reason_required_for_reject_and_return(approver, pending):
    with pytest.raises(ValidationFailed):
        services.application_reject(actor=approver, application=pending, reason="  ")
    with pytest.raises(ValidationFailed):
        services.application_return(actor=approver, application=pending, reason="")
    pending.refresh_from_db()
    assert pending.status == S.UNDER_REVIEW


def test_stale_version_conflicts(approver, pending):
    LoanApplication.objects.filter(pk=pending.pk).update(version=5)  # someone else moved it meanwhile
    from loans.services.applications import _conditional_update

    with pytest.raises(Conflict):
        _conditional_update(pending, status=S.APPROVED)
    pending.refresh_from_db()
    assert pending.status == S.UNDER_REVIEW


# ---------------------------------------------------------------------------
# Maker-checker and authority
# ---------------------------------------------------------------------------
def test_maker_cannot_approve_or_reject_own_application(make_user, product):
    both = make_user("both", role="Credit approver")
    both.groups.add(*make_user("x", role="Loan officer").groups.all())
    AuthorityFactory(user=both, limit=Decimal("9999999"))
    app = ApplicationFactory(product=product, status=S.UNDER_REVIEW, created_by=both, review_round=1)
    with pytest.raises(NotAllowed):
        services.application_approve(actor=both, application=app)
    with pytest.raises(NotAllowed):
        services.application_reject(actor=both, application=app, reason="no")
    submitted = ApplicationFactory(product=product, status=S.UNDER_REVIEW, submitted_by=both, review_round=1)
    with pytest.raises(NotAllowed):
        services.application_approve(actor=both, application=submitted)
    app.refresh_from_db()
    assert app.status == S.UNDER_REVIEW and not app.decisions.exists()


def test_two_distinct_approvers_above_authority(approver, approver2, officer, product):
    app = ApplicationFactory(
        product=product, status=S.UNDER_REVIEW, amount=Decimal("800000"), created_by=officer, review_round=1
    )
    services.application_approve(actor=approver, application=app, reason="first")
    app.refresh_from_db()
    assert app.status == S.UNDER_REVIEW  # waits for a second approver
    first = app.decisions.get()
    assert (first.kind, first.final, first.authority_limit) == ("approve", False, Decimal("200000.00"))
    with pytest.raises(NotAllowed):
        services.application_approve(actor=approver, application=app)  # the same person twice
    services.application_approve(actor=approver2, application=app, reason="second")
    app.refresh_from_db()
    assert app.status == S.APPROVED and app.decided_by == approver2
    assert list(app.decisions.values_list("decider__username", "final")) == [("approver", False), ("approver2", True)]
    assert audit_for(app, AuditAction.APPROVE).count() == 2


def test_within_authority_one_approval_suffices(approver, pending):
    services.application_approve(actor=approver, application=pending)
    pending.refresh_from_db()
    assert pending.status == S.APPROVED


def test_group_authority_applies_and_user_row_wins(make_user, officer, product):
    from django.contrib.auth.models import Group

    from loans.selectors import approver_authority_limit

    group = Group.objects.get(name="Credit approver")
    AuthorityFactory(group=group, limit=Decimal("300000"))
    member = make_user("member", role="Credit approver")
    assert approver_authority_limit(user=member) == Decimal("300000.00")
    AuthorityFactory(user=member, limit=Decimal("50000"))
    assert approver_authority_limit(user=member) == Decimal("50000.00")
    nobody = make_user("nobody")
    assert approver_authority_limit(user=nobody) == Decimal("0.00")


def test_no_authority_needs_two_approvers(make_user, officer, product):
    a = make_user("a1", role="Credit approver")
    b = make_user("b1", role="Credit approver")
    app = ApplicationFactory(product=product, status=S.UNDER_REVIEW, created_by=officer, review_round=1)
    services.application_approve(actor=a, application=app)
    app.refresh_from_db()
    assert app.status == S.UNDER_REVIEW
    services.application_approve(actor=b, application=app)
    app.refresh_from_db()
    assert app.status == S.APPROVED


def test_approvals_of_an_earlier_round_do_not_count(approver, approver2, officer, product):
    app = ApplicationFactory(
        product=product, status=S.UNDER_REVIEW, amount=Decimal("800000"), created_by=officer, review_round=1
    )
    services.application_approve(actor=approver, application=app)
    services.application_return(actor=approver2, application=app, reason="more documents")
    services.application_submit(actor=officer, application=app)
    services.application_start_review(actor=approver2, application=app)
    services.application_approve(actor=approver2, application=app)
    app.refresh_from_db()
    assert app.status == S.UNDER_REVIEW  # round 2 has only one approval


def test_officer_and_auditor_cannot_decide(officer, auditor, make_user, product):
    other = make_user("other", role="Loan officer")
    app = ApplicationFactory(product=product, status=S.UNDER_REVIEW, created_by=other, review_round=1)
    for actor in (officer, auditor):
        with pytest.raises(NotAllowed):
            services.application_approve(actor=actor, application=app)
        with pytest.raises(NotAllowed):
            services.application_start_review(actor=actor, application=app)
    with pytest.raises(NotAllowed):
        services.application_update(actor=auditor, application=app, notes="x")


# ---------------------------------------------------------------------------
# Product limits and credit-line headroom
# ---------------------------------------------------------------------------
def test_approve_checks_credit_line_headroom_and_draws(approver, officer, product):
    line = CreditLineFactory(limit=Decimal("150000"), used=Decimal("100000"))
    app = ApplicationFactory(
        product=product, customer=line.customer, status=S.UNDER_REVIEW, created_by=officer, review_round=1
    )
    with pytest.raises(ValidationFailed) as exc:
        services.application_approve(actor=approver, application=app)
    assert "headroom" in str(exc.value.message)
    app.refresh_from_db()
    assert app.status == S.UNDER_REVIEW and not app.decisions.exists()
    line.used = Decimal("0")
    line.save()
    services.application_approve(actor=approver, application=app)
    line.refresh_from_db()
    assert line.used == Decimal("100000.00")
    services.application_cancel(actor=approver, application=app, reason="customer declined")
    line.refresh_from_db()
    assert line.used == Decimal("0.00")


def test_approve_checks_product_limits(approver, officer, product):
    app = ApplicationFactory(
        product=product, status=S.UNDER_REVIEW, amount=Decimal("5000000"), created_by=officer, review_round=1
    )
    with pytest.raises(ValidationFailed):
        services.application_approve(actor=approver, application=app)
    product.active = False
    product.save()
    app2 = ApplicationFactory(product=product, status=S.UNDER_REVIEW, created_by=officer, review_round=1)
    with pytest.raises(ValidationFailed):
        services.application_approve(actor=approver, application=app2)


# ---------------------------------------------------------------------------
# Batch and assignment
# ---------------------------------------------------------------------------
def test_batch_approve_mixed_outcomes(approver, officer, make_user, product):
    ok = [
        ApplicationFactory(product=product, status=S.UNDER_REVIEW, created_by=officer, review_round=1) for _ in range(3)
    ]
    wrong_state = ApplicationFactory(product=product, status=S.REJECTED, created_by=officer)
    own = ApplicationFactory(product=product, status=S.UNDER_REVIEW, created_by=approver, review_round=1)
    big = ApplicationFactory(
        product=product, status=S.UNDER_REVIEW, amount=Decimal("900000"), created_by=officer, review_round=1
    )
    outcome = services.application_batch(
        actor=approver, applications=[*ok, wrong_state, own, big], operation="approve", reason="batch"
    )
    assert {a.pk for a in outcome.done} == {a.pk for a in ok} | {big.pk}  # big: first approval recorded
    assert {a.pk for a, _why in outcome.failed} == {wrong_state.pk, own.pk}
    assert outcome.done_amount == Decimal("1200000.00")
    for app in ok:
        app.refresh_from_db()
        assert app.status == S.APPROVED
    own.refresh_from_db()
    assert own.status == S.UNDER_REVIEW


def test_batch_approve_draws_one_credit_line_item_by_item(approver, officer, product):
    # Two applications of one customer: the line covers one of them, not both.
    line = CreditLineFactory(limit=Decimal("150000"), used=Decimal("0"))
    first, second = (
        ApplicationFactory(
            product=product, customer=line.customer, status=S.UNDER_REVIEW, created_by=officer, review_round=1
        )
        for _ in range(2)
    )
    outcome = services.application_batch(
        actor=approver, applications=[first, second], operation="approve", reason="batch"
    )
    assert [a.pk for a in outcome.done] == [first.pk]
    assert [a.pk for a, _why in outcome.failed] == [second.pk]
    assert "headroom" in outcome.failed[0][1]
    line.refresh_from_db()
    assert line.used == Decimal("100000.00")
    second.refresh_from_db()
    assert second.status == S.UNDER_REVIEW and not second.decisions.exists()


def test_batch_approve_second_approval_counts_earlier_round_approvals(approver, approver2, officer, product):
    big = ApplicationFactory(
        product=product, status=S.UNDER_REVIEW, amount=Decimal("900000"), created_by=officer, review_round=1
    )
    services.application_approve(actor=approver, application=big, reason="first")
    # The same approver again in a batch: refused; a second, distinct approver: approved.
    again = services.application_batch(actor=approver, applications=[big], operation="approve", reason="again")
    assert not again.done and again.failed
    outcome = services.application_batch(actor=approver2, applications=[big], operation="approve", reason="second")
    assert [a.pk for a in outcome.done] == [big.pk]
    big.refresh_from_db()
    assert big.status == S.APPROVED
    assert audit_for(big, AuditAction.APPROVE).count() == 2
    assert big.decisions.filter(kind=ApprovalDecision.Kind.APPROVE, final=True).count() == 1


def test_batch_approve_queries_per_item_are_few(approver, officer, product, django_assert_max_num_queries):
    apps = [
        ApplicationFactory(product=product, status=S.UNDER_REVIEW, created_by=officer, review_round=1)
        for _ in range(10)
    ]
    services.application_batch(actor=approver, applications=apps[:1], operation="approve", reason="warm")
    # Per item: conditional UPDATE, audit (head, entry, head update), decision row,
    # savepoint and release; per batch: the authority; per chunk: its savepoint and
    # release (the test's transaction), lock, credit lines, earlier approvals.
    with django_assert_max_num_queries(9 * 7 + 6):
        outcome = services.application_batch(actor=approver, applications=apps[1:], operation="approve", reason="b")
    assert len(outcome.done) == 9


def test_batch_reject_needs_reason(approver, pending):
    with pytest.raises(ValidationFailed):
        services.application_batch(actor=approver, applications=[pending], operation="reject")


def test_assign_reviewer(approver, approver2, officer, pending):
    services.application_assign_reviewer(actor=approver, application=pending, reviewer=approver2)
    pending.refresh_from_db()
    assert pending.reviewer == approver2
    assert audit_for(pending, AuditAction.ASSIGN).exists()
    with pytest.raises(ValidationFailed):
        services.application_assign_reviewer(actor=approver, application=pending, reviewer=officer)


def test_decision_rows_unique_per_round(approver, pending):
    from django.db import IntegrityError, transaction

    ApprovalDecision.objects.create(
        application=pending, decider=approver, kind="approve", review_round=1, amount=pending.amount
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalDecision.objects.create(
            application=pending, decider=approver, kind="approve", review_round=1, amount=pending.amount
        )


def test_create_submitted_in_one_step(officer, customer, product, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        app = services.application_create(
            actor=officer, customer=customer, product=product, amount="80000", term_months=6, submit=True
        )
    assert (app.status, app.review_round, app.submitted_by) == (S.SUBMITTED, 1, officer)
    assert len(audit_for(app)) == 1
    assert callbacks


def test_create_submitted_needs_submit_permission(make_user, customer, product):
    from django.contrib.auth.models import Permission

    clerk = make_user("clerk")
    clerk.user_permissions.add(Permission.objects.get(codename="add_loanapplication"))
    with pytest.raises(NotAllowed):
        services.application_create(
            actor=clerk, customer=customer, product=product, amount="80000", term_months=6, submit=True
        )


# ---------------------------------------------------------------------------
# Identity verification of public applications that named an existing customer
# ---------------------------------------------------------------------------
@pytest.fixture
def verifier(make_user):
    """A loan officer: the role holds loans.verify_identity_loanapplication."""
    return make_user("verifier", role="Loan officer")


def _unverified(product, **kw):
    from tests.loans.factories import CustomerFactory

    on_file = kw.pop("identity_match", None) or CustomerFactory(name="Real Tea House")
    return ApplicationFactory(
        product=product,
        customer=None,
        identity_match=on_file,
        status=S.PENDING_VERIFICATION,
        channel="public",
        contact_phone="13700001111",
        claimed_identity={"name": "Someone Else", "phone": "13700001111", "credit_code": on_file.credit_code},
        **kw,
    )


def test_verified_identity_links_the_customer_and_submits(verifier, product, django_capture_on_commit_callbacks):
    app = _unverified(product)
    on_file = app.identity_match
    with django_capture_on_commit_callbacks() as callbacks:
        moved = services.application_verify_identity(
            actor=verifier, application=app, decision="verified", reason="Called the number on file; confirmed."
        )
    assert callbacks  # scoring queued once the application belongs to the customer
    app.refresh_from_db()
    assert (moved.status, app.status, app.customer, app.review_round) == (S.SUBMITTED, S.SUBMITTED, on_file, 1)
    assert app.claimed_identity["name"] == "Someone Else"  # kept, never copied to the customer
    on_file.refresh_from_db()
    assert on_file.name == "Real Tea House"
    entry = audit_for(app).latest("seq")
    assert entry.actor == verifier and entry.changes["status"] == [S.PENDING_VERIFICATION, S.SUBMITTED]
    assert entry.changes["identity"] == "verified" and entry.changes["customer"] == [None, on_file.pk]
    assert app.decisions.get().kind == ApprovalDecision.Kind.VERIFY_IDENTITY


def test_rejected_identity_ends_the_application_without_a_customer(verifier, product):
    app = _unverified(product)
    with pytest.raises(ValidationFailed):
        services.application_verify_identity(actor=verifier, application=app, decision="rejected", reason=" ")
    services.application_verify_identity(
        actor=verifier, application=app, decision="rejected", reason="The customer never applied."
    )
    app.refresh_from_db()
    assert (app.status, app.customer, app.decided_by) == (S.REJECTED, None, verifier)
    assert not app.identity_match.applications.exists()
    assert audit_for(app, AuditAction.REJECT).get().changes["identity"] == "rejected"
    assert app.decisions.get().kind == ApprovalDecision.Kind.REJECT_IDENTITY


def test_verification_needs_the_permission_and_a_pending_application(verifier, approver, product):
    app = _unverified(product)
    with pytest.raises(NotAllowed):
        services.application_verify_identity(actor=approver, application=app, decision="verified")
    with pytest.raises(ValidationFailed):
        services.application_verify_identity(actor=verifier, application=app, decision="maybe")
    services.application_verify_identity(actor=verifier, application=app, decision="verified")
    with pytest.raises(InvalidTransition):
        services.application_verify_identity(actor=verifier, application=app, decision="rejected", reason="again")
    other = ApplicationFactory(product=product, status=S.SUBMITTED)
    with pytest.raises(InvalidTransition):
        services.application_verify_identity(actor=verifier, application=other, decision="verified")


def test_two_concurrent_verifications_one_wins(verifier, product):
    app = _unverified(product)
    stale = LoanApplication.objects.get(pk=app.pk)
    services.application_verify_identity(actor=verifier, application=app, decision="verified")
    from loans.services.applications import _conditional_update

    with pytest.raises(Conflict):  # the second decider read the row before the first wrote it
        _conditional_update(stale, status=S.REJECTED)
    assert LoanApplication.objects.get(pk=app.pk).status == S.SUBMITTED


@pytest.mark.parametrize("service", ["submit", "reject", "review", "approve"])
def test_no_ordinary_move_skips_the_identity_check(make_user, product, service):
    boss = make_user("boss", superuser=True)
    AuthorityFactory(user=boss, limit=Decimal("10000000"))
    app = _unverified(product)
    mover = {
        "submit": lambda: services.application_submit(actor=boss, application=app),
        "reject": lambda: services.application_reject(actor=boss, application=app, reason="no"),
        "review": lambda: services.application_start_review(actor=boss, application=app),
        "approve": lambda: services.application_approve(actor=boss, application=app),
    }[service]
    with pytest.raises(InvalidTransition):
        mover()
    app.refresh_from_db()
    assert (app.status, app.customer) == (S.PENDING_VERIFICATION, None)


def test_an_unverified_application_can_be_withdrawn(officer, product):
    app = _unverified(product)
    services.application_withdraw(actor=officer, application=app, reason="Applicant called")
    app.refresh_from_db()
    assert (app.status, app.customer) == (S.WITHDRAWN, None)


def test_the_database_refuses_an_unverified_application_on_a_customer(product):
    from django.db import IntegrityError, transaction

    from tests.loans.factories import CustomerFactory

    app = _unverified(product)
    with pytest.raises(IntegrityError), transaction.atomic():
        LoanApplication.objects.filter(pk=app.pk).update(customer=CustomerFactory())
    with pytest.raises(IntegrityError), transaction.atomic():
        LoanApplication.objects.filter(pk=app.pk).update(status=S.SUBMITTED)
