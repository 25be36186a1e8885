"""What the admin buttons and the API call: create the run, queue the task on commit."""

from django.db import transaction

from scoring.models import ScoringRun, TrainingRun
from scoring.services.scoring import scoring_run_create
from scoring.services.training import training_run_create


def model_train_queue(*, kind: str, actor=None) -> TrainingRun:
    with transaction.atomic():
        run = training_run_create(kind=kind, actor=actor)
        transaction.on_commit(lambda: _queue_training(run.pk, kind))
    return run


def _queue_training(run_id: int, kind: str) -> None:
    from scoring.tasks import model_train

    result = model_train.delay(kind, run_id=run_id)
    TrainingRun.objects.filter(pk=run_id, task_id="").update(task_id=result.id or "")


def batch_score_queue(*, scope: str, actor=None) -> ScoringRun:
    with transaction.atomic():
        run = scoring_run_create(scope=scope, actor=actor)
        transaction.on_commit(lambda: _queue_scoring(run.pk, scope))
    return run


def _queue_scoring(run_id: int, scope: str) -> None:
    from scoring.tasks import batch_score

    result = batch_score.delay(scope, run_id=run_id)
    ScoringRun.objects.filter(pk=run_id, task_id="").update(task_id=result.id or "")
