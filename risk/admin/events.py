"""Risk events (the case page: timeline, handling, analysis) and alerts."""

from django.contrib import admin, messages
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import ReadOnlyAdminMixin
from loansite.errors import ApplicationError
from risk.models import Alert, AlertAction, RiskEvent
from risk.services.events import alert_acknowledge, alert_close


@admin.register(RiskEvent)
class RiskEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "label",
        "customer",
        "level_badge",
        "score",
        "rules",
        "status",
        "assignee",
        "escalated",
        "hits",
        "opened_at",
        "last_seen_at",
    )
    list_filter = ("status", "level", "source", "escalated", "opened_at")
    search_fields = ("customer__name", "=id")
    list_select_related = ("customer", "assignee")
    raw_id_fields = ("customer",)
    show_full_result_count = False
    ordering = ("-opened_at", "-id")
    fields = (
        "customer",
        "level",
        "score",
        "rules",
        "source",
        "signal_key",
        "status",
        "assignee",
        "escalated",
        "outcome",
        "hits",
        "opened_at",
        "last_seen_at",
        "resolved_at",
    )
    readonly_fields = fields
    change_form_template = "admin/risk/riskevent/change_form.html"
    change_list_template = "admin/risk/riskevent/change_list.html"

    @admin.display(description=_("event"), ordering="id")
    def label(self, obj):
        return str(obj)

    @admin.display(description=_("level"), ordering="level")
    def level_badge(self, obj):
        return format_html('<span class="risk-level risk-level-{}">{}</span>', obj.level, obj.get_level_display())

    @admin.display(description=_("rules hit"))
    def rules(self, obj):
        from risk.selectors import risk_rule_labels

        return risk_rule_labels(obj.rules_hit)

    def get_urls(self):
        from risk.admin import views

        return [
            path("monitor/", self.admin_site.admin_view(views.risk_monitor_view), name="risk_monitor"),
            path(
                "<int:pk>/handle/<str:action>/",
                self.admin_site.admin_view(views.risk_event_handle_view),
                name="risk_riskevent_handle",
            ),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from risk.admin.views import risk_event_page_context

        extra_context = {**(extra_context or {}), **risk_event_page_context(request, object_id)}
        return super().change_view(request, object_id, form_url, extra_context)


class AlertActionInline(admin.TabularInline):
    model = AlertAction
    fields = ("created_at", "kind", "actor", "text")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("risk.view_alert")


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "severity", "status", "customer", "event", "source", "assignee", "created_at")
    list_filter = ("status", "severity", "source", "created_at")
    search_fields = ("title", "customer__name")
    list_select_related = ("customer", "event", "assignee")
    show_full_result_count = False
    fields = ("event", "customer", "severity", "title", "source", "status", "assignee", "created_at", "closed_at")
    readonly_fields = fields
    inlines = [AlertActionInline]
    actions = ["acknowledge", "close"]

    def has_handle_permission(self, request):
        return request.user.has_perm("risk.handle_alert")

    def _each(self, request, queryset, service, done_message, **kwargs):
        done = 0
        for alert in queryset:
            try:
                service(actor=request.user, alert=alert, **kwargs)
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"{alert}: {exc.message}", level=messages.WARNING)
        if done:
            self.message_user(request, done_message % {"n": done}, level=messages.SUCCESS)

    @admin.action(description=_("Acknowledge the selected alerts"), permissions=["handle"])
    def acknowledge(self, request, queryset):
        self._each(request, queryset, alert_acknowledge, _("%(n)s alerts acknowledged."))

    @admin.action(description=_("Close the selected alerts"), permissions=["handle"])
    def close(self, request, queryset):
        self._each(request, queryset, alert_close, _("%(n)s alerts closed."), note=str(_("Closed from the alert list")))
