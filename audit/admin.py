from django.contrib import admin
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from import_export import fields
from import_export.admin import ExportMixin

from audit.admin_mixins import AuditedExportMixin, ReadOnlyAdminMixin
from audit.models import AuditEntry
from loansite.exports import FormulaEscapingResource, SpreadsheetExportMixin

AUDIT_EXPORT_FIELDS = (
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


class AuditEntryResource(FormulaEscapingResource):
    """The audit trail with English headers and values; ``AuditEntryChineseResource`` in Chinese.

    Headers are the model's field names in the export's language ("Target", "对象"), the
    action its label (Approve / 批准), the time a date-time cell in local time."""

    LANGUAGE = "en"
    CELL_KINDS = {"seq": "number"}
    actor = fields.Field(attribute="actor_repr", column_name=capfirst(AuditEntry._meta.get_field("actor").verbose_name))
    action = fields.Field(attribute="action", column_name=capfirst(AuditEntry._meta.get_field("action").verbose_name))

    class Meta:
        model = AuditEntry
        fields = AUDIT_EXPORT_FIELDS
        export_order = AUDIT_EXPORT_FIELDS

    def dehydrate_action(self, entry):
        return str(entry.get_action_display())

    @classmethod
    def get_display_name(cls):
        return _("English headers")


for _name, _field in AuditEntryResource.fields.items():
    if _name not in ("actor", "action"):
        _field.column_name = capfirst(AuditEntry._meta.get_field(_name).verbose_name)


class AuditEntryChineseResource(AuditEntryResource):
    LANGUAGE = "zh-hans"

    @classmethod
    def get_display_name(cls):
        return _("Chinese headers (中文表头)")


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, SpreadsheetExportMixin, AuditedExportMixin, ExportMixin, admin.ModelAdmin):
    """Read-only for auditors and administrators; exports need ``audit.export_auditentry``."""

    resource_classes = [AuditEntryResource, AuditEntryChineseResource]
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
