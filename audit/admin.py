from django.contrib import admin
from import_export import fields
from import_export.admin import ExportMixin

from audit.admin_mixins import AuditedExportMixin, ReadOnlyAdminMixin
from audit.models import AuditEntry
from loansite.exports import FormulaEscapingResource


class AuditEntryResource(FormulaEscapingResource):
    actor = fields.Field(attribute="actor_repr", column_name="actor")

    class Meta:
        model = AuditEntry
        fields = (
            "seq",
            "created_at",
            "actor",
            "action",
            "target_type",
            "target_id",
            "target_repr",
            "changes",
            "reason",
            "ip",
            "user_agent",
            "request_id",
            "prev_hash",
            "hash",
        )
        export_order = fields


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, AuditedExportMixin, ExportMixin, admin.ModelAdmin):
    """Read-only for auditors and administrators; exports need ``audit.export_auditentry``."""

    resource_classes = [AuditEntryResource]
    list_display = ("seq", "created_at", "actor_repr", "action", "target_type", "target_id", "target_repr", "ip")
    list_filter = ("action", ("actor", admin.RelatedOnlyFieldListFilter), "target_type", "created_at")
    search_fields = ("=actor_repr", "target_repr", "=target_id", "=ip", "=request_id", "reason")
    date_hierarchy = "created_at"
    show_full_result_count = False
    list_per_page = 50
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
    ordering = ("-seq",)

    def has_export_permission(self, request):
        return request.user.has_perm("audit.export_auditentry")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions
