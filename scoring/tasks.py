"""Celery entry points of the scoring app: thin callers of the scoring services.

Progress lives in the TrainingRun / ScoringRun rows (the admin and the API read them);
the tasks also publish it as the Celery ``PROGRESS`` state. ``acks_late`` is on for all
tasks, so a batch whose worker died is delivered again and resumes from its cursor.

Training and batch scoring run either for beat (only ``kind`` / ``scope``: the run is the
system's, with no person) or for the person who asked for them in the admin or the API:
then the only argument is the signed authorisation that request issued
(``scoring.services.queueing``), which names the person and the run; a run id or a user
id is never taken from the arguments.
"""

import logging

from celery import shared_task

from loans.services.automation import application_auto_decide
from loansite.task_authorisation import task_authorised, task_grant_check
from scoring.models import RunStatus, ScoringRun, TrainingRun
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
from scoring.services.decision import application_shadow_score

logger = logging.getLogger(__name__)


@shared_task(name="scoring.score_application")
def score_application(application_id: int) -> dict:
    """Score one application with the active models (queued on submit, on commit).

    Without an active model this logs and returns: scoring is an aid to the reviewer,
    never a gate on the application's path.
    """
    label = application_score(application_id=application_id)
    shadow = application_shadow_score(application_id=application_id)
    # After scoring, in the worker: the decision policy (rules, straight-through) acts.
    decision = application_auto_decide(application_id=application_id)
    extra = {"automated": decision.kind} if decision is not None else {}
    if shadow:
        extra["shadow_scores"] = shadow
    if label is None:
        logger.info("scoring: no active model, application %s left unscored", application_id)
        return {"application_id": application_id, "scored": False, **extra}
    return {"application_id": application_id, "scored": True, "model_version": label, **extra}


@shared_task(name="scoring.outcomes_refresh")
def outcomes_refresh() -> dict:
    """Nightly: derive default flags from servicing, backtest the PD champion and challenger."""
    from scoring.services.decision import outcomes_refresh as refresh

    return refresh()


@shared_task(name="scoring.model_train", bind=True)
def model_train(self, kind: str | None = None, authorisation: str | None = None) -> dict:
    """Train a new version: of ``kind`` for beat (the system's run, never activated), or the
    run a person asked for, named by their ``authorisation``."""
    if authorisation is None:
        run = training_run_create(kind=kind or "")
        return _train(self, run=run, actor=None, activate=False)
    with task_authorised(self, authorisation) as grant:
        run = TrainingRun.objects.filter(pk=grant.params.get("run_id")).first()
        task_grant_check(
            grant, holds=run is not None and run.requested_by_id == grant.actor.pk and kind in (None, run.kind)
        )
        if run.status == RunStatus.SUCCEEDED:  # redelivered after it finished
            return {"run_id": run.pk, "model_version": run.model_version.label, "status": run.model_version.status}
        return _train(self, run=run, actor=grant.actor, activate=bool(grant.params.get("activate")))


def _train(task, *, run: TrainingRun, actor, activate: bool) -> dict:
    if run.task_id != (task.request.id or ""):
        TrainingRun.objects.filter(pk=run.pk).update(task_id=task.request.id or "")
    version = model_train_service(kind=run.kind, actor=actor, run=run, activate=activate)
    return {"run_id": run.pk, "model_version": version.label, "status": version.status}


@shared_task(name="scoring.batch_score", bind=True)
def batch_score(self, scope: str | None = None, authorisation: str | None = None) -> dict:
    """Score ``scope`` ("pending" or "portfolio") for beat, or resume the run a person asked
    for, named by their ``authorisation``."""
    if authorisation is None:
        scope = scope or ScoringRun.Scope.PENDING
        if not active_versions():
            logger.info("scoring: no active model, batch %s skipped", scope)
            return {"scope": scope, "skipped": True}
        run = scoring_run_create(scope=scope, skip_empty=True)
        if run is None:
            return {"scope": scope, "skipped": True, "done": 0}
        return _score(self, run)
    with task_authorised(self, authorisation) as grant:
        run = ScoringRun.objects.filter(pk=grant.params.get("run_id")).first()
        task_grant_check(
            grant, holds=run is not None and run.requested_by_id == grant.actor.pk and scope in (None, run.scope)
        )
        return _score(self, run)


def _score(task, run: ScoringRun) -> dict:
    ScoringRun.objects.filter(pk=run.pk).update(task_id=task.request.id or "")

    def progress(r: ScoringRun) -> None:
        if task.request.id and not task.request.is_eager:
            task.update_state(state="PROGRESS", meta={"run_id": r.pk, "done": r.done, "total": r.total})

    run = scoring_run_execute(run=run, on_progress=progress)
    return {"run_id": run.pk, "done": run.done, "written": run.written}
