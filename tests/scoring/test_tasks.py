import pytest
from django_celery_beat.models import PeriodicTask

from loans.models import LoanApplication
from loans.services import application_submit
from scoring import tasks
from scoring.models import ModelKind, ModelVersion, Score, ScoringRun, TrainingRun
from tests.loans.factories import ApplicationFactory


@pytest.mark.django_db
def test_beat_schedules_come_from_the_data_migration():
    names = dict(PeriodicTask.objects.filter(name__startswith="scoring: ").values_list("name", "task"))
    assert names["scoring: score pending applications"] == "scoring.batch_score"
    pending = PeriodicTask.objects.get(name="scoring: score pending applications")
    assert pending.interval.every == 5 and pending.interval.period == "minutes"
    weekly = PeriodicTask.objects.get(name="scoring: weekly retrain (pd)")
    assert weekly.task == "scoring.model_train" and weekly.crontab.day_of_week == "0"
    # The application models; a scorecard from a file is retrained only from a new upload.
    assert {f"scoring: weekly retrain ({k})" for k in ModelKind.values if k != ModelKind.FILE_PD} <= set(names)


@pytest.mark.django_db
def test_score_application_without_model_logs_and_returns():
    assert tasks.score_application.delay(12345).get() == {"application_id": 12345, "scored": False}


@pytest.mark.django_db
def test_batch_score_from_beat_without_model_is_skipped():
    assert tasks.batch_score.delay("pending").get()["skipped"] is True


def test_model_train_task_from_beat_creates_its_own_run(world):
    result = tasks.model_train.delay("pd").get()
    run = TrainingRun.objects.get(pk=result["run_id"])
    assert run.status == "succeeded" and result["model_version"] == run.model_version.label
    assert ModelVersion.objects.get().status == ModelVersion.Status.READY


def test_submitted_application_is_scored_on_commit(trained, make_user, django_capture_on_commit_callbacks):
    officer = make_user("officer", role="Loan officer")
    app = ApplicationFactory(customer_id=LoanApplication.objects.first().customer_id, product=trained_product())
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        application_submit(actor=officer, application=app)
    assert len(callbacks) >= 1
    app.refresh_from_db()
    assert app.score_model_version == trained[ModelKind.PD].label and app.score_grade
    assert Score.objects.filter(application=app).count() == 3


def trained_product():
    from loans.models import LoanProduct

    return LoanProduct.objects.get(code="SWC")


def test_beat_batch_leaves_no_run_when_nothing_waits(trained):
    first = tasks.batch_score.delay("pending").get()
    assert first["done"] > 0
    runs = ScoringRun.objects.count()
    again = tasks.batch_score.delay("pending").get()
    assert again["skipped"] is True and ScoringRun.objects.count() == runs
