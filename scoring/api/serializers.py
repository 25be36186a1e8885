from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from customers.models import CityTier
from customers.reference import industry_choices
from scoring.models import ModelKind, ModelVersion, ScoringRun, TrainingRun

ZERO = Decimal("0")


def _money(required=False):
    return serializers.DecimalField(
        max_digits=16, decimal_places=2, min_value=ZERO, required=required, allow_null=not required
    )


def _count(required=False, max_value=None):
    return serializers.IntegerField(min_value=0, max_value=max_value, required=required, allow_null=not required)


class PredictionInputSerializer(serializers.Serializer):
    product = serializers.CharField(required=False, allow_blank=True, max_length=32)
    amount = _money(required=True)
    term_months = _count(required=True, max_value=360)
    industry = serializers.CharField(required=False, allow_null=True, max_length=32)
    city_tier = serializers.ChoiceField(choices=CityTier.choices, required=False, allow_null=True)
    credit_score = _count(max_value=1000)
    years_in_business = _count(max_value=200)
    employees = _count()
    area_m2 = _money()
    monthly_revenue = _money(required=True)
    monthly_cost = _money(required=True)
    monthly_foot_traffic = _count()
    total_assets = _money()
    total_liabilities = _money()
    current_assets = _money()
    current_liabilities = _money()
    net_profit = serializers.DecimalField(max_digits=16, decimal_places=2, required=False, allow_null=True)
    annual_revenue = _money()
    prior_applications = _count()
    prior_approved = _count()
    prior_rejected = _count()

    def validate_industry(self, value):
        if value and value not in dict(industry_choices(include=value)):
            raise serializers.ValidationError(_("Unknown industry."))
        return value

    def validate_amount(self, value):
        if value <= 0:
            raise serializers.ValidationError(_("The amount must be positive."))
        return value

    def validate_term_months(self, value):
        if value < 1:
            raise serializers.ValidationError(_("The term must be at least one month."))
        return value


class ReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    feature = serializers.CharField()
    points_lost = serializers.IntegerField()
    en = serializers.CharField()
    zh_hans = serializers.CharField()


class PredictionOutputSerializer(serializers.Serializer):
    probability_of_default = serializers.DecimalField(max_digits=5, decimal_places=4, required=False)
    points = serializers.IntegerField(required=False)
    grade = serializers.CharField(required=False)
    reasons = ReasonSerializer(many=True, required=False)
    approval_probability = serializers.DecimalField(max_digits=5, decimal_places=4, required=False)
    recommended_limit = serializers.DecimalField(max_digits=16, decimal_places=2, required=False)
    model_versions = serializers.DictField(child=serializers.CharField())


class ModelVersionSerializer(serializers.ModelSerializer):
    label = serializers.CharField(read_only=True)

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "label",
            "kind",
            "version",
            "status",
            "algorithm",
            "params",
            "features",
            "training_rows",
            "data_hash",
            "metrics",
            "library_versions",
            "artifact_size",
            "error",
            "created_at",
            "trained_at",
            "activated_at",
            "retired_at",
        ]
        read_only_fields = fields


class ReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class RollbackInputSerializer(ReasonInputSerializer):
    kind = serializers.ChoiceField(choices=ModelKind.choices)


class TrainInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ModelKind.choices)


class BatchScoreInputSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(choices=ScoringRun.Scope.choices, default=ScoringRun.Scope.PENDING)


class TrainingRunSerializer(serializers.ModelSerializer):
    model_version = serializers.StringRelatedField()

    class Meta:
        model = TrainingRun
        fields = [
            "id",
            "kind",
            "status",
            "percent",
            "stage",
            "rows",
            "model_version",
            "task_id",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class ScoringRunSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = ScoringRun
        fields = [
            "id",
            "scope",
            "status",
            "percent",
            "total",
            "done",
            "written",
            "cursor",
            "model_version_ids",
            "task_id",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class FileRowsInputSerializer(serializers.Serializer):
    rows = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=1000)


class TrainFileInputSerializer(serializers.Serializer):
    file = serializers.FileField()
    target = serializers.CharField(max_length=200)
    schema = serializers.JSONField(required=False)
