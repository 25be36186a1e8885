"""The daily close's delinquency signals become early-warning events, set-wise, once each."""

import datetime

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from loans.models import DayClose, DelinquencySignal
from risk.models import Alert, RiskEvent, RiskEventEntry, RiskRule
from risk.services.delinquency import delinquency_signals_after_close, delinquency_signals_consume
from risk.services.early_warnings import early_warnings_scan, risk_signal_record
from tests.loans.factories import LoanFactory

pytestmark = pytest.mark.django_db
D = datetime.date


def _signal(loan, kind, day, **detail):
    return DelinquencySignal.objects.create(
        loan=loan, customer_id=loan.customer_id, date=day, kind=kind, detail=detail or {}
    )


def test_each_loan_and_kind_opens_one_event_of_its_rule_s_level_and_every_signal_is_consumed():
    late, later = LoanFactory(), LoanFactory()
    _signal(late, "loan_overdue", D(2025, 2, 11), days_past_due=1)
    _signal(late, "downgrade", D(2025, 2, 11), **{"from": "normal", "to": "special_mention"})
    _signal(later, "bucket_worse", D(2025, 3, 13), **{"from": "1-30", "to": "31-60"})
    audits = AuditEntry.objects.count()
    counts = delinquency_signals_consume()
    assert counts == {"signals": 3, "opened": 3, "updated": 0}
    events = {e.signal_key: e for e in RiskEvent.objects.all()}
    assert set(events) == {
        f"loan_overdue:loan:{late.pk}",
        f"downgrade:loan:{late.pk}",
        f"bucket_worse:loan:{later.pk}",
    }
    # The seed's points: overdue 40 (medium), worse bucket 60 (medium), downgrade 80 (high).
    assert events[f"loan_overdue:loan:{late.pk}"].level == "medium"
    assert events[f"downgrade:loan:{late.pk}"].level == "high"
    bucket = events[f"bucket_worse:loan:{later.pk}"]
    assert (bucket.customer_id, bucket.source, bucket.rules_hit) == (
        later.customer_id,
        "early_warning",
        ["bucket_worse"],
    )
    created = bucket.entries.get()
    assert created.kind == "created" and created.data["to"] == "31-60" and created.data["date"] == "2025-03-13"
    assert Alert.objects.filter(event__in=events.values()).count() == 3
    assert AuditEntry.objects.count() == audits + 3
    assert not DelinquencySignal.objects.filter(consumed_at__isnull=True).exists()
    # Consumed once: a second run finds nothing.
    assert delinquency_signals_consume() == {"signals": 0, "opened": 0, "updated": 0}
    assert RiskEvent.objects.count() == 3


def test_a_later_signal_of_the_same_loan_adds_to_the_active_event():
    loan = LoanFactory()
    _signal(loan, "bucket_worse", D(2025, 3, 13), **{"from": "1-30", "to": "31-60"})
    delinquency_signals_consume()
    event = RiskEvent.objects.get()
    _signal(loan, "bucket_worse", D(2025, 4, 12), **{"from": "31-60", "to": "61-90"})
    assert delinquency_signals_consume() == {"signals": 1, "opened": 0, "updated": 1}
    event.refresh_from_db()
    assert RiskEvent.objects.count() == 1 and event.hits == 2
    assert [e.kind for e in event.entries.all()] == ["created", "linked"]
    assert event.entries.last().data["to"] == "61-90"
    assert Alert.objects.filter(event=event).count() == 1  # the level did not rise


def test_the_same_as_recording_the_signals_one_by_one():
    """The set-wise consumer and ``risk_signal_record`` give the same events."""
    loans = [LoanFactory() for _ in range(3)]
    for loan in loans:
        _signal(loan, "loan_overdue", D(2025, 2, 11), days_past_due=1)
    delinquency_signals_consume()
    bulk = sorted(RiskEvent.objects.values_list("customer_id", "signal_key", "level", "score", "rules_hit"))
    RiskEvent.objects.all().delete()
    for loan in loans:
        risk_signal_record(customer_id=loan.customer_id, kind="loan_overdue", reference=f"loan:{loan.pk}")
    one_by_one = sorted(RiskEvent.objects.values_list("customer_id", "signal_key", "level", "score", "rules_hit"))
    assert bulk == one_by_one


def test_a_switched_off_rule_consumes_its_signals_without_an_event():
    RiskRule.objects.filter(kind="downgrade").update(enabled=False)
    loan = LoanFactory()
    _signal(loan, "downgrade", D(2025, 2, 11))
    assert delinquency_signals_consume()["signals"] == 1
    assert not RiskEvent.objects.exists()
    assert DelinquencySignal.objects.get().consumed_at is not None


def test_chunks_and_a_limit():
    loans = [LoanFactory() for _ in range(5)]
    for loan in loans:
        _signal(loan, "loan_overdue", D(2025, 2, 11))
    assert delinquency_signals_consume(chunk=2, limit=3)["signals"] == 3
    assert DelinquencySignal.objects.filter(consumed_at__isnull=True).count() == 2
    assert delinquency_signals_consume(chunk=2) == {"signals": 2, "opened": 2, "updated": 0}
    assert RiskEvent.objects.count() == 5 and RiskEventEntry.objects.count() == 5


def test_the_close_queues_the_consumer_once_its_work_is_committed(django_capture_on_commit_callbacks):
    from loans.close import CLOSE_STEPS

    assert CLOSE_STEPS[-1].function == "risk.services.delinquency.delinquency_signals_after_close"
    _signal(LoanFactory(), "loan_overdue", D(2025, 2, 11))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert delinquency_signals_after_close(None) == {"queued": 1}
    assert callbacks[0].__self__.name == "risk.delinquency_signals_consume"
    assert RiskEvent.objects.count() == 1  # the task ran (eagerly, in tests)


def test_the_consumer_is_on_the_beat_allow_list_and_scheduled():
    from django_celery_beat.models import PeriodicTask

    from loansite.periodic_tasks import SCHEDULABLE_TASKS
    from risk.tasks import delinquency_signals_consume_task

    assert "risk.delinquency_signals_consume" in SCHEDULABLE_TASKS
    assert PeriodicTask.objects.filter(task="risk.delinquency_signals_consume", enabled=True).exists()
    _signal(LoanFactory(), "downgrade", D(2025, 2, 11))
    assert delinquency_signals_consume_task.delay().get()["opened"] == 1


def test_once_the_close_runs_the_scan_leaves_overdue_loans_to_its_signals():
    LoanFactory(next_due_date=timezone.localdate() - datetime.timedelta(days=3))
    DayClose.objects.create(date=timezone.localdate(), status=DayClose.Status.DONE)
    assert early_warnings_scan()["loan_overdue"] == 0
    assert not RiskEvent.objects.exists()
