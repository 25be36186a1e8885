"""Celery entry points of the risk app: thin callers of the services."""

from celery import shared_task


@shared_task(name="risk.early_warnings_scan")
def early_warnings_scan_task() -> dict:
    """Nightly (beat): PD rising, credit lines used up, revenue dropping, overdue loans."""
    from risk.services.early_warnings import early_warnings_scan

    return early_warnings_scan()


@shared_task(name="risk.quality_checks_run")
def quality_checks_run_task() -> dict:
    """Hourly (beat): the data-quality checks; failing ones raise alerts."""
    from risk.services.quality import quality_checks_run

    return quality_checks_run()


@shared_task(name="risk.delinquency_signals_consume")
def delinquency_signals_consume_task() -> dict:
    """After each daily close, and hourly (beat) as a catch-up: unconsumed delinquency signals
    become risk events."""
    from risk.services.delinquency import delinquency_signals_consume

    return delinquency_signals_consume()
