"""Input and output serializers of the collections API."""

import datetime

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loans.api.serializers import TEXT_MAX
from loans.models import (
    CollectionContact,
    LegalCase,
    LegalCaseEvent,
    Loan,
    PromiseToPay,
    Recovery,
    WriteOff,
)

MONEY = {"max_digits": 16, "decimal_places": 2}


@extend_schema_field(OpenApiTypes.INT)
class LoanRefField(serializers.PrimaryKeyRelatedField):
    default_error_messages = {
        "does_not_exist": _("No loan with id {pk_value}."),
        "incorrect_type": _("A loan id (a number) is expected."),
    }

    def get_queryset(self):
        # A loan outside the caller's book answers like one that does not exist.
        from loansite.scoping import scope_by_customer

        request = self.context.get("request")
        loans = Loan.objects.select_related("customer")
        return scope_by_customer(loans, request.user) if request is not None else loans.none()


class QueueSerializer(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id")
    customer_name = serializers.CharField(source="customer.name")
    collector = serializers.SerializerMethodField()
    last_contact_at = serializers.SerializerMethodField()
    last_contact_outcome = serializers.SerializerMethodField()
    next_action_date = serializers.SerializerMethodField()
    promise = serializers.SerializerMethodField()

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
            "penalty_accrued",
            "overdue_since",
            "collector",
            "last_contact_at",
            "last_contact_outcome",
            "next_action_date",
            "promise",
        )

    def _case(self, obj):
        try:
            return obj.collection_case
        except Loan.collection_case.RelatedObjectDoesNotExist:
            return None

    def get_collector(self, obj) -> str | None:
        case = self._case(obj)
        return case.collector.get_username() if case and case.collector_id else None

    def get_last_contact_at(self, obj) -> datetime.datetime | None:
        case = self._case(obj)
        return case.last_contact_at if case else None

    def get_last_contact_outcome(self, obj) -> str:
        case = self._case(obj)
        return case.last_contact_outcome if case else ""

    def get_next_action_date(self, obj) -> datetime.date | None:
        case = self._case(obj)
        return case.next_action_date if case else None

    def get_promise(self, obj) -> dict | None:
        case = self._case(obj)
        promise = case.promise if case else None
        if promise is None:
            return None
        return {
            "id": promise.pk,
            "promised_date": promise.promised_date,
            "amount": str(promise.amount),
            "status": promise.status,
        }


class CollectorAssignSerializer(serializers.Serializer):
    loans = serializers.ListField(child=LoanRefField(), min_length=1, max_length=500)
    collector = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.all())
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class CollectorAssignOutcomeSerializer(serializers.Serializer):
    assigned = serializers.ListField(child=serializers.IntegerField())
    failed = serializers.ListField(child=serializers.DictField())


class ContactSerializer(serializers.ModelSerializer):
    by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = CollectionContact
        fields = ("id", "loan", "channel", "outcome", "note", "next_action_date", "contacted_at", "by")


class ContactCreateSerializer(serializers.Serializer):
    loan = LoanRefField()
    channel = serializers.ChoiceField(choices=CollectionContact.Channel.choices)
    outcome = serializers.ChoiceField(choices=CollectionContact.Outcome.choices)
    note = serializers.CharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="")
    next_action_date = serializers.DateField(required=False, allow_null=True, default=None)
    promise_date = serializers.DateField(required=False, allow_null=True, default=None)
    promise_amount = serializers.DecimalField(**MONEY, min_value=0, required=False, allow_null=True, default=None)


class PromiseSerializer(serializers.ModelSerializer):
    by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = PromiseToPay
        fields = (
            "id",
            "loan",
            "contact",
            "created_on",
            "promised_date",
            "amount",
            "status",
            "paid_amount",
            "resolved_on",
            "by",
        )


class PromiseCreateSerializer(serializers.Serializer):
    loan = LoanRefField()
    promised_date = serializers.DateField()
    amount = serializers.DecimalField(**MONEY, min_value=0)


class LegalEventSerializer(serializers.ModelSerializer):
    by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = LegalCaseEvent
        fields = ("status_from", "status_to", "on_date", "note", "by", "created_at")


class LegalCaseSerializer(serializers.ModelSerializer):
    events = LegalEventSerializer(many=True, read_only=True)

    class Meta:
        model = LegalCase
        fields = (
            "id",
            "loan",
            "status",
            "claim_amount",
            "court",
            "court_case_number",
            "note",
            "opened_at",
            "updated_at",
            "events",
        )


class LegalOpenSerializer(serializers.Serializer):
    loan = LoanRefField()
    claim_amount = serializers.DecimalField(**MONEY, min_value=0, required=False, allow_null=True, default=None)
    court = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="")


class LegalMoveSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=LegalCase.Status.choices)
    on_date = serializers.DateField(required=False, allow_null=True, default=None)
    court_case_number = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="")


class WriteOffSerializer(serializers.ModelSerializer):
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = WriteOff
        fields = (
            "id",
            "loan",
            "written_off_on",
            "principal",
            "interest",
            "penalty",
            "days_past_due",
            "risk_class",
            "reason",
            "approved_by",
            "recovered_principal",
            "recovered_interest",
            "recovered_penalty",
            "settled_on",
        )


class WriteOffCreateSerializer(serializers.Serializer):
    loan = LoanRefField()
    reason = serializers.CharField(max_length=TEXT_MAX)


class RecoverySerializer(serializers.ModelSerializer):
    posted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Recovery
        fields = (
            "id",
            "loan",
            "amount",
            "value_date",
            "bank_reference",
            "principal",
            "interest",
            "penalty",
            "posted_by",
            "created_at",
        )


class RecoveryCreateSerializer(serializers.Serializer):
    loan = LoanRefField()
    amount = serializers.DecimalField(**MONEY, min_value=0)
    value_date = serializers.DateField()
    bank_reference = serializers.CharField(max_length=64)
