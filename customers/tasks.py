"""Celery entry points for the customer book: thin, progress reported to the run and the result."""

from celery import shared_task

from customers.models import MatchingRun


@shared_task(bind=True, acks_late=True, max_retries=0)
def customers_match_managers(self, run_id: int) -> dict:
    from customers.services import assignment_run_matching

    run = MatchingRun.objects.get(pk=run_id)
    if run.status not in (MatchingRun.Status.QUEUED, MatchingRun.Status.RUNNING):
        # Redelivered after it finished, or given up as stale: nothing to do.
        return {"run": run.pk, "status": run.status, "assigned": run.assigned}

    def progress(done: int, total: int) -> None:
        if self.request.is_eager:
            return
        self.update_state(state="PROGRESS", meta={"run": run_id, "processed": done, "total": total})

    try:
        run = assignment_run_matching(actor=run.started_by, run=run, progress=progress)
    except Exception as exc:
        MatchingRun.objects.filter(pk=run_id).update(status=MatchingRun.Status.FAILED, error=str(exc)[:2000])
        raise
    return {"run": run.pk, "status": run.status, "assigned": run.assigned, "total_score": run.total_score}


@shared_task(acks_late=True, max_retries=0)
def customers_import_file(job_id: int) -> dict:
    from customers.models import ImportJob
    from customers.services import customer_import_job_run

    job = customer_import_job_run(job=ImportJob.objects.get(pk=job_id))
    return {"job": job.pk, "status": job.status, "new": job.new, "updated": job.updated}
