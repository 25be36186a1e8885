"""What the admin buttons and the API call: create the run, queue the task on commit.

The task gets no run id or user id as arguments: only the signed authorisation issued
here for the person who asked, naming the run (``loansite.task_authorisation``).
"""

from django.db import transaction

from loansite.task_authorisation import task_queue_authorised
from scoring.models import ScoringRun, TrainingRun
from scoring.services.scoring import scoring_run_create
from scoring.services.training import training_run_create

TRAIN_PERMISSION = "scoring.train_model"
ACTIVATE_PERMISSION = "scoring.activate_modelversion"


def model_train_queue(*, kind: str, actor, activate: bool = False) -> TrainingRun:
    from scoring.tasks import model_train

    permissions = (TRAIN_PERMISSION, ACTIVATE_PERMISSION) if activate else (TRAIN_PERMISSION,)
    with transaction.atomic():
        run = training_run_create(kind=kind, actor=actor)
        run.task_id = task_queue_authorised(
            model_train, actor=actor, params={"run_id": run.pk, "activate": activate}, permissions=permissions
        )
        TrainingRun.objects.filter(pk=run.pk).update(task_id=run.task_id)
    return run


def batch_score_queue(*, scope: str, actor) -> ScoringRun:
    from scoring.tasks import batch_score

    with transaction.atomic():
        run = scoring_run_create(scope=scope, actor=actor)
        run.task_id = task_queue_authorised(
            batch_score, actor=actor, params={"run_id": run.pk}, permissions=(TRAIN_PERMISSION,)
        )
        ScoringRun.objects.filter(pk=run.pk).update(task_id=run.task_id)
    return run
