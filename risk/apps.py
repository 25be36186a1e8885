from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RiskConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "risk"
    verbose_name = _("Risk")

    def ready(self):
        from risk import signals  # noqa: F401 - staff logins become login events
