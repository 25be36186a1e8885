"""``/api/v1/loans/automated-decisions/``: the review queue (filters), confirm a sampled
decision, reopen an automated decision. Thin callers of ``loans.services.automation``."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from loans.models import AutomatedDecision
from loans.services.automation import PERM_REVIEW_AUTOMATED, automated_decision_reopen, automated_decision_review
from loansite.api.permissions import require_perms
from loansite.scoping import ScopedViewSetMixin

TEXT_MAX = 2000


class AutomatedDecisionSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(source="application.reference", read_only=True)

    class Meta:
        model = AutomatedDecision
        fields = [
            "id",
            "application",
            "reference",
            "review_round",
            "kind",
            "rules",
            "checks",
            "score_points",
            "score_grade",
            "score_probability",
            "score_model_version",
            "actor_label",
            "sampled",
            "review_status",
            "reviewed_by",
            "reviewed_at",
            "review_note",
            "reopen_until",
            "created_at",
        ]
        read_only_fields = fields


class ReviewInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="")


class ReopenInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=TEXT_MAX)


class AutomatedDecisionViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    scope_path = "application__customer"  # an officer's own book only (loansite/scoping.py)
    queryset = AutomatedDecision.objects.select_related("application")
    serializer_class = AutomatedDecisionSerializer
    filterset_fields = ["review_status", "kind", "sampled", "application"]
    ordering = ["-created_at", "-id"]

    @extend_schema(request=ReviewInputSerializer, responses=AutomatedDecisionSerializer)
    @action(detail=True, methods=["post"], permission_classes=[require_perms(PERM_REVIEW_AUTOMATED)])
    def review(self, request, pk=None):
        decision = get_object_or_404(AutomatedDecision, pk=pk)
        data = ReviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decision = automated_decision_review(actor=request.user, decision=decision, note=data.validated_data["note"])
        return Response(AutomatedDecisionSerializer(decision).data)

    @extend_schema(request=ReopenInputSerializer, responses=AutomatedDecisionSerializer)
    @action(detail=True, methods=["post"], permission_classes=[require_perms(PERM_REVIEW_AUTOMATED)])
    def reopen(self, request, pk=None):
        decision = get_object_or_404(AutomatedDecision, pk=pk)
        data = ReopenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        automated_decision_reopen(actor=request.user, decision=decision, reason=data.validated_data["reason"])
        decision.refresh_from_db()
        return Response(AutomatedDecisionSerializer(decision).data)
