"""Celery entry points of the loans app: thin callers of the services."""

from celery import shared_task
from django.contrib.auth import get_user_model

from loans.models import LoanApplication
from loans.services import application_batch


@shared_task(name="loans.application_batch")
def application_batch_task(
    *, actor_id: int, application_ids: list[int], operation: str, reason: str = "", reviewer_id: int | None = None
) -> dict:
    """A large batch decision off the request: each item through its service, as in the admin.

    Idempotent on retry: items already moved fail their transition check and are reported.
    """
    User = get_user_model()
    actor = User.objects.get(pk=actor_id)
    reviewer = User.objects.get(pk=reviewer_id) if reviewer_id else None
    applications = LoanApplication.objects.filter(pk__in=application_ids).order_by("submitted_at", "id")
    outcome = application_batch(
        actor=actor, applications=applications.iterator(), operation=operation, reason=reason, reviewer=reviewer
    )
    return {
        "done": [app.reference for app in outcome.done],
        "failed": {app.reference: why for app, why in outcome.failed},
    }


@shared_task(name="loans.refresh_query_statistics")
def refresh_query_statistics() -> list[str]:
    """Nightly (beat): the planner statistics behind the workbench queue's index choice."""
    from loans.services.maintenance import application_tables_analyze

    return application_tables_analyze()
