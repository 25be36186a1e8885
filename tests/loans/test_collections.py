"""Collections services: assignment (single, batch, permissions), the contact log, promises kept or
broken by the daily close's step, legal escalation."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from loans.models import (
    CollectionAssignment,
    CollectionCase,
    CollectionContact,
    LegalCase,
    LegalCaseEvent,
    Loan,
    PromiseToPay,
)
from loans.services import collections as svc
from loans.services.repayments import repayment_post
from loansite.errors import Conflict, InvalidTransition, NotAllowed, ValidationFailed
from tests.loans.servicing import disbursed_loan

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate
P = PromiseToPay.Status


def make_overdue(loan: Loan, *, dpd: int = 45, bucket: str = "31-60", risk_class: str = "special_mention") -> Loan:
    """What the daily close leaves on an overdue loan (crafted: the close has its own tests)."""
    Loan.objects.filter(pk=loan.pk).update(
        status=Loan.Status.OVERDUE,
        days_past_due=dpd,
        dpd_bucket=bucket,
        risk_class=risk_class,
        overdue_since=TODAY() - datetime.timedelta(days=dpd),
    )
    loan.refresh_from_db()
    return loan


@pytest.fixture
def collector(make_user):
    return make_user("collector", role="Collector")


@pytest.fixture
def collector2(make_user):
    return make_user("collector2", role="Collector")


@pytest.fixture
def analyst(make_user):
    return make_user("analyst", role="Risk analyst")


@pytest.fixture
def overdue(officer, approver):
    return make_overdue(disbursed_loan(officer, approver))


# ---------------------------------------------------------------------------
# Assignment
# ---------------------------------------------------------------------------
def test_an_analyst_assigns_a_loan_and_the_history_and_audit_keep_it(analyst, collector, collector2, overdue):
    case = svc.collection_assign(actor=analyst, loan=overdue, collector=collector, note="bucket 31-60")
    assert case.collector == collector and case.assigned_at is not None
    case = svc.collection_assign(actor=analyst, loan=overdue, collector=collector2)
    assert CollectionCase.objects.get(loan=overdue).collector == collector2
    history = list(CollectionAssignment.objects.filter(case=case).order_by("id"))
    assert [(h.previous_collector, h.collector) for h in history] == [(None, collector), (collector, collector2)]
    entries = AuditEntry.objects.filter(action="assign", target_type="loans.loan", target_id=str(overdue.pk))
    assert entries.count() == 2
    assert entries.order_by("seq").last().changes["collector"] == ["collector", "collector2"]


def test_assigning_the_same_collector_again_changes_nothing(analyst, collector, overdue):
    svc.collection_assign(actor=analyst, loan=overdue, collector=collector)
    svc.collection_assign(actor=analyst, loan=overdue, collector=collector)
    assert CollectionAssignment.objects.count() == 1


def test_a_loan_officer_can_be_assigned_as_collector(analyst, officer, overdue):
    assert svc.collection_assign(actor=analyst, loan=overdue, collector=officer).collector == officer


@pytest.mark.parametrize("role", ["Collector", "Loan officer", "Auditor", "Credit approver", "Model ops"])
def test_only_assigners_assign(make_user, role, collector, overdue):
    with pytest.raises(NotAllowed):
        svc.collection_assign(actor=make_user("someone", role=role), loan=overdue, collector=collector)
    assert not CollectionCase.objects.exists()


@pytest.mark.parametrize("role", ["Auditor", "Credit approver", "Risk analyst"])
def test_a_loan_goes_only_to_someone_who_collects(make_user, analyst, role, overdue):
    with pytest.raises(ValidationFailed) as err:
        svc.collection_assign(actor=analyst, loan=overdue, collector=make_user("other", role=role))
    assert err.value.extra["field"] == "collector"


def test_an_inactive_collector_is_refused(analyst, collector, overdue):
    collector.is_active = False
    collector.save()
    with pytest.raises(ValidationFailed):
        svc.collection_assign(actor=analyst, loan=overdue, collector=collector)


def test_a_closed_loan_is_not_in_collections(analyst, collector, overdue):
    Loan.objects.filter(pk=overdue.pk).update(status=Loan.Status.CLOSED, outstanding_principal=0)
    with pytest.raises(InvalidTransition):
        svc.collection_assign(actor=analyst, loan=overdue, collector=collector)


def test_batch_assignment_assigns_each_and_reports_the_failures(officer, approver, analyst, collector):
    loans = [make_overdue(disbursed_loan(officer, approver)) for _ in range(3)]
    Loan.objects.filter(pk=loans[1].pk).update(status=Loan.Status.CLOSED, outstanding_principal=0)
    outcome = svc.collection_assign_many(actor=analyst, loans=loans, collector=collector)
    assert outcome.done == [loans[0].pk, loans[2].pk]
    assert [f[0] for f in outcome.failed] == [loans[1].pk]
    assert set(CollectionCase.objects.filter(collector=collector).values_list("loan_id", flat=True)) == {
        loans[0].pk,
        loans[2].pk,
    }


def test_batch_assignment_needs_the_permission(officer, approver, collector):
    loans = [make_overdue(disbursed_loan(officer, approver))]
    with pytest.raises(NotAllowed):
        svc.collection_assign_many(actor=collector, loans=loans, collector=collector)


def test_the_collectors_list_holds_collectors_and_officers_only(collector, officer, analyst, auditor):
    assert set(svc.collectors()) == {collector, officer}


# ---------------------------------------------------------------------------
# Contact log
# ---------------------------------------------------------------------------
def test_the_assigned_collector_logs_a_contact(analyst, collector, overdue):
    svc.collection_assign(actor=analyst, loan=overdue, collector=collector)
    next_day = TODAY() + datetime.timedelta(days=3)
    contact = svc.collection_contact_log(
        actor=collector,
        loan=overdue,
        channel="call",
        outcome="reached",
        note="Will pay Friday",
        next_action_date=next_day,
    )
    case = CollectionCase.objects.get(loan=overdue)
    assert (case.last_contact_outcome, case.next_action_date) == ("reached", next_day)
    assert case.last_contact_at == contact.contacted_at
    assert contact.by == collector and contact.note == "Will pay Friday"
    assert AuditEntry.objects.filter(target_type="loans.collectioncontact", target_id=str(contact.pk)).exists()


def test_a_collector_cannot_log_on_a_loan_assigned_to_someone_else(analyst, collector, collector2, overdue):
    svc.collection_assign(actor=analyst, loan=overdue, collector=collector)
    with pytest.raises(NotAllowed):
        svc.collection_contact_log(actor=collector2, loan=overdue, channel="sms", outcome="left_message")
    with pytest.raises(NotAllowed):
        svc.promise_create(actor=collector2, loan=overdue, promised_date=TODAY(), amount="100")
    assert not CollectionContact.objects.exists() and not PromiseToPay.objects.exists()


def test_an_unassigned_loan_is_worked_only_by_a_supervisor(make_user, collector, overdue):
    with pytest.raises(NotAllowed):
        svc.collection_contact_log(actor=collector, loan=overdue, channel="visit", outcome="no_answer")
    admin = make_user("boss", role="Administrator")
    svc.collection_contact_log(actor=admin, loan=overdue, channel="visit", outcome="no_answer")
    assert CollectionContact.objects.count() == 1


@pytest.mark.parametrize(
    "extra, field",
    [
        ({"channel": "email"}, "channel"),
        ({"outcome": "maybe"}, "outcome"),
        ({"next_action_date": datetime.date(2020, 1, 1)}, "next_action_date"),
        ({"next_action_date": "2030-01-01"}, "next_action_date"),
        ({"note": "x" * 2001}, "note"),
        ({"promise_date": datetime.date(2030, 1, 1)}, "promise_amount"),
        ({"promise_amount": "100"}, "promise_date"),
    ],
)
def test_bad_contact_input_is_refused_with_the_field(analyst, collector, overdue, extra, field):
    svc.collection_assign(actor=analyst, loan=overdue, collector=collector)
    values = {"channel": "call", "outcome": "reached", **extra}
    with pytest.raises(ValidationFailed) as err:
        svc.collection_contact_log(actor=collector, loan=overdue, **values)
    assert err.value.extra["field"] == field
    assert not CollectionContact.objects.exists()


def test_a_contact_with_a_promise_records_both(analyst, collector, overdue):
    svc.collection_assign(actor=analyst, loan=overdue, collector=collector)
    day = TODAY() + datetime.timedelta(days=5)
    contact = svc.collection_contact_log(
        actor=collector, loan=overdue, channel="call", outcome="promised", promise_date=day, promise_amount="500"
    )
    promise = PromiseToPay.objects.get()
    assert (promise.contact, promise.promised_date, promise.amount, promise.status) == (
        contact,
        day,
        Decimal("500.00"),
        P.OPEN,
    )
    assert CollectionCase.objects.get(loan=overdue).promise == promise


def test_a_new_promise_cancels_the_open_one(analyst, collector, overdue):
    svc.collection_assign(actor=analyst, loan=overdue, collector=collector)
    first = svc.promise_create(actor=collector, loan=overdue, promised_date=TODAY(), amount="100")
    second = svc.promise_create(actor=collector, loan=overdue, promised_date=TODAY(), amount="200")
    first.refresh_from_db()
    assert first.status == P.CANCELLED and second.status == P.OPEN


@pytest.mark.parametrize(
    "date, amount, field",
    [
        (datetime.date(2020, 1, 1), "100", "promised_date"),
        (None, "100", "promised_date"),
        ("tomorrow", "100", "promised_date"),
        (datetime.date(2099, 1, 1), "100", "promised_date"),
        ("today", "0", "amount"),
        ("today", "-5", "amount"),
        ("today", "abc", "amount"),
        ("today", "1e20", "amount"),
    ],
)
def test_bad_promises_are_refused(analyst, collector, overdue, date, amount, field):
    svc.collection_assign(actor=analyst, loan=overdue, collector=collector)
    date = TODAY() if date == "today" else date
    with pytest.raises(ValidationFailed) as err:
        svc.promise_create(actor=collector, loan=overdue, promised_date=date, amount=amount)
    assert err.value.extra["field"] == field


def test_lesser_roles_cannot_log_contacts(make_user, overdue):
    for role in ("Auditor", "Risk analyst", "Credit approver", "Model ops"):
        with pytest.raises(NotAllowed):
            svc.collection_contact_log(
                actor=make_user(f"u-{role}", role=role), loan=overdue, channel="call", outcome="reached"
            )


# ---------------------------------------------------------------------------
# Promises: the daily close's step
# ---------------------------------------------------------------------------
@pytest.fixture
def promised(analyst, collector, overdue):
    svc.collection_assign(actor=analyst, loan=overdue, collector=collector)

    def make(*, made_on, promised_date, amount="300"):
        promise = svc.promise_create(actor=collector, loan=overdue, promised_date=TODAY(), amount=amount)
        PromiseToPay.objects.filter(pk=promise.pk).update(created_on=made_on, promised_date=promised_date)
        promise.refresh_from_db()
        return promise

    return make


def _pay(officer, loan, amount, day, ref):
    return repayment_post(actor=officer, loan=loan, amount=amount, value_date=day, bank_reference=ref)


def test_a_promise_is_kept_when_the_payments_since_it_was_made_reach_the_amount(officer, overdue, promised):
    today = TODAY()
    promise = promised(made_on=today - datetime.timedelta(days=10), promised_date=today - datetime.timedelta(days=2))
    _pay(officer, overdue, "100", today - datetime.timedelta(days=11), "BEFORE-1")  # before it was made
    _pay(officer, overdue, "200", today - datetime.timedelta(days=10), "ON-DAY-MADE")
    _pay(officer, overdue, "100", today - datetime.timedelta(days=2), "ON-DATE")
    counts = svc.promise_close_step(on_date=today - datetime.timedelta(days=2))
    promise.refresh_from_db()
    assert counts == {"promises_kept": 1, "promises_broken": 0}
    assert (promise.status, promise.paid_amount, promise.resolved_on) == (
        P.KEPT,
        Decimal("300.00"),
        today - datetime.timedelta(days=2),
    )


def test_a_promise_is_open_on_its_date_and_broken_the_day_after(officer, overdue, promised):
    today = TODAY()
    date = today - datetime.timedelta(days=3)
    promise = promised(made_on=today - datetime.timedelta(days=8), promised_date=date)
    _pay(officer, overdue, "299.99", today - datetime.timedelta(days=5), "SHORT")
    assert svc.promise_close_step(on_date=date) == {"promises_kept": 0, "promises_broken": 0}
    promise.refresh_from_db()
    assert promise.status == P.OPEN
    assert svc.promise_close_step(on_date=date + datetime.timedelta(days=1)) == {
        "promises_kept": 0,
        "promises_broken": 1,
    }
    promise.refresh_from_db()
    assert (promise.status, promise.paid_amount, promise.resolved_on) == (
        P.BROKEN,
        Decimal("299.99"),
        date + datetime.timedelta(days=1),
    )


def test_a_payment_after_the_promised_date_does_not_keep_it(officer, overdue, promised):
    today = TODAY()
    date = today - datetime.timedelta(days=4)
    promise = promised(made_on=today - datetime.timedelta(days=9), promised_date=date)
    _pay(officer, overdue, "1000", today - datetime.timedelta(days=1), "LATE")
    svc.promise_close_step(on_date=today)
    promise.refresh_from_db()
    assert promise.status == P.BROKEN and promise.paid_amount == Decimal("0.00")


def test_a_reversed_repayment_does_not_count(officer, approver, overdue, promised):
    from loans.services.repayments import repayment_reverse

    today = TODAY()
    promise = promised(made_on=today - datetime.timedelta(days=3), promised_date=today)
    rep = _pay(officer, overdue, "500", today - datetime.timedelta(days=1), "TO-REVERSE")
    repayment_reverse(actor=approver, repayment=rep, reason="wrong loan")
    svc.promise_close_step(on_date=today)
    promise.refresh_from_db()
    assert promise.status == P.OPEN


def test_the_promise_step_is_idempotent(officer, overdue, promised):
    today = TODAY()
    promise = promised(made_on=today - datetime.timedelta(days=6), promised_date=today - datetime.timedelta(days=3))
    svc.promise_close_step(on_date=today)
    promise.refresh_from_db()
    before = (promise.status, promise.resolved_on, promise.paid_amount)
    audit_count = AuditEntry.objects.count()
    assert svc.promise_close_step(on_date=today) == {"promises_kept": 0, "promises_broken": 0}
    promise.refresh_from_db()
    assert (promise.status, promise.resolved_on, promise.paid_amount) == before
    assert AuditEntry.objects.count() == audit_count


def test_a_promise_made_after_the_close_date_is_left_alone(officer, overdue, promised):
    today = TODAY()
    promise = promised(made_on=today, promised_date=today)
    svc.promise_close_step(on_date=today - datetime.timedelta(days=5))
    promise.refresh_from_db()
    assert promise.status == P.OPEN


def test_the_daily_close_runs_the_promise_step(officer, overdue, promised):
    from loans.close import CLOSE_STEPS, loan_close_day

    assert "loans.services.collections.promises_close_day" in [step.function for step in CLOSE_STEPS]
    today = TODAY()
    promise = promised(made_on=today - datetime.timedelta(days=6), promised_date=today - datetime.timedelta(days=1))
    _pay(officer, overdue, "300", today - datetime.timedelta(days=2), "KEPT-BY-CLOSE")
    [close] = loan_close_day(date=today)
    promise.refresh_from_db()
    assert promise.status == P.KEPT
    assert close.counts["promises"] == {"promises_kept": 1, "promises_broken": 0}


# ---------------------------------------------------------------------------
# Legal escalation
# ---------------------------------------------------------------------------
def test_an_approver_escalates_to_legal_and_moves_the_case_with_history(approver, overdue):
    legal = svc.legal_case_open(actor=approver, loan=overdue, court="Haidian District Court", note="3 broken promises")
    assert legal.status == LegalCase.Status.PREPARED
    assert legal.claim_amount > overdue.outstanding_principal  # principal + interest owed
    for status in ("filed", "judgment", "enforcement", "closed"):
        legal = svc.legal_case_move(
            actor=approver, legal_case=legal, status=status, court_case_number="(2026)京0108民初1号"
        )
    history = list(
        LegalCaseEvent.objects.filter(legal_case=legal).order_by("id").values_list("status_from", "status_to")
    )
    assert history == [
        ("", "prepared"),
        ("prepared", "filed"),
        ("filed", "judgment"),
        ("judgment", "enforcement"),
        ("enforcement", "closed"),
    ]
    assert legal.court_case_number == "(2026)京0108民初1号"
    assert AuditEntry.objects.filter(target_type="loans.legalcase", target_id=str(legal.pk)).count() == 5


def test_legal_moves_follow_the_table(approver, overdue):
    legal = svc.legal_case_open(actor=approver, loan=overdue)
    with pytest.raises(InvalidTransition):
        svc.legal_case_move(actor=approver, legal_case=legal, status="judgment")
    with pytest.raises(ValidationFailed):
        svc.legal_case_move(actor=approver, legal_case=legal, status="won")
    svc.legal_case_move(actor=approver, legal_case=legal, status="closed")
    with pytest.raises(InvalidTransition):
        svc.legal_case_move(actor=approver, legal_case=legal, status="filed")


def test_one_open_legal_case_per_loan(approver, overdue):
    svc.legal_case_open(actor=approver, loan=overdue)
    with pytest.raises(Conflict):
        svc.legal_case_open(actor=approver, loan=overdue)


def test_an_active_loan_does_not_go_to_legal(approver, officer):
    with pytest.raises(InvalidTransition):
        svc.legal_case_open(actor=approver, loan=disbursed_loan(officer, approver))


@pytest.mark.parametrize("role", ["Collector", "Loan officer", "Risk analyst", "Auditor"])
def test_lesser_roles_cannot_escalate(make_user, role, overdue):
    with pytest.raises(NotAllowed):
        svc.legal_case_open(actor=make_user("u", role=role), loan=overdue)
