"""Customers on MariaDB with a real worker: matching runs, credit-line races, reassignment races, import."""

import time
from decimal import Decimal

import pytest
import tablib

from customers.importing import parse_dataset
from customers.models import Assignment, CreditLine, Customer, MatchingRun
from customers.services import credit_line_use, customer_import, customer_reassign, matching_run_start
from tests.customers.factories import CreditLineFactory, CustomerFactory, ManagerFactory
from tests.integration.concurrency import race

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_matching_run_in_the_worker_assigns_within_capacity(celery_worker, make_user):
    boss = make_user("boss", role="Administrator")
    first = ManagerFactory(capacity=3)
    second = ManagerFactory(capacity=3, industries=["catering"])
    CustomerFactory.create_batch(5)
    run = matching_run_start(actor=boss)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in (MatchingRun.Status.DONE, MatchingRun.Status.FAILED):
            break
        time.sleep(0.3)
    assert run.status == MatchingRun.Status.DONE, run.error
    assert run.assigned == 5 and run.percent == 100
    assert Customer.objects.filter(manager=first).count() <= 3
    assert Customer.objects.filter(manager=second).count() <= 3
    assert Assignment.objects.filter(is_current=True, run=run).count() == 5
    breakdown = Assignment.objects.filter(run=run).first().components
    assert set(breakdown) == {"industry", "city", "workload", "value_fit", "book_quality"}


def test_concurrent_draws_never_exceed_the_limit(make_user):
    officer = make_user("officer", role="Loan officer")
    line = CreditLineFactory(limit=Decimal("1000.00"))
    results, errors = race(
        [lambda: credit_line_use(customer=line.customer, amount="300", actor=officer) for _ in range(6)]
    )
    assert len(results) == 3 and len(errors) == 3
    line.refresh_from_db()
    assert line.used == Decimal("900.00")
    assert CreditLine.objects.get(pk=line.pk).used <= line.limit


def test_concurrent_reassignments_respect_capacity(make_user):
    boss = make_user("boss", role="Administrator")
    manager = ManagerFactory(capacity=1)
    customers = CustomerFactory.create_batch(4)
    results, errors = race(
        [lambda c=c: customer_reassign(customer=c, manager=manager, actor=boss, reason="race") for c in customers]
    )
    assert len(results) == 1 and len(errors) == 3
    assert Customer.objects.filter(manager=manager).count() == 1


def test_import_writes_on_mariadb(make_user):
    user = make_user("officer", role="Loan officer")
    headers = ["名称", "统一社会信用代码", "手机号", "城市", "行业", "月均营收", "标签"]
    rows = [
        ["杭州茶馆有限公司", "91350100M000100Y43", "13800138000", "Hangzhou", "餐饮", "80000.50", "VIP"],
        ["深圳电子有限公司", "91310000MA1FL1MMXL", "13900000001", "Shenzhen", "制造", "1000", ""],
    ]
    report = customer_import(parsed=parse_dataset(tablib.Dataset(*rows, headers=headers)), actor=user)
    assert report.written and report.new == 2
    tea = Customer.objects.get(phone="13800138000")
    assert tea.monthly_revenue == Decimal("80000.50") and tea.created_at is not None
    assert list(tea.tags.values_list("name", flat=True)) == ["VIP"]


def _wait(check, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    return check()


def test_api_run_matching_and_task_status_with_the_worker(celery_worker, make_user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(make_user("boss", role="Administrator"))
    ManagerFactory(capacity=10)
    CustomerFactory.create_batch(3)
    response = client.post("/api/v1/matching/run/", {"scope": "unassigned"}, format="json")
    assert response.status_code == 202
    task_id = response.json()["task_id"]

    def finished():
        body = client.get(f"/api/v1/matching/tasks/{task_id}/").json()
        return body if body["state"] in ("SUCCESS", "FAILURE") else None

    body = _wait(finished)
    assert body["state"] == "SUCCESS" and body["run"]["assigned"] == 3


def test_background_import_job_in_the_worker(celery_worker, make_user):
    from customers.models import ImportJob, ImportUpload
    from customers.services import import_job_start
    from customers.services.uploads import import_upload_store

    data = (
        "名称,统一社会信用代码,手机号,城市,行业,月均营收\n"
        "杭州茶馆有限公司,91350100M000100Y43,13800138000,Hangzhou,餐饮,80000\n"
    ).encode()
    officer = make_user("officer", role="Loan officer")
    upload = import_upload_store(
        owner=officer,
        session_key="integration-session",
        kind=ImportUpload.Kind.CUSTOMERS,
        data=data,
        file_name="c.csv",
        file_format="csv",
        rows=1,
    )
    job = import_job_start(actor=officer, upload=upload, skip_invalid=False)
    job = _wait(lambda: ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.DONE).first())
    assert job is not None and job.new == 1
    assert Customer.objects.filter(phone="13800138000").exists()
