from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from customers.masking import mask_id_number, mask_phone
from customers.models import Customer
from loans.models import ApprovalDecision, LoanApplication, LoanProduct, LoanPurpose, RepaymentMethod
from loansite.scoping import scope_customers
from scoring.api.serializers import ReasonSerializer

# Free text typed by staff (notes, reasons): long enough for any note, bounded for the database and the pages.
TEXT_MAX = 2000


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = LoanProduct
        fields = (
            "id",
            "code",
            "name",
            "purpose",
            "min_amount",
            "max_amount",
            "min_term_months",
            "max_term_months",
            "annual_rate_min",
            "annual_rate_max",
            "repayment_methods",
            "penalty_rate",
            "active",
        )


class CustomerBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ("id", "name", "credit_code", "industry", "city", "city_tier", "credit_score", "rating")


class DecisionSerializer(serializers.ModelSerializer):
    decider = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ApprovalDecision
        fields = ("kind", "decider", "review_round", "amount", "authority_limit", "final", "reason", "created_at")


class ScoreReasonsField(serializers.ListField):
    """The stored reasons with their codes and words in both languages."""

    child = ReasonSerializer()

    def to_representation(self, data):
        from scoring.reasons import reasons_expand

        return reasons_expand(data)


class ApplicationOutputSerializer(serializers.ModelSerializer):
    customer = CustomerBriefSerializer(read_only=True)
    product = serializers.SlugRelatedField(slug_field="code", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    submitted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    reviewer = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    score_grade = serializers.CharField(read_only=True, help_text="A (best) to E, blank until scored")
    score_reasons = ScoreReasonsField(read_only=True)

    class Meta:
        model = LoanApplication
        fields = (
            "id",
            "reference",
            "status",
            "customer",
            "product",
            "amount",
            "term_months",
            "purpose",
            "repayment_method",
            "channel",
            "contact_phone",
            "notes",
            "created_by",
            "submitted_by",
            "reviewer",
            "decided_by",
            "decision_reason",
            "created_at",
            "submitted_at",
            "decided_at",
            "review_round",
            "version",
            "score_probability",
            "score_points",
            "score_grade",
            "score_reasons",
            "score_model_version",
            "scored_at",
            "risk_flags",
            "claimed_identity",
            "identity_match",
            "approved_amount",
            "approved_term_months",
            "approved_annual_rate",
            "approved_method",
            "counter_offer",
            "offer_response",
            "offer_responded_at",
        )

    def to_representation(self, instance):
        # Phone and ID numbers masked unless the view says the user sees them in full (one
        # application, customers.view_identifiers; customers/masking.py).
        data = super().to_representation(instance)
        if not self.context.get("identifiers_full"):
            data["contact_phone"] = mask_phone(data.get("contact_phone"))
            claimed = data.get("claimed_identity")
            if isinstance(claimed, dict):
                data["claimed_identity"] = {
                    **claimed,
                    **{key: mask(claimed[key]) for key, mask in MASKED.items() if claimed.get(key)},
                }
        return data


class ApplicationDetailSerializer(ApplicationOutputSerializer):
    decisions = DecisionSerializer(many=True, read_only=True)

    class Meta(ApplicationOutputSerializer.Meta):
        fields = (*ApplicationOutputSerializer.Meta.fields, "decisions")


MASKED = {"id_number": mask_id_number, "phone": mask_phone}


class CustomerInBookField(serializers.PrimaryKeyRelatedField):
    """A customer of the requesting user's book (loansite/scoping.py); others "do not exist"."""

    def get_queryset(self):
        request = self.context.get("request")
        customers = Customer.objects.all()
        return customers if request is None else scope_customers(customers, request.user)


class ApplicationCreateSerializer(serializers.Serializer):
    customer = CustomerInBookField(queryset=Customer.objects.all())
    product = serializers.SlugRelatedField(slug_field="code", queryset=LoanProduct.objects.all())
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, min_value=0)
    term_months = serializers.IntegerField(min_value=1, max_value=600)
    purpose = serializers.ChoiceField(choices=LoanPurpose.choices, required=False, allow_blank=True, default="")
    repayment_method = serializers.ChoiceField(
        choices=RepaymentMethod.choices, required=False, allow_blank=True, default=""
    )
    contact_phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    notes = serializers.CharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="")
    submit = serializers.BooleanField(required=False, default=False, help_text=_("Submit at once."))


class ApplicationUpdateSerializer(serializers.Serializer):
    product = serializers.SlugRelatedField(slug_field="code", queryset=LoanProduct.objects.all(), required=False)
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, min_value=0, required=False)
    term_months = serializers.IntegerField(min_value=1, max_value=600, required=False)
    purpose = serializers.ChoiceField(choices=LoanPurpose.choices, required=False)
    repayment_method = serializers.ChoiceField(choices=RepaymentMethod.choices, required=False)
    contact_phone = serializers.CharField(max_length=20, required=False, allow_blank=True)
    notes = serializers.CharField(max_length=TEXT_MAX, required=False, allow_blank=True)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="")


class OfferAnswerSerializer(serializers.Serializer):
    answer = serializers.ChoiceField(choices=["accept", "decline"], help_text="The applicant's answer.")
    reason = serializers.CharField(
        max_length=TEXT_MAX, help_text="How and when the applicant answered (a call, a visit to the branch)."
    )


class VerifyIdentitySerializer(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=[("verified", _("Verified: the applicant is the customer on file")), ("rejected", _("Not verified"))]
    )
    reason = serializers.CharField(
        max_length=TEXT_MAX, required=False, allow_blank=True, default="", help_text=_("Required to reject.")
    )


class AssignSerializer(serializers.Serializer):
    reviewer = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.filter(is_active=True))
    reason = serializers.CharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="")


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
