"""Celery entry points of the scoring app: thin callers of the scoring services.

Progress lives in the TrainingRun / ScoringRun rows (the admin and the API read them);
the tasks also publish it as the Celery ``PROGRESS`` state. ``acks_late`` is on for all
tasks, so a batch whose worker died is delivered again and resumes from its cursor.
"""

import logging

from celery import shared_task

from scoring.models import ScoringRun, TrainingRun
from scoring.selectors import active_versions
from scoring.services import (
    application_score,
    scoring_run_create,
    scoring_run_execute,
    training_run_create,
)
from scoring.services import (
    model_train as model_train_service,
)

logger = logging.getLogger(__name__)


@shared_task(name="scoring.score_application")
def score_application(application_id: int) -> dict:
    """Score one application with the active models (queued on submit, on commit).

    Without an active model this logs and returns: scoring is an aid to the reviewer,
    never a gate on the application's path.
    """
    label = application_score(application_id=application_id)
    if label is None:
        logger.info("scoring: no active model, application %s left unscored", application_id)
        return {"application_id": application_id, "scored": False}
    return {"application_id": application_id, "scored": True, "model_version": label}


@shared_task(name="scoring.model_train", bind=True)
def model_train(self, kind: str, run_id: int | None = None, activate: bool = False) -> dict:
    """Train a new version of ``kind`` (beat calls it with only the kind)."""
    run = TrainingRun.objects.filter(pk=run_id).first() if run_id else training_run_create(kind=kind)
    if run.task_id != (self.request.id or ""):
        TrainingRun.objects.filter(pk=run.pk).update(task_id=self.request.id or "")
    version = model_train_service(kind=run.kind, actor=run.requested_by, run=run, activate=activate)
    return {"run_id": run.pk, "model_version": version.label, "status": version.status}


@shared_task(name="scoring.batch_score", bind=True)
def batch_score(self, scope: str = ScoringRun.Scope.PENDING, run_id: int | None = None) -> dict:
    """Score ``scope`` ("pending" or "portfolio"); resumes ``run_id`` if given."""
    if run_id:
        run = ScoringRun.objects.get(pk=run_id)
    else:
        if not active_versions():
            logger.info("scoring: no active model, batch %s skipped", scope)
            return {"scope": scope, "skipped": True}
        run = scoring_run_create(scope=scope, skip_empty=True)
        if run is None:
            return {"scope": scope, "skipped": True, "done": 0}
    ScoringRun.objects.filter(pk=run.pk).update(task_id=self.request.id or "")

    def progress(r: ScoringRun) -> None:
        if self.request.id and not self.request.is_eager:
            self.update_state(state="PROGRESS", meta={"run_id": r.pk, "done": r.done, "total": r.total})

    run = scoring_run_execute(run=run, on_progress=progress)
    return {"run_id": run.pk, "done": run.done, "written": run.written}
