"""Scoring services (writes): registry, training, scoring."""

from scoring.services.queueing import batch_score_queue, model_train_queue
from scoring.services.registry import (
    model_version_activate,
    model_version_artifact,
    model_version_retire,
    model_version_rollback,
)
from scoring.services.scoring import (
    application_score,
    applications_backfill_latest,
    prediction_make,
    scoring_run_create,
    scoring_run_execute,
)
from scoring.services.training import model_train, training_run_create

__all__ = [
    "batch_score_queue",
    "model_train_queue",
    "application_score",
    "applications_backfill_latest",
    "model_train",
    "model_version_activate",
    "model_version_artifact",
    "model_version_retire",
    "model_version_rollback",
    "prediction_make",
    "scoring_run_create",
    "scoring_run_execute",
    "training_run_create",
]
