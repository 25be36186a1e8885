from django.apps import apps
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


def _target_model(target_type: str):
    try:
        return apps.get_model(target_type)
    except (LookupError, ValueError):
        return None


def target_type_label(target_type: str) -> str:
    """``loans.loanapplication`` as the reader calls it ("Loan application" / "贷款申请")."""
    model = _target_model(target_type)
    return capfirst(model._meta.verbose_name) if model is not None else target_type


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

    def dehydrate_target_type(self, entry):
        # 贷款申请, not loans.loanapplication (the English export keeps the code).
        return str(target_type_label(entry.target_type))

    @classmethod
    def get_display_name(cls):
        return _("Chinese headers (中文表头)")


class TargetTypeFilter(admin.SimpleListFilter):
    """The kinds of record in the trail, named in the page's language."""

    title = _("target type")
    parameter_name = "target_type"

    def lookups(self, request, model_admin):
        values = AuditEntry.objects.order_by().values_list("target_type", flat=True).distinct()
        return sorted(((value, target_type_label(value)) for value in values if value), key=lambda item: str(item[1]))

    def queryset(self, request, queryset):
        return queryset.filter(target_type=self.value()) if self.value() else queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, SpreadsheetExportMixin, AuditedExportMixin, ExportMixin, admin.ModelAdmin):
    """Read-only for auditors and administrators; exports need ``audit.export_auditentry``."""

    resource_classes = [AuditEntryResource, AuditEntryChineseResource]
    list_display = ("seq", "created_at", "actor_repr", "action", "target_kind", "target_id", "target_repr", "ip")
    list_filter = ("action", ("actor", admin.RelatedOnlyFieldListFilter), TargetTypeFilter, "created_at")
    search_fields = ("=actor_repr", "target_repr", "=target_id", "=ip", "=request_id", "reason")
    date_hierarchy = "created_at"
    show_full_result_count = False
    list_per_page = 50
    readonly_fields = ["changes_shown"] + [f.name for f in AuditEntry._meta.fields]
    ordering = ("-seq",)

    def has_export_permission(self, request):
        return request.user.has_perm("audit.export_auditentry")

    @admin.display(description=_("target type"), ordering="target_type")
    def target_kind(self, entry):
        return target_type_label(entry.target_type)

    @admin.display(description=_("what changed"))
    def changes_shown(self, entry):
        """The changes with field names and choice values as labels (Status: Under review → Approved);
        the entry's own record of them stays below as written."""
        from audit.history import entry_change_summary

        return entry_change_summary(entry, _target_model(entry.target_type)) or "-"

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions
