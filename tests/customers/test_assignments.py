from decimal import Decimal

import pytest

from audit.models import AuditAction, AuditEntry
from customers.models import Assignment, Customer, MatchingRun
from customers.selectors import customer_assignment_history, manager_workload
from customers.services import assignment_run_matching, customer_reassign, matching_run_start
from loansite.errors import Conflict, ValidationFailed
from tests.customers.factories import CustomerFactory, ManagerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(make_user):
    return make_user("boss", role="Administrator")


def test_matching_assigns_by_score_and_stores_the_breakdown(admin_user):
    retail = ManagerFactory(industries=["retail"], city="Hangzhou", capacity=5)
    factory = ManagerFactory(industries=["manufacturing"], city="Shenzhen", capacity=5)
    shop = CustomerFactory(industry="retail", city="Hangzhou")
    plant = CustomerFactory(industry="manufacturing", city="Shenzhen", city_tier=1)
    run = assignment_run_matching(actor=admin_user)
    assert run.status == MatchingRun.Status.DONE and run.assigned == 2
    shop.refresh_from_db()
    plant.refresh_from_db()
    assert shop.manager == retail and plant.manager == factory
    assignment = Assignment.objects.get(customer=shop, is_current=True)
    assert assignment.kind == Assignment.Kind.MATCHING and assignment.run == run
    assert assignment.components["industry"]["value"] == 1.0
    assert assignment.components["city"]["value"] == 1.0
    assert assignment.score == pytest.approx(sum(c["points"] for c in assignment.components.values()), abs=0.05)
    assert AuditEntry.objects.filter(action=AuditAction.ASSIGN, target_type="customers.matchingrun").exists()


def test_matching_never_exceeds_capacity(admin_user):
    small = ManagerFactory(capacity=2)
    other = ManagerFactory(capacity=3, industries=["catering"], city="Chengdu")
    CustomerFactory.create_batch(8)
    run = assignment_run_matching(actor=admin_user)
    assert run.assigned == 5 and run.unassigned == 3
    assert Customer.objects.filter(manager=small).count() == 2
    assert Customer.objects.filter(manager=other).count() == 3
    # A second run has no capacity left: nobody moves.
    again = assignment_run_matching(actor=admin_user)
    assert again.assigned == 0
    loads = {m.pk: m.load for m in manager_workload()}
    assert loads == {small.pk: 2, other.pk: 3}


def test_matching_beats_greedy_in_the_database(admin_user):
    # One slot each. The retail manager in Hangzhou is the favourite of both customers,
    # but the catering customer has no other good option: optimal gives it to them.
    hangzhou = ManagerFactory(industries=["retail", "catering"], city="Hangzhou", capacity=1)
    ManagerFactory(industries=["retail"], city="Chengdu", capacity=1)
    first = CustomerFactory(industry="retail", city="Hangzhou")
    second = CustomerFactory(industry="catering", city="Hangzhou")
    run = assignment_run_matching(actor=admin_user)
    assert run.total_score > run.greedy_score
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.manager == hangzhou
    assert first.manager != hangzhou


def test_scope_all_keeps_unchanged_assignments(admin_user):
    ManagerFactory(capacity=5)
    customer = CustomerFactory()
    assignment_run_matching(actor=admin_user)
    run = assignment_run_matching(actor=admin_user, scope=MatchingRun.Scope.ALL)
    assert run.assigned == 0
    assert Assignment.objects.filter(customer=customer).count() == 1


def test_manual_reassignment_needs_reason_respects_capacity_and_keeps_history(admin_user):
    first = ManagerFactory(capacity=5)
    second = ManagerFactory(capacity=1, industries=["catering"])
    customer = CustomerFactory()
    assignment_run_matching(actor=admin_user)
    customer.refresh_from_db()
    assert customer.manager == first
    with pytest.raises(ValidationFailed):
        customer_reassign(customer=customer, manager=second, actor=admin_user, reason="  ")
    moved = customer_reassign(customer=customer, manager=second, actor=admin_user, reason="Customer asked")
    assert moved.previous_manager == first and moved.kind == Assignment.Kind.MANUAL
    assert moved.components["industry"]["value"] == 0.0
    history = list(customer_assignment_history(customer=customer))
    assert [a.manager for a in history] == [second, first]
    assert [a.is_current for a in history] == [True, False]
    assert history[1].ended_at is not None
    entry = AuditEntry.objects.get(action=AuditAction.ASSIGN, target_type="customers.customer")
    assert entry.reason == "Customer asked" and entry.changes["manager"] == [first.pk, second.pk]
    with pytest.raises(ValidationFailed):  # full
        customer_reassign(customer=CustomerFactory(), manager=second, actor=admin_user, reason="x")
    with pytest.raises(ValidationFailed):  # already there
        customer_reassign(customer=customer, manager=second, actor=admin_user, reason="x")


def test_inactive_manager_cannot_take_customers(admin_user):
    manager = ManagerFactory(active=False)
    with pytest.raises(ValidationFailed):
        customer_reassign(customer=CustomerFactory(), manager=manager, actor=admin_user, reason="x")


def test_run_start_queues_the_task_on_commit(admin_user, django_capture_on_commit_callbacks):
    ManagerFactory()
    CustomerFactory(monthly_revenue=Decimal("5"))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = matching_run_start(actor=admin_user)
    assert len(callbacks) >= 1
    run.refresh_from_db()
    assert run.status == MatchingRun.Status.DONE and run.assigned == 1 and run.percent == 100
    assert run.task_id


def test_only_one_run_at_a_time(admin_user):
    MatchingRun.objects.create(status=MatchingRun.Status.RUNNING)
    with pytest.raises(Conflict):
        matching_run_start(actor=admin_user)


def test_scope_all_with_short_capacity_releases_instead_of_overfilling(admin_user):
    manager = ManagerFactory(capacity=3)
    CustomerFactory.create_batch(3)
    assignment_run_matching(actor=admin_user)
    assert Customer.objects.filter(manager=manager).count() == 3
    # Two better-fitting customers arrive; a full rematch may swap them in, never exceed 3.
    CustomerFactory.create_batch(2, monthly_revenue=Decimal("900000"))
    manager.seniority = 4
    manager.save()
    run = assignment_run_matching(actor=admin_user, scope=MatchingRun.Scope.ALL)
    assert Customer.objects.filter(manager=manager).count() == 3
    assert run.unassigned == 2
    assert Customer.objects.filter(monthly_revenue=Decimal("900000"), manager=manager).count() == 2
    assert Assignment.objects.filter(is_current=True).count() == 3
    released = Assignment.objects.filter(is_current=False, ended_at__isnull=False).count()
    assert released == 2


def test_unassigned_scope_rechecks_capacity_when_writing(admin_user, monkeypatch):
    from customers.services import assignments

    manager = ManagerFactory(capacity=2)
    CustomerFactory.create_batch(2)
    original = assignments._managers

    def stale_managers(**kwargs):
        # The plan is made while the manager looks empty; meanwhile someone fills a slot.
        result = original(**kwargs)
        CustomerFactory(manager=manager)
        return result

    monkeypatch.setattr(assignments, "_managers", stale_managers)
    run = assignment_run_matching(actor=admin_user)
    assert Customer.objects.filter(manager=manager).count() == 2
    assert run.assigned == 1


def test_matching_effect_for_the_dashboard(admin_user):
    from customers.selectors import matching_effect

    manager = ManagerFactory(capacity=5)
    CustomerFactory.create_batch(2)
    assert matching_effect()["latest_run"] is None
    assignment_run_matching(actor=admin_user)
    effect = matching_effect()
    assert effect["latest_run"]["assigned"] == 2 and effect["unassigned"] == 0
    row = effect["managers"][0]
    assert row["manager"] == str(manager) and row["load"] == 2 and row["mean_score"] > 0


def test_a_stale_run_does_not_block_matching(admin_user):
    import datetime

    from django.utils import timezone

    stale = MatchingRun.objects.create(status=MatchingRun.Status.QUEUED)
    MatchingRun.objects.filter(pk=stale.pk).update(created_at=timezone.now() - datetime.timedelta(hours=2))
    run = matching_run_start(actor=admin_user)
    stale.refresh_from_db()
    assert stale.status == MatchingRun.Status.FAILED and run.pk != stale.pk
