from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from loansite.two_factor import selectors as two_factor
from loansite.two_factor import views as two_factor_views


class LoanAdminSite(admin.AdminSite):
    """The staff workbench: the Django admin with the back office's header and dashboard."""

    site_header = _("Loan back office")
    site_title = _("Loan back office")
    index_title = _("Workbench")
    enable_nav_sidebar = True
    # Nothing shows as an em dash everywhere (loansite/formatting.py).
    empty_value_display = "—"

    def has_permission(self, request):
        # Staff who must use two-factor authentication (or chose to) pass the second factor first.
        return super().has_permission(request) and two_factor.two_factor_session_passes(request)

    def login(self, request, extra_context=None):
        # The password step, then the second factor (or enrolment) before any other admin page.
        return two_factor_views.admin_login(request, super().login, extra_context)

    def get_urls(self):
        from django.urls import path

        from loansite.dashboard.views import dashboard_export

        dashboard = [path("dashboard/export/<slug:name>/", self.admin_view(dashboard_export), name="dashboard_export")]
        # The reports page and the report files (loansite/dashboard/reports_views.py).
        from loansite.dashboard.reports_views import report_urls

        dashboard += report_urls(self)
        # "My book" of a relationship manager (customers/admin/my_book.py).
        from customers.admin.my_book import my_book_view

        book = [path("my-book/", self.admin_view(lambda request: my_book_view(request, self)), name="my_book")]
        return two_factor_views.admin_urls(self) + dashboard + book + super().get_urls()

    def each_context(self, request):
        from customers.admin.my_book import my_book_link_visible

        return {**super().each_context(request), "my_book_link": my_book_link_visible(request)}

    def index(self, request, extra_context=None):
        # The role's dashboard above the app list (loansite/dashboard).
        from loansite.dashboard.views import dashboard_context

        return super().index(request, {**dashboard_context(request), **(extra_context or {})})

    def register(self, model_or_iterable, admin_class=None, **options):
        # Every model's "History" page shows the object's audit trail (audit/admin_history.py).
        from audit.admin_history import AuditHistoryAdminMixin

        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, AuditHistoryAdminMixin):
            admin_class = type(
                admin_class.__name__, (AuditHistoryAdminMixin, admin_class), {"__module__": admin_class.__module__}
            )
        return super().register(model_or_iterable, admin_class, **options)

    def get_app_list(self, request, app_label=None):
        # The index and the sidebar list plumbing (lockouts, task results, schedules, tokens)
        # to administrators only (loansite/admin_plumbing.py).
        from loansite.admin_plumbing import app_list_for_user

        app_list = app_list_for_user(super().get_app_list(request, app_label), request.user)
        # The reports (报表) first, for those who may read them (loansite/dashboard/reports_views.py).
        from loansite.dashboard.reports_views import reports_app_entry

        entry = reports_app_entry(request) if app_label is None else None
        return [entry, *app_list] if entry else app_list

    def password_change(self, request, extra_context=None):
        # Audited; the account's other sessions and all its API tokens end, this session stays.
        from loansite.admin_users import own_password_change

        return own_password_change(request, super().password_change, extra_context)
