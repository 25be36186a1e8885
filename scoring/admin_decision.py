"""Decisioning in the admin: the expert scorecard (weights, bands and levels as inlines),
policy rules and decision policies (risk analysts), model alerts with the backtest and
champion/challenger buttons of the model page. Every button calls a service."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import AuditedModelAdmin, ReadOnlyAdminMixin
from loansite.errors import ApplicationError
from scoring.models import (
    DecisionPolicy,
    ExpertBand,
    ExpertLevel,
    ExpertScorecard,
    ExpertWeight,
    ModelAlert,
    ModelVersion,
    PolicyRule,
)
from scoring.services.decision import (
    expert_scorecard_activate,
    expert_scorecard_errors,
    expert_scorecard_saved,
    model_alert_close,
    model_version_backtest,
    model_version_challenge,
    model_version_challenge_end,
    outcomes_derive,
)

ACTIVATE_PERM = "scoring.activate_modelversion"


class ExpertWeightInline(admin.TabularInline):
    model = ExpertWeight
    extra = 0


class ExpertBandInline(admin.TabularInline):
    model = ExpertBand
    extra = 0
    fields = ["indicator", "lower", "lower_inclusive", "upper", "upper_inclusive", "points"]


class ExpertLevelInline(admin.TabularInline):
    model = ExpertLevel
    extra = 0


@admin.register(ExpertScorecard)
class ExpertScorecardAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ["name", "version", "active", "updated_by", "updated_at"]
    list_filter = ["active"]
    fields = ["name", "notes", "version", "active", "updated_by", "updated_at", "problems"]
    readonly_fields = ["version", "active", "updated_by", "updated_at", "problems"]
    inlines = [ExpertWeightInline, ExpertBandInline, ExpertLevelInline]
    actions = ["activate_selected"]

    @admin.display(description=_("problems"))
    def problems(self, obj):
        if obj is None or not obj.pk:
            return "—"
        errors = expert_scorecard_errors(obj)
        if not errors:
            return _("None: weights sum to 1, bands meet without gaps or overlaps, levels start at 0.")
        return format_html_join("", "<p class='errornote'>{}</p>", ((e,) for e in errors))

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        changed = {
            fs.prefix: len(fs.changed_objects) + len(fs.new_objects) + len(fs.deleted_objects) for fs in formsets
        }
        if any(changed.values()) or form.has_changed():
            expert_scorecard_saved(scorecard=form.instance, actor=request.user, changes={"edited": changed})

    @admin.action(description=_("Use the selected scorecard for ratings"), permissions=["change"])
    def activate_selected(self, request, queryset):
        if queryset.count() != 1:
            messages.error(request, _("Choose exactly one scorecard."))
            return
        try:
            card = expert_scorecard_activate(scorecard=queryset.get(), actor=request.user)
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("%(card)s is now the expert scorecard in use.") % {"card": card})


@admin.register(PolicyRule)
class PolicyRuleAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ["kind", "threshold", "product", "action", "active", "updated_at"]
    list_filter = ["kind", "action", "active", "product"]
    list_select_related = ["product"]
    fields = ["kind", "threshold", "product", "action", "active"]

    def has_delete_permission(self, request, obj=None):
        return False  # switched off, never deleted: automated decisions name them

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        from django.utils import timezone

        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)

        class Checked(form):
            def clean(self):
                data = super().clean()
                if data.get("kind") in PolicyRule.NEEDS_THRESHOLD and data.get("threshold") is None:
                    self.add_error("threshold", _("This kind of rule needs a threshold."))
                return data

        return Checked


@admin.register(DecisionPolicy)
class DecisionPolicyAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "straight_through",
        "max_amount",
        "grades",
        "require_coverage",
        "auto_decline",
        "sample_rate",
        "reopen_days",
    ]
    list_select_related = ["product"]
    fields = [
        "product",
        "straight_through",
        "max_amount",
        "grades",
        "require_coverage",
        "auto_decline",
        "sample_rate",
        "reopen_days",
    ]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        from django.utils import timezone

        obj.grades = "".join(sorted({g for g in (obj.grades or "").upper() if g in "ABCDE"}))
        obj.updated_by, obj.updated_at = request.user, timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(ModelAlert)
class ModelAlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Alerts raised by backtests (AUC drop, PSI); the model page shows the open ones. Its
    URLs also carry the model page's backtest and challenger buttons."""

    list_display = ["created_at", "model_version", "kind", "value", "threshold", "closed_at"]
    list_filter = ["kind", ("closed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["model_version"]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("model_version__artifact", "model_version__reference")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/close/", wrap(self.close_view), name="scoring_modelalert_close"),
            path("version/<int:pk>/backtest/", wrap(self.backtest_view), name="scoring_modelalert_backtest"),
            path("version/<int:pk>/challenge/", wrap(self.challenge_view), name="scoring_modelalert_challenge"),
            path("challenge-end/<str:kind>/", wrap(self.challenge_end_view), name="scoring_modelalert_challenge_end"),
            *super().get_urls(),
        ]

    def _post(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(ACTIVATE_PERM):
            raise PermissionDenied
        return None

    def _model_page(self, pk):
        return HttpResponseRedirect(reverse("admin:scoring_modelversion_change", args=[pk]))

    def _run(self, request, call, done):
        try:
            call()
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, done)

    def close_view(self, request, pk):
        if (refused := self._post(request)) is not None:
            return refused
        alert = get_object_or_404(ModelAlert, pk=pk)
        self._run(request, lambda: model_alert_close(actor=request.user, alert=alert), _("Alert closed."))
        return self._model_page(alert.model_version_id)

    def backtest_view(self, request, pk):
        if (refused := self._post(request)) is not None:
            return refused
        version = get_object_or_404(ModelVersion.objects.defer("artifact"), pk=pk)

        def run():
            outcomes_derive(actor=request.user)
            model_version_backtest(version=version)

        self._run(request, run, _("Outcomes derived and backtest done."))
        return self._model_page(pk)

    def challenge_view(self, request, pk):
        if (refused := self._post(request)) is not None:
            return refused
        version = get_object_or_404(ModelVersion.objects.defer("artifact"), pk=pk)
        self._run(
            request,
            lambda: model_version_challenge(version=version, actor=request.user, reason=request.POST.get("reason", "")),
            _("This version now scores in shadow as the challenger."),
        )
        return self._model_page(pk)

    def challenge_end_view(self, request, kind):
        if (refused := self._post(request)) is not None:
            return refused
        from scoring.models import Challenger

        challenger = get_object_or_404(Challenger, kind=kind)
        self._run(
            request,
            lambda: model_version_challenge_end(kind=kind, actor=request.user),
            _("The challenge ended."),
        )
        return self._model_page(challenger.model_version_id)
