"""Scoring through the real broker and worker on MariaDB: training, batch scoring (run
twice: no duplicates), and one application scored by the task the submit path queues."""

import pytest

from loans.models import LoanApplication
from loansite.celery import app as celery_app
from loansite.errors import Conflict
from scoring.models import ModelKind, ModelVersion, RunStatus, Score, ScoringRun, TrainingRun
from scoring.services import batch_score_queue, model_train_queue, scoring_run_create
from scoring.synthetic import world_build
from scoring.tasks import batch_score, score_application

pytestmark = pytest.mark.integration


@pytest.mark.django_db(transaction=True)
def test_train_and_batch_score_round_trip_through_the_worker(celery_worker, make_user):
    world = world_build(seed=11, customers=300, applications=1200)
    ops = make_user("ops", role="Model ops")

    # As the admin button and the API queue it: the worker acts for ops by their authorisation.
    run = model_train_queue(kind=ModelKind.PD, actor=ops, activate=True)
    result = celery_app.AsyncResult(run.task_id).get(timeout=300)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.percent == 100
    assert run.requested_by == ops and version_activated_by(ModelKind.PD) == ops
    version = ModelVersion.objects.get(kind=ModelKind.PD, status=ModelVersion.Status.ACTIVE)
    assert result["model_version"] == version.label and version.metrics["holdout"]["auc"] > 0.6

    first = batch_score.delay(ScoringRun.Scope.PORTFOLIO).get(timeout=300)
    assert first["done"] == len(world.application_ids) == Score.objects.count()
    # A second run over the same scope writes nothing: asking for one is refused with the
    # reason, and the beat's own run is skipped.
    with pytest.raises(Conflict, match="Nothing to score"):
        batch_score_queue(scope=ScoringRun.Scope.PORTFOLIO, actor=ops)
    assert Score.objects.count() == len(world.application_ids)
    assert ScoringRun.objects.filter(status=RunStatus.SUCCEEDED).count() == 1
    assert batch_score.delay(ScoringRun.Scope.PORTFOLIO).get(timeout=300)["skipped"] is True

    # Latest fields on the applications awaiting a decision; decided ones keep theirs (none).
    pending = LoanApplication.objects.filter(status__in=LoanApplication.PENDING)
    assert pending.count() > 0 and pending.filter(scored_at=None).count() == 0
    assert LoanApplication.objects.exclude(status__in=LoanApplication.PENDING).exclude(scored_at=None).count() == 0
    app = pending.first()
    assert app.score_model_version == version.label and app.score_grade and app.score_reasons

    # The task the submit path queues, on a fresh application row written by another process.
    fresh = LoanApplication.objects.get(pk=world.application_ids[0])
    Score.objects.filter(application=fresh).delete()
    out = score_application.delay(fresh.pk).get(timeout=120)
    assert out["scored"] and Score.objects.filter(application=fresh, model_version=version).count() == 1
    assert TrainingRun.objects.get(pk=run.pk).model_version_id == version.pk


@pytest.mark.django_db(transaction=True)
def test_prior_counts_and_latest_fields_match_sql_on_mariadb():
    """The per-chunk prior counts (sorted keys over MariaDB's datetimes) equal the plain
    self-join definition, and the UPDATE ... JOIN copies exactly the PD Score rows into
    the pending applications (the run reads ahead on a second connection here)."""
    from django.db import connection

    from scoring.selectors import application_frame_by_ids
    from scoring.services import model_train, scoring_run_execute

    world = world_build(seed=12, customers=150, applications=900)
    frame = application_frame_by_ids(world.application_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.id, COUNT(p.id), "
            "COALESCE(SUM(CASE WHEN p.status IN ('approved', 'disbursed', 'cancelled') THEN 1 ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN p.status = 'rejected' THEN 1 ELSE 0 END), 0) "
            "FROM loans_loanapplication a LEFT JOIN loans_loanapplication p "
            "ON p.customer_id = a.customer_id AND p.created_at < a.created_at GROUP BY a.id"
        )
        expected = {row[0]: tuple(int(v) for v in row[1:]) for row in cursor.fetchall()}
    got = {
        int(i): (int(r.prior_applications), int(r.prior_approved), int(r.prior_rejected))
        for i, r in zip(frame.index, frame.itertuples(), strict=True)
    }
    assert got == {i: expected[i] for i in got} and any(v[0] for v in got.values())

    version = model_train(kind=ModelKind.PD, activate=True, params={"cv_folds": 2, "baseline_trees": 20})
    run = scoring_run_execute(run=scoring_run_create(scope=ScoringRun.Scope.PORTFOLIO, chunk_size=250))
    assert run.done == len(world.application_ids)
    rows = {s.application_id: s for s in Score.objects.filter(model_version=version)}
    assert len(rows) == len(world.application_ids)
    for app in LoanApplication.objects.filter(pk__in=world.application_ids, status__in=LoanApplication.PENDING):
        score = rows[app.pk]
        assert (app.score_points, app.score_grade, app.score_reasons) == (score.points, score.grade, score.reasons)
        assert app.score_model_version == version.label


def version_activated_by(kind):
    from audit.models import AuditAction, AuditEntry

    version = ModelVersion.objects.get(kind=kind, status=ModelVersion.Status.ACTIVE)
    return AuditEntry.objects.get(action=AuditAction.ACTIVATE, target_id=str(version.pk)).actor
