"""Rules and level thresholds: every save is a new version through the rule services."""

from django import forms
from django.contrib import admin, messages
from django.urls import path
from django.utils.translation import gettext_lazy as _

from loansite.errors import ApplicationError
from risk.forms import RuleForm
from risk.models import LevelThreshold, RiskRule, RiskRuleVersion
from risk.services.rules import rule_create, rule_update, thresholds_update


class RuleVersionInline(admin.TabularInline):
    model = RiskRuleVersion
    verbose_name_plural = _("versions")
    fields = ("version", "params", "points", "enabled", "changed_by", "changed_at", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("risk.view_riskrule")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("changed_by")


@admin.register(RiskRule)
class RiskRuleAdmin(admin.ModelAdmin):
    form = RuleForm
    list_display = ("code", "name", "kind", "points", "enabled", "version", "updated_by", "updated_at")
    list_filter = ("enabled", "kind")
    search_fields = ("code", "name")
    list_select_related = ("updated_by",)
    readonly_fields = ("version", "updated_by", "updated_at")
    inlines = [RuleVersionInline]
    change_form_template = "admin/risk/riskrule/change_form.html"

    def has_delete_permission(self, request, obj=None):
        return False  # rules are switched off, never deleted: their versions explain past scores

    def get_urls(self):
        from risk.admin.views import rule_simulate_view

        urls = [
            path(
                "<int:pk>/simulate/",
                self.admin_site.admin_view(rule_simulate_view),
                name="risk_riskrule_simulate",
            )
        ]
        return urls + super().get_urls()

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if change:
                saved = rule_update(
                    actor=request.user,
                    rule=RiskRule.objects.get(pk=obj.pk),
                    params=data["params"],
                    points=data["points"],
                    enabled=data["enabled"],
                    reason=data.get("reason", ""),
                    name=data["name"],
                    description=data.get("description", ""),
                )
            else:
                saved = rule_create(
                    actor=request.user,
                    code=data["code"],
                    name=data["name"],
                    kind=data["kind"],
                    params=data["params"],
                    points=data["points"],
                    enabled=data["enabled"],
                    description=data.get("description", ""),
                )
        except ApplicationError as exc:
            # The form checked the parameters; what is left is a concurrent change.
            self.message_user(request, str(exc.message), level=messages.ERROR)
            raise
        obj.pk, obj.version = saved.pk, saved.version

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError:
            from django.http import HttpResponseRedirect

            return HttpResponseRedirect(request.path)


class LevelThresholdForm(forms.ModelForm):
    class Meta:
        model = LevelThreshold
        fields = ["min_score"]

    def clean_min_score(self):
        value = self.cleaned_data["min_score"]
        current = dict(LevelThreshold.objects.values_list("level", "min_score"))
        current[self.instance.level] = value
        if not 0 < current.get("medium", 40) < current.get("high", 80):
            raise forms.ValidationError(_("Medium must start above 0 and below high."))
        return value


@admin.register(LevelThreshold)
class LevelThresholdAdmin(admin.ModelAdmin):
    form = LevelThresholdForm
    list_display = ("level", "min_score", "updated_by", "updated_at")
    fields = ("level", "min_score")
    readonly_fields = ("level",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        current = dict(LevelThreshold.objects.values_list("level", "min_score"))
        current[obj.level] = obj.min_score
        try:
            thresholds_update(
                actor=request.user,
                medium=current.get("medium", 40),
                high=current.get("high", 80),
                reason=_("Changed in the admin"),
            )
        except ApplicationError as exc:
            self.message_user(request, str(exc.message), level=messages.ERROR)
