"""Input and output serializers of the servicing API (loans, disbursements, repayments)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from loans.api.serializers import TEXT_MAX
from loans.models import (
    Collateral,
    Disbursement,
    Guarantee,
    Installment,
    LedgerEntry,
    Loan,
    LoanApplication,
    Repayment,
    RepaymentMethod,
    ScheduleVersion,
)
from loans.schedules import PrepaymentMode

MONEY = {"max_digits": 16, "decimal_places": 2}


class DecidedTermsSerializer(serializers.Serializer):
    """The approve call's body: a reason and the decided terms (each optional)."""

    reason = serializers.CharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="")
    approved_amount = serializers.DecimalField(**MONEY, min_value=0, required=False)
    approved_term_months = serializers.IntegerField(min_value=1, max_value=600, required=False)
    approved_annual_rate = serializers.DecimalField(
        max_digits=7, decimal_places=4, min_value=0, max_value=1, required=False
    )
    approved_method = serializers.ChoiceField(choices=RepaymentMethod.choices, required=False)
    conditions_precedent = serializers.ListField(
        child=serializers.CharField(max_length=200), max_length=20, required=False
    )


class InstallmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Installment
        fields = (
            "number",
            "period_start",
            "due_date",
            "pay_date",
            "days",
            "principal",
            "interest",
            "penalty",
            "principal_paid",
            "interest_paid",
            "penalty_paid",
            "status",
            "paid_on",
        )


class CollateralSerializer(serializers.ModelSerializer):
    class Meta:
        model = Collateral
        fields = (
            "id",
            "kind",
            "owner",
            "description",
            "appraised_value",
            "appraisal_date",
            "appraiser",
            "haircut",
            "registration_number",
            "registration_date",
            "status",
        )


class GuaranteeSerializer(serializers.ModelSerializer):
    guarantor_customer = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Guarantee
        fields = (
            "id",
            "guarantor_customer",
            "guarantor_name",
            "kind",
            "guaranteed_amount",
            "joint_liability",
            "status",
        )


class LoanSerializer(serializers.ModelSerializer):
    customer = serializers.SerializerMethodField()
    product = serializers.SlugRelatedField(slug_field="code", read_only=True)
    application = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    relationship_manager = serializers.SerializerMethodField()

    class Meta:
        model = Loan
        fields = (
            "id",
            "loan_number",
            "customer",
            "application",
            "product",
            "contract_number",
            "approved_amount",
            "principal",
            "outstanding_principal",
            "annual_rate",
            "term_months",
            "method",
            "day_count",
            "disbursement_date",
            "first_due_date",
            "maturity_date",
            "next_due_date",
            "next_due_amount",
            "status",
            "restructured",
            "closed_on",
            "credit_balance",
            "principal_repaid",
            "interest_paid",
            "penalty_paid",
            "fees_paid",
            "schedule_version",
            "relationship_manager",
        )

    def get_customer(self, loan) -> dict:
        return {"id": loan.customer_id, "name": loan.customer.name}

    def get_relationship_manager(self, loan) -> str | None:
        manager = loan.customer.manager
        return str(manager) if manager is not None else None


class ScheduleVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ScheduleVersion
        fields = ("number", "reason", "effective_date", "terms", "note", "created_by", "created_at", "current")


class LoanDetailSerializer(LoanSerializer):
    schedule = serializers.SerializerMethodField()
    schedule_versions = ScheduleVersionSerializer(many=True, read_only=True)
    collateral = CollateralSerializer(many=True, read_only=True)
    guarantees = GuaranteeSerializer(many=True, read_only=True)

    class Meta(LoanSerializer.Meta):
        fields = (*LoanSerializer.Meta.fields, "schedule", "schedule_versions", "collateral", "guarantees")

    def get_schedule(self, loan) -> list[dict]:
        rows = Installment.objects.filter(loan=loan, schedule_version=loan.schedule_version).order_by("number")
        return InstallmentSerializer(rows, many=True).data


class LedgerEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = LedgerEntry
        fields = (
            "id",
            "kind",
            "value_date",
            "amount",
            "principal",
            "interest",
            "penalty",
            "fee",
            "credit",
            "balance_after",
            "repayment",
            "note",
            "created_at",
        )


class PayoffQuoteSerializer(serializers.Serializer):
    on_date = serializers.DateField()
    arrears_principal = serializers.DecimalField(**MONEY)
    arrears_interest = serializers.DecimalField(**MONEY)
    arrears_penalty = serializers.DecimalField(**MONEY)
    principal = serializers.DecimalField(**MONEY)
    interest = serializers.DecimalField(**MONEY)
    fee = serializers.DecimalField(**MONEY)
    paid_ahead = serializers.DecimalField(**MONEY)
    total = serializers.DecimalField(**MONEY)
    credit_held = serializers.DecimalField(**MONEY)


class PayoffQuoteQuerySerializer(serializers.Serializer):
    on_date = serializers.DateField(required=False)


class RepaymentSerializer(serializers.ModelSerializer):
    loan = serializers.SlugRelatedField(slug_field="loan_number", read_only=True)
    posted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    reversed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Repayment
        fields = (
            "id",
            "loan",
            "kind",
            "amount",
            "value_date",
            "bank_reference",
            "channel",
            "prepayment_mode",
            "allocated_principal",
            "allocated_interest",
            "allocated_penalty",
            "allocated_fee",
            "allocated_credit",
            "status",
            "posted_by",
            "reversed_by",
            "reversal_reason",
            "reversed_at",
            "created_at",
        )


class InBookSlugField(serializers.SlugRelatedField):
    """A loan or an application of the requesting user's book (loansite/scoping.py); others
    "do not exist"."""

    def get_queryset(self):
        from loansite.scoping import scope_by_customer

        request = self.context.get("request")
        rows = super().get_queryset()
        return rows if request is None else scope_by_customer(rows, request.user)


class RepaymentCreateSerializer(serializers.Serializer):
    loan = InBookSlugField(slug_field="loan_number", queryset=Loan.objects.all(), help_text=_("The loan number."))
    amount = serializers.DecimalField(**MONEY, min_value=0)
    value_date = serializers.DateField()
    bank_reference = serializers.CharField(max_length=64)


class PrepaySerializer(serializers.Serializer):
    amount = serializers.DecimalField(**MONEY, min_value=0)
    value_date = serializers.DateField()
    bank_reference = serializers.CharField(max_length=64)
    mode = serializers.ChoiceField(choices=[m.value for m in PrepaymentMode], default=PrepaymentMode.LOWER_INSTALLMENT)
    full = serializers.BooleanField(required=False, default=False)


class RestructureSerializer(serializers.Serializer):
    on_date = serializers.DateField()
    reason = serializers.CharField(max_length=TEXT_MAX)
    term_months = serializers.IntegerField(min_value=1, max_value=600, required=False)
    method = serializers.ChoiceField(choices=RepaymentMethod.choices, required=False)
    annual_rate = serializers.DecimalField(max_digits=7, decimal_places=4, min_value=0, max_value=1, required=False)
    grace_months = serializers.IntegerField(min_value=0, max_value=599, required=False)


class ReverseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=TEXT_MAX)


class DisbursementSerializer(serializers.ModelSerializer):
    application = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    loan = serializers.SlugRelatedField(slug_field="loan_number", read_only=True)
    prepared_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    authorised_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Disbursement
        fields = (
            "id",
            "application",
            "loan",
            "tranche",
            "amount",
            "contract_number",
            "account",
            "value_date",
            "first_due_date",
            "repayment_day",
            "conditions_checked",
            "status",
            "prepared_by",
            "authorised_by",
            "prepared_at",
            "authorised_at",
        )


class DisbursementPrepareSerializer(serializers.Serializer):
    application = InBookSlugField(
        slug_field="reference", queryset=LoanApplication.objects.all(), help_text=_("The application's reference.")
    )
    amount = serializers.DecimalField(**MONEY, min_value=0)
    value_date = serializers.DateField()
    contract_number = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    account = serializers.CharField(max_length=64)
    first_due_date = serializers.DateField(required=False, allow_null=True, default=None)
    repayment_day = serializers.IntegerField(min_value=1, max_value=31, required=False, allow_null=True, default=None)
    conditions_checked = serializers.ListField(
        child=serializers.CharField(max_length=200), max_length=20, required=False, default=list
    )


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=TEXT_MAX)
