from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class LoanAdminSite(admin.AdminSite):
    """The staff workbench: the Django admin with the back office's header and dashboard."""

    site_header = _("Loan back office")
    site_title = _("Loan back office")
    index_title = _("Workbench")
    enable_nav_sidebar = True
