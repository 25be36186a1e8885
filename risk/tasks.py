"""Celery entry points of the risk app: thin callers of the services."""

from celery import shared_task


@shared_task(name="risk.early_warnings_scan")
def early_warnings_scan_task() -> dict:
    """Nightly (beat): PD rising, credit lines used up, revenue dropping, overdue loans."""
    from risk.services.early_warnings import early_warnings_scan

    return early_warnings_scan()
