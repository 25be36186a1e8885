from django.apps import AppConfig
from django.utils.translation import pgettext_lazy


class LoansConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "loans"
    # Its own context: the dashboard's "Loans" is a count (贷款笔数).
    verbose_name = pgettext_lazy("app", "Loans")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from loans.models import LoanProduct
        from loans.selectors.products import products_changed

        # The public form's copy of the active products follows every edit.
        post_save.connect(products_changed, sender=LoanProduct, dispatch_uid="loans-products-save")
        post_delete.connect(products_changed, sender=LoanProduct, dispatch_uid="loans-products-delete")
