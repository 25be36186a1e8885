"""Automated decisions: policy rules at their boundaries on real applications, straight-through
approval by the decision engine (audited with rules and score, through the application
services), sampling for human review, automatic decline per product, reopening within N days."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from audit.models import AuditAction, AuditEntry
from loans.models import ApprovalDecision, AutomatedDecision, LoanApplication
from loans.services.automation import (
    SYSTEM_USERNAME,
    application_auto_decide,
    automated_decision_reopen,
    automated_decision_review,
)
from loansite.errors import InvalidTransition, NotAllowed
from scoring.models import DecisionPolicy, PolicyRule
from tests.loans.factories import ApplicationFactory, CreditLineFactory, CustomerFactory

Status = LoanApplication.Status


@pytest.fixture
def policy(db):
    policy = DecisionPolicy.objects.get(product=None)
    policy.straight_through = True
    policy.max_amount = Decimal("100000.00")
    policy.grades = "AB"
    policy.sample_rate = Decimal("0")
    policy.reopen_days = 30
    policy.auto_decline = True
    policy.save()
    return policy


def submitted(officer, product, *, amount="50000", grade="A", customer=None, **extra):
    customer = customer or CreditLineFactory(limit=Decimal("500000")).customer
    if "credit_score" in extra:
        customer.credit_score = extra.pop("credit_score")
        customer.save(update_fields=["credit_score"])
    return ApplicationFactory(
        customer=customer,
        product=product,
        amount=Decimal(amount),
        status=Status.SUBMITTED,
        created_by=officer,
        submitted_by=officer,
        submitted_at=timezone.now(),
        review_round=1,
        score_grade=grade,
        score_points=720 if grade else None,
        score_probability=Decimal("0.0200") if grade else None,
        score_model_version="pd-v3" if grade else "",
        **extra,
    )


def test_straight_through_approval_is_the_engines_audited_decision(officer, product, policy):
    app = submitted(officer, product, credit_score=700)
    decision = application_auto_decide(application_id=app.pk, draw=0.5)
    app.refresh_from_db()
    assert decision.kind == AutomatedDecision.Kind.APPROVED and app.status == Status.APPROVED
    assert app.decided_by.username == SYSTEM_USERNAME and not app.decided_by.has_usable_password()
    assert app.approved_amount == Decimal("50000.00") and app.credit_line is not None  # drawn on the line
    approval = AuditEntry.objects.get(action=AuditAction.APPROVE, target_id=str(app.pk))
    assert "Straight-through" in approval.reason and "grade A" in approval.reason and "pd-v3" in approval.reason
    record = AuditEntry.objects.get(action=AuditAction.SYSTEM, target_id=str(app.pk))
    assert record.changes["automated_decision"] == "approved" and record.changes["score"]["points"] == 720
    assert record.changes["rules"] == [] and record.actor.username == SYSTEM_USERNAME
    assert list(app.decisions.values_list("kind", flat=True).order_by("id")) == ["review", "approve"]
    assert decision.reopen_until > timezone.now() + datetime.timedelta(days=29)
    # Once per review round.
    assert application_auto_decide(application_id=app.pk) is None


@pytest.mark.parametrize(
    ("amount", "grade", "kind"),
    [
        ("100000", "A", "approved"),
        ("100000.01", "A", "referred"),
        ("50000", "B", "approved"),
        ("50000", "C", "referred"),
        ("50000", "", "referred"),
    ],
)
def test_straight_through_boundaries(officer, product, policy, amount, grade, kind):
    app = submitted(officer, product, amount=amount, grade=grade, credit_score=700)
    decision = application_auto_decide(application_id=app.pk, draw=0.5)
    app.refresh_from_db()
    assert decision.kind == kind
    assert app.status == (Status.APPROVED if kind == "approved" else Status.SUBMITTED)


@pytest.mark.parametrize(("score", "kind"), [(549, "recommend_decline"), (550, "approved")])
def test_bureau_score_rule_at_its_threshold(officer, product, policy, score, kind):
    # The seeded rule: bureau score below 550 recommends declining.
    app = submitted(officer, product, credit_score=score)
    decision = application_auto_decide(application_id=app.pk, draw=0.5)
    assert decision.kind == kind
    if kind == "recommend_decline":
        assert decision.rules[0]["kind"] == "bureau_score_below" and decision.rules[0]["value"] == 549
        app.refresh_from_db()
        assert app.status == Status.SUBMITTED  # a recommendation: people decide


def test_watch_list_declines_automatically_only_where_the_product_says_so(officer, product, policy):
    from risk.models import WatchListEntry

    customer = CreditLineFactory().customer
    WatchListEntry.objects.create(kind="customer", value=str(customer.pk), customer=customer, reason="mule ring")
    app = submitted(officer, product, customer=customer, credit_score=700)
    decision = application_auto_decide(application_id=app.pk, draw=0.5)
    app.refresh_from_db()
    assert decision.kind == "declined" and app.status == Status.REJECTED
    assert "watch_list" in app.decision_reason
    # A product whose policy does not decline automatically only gets the recommendation.
    from tests.loans.factories import ProductFactory

    other = ProductFactory(code="WC2")
    DecisionPolicy.objects.create(
        product=other, straight_through=True, max_amount=Decimal("100000"), auto_decline=False
    )
    app2 = submitted(officer, other, customer=customer, credit_score=700)
    assert application_auto_decide(application_id=app2.pk, draw=0.5).kind == "recommend_decline"
    app2.refresh_from_db()
    assert app2.status == Status.SUBMITTED


def test_product_rules_apply_to_their_product_only(officer, product, policy):
    from tests.loans.factories import ProductFactory

    PolicyRule.objects.create(kind="amount_above", threshold=Decimal("40000"), product=product)
    assert application_auto_decide(application_id=submitted(officer, product, credit_score=700).pk).kind == (
        "recommend_decline"
    )
    other = ProductFactory(code="WC3")
    assert application_auto_decide(application_id=submitted(officer, other, credit_score=700).pk).kind == "approved"


def test_a_high_risk_event_or_overdue_loan_keeps_it_from_straight_through(officer, product, policy):
    from risk.models import RiskEvent

    customer = CreditLineFactory().customer
    RiskEvent.objects.create(customer=customer, level="high", score=90, rules_hit=["large_amount"])
    decision = application_auto_decide(application_id=submitted(officer, product, customer=customer).pk)
    assert decision.kind == "recommend_decline" and decision.rules[0]["kind"] == "high_risk_event"


def test_sampling_for_human_review(officer, product, policy, approver):
    policy.sample_rate = Decimal("0.25")
    policy.save()
    sampled = application_auto_decide(application_id=submitted(officer, product).pk, draw=0.2499)
    not_sampled = application_auto_decide(application_id=submitted(officer, product).pk, draw=0.25)
    assert (sampled.sampled, sampled.review_status) == (True, "pending")
    assert (not_sampled.sampled, not_sampled.review_status) == (False, "none")
    with pytest.raises(NotAllowed):
        automated_decision_review(actor=officer, decision=sampled)
    automated_decision_review(actor=approver, decision=sampled, note="looked fine")
    sampled.refresh_from_db()
    assert (sampled.review_status, sampled.reviewed_by) == ("confirmed", approver)
    with pytest.raises(InvalidTransition):
        automated_decision_review(actor=approver, decision=not_sampled)


def test_reopen_within_n_days(officer, product, policy, approver):
    app = submitted(officer, product)
    decision = application_auto_decide(application_id=app.pk, draw=0.9)
    app.refresh_from_db()
    line = app.credit_line
    line.refresh_from_db()
    assert line.used == Decimal("50000.00")
    with pytest.raises(NotAllowed):
        automated_decision_reopen(actor=officer, decision=decision, reason="x")
    automated_decision_reopen(actor=approver, decision=decision, reason="income not verified")
    app.refresh_from_db()
    line.refresh_from_db()
    assert (app.status, app.review_round, app.reviewer, app.approved_amount) == (Status.UNDER_REVIEW, 2, approver, None)
    assert line.used == Decimal("0.00")  # the draw went back
    assert app.decisions.filter(kind=ApprovalDecision.Kind.REOPEN, decider=approver).exists()
    entry = AuditEntry.objects.filter(target_id=str(app.pk), changes__reopened_automated_decision=decision.pk).get()
    assert entry.reason == "income not verified"
    with pytest.raises(InvalidTransition):
        automated_decision_reopen(actor=approver, decision=decision, reason="again")
    # The engine's approval does not count as a first approval in the new round.
    from loans.services import application_approve

    application_approve(actor=approver, application=app, reason="verified myself")
    app.refresh_from_db()
    assert app.status == Status.APPROVED and app.decided_by == approver


def test_reopen_refused_after_n_days(officer, product, policy, approver):
    decision = application_auto_decide(application_id=submitted(officer, product).pk, draw=0.9)
    AutomatedDecision.objects.filter(pk=decision.pk).update(reopen_until=timezone.now() - datetime.timedelta(seconds=1))
    decision.refresh_from_db()
    with pytest.raises(NotAllowed):
        automated_decision_reopen(actor=approver, decision=decision, reason="too late")


def test_the_scoring_task_runs_the_policy_after_scoring(officer, product, policy):
    from scoring.tasks import score_application

    app = submitted(officer, product)
    result = score_application.run(app.pk)  # no active model: left unscored, the policy still acts
    assert result["automated"] == "approved"


def test_nothing_is_recorded_when_the_policy_has_nothing_to_say(officer, product, policy):
    policy.straight_through = False
    policy.save()
    app = submitted(officer, product, customer=CustomerFactory(credit_score=700))
    assert application_auto_decide(application_id=app.pk) is None
    assert not AutomatedDecision.objects.exists()


def test_api_queue_review_and_reopen(officer, product, policy, approver):
    from rest_framework.test import APIClient

    policy.sample_rate = Decimal("1")
    policy.save()
    decision = application_auto_decide(application_id=submitted(officer, product).pk, draw=0.5)

    def client(user):
        c = APIClient()
        c.force_authenticate(user)
        return c

    rows = client(officer).get("/api/v1/loans/automated-decisions/?review_status=pending").json()["results"]
    assert [row["id"] for row in rows] == [decision.pk] and rows[0]["kind"] == "approved"
    url = f"/api/v1/loans/automated-decisions/{decision.pk}/"
    assert client(officer).post(url + "review/", {}, format="json").status_code == 403
    assert client(approver).post(url + "review/", {"note": "fine"}, format="json").json()["review_status"] == (
        "confirmed"
    )
    assert client(approver).post(url + "reopen/", {}, format="json").status_code == 400
    answer = client(approver).post(url + "reopen/", {"reason": "documents"}, format="json")
    assert answer.status_code == 200 and answer.json()["review_status"] == "reopened"
    assert client(approver).post(url + "reopen/", {"reason": "again"}, format="json").status_code == 409
