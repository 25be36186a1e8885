"""Data-quality checks on crafted bad data; the monitoring page and API."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from loansite.roles import AUDITOR, LOAN_OFFICER
from risk.inputs import transaction_input
from risk.models import Alert, DataQualityCheck, DataQualityResult, DataSource, Transaction
from risk.services.ingest import events_ingest
from risk.services.quality import quality_check_run, quality_checks_run
from tests.risk.factories import CustomerFactory, at

pytestmark = pytest.mark.django_db


def run(code):
    return quality_check_run(DataQualityCheck.objects.get(code=code))


def test_customer_checks_find_the_bad_rows():
    good = CustomerFactory()
    no_city = CustomerFactory(city="")
    silly_cost = CustomerFactory(monthly_revenue=Decimal("1000.00"), monthly_cost=Decimal("10000.01"))
    twin_a = CustomerFactory(name="Twin Shop", city="Suzhou")
    twin_b = CustomerFactory(name="Twin Shop", city="Suzhou")
    complete = run("customers_complete")
    assert not complete.passed and [row["id"] for row in complete.failing_rows] == [str(no_city.pk)]
    assert "city" in complete.failing_rows[0]["problem"]
    valid = run("customers_valid")
    assert [row["id"] for row in valid.failing_rows] == [str(silly_cost.pk)]
    duplicates = run("customers_duplicates")
    assert {row["id"] for row in duplicates.failing_rows} == {str(twin_a.pk), str(twin_b.pk)}
    assert str(good.pk) not in {row["id"] for r in (complete, valid, duplicates) for row in r.failing_rows}


def test_transaction_checks_find_the_bad_rows(customer):
    now = timezone.now()
    ok = Transaction.objects.create(customer=customer, amount=Decimal("10"), occurred_at=now, channel="branch")
    no_device = Transaction.objects.create(customer=customer, amount=Decimal("11"), occurred_at=now, channel="mobile")
    negative = Transaction.objects.create(customer=customer, amount=Decimal("-5"), occurred_at=now, channel="branch")
    odd_currency = Transaction.objects.create(
        customer=customer, amount=Decimal("5"), currency="XXX", occurred_at=now, channel="branch"
    )
    same = {"customer": customer, "amount": Decimal("77.00"), "counterparty": "Shop", "channel": "branch"}
    first = Transaction.objects.create(occurred_at=now.replace(microsecond=100), **same)
    second = Transaction.objects.create(occurred_at=now.replace(microsecond=900), **same)
    assert [row["id"] for row in run("transactions_complete").failing_rows] == [str(no_device.pk)]
    valid = run("transactions_valid")
    assert {row["id"] for row in valid.failing_rows} == {str(negative.pk), str(odd_currency.pk)}
    assert {row["id"] for row in run("transactions_duplicates").failing_rows} == {str(first.pk), str(second.pk)}
    assert str(ok.pk) not in str(valid.failing_rows)


def test_drift_and_freshness(customer):
    now = timezone.now()
    for day in range(2, 12):
        Transaction.objects.create(
            customer=customer, amount=Decimal("100"), occurred_at=now - datetime.timedelta(days=day)
        )
    for hour in range(10):
        Transaction.objects.create(
            customer=customer, amount=Decimal("400"), occurred_at=now - datetime.timedelta(hours=hour)
        )
    drift = run("transactions_drift")
    assert not drift.passed and drift.measured == 4.0
    DataSource.objects.exclude(code="api").update(active=False)
    Transaction.objects.update(source="api", received_at=now - datetime.timedelta(hours=25))
    fresh = run("transactions_fresh")
    assert not fresh.passed and fresh.failing_rows[0]["id"] == "api"
    Transaction.objects.update(received_at=now)
    assert run("transactions_fresh").passed


def test_failed_imports():
    from customers.models import ImportJob

    ImportJob.objects.create(file_name="bad.csv", file_format="csv", status="failed", report={"error": "broken"})
    ImportJob.objects.create(file_name="good.csv", file_format="csv", status="done")
    result = run("imports_failed")
    assert result.failing == 1 and "bad.csv" in result.failing_rows[0]["problem"]


def test_a_failing_check_raises_one_open_alert():
    CustomerFactory(city="")
    quality_checks_run()
    quality_checks_run()
    alerts = Alert.objects.filter(source="data_quality", title__startswith="[customers_complete]")
    assert alerts.count() == 1
    assert alerts.get().actions.filter(kind="note").count() == 1
    assert DataQualityResult.objects.filter(check_def__code="customers_complete").count() == 2


def test_clean_data_passes_everything(customer):
    results = quality_checks_run()
    assert results["customers_complete"] and results["transactions_valid"] and results["imports_failed"]
    assert not Alert.objects.filter(title__startswith="[customers").exists()


def _scored(customer):
    for minutes, amount in ((0, "10000"), (1, "50")):
        item, _ = transaction_input(
            {"customer": customer.pk, "amount": amount, "occurred_at": at(minutes=minutes).isoformat()}
        )
        events_ingest(items=[item], source="api")


def test_the_monitoring_page(analyst, customer):
    _scored(customer)
    client = Client()
    client.force_login(analyst)
    response = client.get("/admin/risk/riskevent/monitor/")
    assert response.status_code == 200
    html = response.content.decode()
    for part in (
        'id="risk-kpis"',
        'id="risk-by-level"',
        'id="risk-hit-rates"',
        'id="risk-sources"',
        'id="risk-system"',
    ):
        assert part in html
    assert "large_amount" in html
    assert "<script" not in html.split('id="risk-kpis"')[1]


def test_the_monitoring_api(analyst, make_user, customer):
    _scored(customer)
    api = APIClient()
    api.force_authenticate(analyst)
    events = api.get("/api/v1/risk/monitor/risk-events/").json()
    assert events["scored"] == 2 and events["open"] == 1
    assert events["rule_hit_rates"] == [{"rule": "large_amount", "hits": 1, "rate": 50.0}]
    assert events["by_level_status"][0] == {
        "level": "medium",
        "open": 1,
        "investigating": 0,
        "resolved": 0,
        "false_positive": 0,
    }
    trend = api.get("/api/v1/risk/monitor/risk-trend/?days=7").json()
    assert sum(row["medium"] for row in trend["trend"]) == 1
    status = api.get("/api/v1/risk/monitor/system-status/").json()
    assert status["database"]["ok"] and "queue_length" in status["broker"] and "free_gb" in status["disk"]
    assert api.get("/api/v1/risk/monitor/risk-trend/?days=abc").status_code == 400
    auditor = APIClient()
    auditor.force_authenticate(make_user("auditor", role=AUDITOR))
    assert auditor.get("/api/v1/risk/monitor/system-status/").status_code == 200
    officer = APIClient()
    officer.force_authenticate(make_user("officer", role=LOAN_OFFICER))
    assert officer.get("/api/v1/risk/monitor/risk-events/").status_code == 403


def test_the_quality_task_is_allow_listed():
    from django_celery_beat.models import PeriodicTask

    from loansite.periodic_tasks import SCHEDULABLE_TASKS

    assert "risk.quality_checks_run" in SCHEDULABLE_TASKS
    assert PeriodicTask.objects.filter(task="risk.quality_checks_run", enabled=True).exists()
