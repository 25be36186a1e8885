import pytest

from loans.models import LoanApplication
from loans.services.batch import application_batch_queue
from loans.tasks import application_batch_task
from tests.loans.factories import ApplicationFactory


def test_batch_task_reports_done_and_failed(
    approver, officer, product, monkeypatch, django_capture_on_commit_callbacks
):
    ok = ApplicationFactory(product=product, status="under_review", created_by=officer, review_round=1)
    done_already = ApplicationFactory(product=product, status="approved", created_by=officer)
    queued = []
    publish = application_batch_task.apply_async
    monkeypatch.setattr(application_batch_task, "apply_async", lambda **kw: queued.append(publish(**kw)))
    with django_capture_on_commit_callbacks(execute=True):
        task_id = application_batch_queue(
            actor=approver, application_ids=[ok.pk, done_already.pk], operation="approve", reason="ok"
        )
    (result,) = queued
    assert result.id == task_id
    assert result.get()["done"] == [ok.reference]
    assert list(result.get()["failed"]) == [done_already.reference]
    ok.refresh_from_db()
    assert ok.status == LoanApplication.Status.APPROVED and ok.decided_by == approver


def test_refresh_query_statistics_makes_sqlite_use_the_queue_index(product):
    from django.db import connection

    from loans.selectors import application_queue
    from loans.tasks import refresh_query_statistics

    for i in range(60):
        ApplicationFactory(product=product, status="approved" if i % 6 else "submitted")
    assert refresh_query_statistics.delay().get() == ["loans_loanapplication", "loans_approvaldecision"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'loans_loanapplication'")
        assert cursor.fetchone()[0] > 0
    assert "loan_app_pending_idx" in application_queue()[:50].explain()


@pytest.mark.django_db
def test_the_workbench_view_with_returned_applications_reads_its_partial_index(product):
    """The workbench's default view (pending plus returned for information) walks the partial
    index of migration 0023 in submission order instead of the whole submission-date index."""
    from loans.selectors.applications import application_workbench_queue
    from loans.tasks import refresh_query_statistics

    statuses = ["approved", "rejected", "submitted", "returned_for_info", "disbursed", "draft"]
    for i in range(60):
        ApplicationFactory(product=product, status=statuses[i % len(statuses)])
    refresh_query_statistics.delay().get()
    plan = application_workbench_queue().order_by("submitted_at", "id")[:50].explain()
    assert "loan_app_workbench_idx" in plan
