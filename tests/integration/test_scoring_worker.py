"""Scoring through the real broker and worker on MariaDB: training, batch scoring (run
twice: no duplicates), and one application scored by the task the submit path queues."""

import pytest

from loans.models import LoanApplication
from scoring.models import ModelKind, ModelVersion, RunStatus, Score, ScoringRun, TrainingRun
from scoring.services import scoring_run_create, training_run_create
from scoring.synthetic import world_build
from scoring.tasks import batch_score, model_train, score_application

pytestmark = pytest.mark.integration


@pytest.mark.django_db(transaction=True)
def test_train_and_batch_score_round_trip_through_the_worker(celery_worker):
    world = world_build(seed=11, customers=300, applications=1200)

    run = training_run_create(kind=ModelKind.PD)
    result = model_train.delay(ModelKind.PD, run_id=run.pk, activate=True).get(timeout=300)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.percent == 100
    version = ModelVersion.objects.get(kind=ModelKind.PD, status=ModelVersion.Status.ACTIVE)
    assert result["model_version"] == version.label and version.metrics["holdout"]["auc"] > 0.6

    first = batch_score.delay(ScoringRun.Scope.PORTFOLIO).get(timeout=300)
    assert first["done"] == len(world.application_ids) == Score.objects.count()
    # A second run over the same scope (an explicit one: the beat's would be skipped) writes nothing.
    rerun = scoring_run_create(scope=ScoringRun.Scope.PORTFOLIO)
    again = batch_score.delay(ScoringRun.Scope.PORTFOLIO, run_id=rerun.pk).get(timeout=300)
    assert again["done"] == 0 and Score.objects.count() == len(world.application_ids)
    assert ScoringRun.objects.filter(status=RunStatus.SUCCEEDED).count() == 2
    assert batch_score.delay(ScoringRun.Scope.PORTFOLIO).get(timeout=300)["skipped"] is True

    scored = LoanApplication.objects.exclude(scored_at=None)
    assert scored.count() == len(world.application_ids)
    app = scored.first()
    assert app.score_model_version == version.label and app.score_grade and app.score_reasons

    # The task the submit path queues, on a fresh application row written by another process.
    fresh = LoanApplication.objects.get(pk=world.application_ids[0])
    Score.objects.filter(application=fresh).delete()
    out = score_application.delay(fresh.pk).get(timeout=120)
    assert out["scored"] and Score.objects.filter(application=fresh, model_version=version).count() == 1
    assert TrainingRun.objects.get(pk=run.pk).model_version_id == version.pk
