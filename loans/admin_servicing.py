"""The loan book in the admin: the loan list and page (schedule, ledger, repayments, security,
restructuring history, actions), disbursements and repayments.

Nothing here changes money: per-object views call the services (``admin_servicing_views``).
"""

from django.contrib import admin
from django.db.models import Q
from django.urls import path
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import ReadOnlyAdminMixin
from loans import admin_servicing_views as views
from loans.admin_filters import CappedCountPaginator
from loans.models import Disbursement, Loan, Repayment
from loansite.formatting import money_column
from loansite.scoping import ScopedAdminMixin


class ManagerFilter(admin.SimpleListFilter):
    title = _("relationship manager")
    parameter_name = "manager"

    def lookups(self, request, model_admin):
        from customers.models import RelationshipManager

        return [(m.pk, str(m)) for m in RelationshipManager.objects.select_related("user").order_by("user__username")]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(customer__manager_id=int(self.value()))
        return queryset


@admin.register(Loan)
class LoanAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    scope_path = "customer"  # an officer's own book only (loansite/scoping.py)
    change_form_template = "admin/loans/loan/change_form.html"
    list_display = (
        "loan_number",
        "customer_name",
        "product_code",
        "principal_cny",
        "outstanding_principal_cny",
        "next_due_date",
        "next_due_amount_cny",
        "status",
        "restructured",
        "manager",
    )
    principal_cny = money_column("principal", _("principal"))
    outstanding_principal_cny = money_column("outstanding_principal", _("outstanding principal"))
    next_due_amount_cny = money_column("next_due_amount", _("next due amount"))
    list_filter = (
        "status",
        "product",
        "method",
        ManagerFilter,
        "restructured",
        ("maturity_date", admin.DateFieldListFilter),
        ("disbursement_date", admin.DateFieldListFilter),
    )
    list_select_related = ("customer__manager__user", "product")
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50
    ordering = ("-disbursement_date", "-id")
    search_fields = ("=loan_number",)
    search_help_text = _("Loan number, contract number or customer name.")
    actions = None
    fieldsets = (
        (
            _("Terms"),
            {
                "fields": (
                    ("loan_number", "contract_number", "status", "restructured"),
                    ("customer", "application", "product"),
                    ("approved_amount", "principal", "outstanding_principal", "credit_balance"),
                    ("annual_rate", "term_months", "method", "day_count", "holiday_shift"),
                    ("disbursement_date", "first_due_date", "maturity_date", "repayment_day"),
                    ("next_due_date", "next_due_amount", "closed_on"),
                    ("principal_repaid", "interest_paid", "penalty_paid", "fees_paid", "written_off_amount"),
                )
            },
        ),
    )

    @admin.display(description=_("customer"), ordering="customer__name")
    def customer_name(self, obj):
        return obj.customer.name

    @admin.display(description=_("product"), ordering="product__code")
    def product_code(self, obj):
        return obj.product.code

    @admin.display(description=_("relationship manager"))
    def manager(self, obj):
        return str(obj.customer.manager) if obj.customer.manager_id else "-"

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        from customers.models import Customer

        customers = Customer.objects.filter(name__icontains=term).values("pk")
        return (
            queryset.filter(Q(loan_number=term.upper()) | Q(contract_number=term) | Q(customer_id__in=customers)),
            False,
        )

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("loans.view_loan")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), **views.loan_page_context(request, object_id)}
        return super().change_view(request, object_id, form_url, extra_context=extra_context)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        custom = [
            path("<path:object_id>/act/<str:action>/", wrap(self.action_view), name="loans_loan_action"),
            path(
                "<path:object_id>/repayments/<int:repayment_id>/reverse/",
                wrap(self.reverse_view),
                name="loans_loan_reverse",
            ),
            path("<path:object_id>/plan/", wrap(self.plan_view), name="loans_loan_plan"),
            path("<path:object_id>/export/<str:what>/", wrap(self.export_view), name="loans_loan_export"),
        ]
        return custom + super().get_urls()

    def action_view(self, request, object_id, action):
        return views.loan_action_view(self, request, object_id, action)

    def reverse_view(self, request, object_id, repayment_id):
        return views.repayment_reverse_view(self, request, object_id, repayment_id)

    def plan_view(self, request, object_id):
        return views.loan_plan_view(self, request, object_id)

    def export_view(self, request, object_id, what):
        return views.loan_export_view(self, request, object_id, what)


@admin.register(Disbursement)
class DisbursementAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    scope_path = "application__customer"
    list_display = (
        "application",
        "tranche",
        "amount_cny",
        "value_date",
        "contract_number",
        "status",
        "prepared_by",
        "authorised_by",
        "loan",
    )
    list_filter = ("status", ("value_date", admin.DateFieldListFilter))
    list_select_related = ("application", "loan", "prepared_by", "authorised_by")
    amount_cny = money_column("amount", _("amount"))
    search_fields = ("=application__reference", "=contract_number", "=loan__loan_number")
    show_full_result_count = False
    actions = None
    exclude = ("idempotency_key", "version")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        custom = [
            path("prepare/<int:application_id>/", wrap(self.prepare_view), name="loans_disbursement_prepare"),
            path("<path:object_id>/authorise/", wrap(self.authorise_view), name="loans_disbursement_authorise"),
            path("<path:object_id>/cancel/", wrap(self.cancel_view), name="loans_disbursement_cancel"),
        ]
        return custom + super().get_urls()

    def prepare_view(self, request, application_id):
        return views.disbursement_prepare_view(self, request, application_id)

    def authorise_view(self, request, object_id):
        return views.disbursement_authorise_view(self, request, object_id)

    def cancel_view(self, request, object_id):
        return views.disbursement_cancel_view(self, request, object_id)


@admin.register(Repayment)
class RepaymentAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    scope_path = "loan__customer"
    list_display = (
        "bank_reference",
        "loan",
        "value_date",
        "amount_cny",
        "kind",
        "channel",
        "allocated_principal_cny",
        "allocated_interest_cny",
        "allocated_credit_cny",
        "status",
    )
    amount_cny = money_column("amount", _("amount"))
    allocated_principal_cny = money_column("allocated_principal", _("to principal"))
    allocated_interest_cny = money_column("allocated_interest", _("to interest"))
    allocated_credit_cny = money_column("allocated_credit", _("to credit held"))
    list_filter = ("status", "channel", "kind", ("value_date", admin.DateFieldListFilter))
    list_select_related = ("loan",)
    search_fields = ("=bank_reference", "=loan__loan_number")
    show_full_result_count = False
    paginator = CappedCountPaginator
    actions = None
    exclude = ("loan_before", "idempotency_key")
    change_list_template = "admin/loans/repayment/change_list.html"

    def has_import_permission(self, request):
        return request.user.has_perms(["loans.import_repayment", "loans.post_repayment"])

    def get_urls(self):
        custom = [
            path("import/", self.admin_site.admin_view(self.import_view), name="loans_repayment_import"),
            path(
                "import/template/<str:language>/<str:file_format>/",
                self.admin_site.admin_view(self.import_template_view),
                name="loans_repayment_import_template",
            ),
        ]
        return custom + super().get_urls()

    def import_view(self, request):
        return views.statement_import_view(self, request)

    def import_template_view(self, request, language, file_format):
        return views.statement_import_template_view(self, request, language, file_format)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "has_import_permission": self.has_import_permission(request)}
        return super().changelist_view(request, extra_context)
