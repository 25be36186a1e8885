"""Writes to what the dashboard counts bump its cache version (the figures are recomputed)."""

from django.db.models.signals import post_delete, post_save

from loansite.dashboard.selectors import dashboard_invalidate

WATCHED = (
    "loans.LoanApplication",
    "loans.Loan",
    "risk.RiskEvent",
    "scoring.ModelVersion",
    "scoring.Backtest",
    "scoring.TrainingRun",
    "scoring.ScoringRun",
)


def _bump(sender, **kwargs):
    dashboard_invalidate()


def connect() -> None:
    from django.apps import apps

    for label in WATCHED:
        model = apps.get_model(label)
        post_save.connect(_bump, sender=model, dispatch_uid=f"dashboard.save.{label}")
        post_delete.connect(_bump, sender=model, dispatch_uid=f"dashboard.delete.{label}")
