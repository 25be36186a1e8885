from unittest import mock

import numpy as np
import pandas as pd
import pytest
from django.db import IntegrityError, transaction

from audit.models import AuditAction, AuditEntry
from loans.models import LoanApplication
from loansite.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from scoring.features import features_build, raw_frame_from_input
from scoring.models import ModelKind, ModelVersion, RunStatus, Score, ScoringRun, TrainingRun
from scoring.reasons import reasons_expand
from scoring.selectors import application_frame_by_ids, training_set
from scoring.services import (
    application_score,
    model_train,
    model_version_activate,
    model_version_artifact,
    model_version_retire,
    model_version_rollback,
    prediction_make,
    scoring_run_create,
    scoring_run_execute,
    training_run_create,
)
from scoring.services import scoring as scoring_services
from tests.scoring.factories import ModelVersionFactory

# ---------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_one_active_version_per_kind_is_a_database_constraint():
    ModelVersionFactory(kind=ModelKind.PD, status=ModelVersion.Status.ACTIVE)
    ModelVersionFactory(kind=ModelKind.APPROVAL, status=ModelVersion.Status.ACTIVE)  # other kind: fine
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersionFactory(kind=ModelKind.PD, status=ModelVersion.Status.ACTIVE)


@pytest.mark.django_db
def test_activate_retires_the_previous_champion_and_is_audited(make_user):
    ops = make_user("ops", role="Model ops")
    first = ModelVersionFactory(kind=ModelKind.PD)
    second = ModelVersionFactory(kind=ModelKind.PD)
    model_version_activate(version=first, actor=ops)
    model_version_activate(version=second, actor=ops, reason="better KS")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (ModelVersion.Status.RETIRED, ModelVersion.Status.ACTIVE)
    entry = AuditEntry.objects.filter(action=AuditAction.ACTIVATE).order_by("-seq").first()
    assert entry.target_id == str(second.pk) and entry.reason == "better KS"
    assert entry.changes["replaced"] == first.label and entry.actor == ops


@pytest.mark.django_db
def test_rollback_brings_back_the_previous_version_in_one_action():
    first = ModelVersionFactory(kind=ModelKind.PD)
    second = ModelVersionFactory(kind=ModelKind.PD)
    model_version_activate(version=first)
    model_version_activate(version=second)
    back = model_version_rollback(kind=ModelKind.PD)
    assert back.pk == first.pk and back.status == ModelVersion.Status.ACTIVE
    assert ModelVersion.objects.get(pk=second.pk).status == ModelVersion.Status.RETIRED
    assert ModelVersion.objects.filter(kind=ModelKind.PD, status=ModelVersion.Status.ACTIVE).count() == 1


@pytest.mark.django_db
def test_rollback_without_history_and_illegal_moves_are_domain_errors():
    with pytest.raises(NotFound):
        model_version_rollback(kind=ModelKind.LIMIT)
    failed = ModelVersionFactory(status=ModelVersion.Status.FAILED)
    with pytest.raises(InvalidTransition):
        model_version_activate(version=failed)
    assert ModelVersion.objects.get(pk=failed.pk).status == ModelVersion.Status.FAILED
    ready = ModelVersionFactory(kind=ModelKind.APPROVAL)
    model_version_retire(version=ready)
    with pytest.raises(InvalidTransition):
        model_version_retire(version=ready)


@pytest.mark.django_db
def test_stale_activation_loses_to_the_conditional_update():
    version = ModelVersionFactory(kind=ModelKind.PD)
    stale = ModelVersion.objects.get(pk=version.pk)
    ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.RETIRED)
    stale.status = ModelVersion.Status.READY  # what an old form would still believe
    from scoring.services.registry import _move

    with pytest.raises(Conflict):
        _move(stale, to_status=ModelVersion.Status.ACTIVE)


# ---------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------


def test_training_records_metrics_baseline_and_progress(world):
    run = training_run_create(kind=ModelKind.PD)
    version = model_train(kind=ModelKind.PD, run=run, params={"cv_folds": 2, "baseline_trees": 20})
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.percent == 100 and run.model_version == version
    assert version.status == ModelVersion.Status.READY and version.artifact_size > 0
    holdout = version.metrics["holdout"]
    for key in ("auc", "ks", "gini", "accuracy", "precision", "recall", "brier", "calibration", "confusion"):
        assert key in holdout
    # The demo world has a real signal: the scorecard ranks defaults well above chance.
    assert holdout["auc"] > 0.62
    assert version.metrics["baseline"]["algorithm"] == "random_forest_6"
    assert version.metrics["cv"]["folds"] == 2
    assert len(version.data_hash) == 64 and version.library_versions["scikit-learn"]
    assert AuditEntry.objects.filter(action=AuditAction.TRAIN, target_id=str(version.pk)).exists()


@pytest.mark.django_db
def test_training_without_labels_fails_cleanly():
    run = training_run_create(kind=ModelKind.PD)
    with pytest.raises(ValidationFailed):
        model_train(kind=ModelKind.PD, run=run)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "Not enough" in run.error
    assert not ModelVersion.objects.exists()


def test_training_crash_leaves_a_failed_version_with_the_error(world):
    with mock.patch("scoring.services.training._train", side_effect=RuntimeError("boom")), pytest.raises(RuntimeError):
        model_train(kind=ModelKind.PD)
    version = ModelVersion.objects.get()
    assert version.status == ModelVersion.Status.FAILED and "boom" in version.error


# ---------------------------------------------------------------------------------
# No train/serve skew
# ---------------------------------------------------------------------------------


def test_no_skew_between_training_batch_scoring_and_prediction(trained, world):
    pd_version = trained[ModelKind.PD]
    artifact = model_version_artifact(version=pd_version)
    raw, _labels = training_set(kind=ModelKind.PD)
    sample = raw.iloc[:40]
    at_training = artifact.predict(features_build(sample), sample)["probability"]

    run = scoring_run_execute(run=scoring_run_create(scope=ScoringRun.Scope.PORTFOLIO))
    assert run.status == RunStatus.SUCCEEDED
    stored = dict(
        Score.objects.filter(model_version=pd_version, application_id__in=list(sample.index)).values_list(
            "application_id", "probability"
        )
    )
    np.testing.assert_allclose([stored[i] for i in sample.index], at_training, rtol=0, atol=1e-6)

    # The prediction page path (a dict of typed-in values) gives the same answer.
    app_id = int(sample.index[0])
    row = application_frame_by_ids([app_id]).iloc[0].to_dict()
    result = prediction_make(inputs={k: v for k, v in row.items() if k != "product"})
    assert float(result["probability_of_default"]) == pytest.approx(stored[app_id], abs=1e-4)
    single = features_build(raw_frame_from_input(row))
    batch = features_build(application_frame_by_ids([app_id]))
    pd.testing.assert_frame_equal(single.reset_index(drop=True), batch.reset_index(drop=True))


# ---------------------------------------------------------------------------------
# Batch scoring: idempotent and resumable
# ---------------------------------------------------------------------------------


def test_batch_scoring_twice_writes_each_score_once(trained, world):
    versions = len(trained)
    first = scoring_run_execute(run=scoring_run_create(scope=ScoringRun.Scope.PORTFOLIO, chunk_size=300))
    assert first.done == len(world.application_ids)
    assert Score.objects.count() == first.written == len(world.application_ids) * versions
    second = scoring_run_execute(run=scoring_run_create(scope=ScoringRun.Scope.PORTFOLIO, chunk_size=300))
    assert second.done == 0 and second.written == 0
    assert Score.objects.count() == len(world.application_ids) * versions
    # Latest fields filled set-wise from the PD rows, on the applications awaiting a decision.
    pending = LoanApplication.objects.filter(status__in=LoanApplication.PENDING)
    app = pending.first()
    assert app.score_model_version == trained[ModelKind.PD].label
    assert app.score_grade in "ABCDE" and app.score_points is not None and app.score_reasons
    assert 0 <= app.score_probability <= 1
    assert pending.filter(scored_at=None).count() == 0
    assert LoanApplication.objects.exclude(status__in=LoanApplication.PENDING).exclude(scored_at=None).count() == 0


def test_a_killed_batch_resumes_without_duplicates(trained, world):
    run = scoring_run_create(scope=ScoringRun.Scope.PORTFOLIO, chunk_size=250)
    real_insert = scoring_services.scores_insert
    calls = {"n": 0}

    def dies_on_third_chunk(*args, **kwargs):
        calls["n"] += 1
        written = real_insert(*args, **kwargs)
        if calls["n"] == 3:
            raise SystemExit("worker killed")  # after the rows were sent, before the commit
        return written

    with mock.patch.object(scoring_services, "scores_insert", dies_on_third_chunk), pytest.raises(SystemExit):
        scoring_run_execute(run=run)
    run.refresh_from_db()
    assert run.done == 500 and Score.objects.count() == 500 * len(trained)  # chunk 3 rolled back

    resumed = scoring_run_execute(run=run)  # the redelivered task
    assert resumed.status == RunStatus.SUCCEEDED and resumed.done == len(world.application_ids)
    assert Score.objects.count() == len(world.application_ids) * len(trained)
    assert Score.objects.values("application", "model_version").distinct().count() == Score.objects.count()


def test_pending_scope_scores_only_the_queue(trained, world):
    run = scoring_run_execute(run=scoring_run_create(scope=ScoringRun.Scope.PENDING))
    pending = LoanApplication.objects.filter(status__in=LoanApplication.PENDING).count()
    assert run.done == pending > 0
    assert Score.objects.filter(model_version=trained[ModelKind.PD]).count() == pending


def test_batch_without_active_model_is_refused(world):
    with pytest.raises(Conflict):
        scoring_run_create(scope=ScoringRun.Scope.PENDING)


# ---------------------------------------------------------------------------------
# One application (on submit) and predictions
# ---------------------------------------------------------------------------------


def test_application_score_without_a_model_returns_none(world):
    assert application_score(application_id=world.application_ids[0]) is None
    assert not Score.objects.exists()


def test_application_score_writes_rows_and_latest_fields(trained, world):
    app_id = LoanApplication.objects.filter(status__in=LoanApplication.PENDING).values_list("pk", flat=True)[5]
    assert application_score(application_id=app_id) == trained[ModelKind.PD].label
    assert application_score(application_id=app_id) == trained[ModelKind.PD].label  # again: no duplicate
    assert Score.objects.filter(application_id=app_id).count() == 3
    limit = Score.objects.get(application_id=app_id, model_version=trained[ModelKind.LIMIT]).value
    assert world.product.min_amount <= limit <= world.product.max_amount
    app = LoanApplication.objects.get(pk=app_id)
    # A reason names the feature, the applicant's own bin (or level) and the points lost.
    assert app.score_grade and set(app.score_reasons[0]) - {"bin", "level"} == {"feature", "points_lost"}
    reason = reasons_expand(app.score_reasons)[0]
    assert reason["zh_hans"] and reason["en"] and reason["code"].startswith("R")
    assert application_score(application_id=10**9) is None


def test_prediction_returns_all_models_and_reasons(trained, world):
    result = prediction_make(
        inputs={"amount": 500000, "term_months": 24, "monthly_revenue": 60000, "monthly_cost": 58000, "product": "SWC"}
    )
    assert 0 < result["probability_of_default"] < 1
    assert result["grade"] in "ABCDE" and result["reasons"]
    assert {"approval_probability", "recommended_limit"} <= set(result)
    assert result["recommended_limit"] <= world.product.max_amount
    with pytest.raises(NotFound):
        prediction_make(
            inputs={"amount": 1, "term_months": 1, "monthly_revenue": 1, "monthly_cost": 1, "product": "NO"}
        )


def test_training_run_rejects_unknown_kind(db):
    with pytest.raises(ValidationFailed):
        training_run_create(kind="nope")
    assert not TrainingRun.objects.exists()


def test_model_report_compares_each_model_with_the_baseline(trained):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("scoring_report", stdout=out)
    text = out.getvalue()
    for version in trained.values():
        assert version.label in text
    assert "baseline AUC" in text and "baseline R²" in text
