"""Celery entry points of the scoring app: thin callers of the scoring services."""

import logging

from celery import shared_task

from scoring.services import application_score

logger = logging.getLogger(__name__)


@shared_task(name="scoring.score_application")
def score_application(application_id: int) -> dict:
    """Score one application with the active models (queued on submit, on commit).

    Without an active model this logs and returns: scoring is an aid to the reviewer,
    never a gate on the application's path.
    """
    result = application_score(application_id=application_id)
    if result is None:
        logger.info("scoring: no active model, application %s left unscored", application_id)
        return {"application_id": application_id, "scored": False}
    return {"application_id": application_id, "scored": True, "model_version": result}
