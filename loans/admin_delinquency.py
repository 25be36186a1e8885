"""Admin for the daily close: closes run, thresholds, provision rates and settings (risk role,
audited edits), classification history with downgrade / upgrade request / decision pages, the
per-day snapshots, reminders sent and delinquency signals (read-only records)."""

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import AuditedModelAdmin, ReadOnlyAdminMixin
from loans.admin_filters import CappedCountPaginator
from loans.models import (
    RISK_CLASS_ORDER,
    ClassificationChange,
    ClassificationThreshold,
    CloseSettings,
    DayClose,
    DelinquencySignal,
    Loan,
    LoanDaySnapshot,
    ProvisionRate,
    Reminder,
    RiskClass,
)
from loans.services.classification import (
    PERM_APPROVE,
    PERM_DOWNGRADE,
    classification_change_approve,
    classification_change_refuse,
    loan_classification_downgrade,
    loan_classification_request_upgrade,
)
from loansite.errors import ApplicationError
from loansite.scoping import ScopedAdminMixin


@admin.register(DayClose)
class DayCloseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("date", "status", "step", "started_at", "finished_at", "runs", "loans_in_arrears", "snapshots")
    list_filter = ("status",)
    ordering = ("-date",)
    readonly_fields = ("date", "status", "step", "started_at", "finished_at", "runs", "counts", "error")

    @admin.display(description=_("loans in arrears"))
    def loans_in_arrears(self, obj):
        return (obj.counts or {}).get("overdue", {}).get("loans_in_arrears", "-")

    @admin.display(description=_("snapshots"))
    def snapshots(self, obj):
        return (obj.counts or {}).get("snapshot", {}).get("snapshots", "-")


class _SettingsAdmin(AuditedModelAdmin, admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ClassificationThreshold)
class ClassificationThresholdAdmin(_SettingsAdmin):
    list_display = ("risk_class", "min_days_past_due", "updated_at")
    fields = ("risk_class", "min_days_past_due")
    readonly_fields = ("risk_class",)


@admin.register(ProvisionRate)
class ProvisionRateAdmin(_SettingsAdmin):
    list_display = ("risk_class", "rate", "updated_at")
    fields = ("risk_class", "rate")
    readonly_fields = ("risk_class",)


@admin.register(CloseSettings)
class CloseSettingsAdmin(_SettingsAdmin):
    list_display = ("__str__", "restructured_class", "observation_months", "default_lgd", "default_pd")
    fields = ("restructured_class", "observation_months", "default_lgd", "default_pd", "reminder_days_before")


class ReclassifyForm(forms.Form):
    to_class = forms.ChoiceField(label=_("new category"), choices=RiskClass.choices)
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class DecideForm(forms.Form):
    decision = forms.ChoiceField(label=_("decision"), choices=(("approve", _("Approve")), ("refuse", _("Refuse"))))
    note = forms.CharField(label=_("note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, required=False)


@admin.register(ClassificationChange)
class ClassificationChangeAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    scope_path = "loan__customer"  # an officer's own book only (loansite/scoping.py)
    list_display = (
        "date",
        "loan",
        "from_class",
        "to_class",
        "source",
        "status",
        "days_past_due",
        "requested_by",
        "approved_by",
    )
    list_filter = ("status", "source", "to_class")
    list_select_related = ("loan", "requested_by", "approved_by")
    search_fields = ("=loan__loan_number",)
    show_full_result_count = False
    paginator = CappedCountPaginator
    raw_id_fields = ("loan",)
    ordering = ("-date", "-id")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("loan/<int:loan_id>/reclassify/", wrap(self.reclassify_view), name="loans_loan_reclassify"),
            path("<int:change_id>/decide/", wrap(self.decide_view), name="loans_classificationchange_decide"),
            *super().get_urls(),
        ]

    def _page(self, request, *, title, obj, form, back_url, **extra):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "object": obj,
            "form": form,
            "back_url": back_url,
            **extra,
        }
        return TemplateResponse(request, "admin/loans/servicing/form_page.html", context)

    def reclassify_view(self, request, loan_id):
        if not request.user.has_perm(PERM_DOWNGRADE):
            raise Http404
        loan = get_object_or_404(Loan, pk=loan_id)
        back = reverse("admin:loans_loan_change", args=[loan.pk]) + "#delinquency"
        form = ReclassifyForm(request.POST or None, initial={"to_class": loan.risk_class})
        if request.method == "POST" and form.is_valid():
            to_class, reason = form.cleaned_data["to_class"], form.cleaned_data["reason"]
            try:
                if RISK_CLASS_ORDER[to_class] > RISK_CLASS_ORDER[loan.risk_class]:
                    loan_classification_downgrade(actor=request.user, loan=loan, to_class=to_class, reason=reason)
                    self.message_user(request, gettext("The loan is downgraded."), messages.SUCCESS)
                else:
                    loan_classification_request_upgrade(actor=request.user, loan=loan, to_class=to_class, reason=reason)
                    self.message_user(request, gettext("The upgrade waits for an approver."), messages.SUCCESS)
                return HttpResponseRedirect(back)
            except ApplicationError as exc:
                form.add_error(exc.extra.get("field") if exc.extra.get("field") in form.fields else None, exc.message)
        return self._page(
            request,
            title=gettext("Change the classification"),
            obj=loan,
            form=form,
            back_url=back,
            intro=gettext(
                "Now %(current)s. A worse category applies at once; a better one waits for a credit approver."
            )
            % {"current": loan.get_risk_class_display()},
        )

    def decide_view(self, request, change_id):
        if not request.user.has_perm(PERM_APPROVE):
            raise Http404
        change = get_object_or_404(ClassificationChange.objects.select_related("loan"), pk=change_id)
        back = reverse("admin:loans_loan_change", args=[change.loan_id]) + "#delinquency"
        form = DecideForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                if form.cleaned_data["decision"] == "approve":
                    classification_change_approve(actor=request.user, change=change, note=form.cleaned_data["note"])
                    self.message_user(request, gettext("The upgrade is applied."), messages.SUCCESS)
                else:
                    classification_change_refuse(actor=request.user, change=change, note=form.cleaned_data["note"])
                    self.message_user(request, gettext("The upgrade is refused."), messages.SUCCESS)
                return HttpResponseRedirect(back)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
        return self._page(
            request,
            title=gettext("Decide an upgrade"),
            obj=change.loan,
            form=form,
            back_url=back,
            result_rows=[
                (gettext("from"), change.get_from_class_display()),
                (gettext("to"), change.get_to_class_display()),
                (gettext("reason"), change.reason),
                (gettext("requested by"), str(change.requested_by or "-")),
            ],
        )


@admin.register(LoanDaySnapshot)
class LoanDaySnapshotAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    scope_path = "loan__customer"  # an officer's own book only (loansite/scoping.py)
    list_display = (
        "date",
        "loan",
        "days_past_due",
        "dpd_bucket",
        "risk_class",
        "outstanding_principal",
        "penalty_accrued",
        "provision",
        "expected_loss",
    )
    list_filter = ("date", "risk_class", "dpd_bucket")
    list_select_related = ("loan",)
    search_fields = ("=loan__loan_number",)
    show_full_result_count = False
    paginator = CappedCountPaginator
    ordering = ("-date", "loan")


@admin.register(Reminder)
class ReminderAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    scope_path = "loan__customer"  # an officer's own book only (loansite/scoping.py)
    list_display = ("date", "loan", "installment_number", "kind", "channel", "status", "recipient", "language_name")
    list_filter = ("status", "kind", "channel", "date")
    list_select_related = ("loan", "installment")
    search_fields = ("=loan__loan_number",)
    show_full_result_count = False
    paginator = CappedCountPaginator
    exclude = ("installment",)

    @admin.display(description=_("installment"))
    def installment_number(self, obj):
        return obj.installment.number

    @admin.display(description=_("language"), ordering="language")
    def language_name(self, obj):
        # 简体中文 / English, not the language code the reminder was written in.
        from django.utils.translation import get_language_info

        try:
            return get_language_info(obj.language)["name_translated"] if obj.language else ""
        except KeyError:
            return obj.language


@admin.register(DelinquencySignal)
class DelinquencySignalAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    scope_path = "loan__customer"  # an officer's own book only (loansite/scoping.py)
    list_display = ("date", "loan", "customer", "kind", "detail", "consumed_at")
    list_filter = ("kind", ("consumed_at", admin.EmptyFieldListFilter))
    list_select_related = ("loan", "customer")
    search_fields = ("=loan__loan_number",)
    show_full_result_count = False
    paginator = CappedCountPaginator
