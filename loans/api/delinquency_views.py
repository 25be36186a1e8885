"""``/api/v1/loans/delinquency/`` (each live loan's state from the daily close, with its history),
``/api/v1/loans/classification-changes/`` (history; POST a downgrade or an upgrade request;
``approve/`` and ``refuse/``) and ``/api/v1/loans/day-closes/``: thin callers of the
classification services. 400 on bad input, 403 by role, 409 on a decided change."""

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from loans.api.serializers import ErrorSerializer
from loans.models import (
    RISK_CLASS_ORDER,
    ClassificationChange,
    DayClose,
    DpdBucket,
    Loan,
    LoanDaySnapshot,
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
from loansite.api.permissions import require_perms
from loansite.scoping import ScopedViewSetMixin

CONFLICT = OpenApiResponse(ErrorSerializer, description="Decided already, or a concurrent change")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="Role or maker-checker refuses")


class DelinquencySerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)

    class Meta:
        model = Loan
        fields = (
            "id",
            "loan_number",
            "customer",
            "customer_name",
            "status",
            "outstanding_principal",
            "days_past_due",
            "dpd_bucket",
            "risk_class",
            "risk_class_manual",
            "overdue_since",
            "penalty_accrued",
            "penalty_paid",
        )


class SnapshotSerializer(serializers.ModelSerializer):
    class Meta:
        model = LoanDaySnapshot
        exclude = ("id", "loan")


class ClassificationChangeSerializer(serializers.ModelSerializer):
    loan_number = serializers.CharField(source="loan.loan_number", read_only=True)
    requested_by = serializers.StringRelatedField()
    approved_by = serializers.StringRelatedField()

    class Meta:
        model = ClassificationChange
        fields = (
            "id",
            "loan",
            "loan_number",
            "date",
            "from_class",
            "to_class",
            "source",
            "status",
            "reason",
            "days_past_due",
            "requested_by",
            "approved_by",
            "decision_note",
            "created_at",
            "decided_at",
        )


class ReminderSerializer(serializers.ModelSerializer):
    class Meta:
        model = Reminder
        fields = ("id", "installment", "date", "kind", "channel", "status", "recipient", "language", "sent_at")


class DelinquencyDetailSerializer(DelinquencySerializer):
    snapshots = serializers.SerializerMethodField()
    classification_history = serializers.SerializerMethodField()
    reminders = serializers.SerializerMethodField()

    class Meta(DelinquencySerializer.Meta):
        fields = (*DelinquencySerializer.Meta.fields, "snapshots", "classification_history", "reminders")

    @extend_schema_field(SnapshotSerializer(many=True))
    def get_snapshots(self, loan):
        return SnapshotSerializer(loan.snapshots.order_by("-date")[:90], many=True).data

    @extend_schema_field(ClassificationChangeSerializer(many=True))
    def get_classification_history(self, loan):
        rows = loan.classification_changes.select_related("loan", "requested_by", "approved_by").order_by(
            "-date", "-id"
        )
        return ClassificationChangeSerializer(rows[:100], many=True).data

    @extend_schema_field(ReminderSerializer(many=True))
    def get_reminders(self, loan):
        return ReminderSerializer(loan.reminders.order_by("-date", "-id")[:100], many=True).data


class DelinquencyFilter(django_filters.FilterSet):
    bucket = django_filters.MultipleChoiceFilter(field_name="dpd_bucket", choices=DpdBucket.choices)
    risk_class = django_filters.MultipleChoiceFilter(choices=RiskClass.choices)
    min_dpd = django_filters.NumberFilter(field_name="days_past_due", lookup_expr="gte")
    npl = django_filters.BooleanFilter(method="filter_npl")

    class Meta:
        model = Loan
        fields = []

    def filter_npl(self, queryset, name, value):
        npl = ("substandard", "doubtful", "loss")
        return queryset.filter(risk_class__in=npl) if value else queryset.exclude(risk_class__in=npl)


class DelinquencyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Live loans with their days past due, bucket, classification and penalties."""

    queryset = Loan.objects.filter(status__in=Loan.LIVE).select_related("customer").order_by("-days_past_due", "id")
    filterset_class = DelinquencyFilter
    search_fields = ("=loan_number",)
    ordering_fields = ("days_past_due", "penalty_accrued", "outstanding_principal")

    def get_permissions(self):
        return [require_perms("loans.view_loan", "loans.view_loandaysnapshot")()]

    def get_serializer_class(self):
        return DelinquencyDetailSerializer if self.action == "retrieve" else DelinquencySerializer


class ClassificationChangeCreateSerializer(serializers.Serializer):
    loan = serializers.PrimaryKeyRelatedField(queryset=Loan.objects.all())
    to_class = serializers.ChoiceField(choices=RiskClass.choices)
    reason = serializers.CharField(max_length=2000)


class DecisionSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ClassificationChangeViewSet(ScopedViewSetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """The classification history. POST: a worse category applies at once (downgrade), a better
    one waits for a credit approver (``approve/``, ``refuse/``)."""

    scope_path = "loan__customer"

    queryset = ClassificationChange.objects.select_related("loan", "requested_by", "approved_by").order_by(
        "-date", "-id"
    )
    serializer_class = ClassificationChangeSerializer
    filterset_fields = ("status", "source", "loan")

    def get_permissions(self):
        if self.action == "create":
            return [require_perms("loans.view_loan", PERM_DOWNGRADE)()]
        if self.action in ("approve", "refuse"):
            return [require_perms("loans.view_loan", PERM_APPROVE)()]
        return [require_perms("loans.view_classificationchange")()]

    @extend_schema(
        request=ClassificationChangeCreateSerializer,
        responses={201: ClassificationChangeSerializer, 403: FORBIDDEN, 409: CONFLICT},
    )
    def create(self, request, *args, **kwargs):
        data = ClassificationChangeCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        loan, to_class, reason = (data.validated_data[k] for k in ("loan", "to_class", "reason"))
        if RISK_CLASS_ORDER[to_class] > RISK_CLASS_ORDER[loan.risk_class]:
            change = loan_classification_downgrade(actor=request.user, loan=loan, to_class=to_class, reason=reason)
        else:
            change = loan_classification_request_upgrade(
                actor=request.user, loan=loan, to_class=to_class, reason=reason
            )
        return Response(ClassificationChangeSerializer(change).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DecisionSerializer, responses={200: ClassificationChangeSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change = classification_change_approve(
            actor=request.user, change=self.get_object(), note=data.validated_data["note"]
        )
        return Response(ClassificationChangeSerializer(change).data)

    @extend_schema(request=DecisionSerializer, responses={200: ClassificationChangeSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def refuse(self, request, pk=None):
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change = classification_change_refuse(
            actor=request.user, change=self.get_object(), note=data.validated_data["note"]
        )
        return Response(ClassificationChangeSerializer(change).data)


class DayCloseSerializer(serializers.ModelSerializer):
    class Meta:
        model = DayClose
        fields = ("id", "date", "status", "step", "started_at", "finished_at", "runs", "counts")


class DayCloseViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = DayClose.objects.order_by("-date")
    serializer_class = DayCloseSerializer

    def get_permissions(self):
        return [require_perms("loans.view_dayclose")()]
