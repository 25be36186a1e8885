from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "customers"
    verbose_name = _("Customers")

    def ready(self):
        from customers.models import City, Industry
        from customers.reference import reference_changed

        # The cached copies of the reference data (imports' lookups, the forms' choices) follow an edit.
        for model in (City, Industry):
            post_save.connect(reference_changed, sender=model, dispatch_uid=f"refdata-{model.__name__}-save")
            post_delete.connect(reference_changed, sender=model, dispatch_uid=f"refdata-{model.__name__}-del")
