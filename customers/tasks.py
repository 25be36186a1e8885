"""Celery entry points for the customer book: thin, progress reported to the run and the result.

Both tasks act for the person who started them: their only argument is the signed
authorisation that person's request issued, naming the run or the job
(``loansite.task_authorisation``); a run id, job id or user id is never taken from the
arguments.
"""

from celery import shared_task

from customers.models import ImportJob, MatchingRun
from loansite.task_authorisation import task_authorised, task_grant_check

MATCHING_PERMISSION = "customers.run_matching"


@shared_task(bind=True, acks_late=True, max_retries=0)
def customers_match_managers(self, authorisation: str) -> dict:
    from customers.services import assignment_run_matching

    with task_authorised(self, authorisation) as grant:
        run = MatchingRun.objects.filter(pk=grant.params.get("run_id")).first()
        task_grant_check(grant, holds=run is not None and run.started_by_id == grant.actor.pk)
        if run.status not in (MatchingRun.Status.QUEUED, MatchingRun.Status.RUNNING):
            # Redelivered after it finished, or given up as stale: nothing to do.
            return {"run": run.pk, "status": run.status, "assigned": run.assigned}
        run_id = run.pk

        def progress(done: int, total: int) -> None:
            if self.request.is_eager:
                return
            self.update_state(state="PROGRESS", meta={"run": run_id, "processed": done, "total": total})

        try:
            run = assignment_run_matching(actor=grant.actor, run=run, progress=progress)
        except Exception as exc:
            MatchingRun.objects.filter(pk=run_id).update(status=MatchingRun.Status.FAILED, error=str(exc)[:2000])
            raise
    return {"run": run.pk, "status": run.status, "assigned": run.assigned, "total_score": run.total_score}


@shared_task(bind=True, acks_late=True, max_retries=0)
def customers_import_file(self, authorisation: str) -> dict:
    from customers.services import customer_import_job_run

    with task_authorised(self, authorisation) as grant:
        job = ImportJob.objects.filter(pk=grant.params.get("job_id")).first()
        task_grant_check(grant, holds=job is not None and job.created_by_id == grant.actor.pk)
        job = customer_import_job_run(job=job)
    return {"job": job.pk, "status": job.status, "new": job.new, "updated": job.updated}
