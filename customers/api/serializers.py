from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from customers.masking import mask_id_number, mask_phone
from customers.models import Assignment, CreditLine, Customer, Interest, MatchingRun, Need, RelationshipManager, Tag
from customers.selectors import assignment_current, credit_line_active, credit_line_headroom

IDENTITY_FIELDS = ("credit_code", "id_number", "phone")
# Free text typed by staff (the model's text field has no bound of its own).
NOTES_MAX = 2000


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "colour", "description"]


class RatiosSerializer(serializers.Serializer):
    debt_ratio = serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True)
    current_ratio = serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True)
    net_margin = serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True)


class CustomerOutputSerializer(serializers.ModelSerializer):
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    needs = serializers.SlugRelatedField(many=True, read_only=True, slug_field="code")
    interests = serializers.SlugRelatedField(many=True, read_only=True, slug_field="code")
    manager_name = serializers.SerializerMethodField()
    ratios = RatiosSerializer(read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            "kind",
            "name",
            "credit_code",
            "id_number",
            "phone",
            "email",
            "address",
            "city",
            "city_tier",
            "industry",
            "years_in_business",
            "employees",
            "area_m2",
            "monthly_revenue",
            "monthly_cost",
            "monthly_foot_traffic",
            "credit_score",
            "total_assets",
            "total_liabilities",
            "current_assets",
            "current_liabilities",
            "net_profit",
            "annual_revenue",
            "ratios",
            "rating",
            "rating_date",
            "rating_source",
            "tags",
            "needs",
            "interests",
            "notes",
            "manager",
            "manager_name",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_manager_name(self, obj) -> str:
        return str(obj.manager) if obj.manager_id else ""

    def to_representation(self, instance):
        # ID and phone numbers in full only where the view says so (a single customer for a
        # user with customers.view_identifiers, audited); masked in lists and everywhere else.
        data = super().to_representation(instance)
        if not self.context.get("identifiers_full"):
            data["id_number"] = mask_id_number(data.get("id_number")) or None
            data["phone"] = mask_phone(data.get("phone"))
        return data


class CreditLineSerializer(serializers.ModelSerializer):
    available = serializers.DecimalField(max_digits=16, decimal_places=2, read_only=True)

    class Meta:
        model = CreditLine
        fields = ["id", "limit", "used", "available", "valid_from", "valid_to", "status"]
        read_only_fields = fields


class CurrentAssignmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Assignment
        fields = ["id", "manager", "kind", "score", "components", "created_at"]
        read_only_fields = fields


class CustomerDetailSerializer(CustomerOutputSerializer):
    """The list fields plus the active credit line, today's headroom and the current match breakdown."""

    credit_line = serializers.SerializerMethodField()
    credit_line_headroom = serializers.SerializerMethodField()
    assignment = serializers.SerializerMethodField()

    class Meta(CustomerOutputSerializer.Meta):
        fields = [*CustomerOutputSerializer.Meta.fields, "credit_line", "credit_line_headroom", "assignment"]
        read_only_fields = fields

    @extend_schema_field(CreditLineSerializer(allow_null=True))
    def get_credit_line(self, obj):
        line = credit_line_active(customer=obj)
        return CreditLineSerializer(line).data if line else None

    @extend_schema_field(serializers.DecimalField(max_digits=16, decimal_places=2))
    def get_credit_line_headroom(self, obj) -> str:
        return str(credit_line_headroom(customer=obj))

    @extend_schema_field(CurrentAssignmentSerializer(allow_null=True))
    def get_assignment(self, obj):
        current = assignment_current(customer=obj)
        return CurrentAssignmentSerializer(current).data if current else None


class CustomerInputSerializer(serializers.ModelSerializer):
    """Field types only: identity, uniqueness and business rules are the service's to check."""

    tags = serializers.SlugRelatedField(many=True, required=False, slug_field="name", queryset=Tag.objects.all())
    needs = serializers.SlugRelatedField(many=True, required=False, slug_field="code", queryset=Need.objects.all())
    interests = serializers.SlugRelatedField(
        many=True, required=False, slug_field="code", queryset=Interest.objects.all()
    )

    class Meta:
        model = Customer
        fields = [f for f in CustomerOutputSerializer.Meta.fields if f not in ("id", "ratios", "manager_name")]
        fields = [f for f in fields if f not in ("manager", "created_at", "updated_at")]
        extra_kwargs = {
            **{name: {"validators": []} for name in IDENTITY_FIELDS},
            "notes": {"max_length": NOTES_MAX},
        }
        validators = []


class ManagerSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    name = serializers.CharField(source="__str__", read_only=True)
    load = serializers.IntegerField(read_only=True)

    class Meta:
        model = RelationshipManager
        fields = ["id", "user", "username", "name", "branch", "city", "industries", "seniority", "capacity", "load"]
        fields += ["active"]
        read_only_fields = fields


class AssignmentSerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    manager_name = serializers.CharField(source="manager.__str__", read_only=True)
    kind = serializers.CharField(read_only=True, help_text="matching | manual")

    class Meta:
        model = Assignment
        fields = [
            "id",
            "customer",
            "customer_name",
            "manager",
            "manager_name",
            "previous_manager",
            "kind",
            "score",
            "components",
            "reason",
            "run",
            "assigned_by",
            "is_current",
            "created_at",
            "ended_at",
        ]
        read_only_fields = fields


class ReassignInputSerializer(serializers.Serializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())
    manager = serializers.PrimaryKeyRelatedField(queryset=RelationshipManager.objects.all())
    reason = serializers.CharField(max_length=NOTES_MAX)


class MatchingRunInputSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(choices=MatchingRun.Scope.choices, default=MatchingRun.Scope.UNASSIGNED)


class MatchingRunSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = MatchingRun
        fields = [
            "id",
            "task_id",
            "scope",
            "status",
            "customers_total",
            "processed",
            "percent",
            "assigned",
            "unassigned",
            "total_score",
            "greedy_score",
            "error",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class TaskStatusSerializer(serializers.Serializer):
    task_id = serializers.CharField()
    state = serializers.CharField()
    run = MatchingRunSerializer(allow_null=True)
