from celery import shared_task

from audit.selectors import audit_chain_verify


@shared_task(name="audit.verify_chain")
def audit_verify_chain() -> dict:
    """Scheduled check of the audit chain; the result lands in the task results."""
    report = audit_chain_verify()
    return {
        "ok": report.ok,
        "checked": report.checked,
        "head_seq": report.head_seq,
        "problems": [f"{p.kind} #{p.seq}: {p.detail}" for p in report.problems],
    }


@shared_task(name="audit.login_failures_flush")
def audit_login_failures_flush(*, ip: str | None, username: str, start: int) -> bool:
    """Queued for the end of a window in which failed logins went unaudited: their aggregate entry."""
    from audit.login_failures import login_failures_flush

    return login_failures_flush(ip=ip, username=username, start=start) is not None
