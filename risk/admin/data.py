"""Data management in the admin: sources, quality checks and their results."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import AuditedModelAdmin, ReadOnlyAdminMixin
from risk.models import DataQualityCheck, DataQualityResult, DataSource


@admin.register(DataSource)
class DataSourceAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "expected_every_hours",
        "active",
        "received_total",
        "received_last_day",
        "last_received",
        "fresh",
    )
    fields = ("code", "name", "description", "expected_every_hours", "active")
    readonly_fields = ("code",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        from risk.monitoring import data_sources_overview

        self._overview = {row["code"]: row for row in data_sources_overview()}
        return super().changelist_view(request, extra_context)

    def _stat(self, obj, name):
        return getattr(self, "_overview", {}).get(obj.code, {}).get(name)

    @admin.display(description=_("received (all time)"))
    def received_total(self, obj):
        return self._stat(obj, "total")

    @admin.display(description=_("received (last 24 h)"))
    def received_last_day(self, obj):
        return self._stat(obj, "last_day")

    @admin.display(description=_("last received"))
    def last_received(self, obj):
        return self._stat(obj, "last_received") or "-"

    @admin.display(description=_("fresh"), boolean=True)
    def fresh(self, obj):
        return self._stat(obj, "fresh")


@admin.register(DataQualityCheck)
class DataQualityCheckAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("code", "name", "dataset", "kind", "enabled", "last_result")
    list_filter = ("dataset", "kind", "enabled")
    actions = ["run_now"]

    def has_delete_permission(self, request, obj=None):
        return False

    def has_run_permission(self, request):
        return request.user.has_perm("risk.change_dataqualitycheck")

    @admin.display(description=_("last result"))
    def last_result(self, obj):
        result = obj.results.order_by("-id").first()
        if result is None:
            return "-"
        return _("passed") if result.passed else _("%(n)s failing") % {"n": result.failing}

    @admin.action(description=_("Run the selected checks now"), permissions=["run"])
    def run_now(self, request, queryset):
        from risk.services.quality import quality_check_run

        failed = [check.code for check in queryset if not quality_check_run(check).passed]
        if failed:
            self.message_user(request, _("Failing: %(codes)s") % {"codes": ", ".join(failed)}, level=messages.WARNING)
        else:
            self.message_user(request, _("All selected checks passed."), level=messages.SUCCESS)


@admin.register(DataQualityResult)
class DataQualityResultAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("check_def", "ran_at", "passed", "checked", "failing", "measured")
    list_filter = ("passed", "check_def", "ran_at")
    list_select_related = ("check_def",)
    fields = ("check_def", "ran_at", "passed", "checked", "failing", "measured", "detail", "failing_rows")
    readonly_fields = fields
    show_full_result_count = False
