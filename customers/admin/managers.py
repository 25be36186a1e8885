"""Relationship managers (the workload view), assignment history and matching runs."""

from django.contrib import admin
from django.db.models import Count
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import AuditedModelAdmin, ReadOnlyAdminMixin
from customers.admin.common import breakdown_table
from customers.admin.reference import ManagerCityFilter
from customers.forms import (
    RelationshipManagerAdminForm,
)
from customers.models import (
    Assignment,
    MatchingRun,
    RelationshipManager,
)
from loansite.admin_progress import ProgressRefreshMixin
from loansite.scoping import ScopedAdminMixin


@admin.register(RelationshipManager)
class RelationshipManagerAdmin(AuditedModelAdmin, admin.ModelAdmin):
    """The changelist is the workload view: customers per manager against capacity."""

    form = RelationshipManagerAdminForm

    list_display = [
        "__str__",
        "branch",
        "city_name",
        "seniority",
        "expertise",
        "load",
        "capacity",
        "utilisation",
        "active",
    ]
    list_filter = ["active", ManagerCityFilter, "seniority"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "branch", "city"]
    raw_id_fields = ["user"]
    list_select_related = ["user"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_customers=Count("customers"))

    @admin.display(description=_("city"), ordering="city")
    def city_name(self, obj):
        from customers.reference import city_label

        return city_label(obj.city)

    @admin.display(description=_("industries"))
    def expertise(self, obj):
        # The industries' names in the reader's language, not their codes.
        from customers.reference import industry_label

        return ", ".join(industry_label(code) for code in obj.industries or [])

    @admin.display(description=_("customers"), ordering="n_customers")
    def load(self, obj):
        return obj.n_customers

    @admin.display(description=_("utilisation"))
    def utilisation(self, obj):
        # A <meter>, not style attributes (Content-Security-Policy); red when full.
        full = obj.n_customers >= obj.capacity
        return format_html(
            '<meter class="utilisation{}" min="0" max="{}" value="{}"></meter> {}%',
            " utilisation-full" if full else "",
            max(obj.capacity, 1),
            min(obj.n_customers, max(obj.capacity, 1)),
            int(100 * obj.n_customers / obj.capacity) if obj.capacity else 100,
        )


@admin.register(Assignment)
class AssignmentAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    scope_path = "customer"  # an officer's own book only (loansite/scoping.py)
    list_display = ["created_at", "customer", "manager", "previous_manager", "kind", "score", "is_current"]
    list_filter = ["kind", "is_current", ("manager", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["customer__name", "=customer__credit_code", "reason"]
    list_select_related = ["customer", "manager__user", "previous_manager__user"]
    raw_id_fields = ["customer"]
    show_full_result_count = False
    readonly_fields = ["breakdown"]

    @admin.display(description=_("match score breakdown"))
    def breakdown(self, obj):
        return breakdown_table(obj.components or {})


@admin.register(MatchingRun)
class MatchingRunAdmin(ProgressRefreshMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    change_form_template = "admin/customers/matchingrun/change_form.html"
    list_display = ["pk", "created_at", "scope", "status", "progress", "assigned", "total_score", "greedy_score"]
    list_filter = ["status", "scope"]
    readonly_fields = [f.name for f in MatchingRun._meta.fields] + ["progress"]

    @admin.display(description=_("progress"))
    def progress(self, obj):
        return format_html(
            '<progress max="100" value="{}"></progress> {}% ({}/{})',
            obj.percent,
            obj.percent,
            obj.processed,
            obj.customers_total,
        )
