"""Automated decisions in the admin: the list is the review queue (filter: sampled, awaiting
review); an automated decision's page confirms the review or reopens it with a reason."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from audit.admin_mixins import ReadOnlyAdminMixin
from loans.models import AutomatedDecision
from loans.services.automation import PERM_REVIEW_AUTOMATED, automated_decision_reopen, automated_decision_review
from loansite.errors import ApplicationError
from loansite.scoping import ScopedAdminMixin


@admin.register(AutomatedDecision)
class AutomatedDecisionAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    scope_path = "application__customer"  # an officer's own book only (loansite/scoping.py)
    list_display = [
        "created_at",
        "application",
        "kind",
        "score_grade",
        "score_points",
        "rules_hit",
        "sampled",
        "review_status",
        "reviewed_by",
        "reopen_until",
    ]
    list_filter = ["review_status", "kind", "sampled", "score_grade"]
    list_select_related = ["application", "reviewed_by"]
    search_fields = ["application__reference"]
    raw_id_fields = ["application"]
    show_full_result_count = False
    change_form_template = "admin/loans/automateddecision/change_form.html"
    fields = [
        "application",
        "review_round",
        "kind",
        "rules",
        "checks",
        "score_points",
        "score_grade",
        "score_probability",
        "score_model_version",
        "actor_label",
        "created_at",
        "sampled",
        "review_status",
        "reviewed_by",
        "reviewed_at",
        "review_note",
        "reopen_until",
    ]

    @admin.display(description=_("rules hit"))
    def rules_hit(self, obj):
        return ", ".join(hit["kind"] for hit in obj.rules) or "—"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/review/", wrap(self.review_view), name="loans_automateddecision_review"),
            path("<int:pk>/reopen/", wrap(self.reopen_view), name="loans_automateddecision_reopen"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from django.utils import timezone

        obj = AutomatedDecision.objects.filter(pk=object_id).first()
        extra = {
            "can_review": request.user.has_perm(PERM_REVIEW_AUTOMATED),
            "reviewable": obj is not None and obj.review_status == AutomatedDecision.Review.PENDING,
            "reopenable": obj is not None
            and obj.kind in AutomatedDecision.FINAL
            and obj.review_status != AutomatedDecision.Review.REOPENED
            and obj.reopen_until is not None
            and obj.reopen_until >= timezone.now(),
        }
        return super().change_view(request, object_id, form_url, extra_context={**extra, **(extra_context or {})})

    def _act(self, request, pk, call, done):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(PERM_REVIEW_AUTOMATED):
            raise PermissionDenied
        decision = get_object_or_404(AutomatedDecision, pk=pk)
        try:
            call(decision)
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
            return HttpResponseRedirect(reverse("admin:loans_automateddecision_change", args=[pk]))
        messages.success(request, done)
        return HttpResponseRedirect(reverse("admin:loans_loanapplication_change", args=[decision.application_id]))

    def review_view(self, request, pk):
        note = request.POST.get("note", "")[:2000]
        return self._act(
            request,
            pk,
            lambda d: automated_decision_review(actor=request.user, decision=d, note=note),
            _("Review recorded: the automated decision stands."),
        )

    def reopen_view(self, request, pk):
        reason = request.POST.get("reason", "")[:2000]
        return self._act(
            request,
            pk,
            lambda d: automated_decision_reopen(actor=request.user, decision=d, reason=reason),
            _("Reopened: the application is under review again, with you as reviewer."),
        )
