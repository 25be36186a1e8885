"""Collections in the admin: the delinquency list (overdue and written-off loans with DPD, bucket,
class, penalty accrued, collector, last contact and promise; batch assignment), the collections
workbench and the loan page's collections actions. Views call the services
(``admin_collections_views``)."""

from django.contrib import admin
from django.db.models import Q
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import ReadOnlyAdminMixin
from loans import admin_collections_views as views
from loans.admin_filters import CappedCountPaginator
from loans.models import CollectionContact, DelinquentLoan, LegalCase, Loan, PromiseToPay, Recovery, WriteOff
from loans.services.collections import PERM_ASSIGN, collectors
from loansite.formatting import format_date, format_money, money_column
from loansite.scoping import ScopedAdminMixin


class CollectorFilter(admin.SimpleListFilter):
    title = _("collector")
    parameter_name = "collector"

    def lookups(self, request, model_admin):
        return [("me", _("Assigned to me")), ("none", _("Unassigned"))] + [
            (str(u.pk), u.get_username()) for u in collectors()
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "me":
            return queryset.filter(collection_case__collector=request.user)
        if value == "none":
            return queryset.filter(Q(collection_case__isnull=True) | Q(collection_case__collector__isnull=True))
        if value and value.isdigit():
            return queryset.filter(collection_case__collector_id=int(value))
        return queryset


class PromiseFilter(admin.SimpleListFilter):
    title = _("promise to pay")
    parameter_name = "promise"

    def lookups(self, request, model_admin):
        from loans.models import PromiseStatus

        return PromiseStatus.choices

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(collection_case__promise__status=self.value())
        return queryset


@admin.register(DelinquentLoan)
class DelinquentLoanAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    scope_path = "customer"  # an officer's own book only (loansite/scoping.py)
    change_list_template = "admin/loans/collections/change_list.html"
    list_display = (
        "loan_link",
        "customer_name",
        "outstanding",
        "days_past_due",
        "dpd_bucket",
        "risk_class",
        "penalty",
        "collector",
        "last_contact",
        "promise",
    )
    list_display_links = None
    list_filter = ("dpd_bucket", "risk_class", CollectorFilter, PromiseFilter, "status")
    list_select_related = ("customer", "collection_case__collector", "collection_case__promise")
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50
    ordering = ("-days_past_due", "id")
    search_fields = ("=loan_number",)
    search_help_text = _("Loan number or customer name.")
    actions = ["assign_collector"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(status__in=(Loan.Status.OVERDUE, Loan.Status.WRITTEN_OFF))

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        from customers.models import Customer

        customers = Customer.objects.filter(name__icontains=term).values("pk")
        return queryset.filter(Q(loan_number=term.upper()) | Q(customer_id__in=customers)), False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("loans.view_delinquentloan")

    def has_assign_permission(self, request):
        return request.user.has_perm(PERM_ASSIGN)

    @admin.display(description=_("loan"), ordering="loan_number")
    def loan_link(self, obj):
        return format_html(
            '<a href="{}#collections">{}</a>', reverse("admin:loans_loan_change", args=[obj.pk]), obj.loan_number
        )

    @admin.display(description=_("customer"), ordering="customer__name")
    def customer_name(self, obj):
        return obj.customer.name

    @admin.display(description=_("outstanding"), ordering="outstanding_principal")
    def outstanding(self, obj):
        return format_html('<span class="num money">{}</span>', format_money(obj.outstanding_principal))

    @admin.display(description=_("penalty accrued"), ordering="penalty_accrued")
    def penalty(self, obj):
        return format_html('<span class="num money">{}</span>', format_money(obj.penalty_accrued))

    def _case(self, obj):
        try:
            return obj.collection_case
        except Loan.collection_case.RelatedObjectDoesNotExist:
            return None

    @admin.display(description=_("collector"))
    def collector(self, obj):
        case = self._case(obj)
        return case.collector.get_username() if case and case.collector_id else "-"

    @admin.display(description=_("last contact"), ordering="collection_case__last_contact_at")
    def last_contact(self, obj):
        case = self._case(obj)
        if not case or not case.last_contact_at:
            return "-"
        return f"{format_date(case.last_contact_at.date())} {case.get_last_contact_outcome_display()}"

    @admin.display(description=_("promise"))
    def promise(self, obj):
        case = self._case(obj)
        promise = case.promise if case else None
        if promise is None:
            return "-"
        return f"{format_date(promise.promised_date)} {format_money(promise.amount)} ({promise.get_status_display()})"

    @admin.action(description=_("Assign the selected loans to a collector"), permissions=["assign"])
    def assign_collector(self, request, queryset):
        return views.assign_selected(self, request, queryset)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        custom = [
            path("workbench/", wrap(self.workbench_view), name="loans_delinquentloan_workbench"),
            path(
                "<path:object_id>/collections/legal/<int:legal_id>/",
                wrap(self.legal_view),
                name="loans_delinquentloan_legal",
            ),
            path(
                "<path:object_id>/collections/<str:action>/",
                wrap(self.action_view),
                name="loans_delinquentloan_collections",
            ),
        ]
        return custom + super().get_urls()

    def workbench_view(self, request):
        return views.workbench_view(self, request)

    def action_view(self, request, object_id, action):
        return views.loan_collections_action_view(self, request, object_id, action)

    def legal_view(self, request, object_id, legal_id):
        return views.legal_move_view(self, request, object_id, legal_id)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "workbench_url": reverse("admin:loans_delinquentloan_workbench")}
        return super().changelist_view(request, extra_context)


class CollectionsRecordAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The collections records as read-only lists (written by the services, audited there)."""

    scope_path = "loan__customer"  # an officer's own book only (loansite/scoping.py)

    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50
    actions = None
    search_fields = ("=loan__loan_number",)
    search_help_text = _("Loan number.")

    @admin.display(description=_("loan"), ordering="loan__loan_number")
    def loan_link(self, obj):
        return format_html(
            '<a href="{}#collections">{}</a>', reverse("admin:loans_loan_change", args=[obj.loan_id]), obj.loan
        )


@admin.register(WriteOff)
class WriteOffAdmin(CollectionsRecordAdmin):
    list_display = (
        "loan_link",
        "written_off_on",
        money_column("principal", _("principal written off")),
        money_column("interest", _("unpaid interest (off balance)")),
        money_column("penalty", _("unpaid penalty (off balance)")),
        money_column("recovered_principal", _("principal recovered")),
        "settled_on",
        "approved_by",
    )
    list_filter = (("written_off_on", admin.DateFieldListFilter), ("settled_on", admin.EmptyFieldListFilter))
    list_select_related = ("loan", "approved_by")


@admin.register(Recovery)
class RecoveryAdmin(CollectionsRecordAdmin):
    list_display = (
        "bank_reference",
        "loan_link",
        "value_date",
        money_column("amount", _("amount")),
        money_column("principal", _("to principal")),
        money_column("interest", _("to interest")),
        money_column("penalty", _("to penalty")),
        "posted_by",
    )
    list_filter = (("value_date", admin.DateFieldListFilter),)
    list_select_related = ("loan", "posted_by")
    search_fields = ("=bank_reference", "=loan__loan_number")
    exclude = ("idempotency_key",)


@admin.register(LegalCase)
class LegalCaseAdmin(CollectionsRecordAdmin):
    list_display = (
        "loan_link",
        "status",
        money_column("claim_amount", _("amount claimed")),
        "court",
        "court_case_number",
        "opened_at",
        "updated_at",
    )
    list_filter = ("status",)
    list_select_related = ("loan",)


@admin.register(PromiseToPay)
class PromiseToPayAdmin(CollectionsRecordAdmin):
    list_display = (
        "loan_link",
        "created_on",
        "promised_date",
        money_column("amount", _("amount")),
        money_column("paid_amount", _("paid towards it")),
        "status",
        "resolved_on",
        "by",
    )
    list_filter = ("status", ("promised_date", admin.DateFieldListFilter))
    list_select_related = ("loan", "by")


@admin.register(CollectionContact)
class CollectionContactAdmin(CollectionsRecordAdmin):
    list_display = ("loan_link", "contacted_at", "channel", "outcome", "next_action_date", "by")
    list_filter = ("channel", "outcome", ("contacted_at", admin.DateFieldListFilter))
    list_select_related = ("loan", "by")
