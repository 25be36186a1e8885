"""Celery entry points of the loans app: thin callers of the services."""

from celery import shared_task

from loans.models import LoanApplication
from loans.services import application_batch
from loansite.task_authorisation import task_authorised


@shared_task(name="loans.application_batch", bind=True)
def application_batch_task(self, authorisation: str) -> dict:
    """A large batch decision off the request, for the person who confirmed it: each item
    through its service, as in the admin.

    The person, the applications, the operation, the reason and the reviewer all come from
    the signed authorisation the request issued (``application_batch_queue``); nothing a
    schedule or another caller passes can name them. Idempotent on a redelivery: items
    already moved fail their transition check and are reported.
    """
    with task_authorised(self, authorisation) as grant:
        params = grant.params
        reviewer = None
        if params.get("reviewer_id"):
            from django.contrib.auth import get_user_model

            reviewer = get_user_model().objects.filter(pk=params["reviewer_id"]).first()
        applications = LoanApplication.objects.filter(pk__in=params["application_ids"]).order_by("submitted_at", "id")
        outcome = application_batch(
            actor=grant.actor,
            applications=applications.iterator(),
            operation=params["operation"],
            reason=params.get("reason", ""),
            reviewer=reviewer,
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


@shared_task(name="loans.close_day", bind=True, acks_late=True, max_retries=3)
def loans_close_day(self, date: str | None = None) -> dict:
    """Nightly (beat): close yesterday and every missed day before it, in order. Idempotent and
    resumable: a redelivered or retried run finishes the unfinished day and closes nothing twice."""
    import datetime

    from django.utils import timezone

    from loans.close import loan_close_day
    from loansite.errors import Conflict

    day = datetime.date.fromisoformat(date) if date else timezone.localdate() - datetime.timedelta(days=1)
    try:
        closes = loan_close_day(date=day)
    except Conflict as exc:  # another run holds the lock: try again later
        raise self.retry(exc=exc, countdown=600) from exc
    return {str(close.date): close.status for close in closes}


@shared_task(name="loans.application_days_refresh")
def application_days_refresh() -> dict:
    """Every few minutes (beat): the dashboard's daily application sums of past days brought up
    to date with what changed since (a late decision, a re-scoring); the close does it nightly."""
    import datetime

    from django.utils import timezone

    from loans.services.application_days import application_days_sum

    return application_days_sum(through=timezone.localdate() - datetime.timedelta(days=1))


@shared_task(name="loans.documents_orphans_sweep")
def documents_orphans_sweep_task() -> int:
    """Nightly (beat): stored document files that no document row names (an upload rolled back)."""
    from loans.services.documents import documents_orphans_sweep

    return documents_orphans_sweep()
