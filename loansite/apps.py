from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class LoanAdminConfig(admin_apps.AdminConfig):
    """The Django admin, with the approval workbench site as the default site."""

    default = False
    default_site = "loansite.admin_site.LoanAdminSite"


class LoansiteConfig(AppConfig):
    default = True
    default_auto_field = "django.db.models.BigAutoField"
    name = "loansite"
    verbose_name = _("Loan back office")

    def ready(self):
        from django.db.models.signals import post_migrate

        from loansite.roles import roles_sync_after_migrate

        post_migrate.connect(roles_sync_after_migrate, dispatch_uid="loansite.roles_sync")

        from loansite import signals

        signals.connect()

        from loansite import json_limits

        json_limits.install()

        from loansite import names

        names.install()

        from loansite.dashboard import signals as dashboard_signals

        dashboard_signals.connect()

        # The reports' Celery tasks (the monthly report, loan-level exports).
        from loansite.dashboard import reports_tasks  # noqa: F401
