"""Celery entry points of the reports: thin callers of ``reports_services``.

``loansite.monthly_report`` is beat's (the 1st of each month, for the month before; it acts
for nobody). The other two act for the person who asked: their only argument is the signed
authorisation the request issued (``loansite.task_authorisation``), naming the report file.
"""

import datetime as dt

from celery import shared_task

from loansite.dashboard.reports_models import ReportFile
from loansite.task_authorisation import task_authorised, task_grant_check


@shared_task(name="loansite.monthly_report", acks_late=True, max_retries=0)
def monthly_report() -> dict:
    """Beat: the report of the month before, kept for download (generated again if it exists)."""
    from loansite.dashboard.reports_services import monthly_report_generate, previous_month

    report = monthly_report_generate(month=previous_month())
    return {"report": report.pk, "month": f"{report.month:%Y-%m}", "rows": report.rows}


@shared_task(name="loansite.monthly_report_now", bind=True, acks_late=True, max_retries=0)
def monthly_report_now(self, authorisation: str) -> dict:
    """An administrator's "generate now"."""
    from loansite.dashboard.reports_services import monthly_report_generate

    with task_authorised(self, authorisation) as grant:
        report = ReportFile.objects.filter(pk=grant.params.get("report_id"), kind=ReportFile.Kind.MONTHLY).first()
        task_grant_check(grant, holds=report is not None and report.month.isoformat() == grant.params.get("month"))
        report = monthly_report_generate(
            month=dt.date.fromisoformat(grant.params["month"]),
            actor=grant.actor,
            language=grant.params.get("language") or "zh-hans",
        )
    return {"report": report.pk, "rows": report.rows}


@shared_task(name="loansite.report_loans_export", bind=True, acks_late=True, max_retries=0)
def report_loans_export(self, authorisation: str) -> dict:
    """A loan-level export for the person who asked (the file is theirs only)."""
    from loansite.dashboard.reports_services import loans_export_build

    with task_authorised(self, authorisation) as grant:
        report = ReportFile.objects.filter(pk=grant.params.get("report_id"), kind=ReportFile.Kind.LOANS).first()
        task_grant_check(grant, holds=report is not None and report.requested_by_id == grant.actor.pk)
        report = loans_export_build(report=report)
    return {"report": report.pk, "rows": report.rows, "size": report.size}
