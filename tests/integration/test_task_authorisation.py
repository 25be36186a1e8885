"""Task authorisations and the beat allow-list, checked by a real worker on MariaDB + Redis."""

import time
from decimal import Decimal

import pytest

from audit.models import AuditAction, AuditEntry
from loans.models import LoanApplication
from loans.services.batch import application_batch_queue
from loans.tasks import application_batch_task
from loansite.celery import app
from loansite.task_authorisation import SALT, TaskRefused
from scoring.tasks import score_application
from tests.loans.factories import ApplicationFactory, AuthorityFactory, ProductFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people(make_user):
    officer = make_user("officer", role="Loan officer")
    approver = make_user("approver", role="Credit approver")
    AuthorityFactory(user=approver, limit=Decimal("200000.00"))
    return officer, approver


def _under_review(officer):
    return ApplicationFactory(
        product=ProductFactory(), status="under_review", created_by=officer, submitted_by=officer, review_round=1
    )


def test_a_forged_batch_authorisation_is_refused_by_the_worker(celery_worker, people):
    from django.core import signing

    officer, approver = people
    app_ = _under_review(officer)
    task_id = "forged-0001"
    payload = {
        "v": 1,
        "actor": approver.pk,
        "task": "loans.application_batch",
        "task_id": task_id,
        "params": {"application_ids": [app_.pk], "operation": "approve", "reason": "", "reviewer_id": None},
        "perms": [],
        "nonce": "0" * 32,
        "request_id": "",
    }
    forged = signing.dumps(payload, key="a key that is not the project's", salt=SALT, compress=True)
    result = application_batch_task.apply_async(kwargs={"authorisation": forged}, task_id=task_id)
    with pytest.raises(TaskRefused):
        result.get(timeout=60)
    app_.refresh_from_db()
    assert app_.status == LoanApplication.Status.UNDER_REVIEW
    assert not AuditEntry.objects.filter(actor=approver).exists()
    refusal = AuditEntry.objects.get(action=AuditAction.SYSTEM, changes__event="refused")
    assert refusal.actor_id is None and refusal.changes["why"] == "bad_signature"
    assert refusal.request_id == task_id and "loans.application_batch" in refusal.user_agent


def test_a_queued_batch_is_decided_by_the_worker_for_the_approver(celery_worker, people):
    officer, approver = people
    app_ = _under_review(officer)
    task_id = application_batch_queue(actor=approver, application_ids=[app_.pk], operation="approve", reason="ok")
    assert app.AsyncResult(task_id).get(timeout=60)["done"] == [app_.reference]
    app_.refresh_from_db()
    assert app_.status == LoanApplication.Status.APPROVED and app_.decided_by == approver
    events = AuditEntry.objects.filter(target_type="loansite.taskauthorisation").order_by("seq")
    assert [e.changes["event"] for e in events] == ["used", "finished"]
    assert all(e.actor == approver for e in events)
    # The token is a credential until used: task results and worker logs show a stand-in.
    from django_celery_results.models import TaskResult

    stored = TaskResult.objects.get(task_id=task_id).task_kwargs
    assert "<signed>" in stored and ":" not in stored.replace("'authorisation': ", "")


def test_a_replayed_authorisation_is_refused_by_the_worker(celery_worker, people):
    from loansite.task_authorisation import task_authorisation_issue

    officer, approver = people
    app_ = _under_review(officer)
    issued = task_authorisation_issue(
        actor=approver,
        task="loans.application_batch",
        params={"application_ids": [app_.pk], "operation": "review", "reason": "", "reviewer_id": None},
        permissions=("loans.review_loanapplication",),
    )
    task = application_batch_task
    task.apply_async(kwargs={"authorisation": issued.token}, task_id=issued.task_id).get(timeout=60)
    # The same message once more, after its work finished.
    task.apply_async(kwargs={"authorisation": issued.token}, task_id=issued.task_id)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _refused("replayed"):
        time.sleep(0.3)
    assert _refused("replayed")
    assert AuditEntry.objects.filter(target_type="loansite.taskauthorisation", changes__event="used").count() == 1


def _refused(why):
    return AuditEntry.objects.filter(action=AuditAction.SYSTEM, changes__event="refused", changes__why=why).exists()


def test_the_worker_refuses_a_beat_task_off_the_allow_list(celery_worker, people):
    officer, _approver = people
    app_ = _under_review(officer)
    result = score_application.apply_async(
        args=[app_.pk], headers={"periodic_task_name": "sneaky", "celery_beat_task": True}
    )
    with pytest.raises(TaskRefused):
        result.get(timeout=60)
    refusal = AuditEntry.objects.get(action=AuditAction.SYSTEM, changes__event="refused")
    assert refusal.changes["why"] == "not_schedulable" and refusal.changes["schedule"] == "sneaky"
