from loans.models import LoanApplication
from loans.tasks import application_batch_task
from tests.loans.factories import ApplicationFactory


def test_batch_task_reports_done_and_failed(approver, officer, product):
    ok = ApplicationFactory(product=product, status="under_review", created_by=officer, review_round=1)
    done_already = ApplicationFactory(product=product, status="approved", created_by=officer)
    result = application_batch_task.delay(
        actor_id=approver.pk, application_ids=[ok.pk, done_already.pk], operation="approve", reason="ok"
    ).get()
    assert result["done"] == [ok.reference]
    assert list(result["failed"]) == [done_already.reference]
    ok.refresh_from_db()
    assert ok.status == LoanApplication.Status.APPROVED


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
