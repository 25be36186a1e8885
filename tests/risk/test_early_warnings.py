"""Early warnings from crafted scores, credit lines, financials and loans."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from risk.models import RiskEvent, RiskRule
from risk.services.early_warnings import (
    early_warnings_credit_line_use,
    early_warnings_overdue_loans,
    early_warnings_pd_rise,
    early_warnings_revenue_drop,
    early_warnings_scan,
    risk_signal_record,
)

pytestmark = pytest.mark.django_db


def _pd_version():
    from scoring.models import ModelVersion

    version, _ = ModelVersion.objects.get_or_create(kind="pd", version=1, defaults={"status": "active"})
    return version


def _score(application, probability, days_ago):
    from scoring.models import Score

    return Score.objects.create(
        application=application,
        model_version=_pd_version(),
        probability=probability,
        points=600,
        grade="C",
        created_at=timezone.now() - datetime.timedelta(days=days_ago),
    )


def _second_version():
    from scoring.models import ModelVersion

    return ModelVersion.objects.create(kind="pd", version=2, status="ready")


@pytest.mark.parametrize(
    ("before", "after", "raised"), [(0.05, 0.10, False), (0.05, 0.1001, True), (0.20, 0.10, False)]
)
def test_pd_rise_by_more_than_the_rule_s_points(before, after, raised):
    from scoring.models import Score
    from tests.loans.factories import ApplicationFactory

    application = ApplicationFactory(status="submitted")
    _score(application, before, days_ago=10)
    Score.objects.create(
        application=application,
        model_version=_second_version(),
        probability=after,
        points=550,
        grade="D",
        created_at=timezone.now() - datetime.timedelta(hours=1),
    )
    count = early_warnings_pd_rise(since=timezone.now() - datetime.timedelta(days=2))
    assert count == (1 if raised else 0)
    events = RiskEvent.objects.filter(customer=application.customer, source="early_warning")
    assert events.exists() is raised
    if raised:
        event = events.get()
        assert (event.level, event.rules_hit) == ("medium", ["pd_rise"])
        assert event.entries.get().data["rise_points"] == "5.01"


def test_credit_line_use_above_the_share():
    from tests.loans.factories import CreditLineFactory

    busy = CreditLineFactory(limit=Decimal("100000.00"), used=Decimal("90000.01"))
    calm = CreditLineFactory(limit=Decimal("100000.00"), used=Decimal("90000.00"))
    assert early_warnings_credit_line_use() == 1
    event = RiskEvent.objects.get()
    assert event.customer == busy.customer and event.level == "medium"
    assert not RiskEvent.objects.filter(customer=calm.customer).exists()
    # A second scan updates the same event instead of opening another.
    early_warnings_credit_line_use()
    assert RiskEvent.objects.count() == 1 and RiskEvent.objects.get().hits == 2


def test_revenue_drop_between_financials(customer):
    early_warnings_revenue_drop()  # baseline 120,000
    assert not RiskEvent.objects.exists()
    customer.monthly_revenue = Decimal("84000.00")  # -30 %: not more than 30 %
    customer.save()
    assert early_warnings_revenue_drop() == 0
    customer.monthly_revenue = Decimal("58000.00")  # -30.95 % against the new baseline 84,000
    customer.save()
    assert early_warnings_revenue_drop() == 1
    event = RiskEvent.objects.get()
    assert event.rules_hit == ["revenue_drop"] and event.entries.get().data["drop_percent"] == "31.0"


def test_overdue_loans_and_the_delinquency_entry_point():
    from tests.loans.factories import LoanFactory

    today = timezone.localdate()
    late = LoanFactory(next_due_date=today - datetime.timedelta(days=3))
    LoanFactory(next_due_date=today)
    assert early_warnings_overdue_loans() == 1
    event = RiskEvent.objects.get()
    assert event.customer == late.customer and event.signal_key == f"loan_overdue:loan:{late.pk}"
    assert event.entries.get().data["dpd"] == 3
    # The delinquency close signalling the same loan updates the same event.
    risk_signal_record(
        customer_id=late.customer_id, kind="loan_overdue", reference=f"loan:{late.pk}", detail={"dpd": 4}
    )
    assert RiskEvent.objects.count() == 1
    # A downgrade is its own, high event.
    downgrade = risk_signal_record(customer_id=late.customer_id, kind="downgrade", reference=f"loan:{late.pk}")
    assert downgrade.level == "high" and RiskEvent.objects.count() == 2


def test_a_switched_off_rule_raises_nothing(customer):
    RiskRule.objects.filter(kind="downgrade").update(enabled=False)
    assert risk_signal_record(customer_id=customer.pk, kind="downgrade", reference="loan:1") is None
    assert not RiskEvent.objects.exists()


def test_the_scan_task_is_on_the_beat_allow_list():
    from django_celery_beat.models import PeriodicTask

    from loansite.periodic_tasks import SCHEDULABLE_TASKS
    from risk.tasks import early_warnings_scan_task

    assert "risk.early_warnings_scan" in SCHEDULABLE_TASKS
    assert PeriodicTask.objects.filter(task="risk.early_warnings_scan", enabled=True).exists()
    assert early_warnings_scan_task.name == "risk.early_warnings_scan"
    assert set(early_warnings_scan()) == {"pd_rise", "credit_line_use", "revenue_drop", "loan_overdue"}
