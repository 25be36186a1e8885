"""Reference data: cities with their tiers, industries and the GB/T 4754 sections.

Administrators edit them (every change audited); every business role reads them. Rows are
switched off (``active``), never deleted: customers keep the values they were filed with.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import AuditedModelAdmin
from customers.models import City, Industry, IndustrySection


class NoDeleteAdmin(AuditedModelAdmin, admin.ModelAdmin):
    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(City)
class CityAdmin(NoDeleteAdmin):
    list_display = ["short_name", "name_en", "code", "province", "tier", "active"]
    list_display_links = ["short_name", "name_en"]
    list_filter = ["tier", "active", "province"]
    list_editable = []
    search_fields = ["short_name", "name", "name_en", "=code", "province", "province_en"]
    list_per_page = 100
    show_full_result_count = False
    ordering = ["code"]
    fieldsets = [
        (None, {"fields": ["code", "name", "short_name", "name_en", "province", "province_en"]}),
        (_("Use"), {"fields": ["tier", "active"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # The stored value of customers and managers (name_en) and the code stay as seeded.
        return ["code", "name_en"] if obj is not None else []


@admin.register(IndustrySection)
class IndustrySectionAdmin(NoDeleteAdmin):
    list_display = ["code", "name", "name_en"]
    search_fields = ["code", "name", "name_en"]
    ordering = ["code"]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj is not None else []


@admin.register(Industry)
class IndustryAdmin(NoDeleteAdmin):
    list_display = ["name", "name_en", "code", "section", "divisions", "active"]
    list_display_links = ["name", "name_en"]
    list_filter = ["active", "section"]
    search_fields = ["code", "name", "name_en", "section__name"]
    list_select_related = ["section"]
    ordering = ["section__code", "code"]

    def get_readonly_fields(self, request, obj=None):
        # Customers store the code: it stays as created.
        return ["code"] if obj is not None else []


class CustomerIndustryFilter(admin.SimpleListFilter):
    """Industries from the reference table, in the page's language."""

    title = _("industry")
    parameter_name = "industry"

    def lookups(self, request, model_admin):
        from customers.reference import industry_choices

        return industry_choices()

    def queryset(self, request, queryset):
        return queryset.filter(industry=self.value()) if self.value() else queryset


class CustomerCityFilter(admin.SimpleListFilter):
    """The cities customers are in, named from the reference table in the page's language."""

    title = _("city")
    parameter_name = "city"

    def lookups(self, request, model_admin):
        from customers.models import Customer
        from customers.reference import city_label

        values = Customer.objects.order_by("city").values_list("city", flat=True).distinct()
        return [(value, city_label(value)) for value in values if value]

    def queryset(self, request, queryset):
        return queryset.filter(city=self.value()) if self.value() else queryset


class ManagerCityFilter(CustomerCityFilter):
    """The relationship managers' cities, named in the page's language."""

    def lookups(self, request, model_admin):
        from customers.models import RelationshipManager
        from customers.reference import city_label

        values = RelationshipManager.objects.order_by("city").values_list("city", flat=True).distinct()
        return [(value, city_label(value)) for value in values if value]
