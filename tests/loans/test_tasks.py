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
