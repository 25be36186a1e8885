from rest_framework import serializers

from risk.models import Alert, AlertAction, LoginEvent, RiskEvent, RiskEventEntry, RiskRule, Transaction


class ScoreResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    score = serializers.IntegerField()
    level = serializers.CharField()
    rules_hit = serializers.ListField(child=serializers.DictField())
    event = serializers.IntegerField(allow_null=True)
    duplicate = serializers.BooleanField()


class TransactionInputSerializer(serializers.Serializer):
    """Documents the body; the fields are checked by ``risk.inputs`` (the same for imports)."""

    customer = serializers.IntegerField()
    amount = serializers.CharField(help_text='A decimal string, e.g. "10000.00"')
    occurred_at = serializers.DateTimeField()
    external_id = serializers.CharField(required=False)
    account = serializers.CharField(required=False)
    currency = serializers.CharField(required=False, default="CNY")
    direction = serializers.ChoiceField(choices=Transaction.Direction.choices, required=False)
    channel = serializers.ChoiceField(choices=Transaction.Channel.choices, required=False)
    counterparty = serializers.CharField(required=False)
    device = serializers.CharField(required=False, help_text="The device fingerprint")
    user_agent = serializers.CharField(required=False)
    ip = serializers.IPAddressField(required=False)
    city = serializers.CharField(required=False, help_text="Resolved from the IP address when left out")


class BatchInputSerializer(serializers.Serializer):
    transactions = TransactionInputSerializer(many=True, required=False)
    logins = serializers.ListField(child=serializers.DictField(), required=False)


class TransactionSerializer(serializers.ModelSerializer):
    device = serializers.CharField(source="device.fingerprint", default=None)

    class Meta:
        model = Transaction
        fields = [
            "id",
            "external_id",
            "customer",
            "account",
            "amount",
            "currency",
            "direction",
            "channel",
            "counterparty",
            "occurred_at",
            "device",
            "ip",
            "city",
            "source",
            "received_at",
            "score",
            "level",
            "rules_hit",
            "rule_versions",
            "event",
        ]


class LoginEventSerializer(serializers.ModelSerializer):
    device = serializers.CharField(source="device.fingerprint", default=None)

    class Meta:
        model = LoginEvent
        fields = [
            "id",
            "customer",
            "user",
            "occurred_at",
            "ip",
            "city",
            "device",
            "success",
            "source",
            "score",
            "level",
            "rules_hit",
            "rule_versions",
            "event",
        ]


class EntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None)

    class Meta:
        model = RiskEventEntry
        fields = ["id", "kind", "actor", "text", "data", "created_at"]


class RiskEventSerializer(serializers.ModelSerializer):
    assignee = serializers.CharField(source="assignee.username", default=None)

    class Meta:
        model = RiskEvent
        fields = [
            "id",
            "customer",
            "level",
            "score",
            "rules_hit",
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
        ]


class RiskEventDetailSerializer(RiskEventSerializer):
    timeline = EntrySerializer(source="entries", many=True)

    class Meta(RiskEventSerializer.Meta):
        fields = [*RiskEventSerializer.Meta.fields, "timeline"]


class AlertActionSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None)

    class Meta:
        model = AlertAction
        fields = ["id", "kind", "actor", "text", "created_at"]


class AlertSerializer(serializers.ModelSerializer):
    assignee = serializers.CharField(source="assignee.username", default=None)

    class Meta:
        model = Alert
        fields = [
            "id",
            "event",
            "customer",
            "severity",
            "title",
            "source",
            "status",
            "assignee",
            "created_at",
            "closed_at",
        ]


class AlertDetailSerializer(AlertSerializer):
    actions = AlertActionSerializer(many=True)

    class Meta(AlertSerializer.Meta):
        fields = [*AlertSerializer.Meta.fields, "actions"]


class RiskRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = RiskRule
        fields = ["id", "code", "name", "kind", "params", "points", "enabled", "version", "updated_at"]


class RiskEventAssignSerializer(serializers.Serializer):
    assignee = serializers.CharField(help_text="The analyst's username")


class NoteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=2000)


class EscalateSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class ResolveSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=RiskEvent.Outcome.choices)
    note = serializers.CharField(max_length=2000)
    false_positive = serializers.BooleanField(default=False)
