"""What the admin buttons and the API call: create the run, queue the task on commit.

The task gets no run id or user id as arguments: only the signed authorisation issued
here for the person who asked, naming the run (``loansite.task_authorisation``).
"""

from django.db import transaction
from django.utils.translation import gettext as _

from loansite.errors import Conflict, ValidationFailed
from loansite.task_authorisation import task_queue_authorised
from scoring.models import ModelKind, ScoringRun, TrainingRun
from scoring.selectors import active_versions, scope_count
from scoring.services.scoring import scoring_run_create
from scoring.services.training import training_run_create

TRAIN_PERMISSION = "scoring.train_model"
ACTIVATE_PERMISSION = "scoring.activate_modelversion"


def model_train_queue(*, kind: str, actor, activate: bool = False, params: dict | None = None) -> TrainingRun:
    from scoring.tasks import model_train

    if kind == ModelKind.FILE_PD and not (params or {}).get("dataset_id"):
        raise ValidationFailed(_("A scorecard from a file is trained from an uploaded data set (Train from a file)."))
    permissions = (TRAIN_PERMISSION, ACTIVATE_PERMISSION) if activate else (TRAIN_PERMISSION,)
    with transaction.atomic():
        run = training_run_create(kind=kind, actor=actor, params=params)
        run.task_id = task_queue_authorised(
            model_train, actor=actor, params={"run_id": run.pk, "activate": activate}, permissions=permissions
        )
        TrainingRun.objects.filter(pk=run.pk).update(task_id=run.task_id)
    return run


def batch_score_queue(*, scope: str, actor) -> ScoringRun:
    """Queue a batch a person asked for; refused with the reason when it would score nothing
    (no active model, or every application of the scope already has the active models' scores)."""
    from scoring.tasks import batch_score

    batch_score_check(scope=scope)
    with transaction.atomic():
        run = scoring_run_create(scope=scope, actor=actor)
        run.task_id = task_queue_authorised(
            batch_score, actor=actor, params={"run_id": run.pk}, permissions=(TRAIN_PERMISSION,)
        )
        ScoringRun.objects.filter(pk=run.pk).update(task_id=run.task_id)
    return run


def batch_score_check(*, scope: str) -> int:
    """How many applications of ``scope`` wait for a score from the active models; a
    ``Conflict`` saying why when none does (instead of a run that ends "0 / 0 rows")."""
    from scoring.services.scoring import _ordered

    if scope not in ScoringRun.Scope.values:
        raise ValidationFailed(_("Unknown scoring scope: %(scope)s") % {"scope": scope})
    versions = _ordered(active_versions())
    if not versions:
        raise Conflict(_("Nothing to score: no model is active. Train and activate a model version first."))
    waiting = scope_count(scope=scope, version_ids=[mv.pk for mv in versions])
    if waiting == 0:
        label = ScoringRun.Scope(scope).label
        if scope == ScoringRun.Scope.PENDING:
            message = _(
                "Nothing to score: no application awaits a decision without a score from the active models (%(v)s)."
            )
        else:
            message = _(
                "Nothing to score: every submitted application (%(scope)s) already has a score from the active "
                "models (%(v)s)."
            )
        raise Conflict(message % {"scope": label, "v": ", ".join(mv.label for mv in versions)})
    return waiting
