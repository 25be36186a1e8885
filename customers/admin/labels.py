"""Tags, needs and interests."""

from django.contrib import admin
from django.db.models import Count
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import AuditedModelAdmin
from customers.models import (
    Interest,
    Need,
    Tag,
)


@admin.register(Tag)
class TagAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ["name", "swatch", "description", "customer_count"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_customers=Count("customers"))

    @admin.display(description=_("colour"))
    def swatch(self, obj):
        # An SVG fill, not a style attribute (Content-Security-Policy).
        return format_html(
            '<svg class="tag-swatch" width="32" height="16" aria-hidden="true">'
            '<rect width="32" height="16" fill="{}"></rect></svg> {}',
            obj.colour,
            obj.colour,
        )

    @admin.display(description=_("customers"), ordering="n_customers")
    def customer_count(self, obj):
        return obj.n_customers


@admin.register(Need)
class NeedAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ["code", "name"]


@admin.register(Interest)
class InterestAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ["code", "name"]
