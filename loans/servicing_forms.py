"""Admin forms of servicing: decided terms, disbursement, repayments, prepayment, reversal,
restructuring and security. Fields only; the services check the business rules."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loans.forms import TEXT_MAX
from loans.models import Collateral, Guarantee, RepaymentMethod
from loans.schedules import PrepaymentMode

MONEY_FIELD = {"max_digits": 16, "decimal_places": 2, "min_value": 0}
PREPAYMENT_MODES = [
    (PrepaymentMode.SHORTEN_TERM.value, _("Shorten the term (keep the installment)")),
    (PrepaymentMode.LOWER_INSTALLMENT.value, _("Lower the installment (keep the maturity)")),
]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class ApproveForm(forms.Form):
    """Approve on decided terms (pre-filled with the request and the product's rate)."""

    approved_amount = forms.DecimalField(label=_("Approved amount"), **MONEY_FIELD)
    approved_term_months = forms.IntegerField(label=_("Term (months)"), min_value=1, max_value=600)
    approved_annual_rate = forms.DecimalField(
        label=_("Annual interest rate"),
        max_digits=7,
        decimal_places=4,
        min_value=0,
        max_value=1,
        help_text=_("e.g. 0.0850 for 8.5%"),
    )
    approved_method = forms.ChoiceField(label=_("Repayment method"), choices=RepaymentMethod.choices)
    conditions_precedent = forms.CharField(
        label=_("Conditions precedent"),
        required=False,
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("One per line, e.g. contract signed, collateral registered."),
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=TEXT_MAX, required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 60})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Left empty, a term is what an earlier approver decided, else the request.
        for name in ("approved_amount", "approved_term_months", "approved_annual_rate", "approved_method"):
            self.fields[name].required = False
        self.fields["approved_method"].choices = [("", "-"), *RepaymentMethod.choices]

    def terms(self) -> dict:
        data = self.cleaned_data
        return {
            "approved_amount": data.get("approved_amount"),
            "approved_term_months": data.get("approved_term_months"),
            "approved_annual_rate": data.get("approved_annual_rate"),
            "approved_method": data.get("approved_method") or None,
            "conditions_precedent": _lines(data.get("conditions_precedent", "")) or None,
        }


class DisbursementPrepareForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), **MONEY_FIELD)
    contract_number = forms.CharField(label=_("Contract number"), max_length=64)
    account = forms.CharField(label=_("Disbursement account"), max_length=64)
    value_date = forms.DateField(label=_("Value date"), widget=forms.DateInput(attrs={"type": "date"}))
    first_due_date = forms.DateField(
        label=_("First repayment date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: one month after the value date."),
    )
    repayment_day = forms.IntegerField(
        label=_("Repayment day"),
        required=False,
        min_value=1,
        max_value=31,
        help_text=_("Day of the month; 31 for month ends."),
    )
    conditions_checked = forms.MultipleChoiceField(
        label=_("Conditions precedent met"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, conditions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["conditions_checked"].choices = [(c, c) for c in conditions]
        if not conditions:
            del self.fields["conditions_checked"]


class ReasonRequiredForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 3, "cols": 60})
    )


class RepaymentForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), **MONEY_FIELD)
    value_date = forms.DateField(
        label=_("Value date"), initial=timezone.localdate, widget=forms.DateInput(attrs={"type": "date"})
    )
    bank_reference = forms.CharField(label=_("Bank reference"), max_length=64)


class PrepaymentForm(RepaymentForm):
    mode = forms.ChoiceField(label=_("After a partial prepayment"), choices=PREPAYMENT_MODES)
    full = forms.BooleanField(label=_("Pay off the loan in full"), required=False)


class PayoffQuoteForm(forms.Form):
    on_date = forms.DateField(
        label=_("Quote for"), initial=timezone.localdate, widget=forms.DateInput(attrs={"type": "date"})
    )


class RestructureForm(forms.Form):
    on_date = forms.DateField(
        label=_("Restructuring date"), initial=timezone.localdate, widget=forms.DateInput(attrs={"type": "date"})
    )
    term_months = forms.IntegerField(
        label=_("Installments from the next due date"),
        required=False,
        min_value=1,
        max_value=600,
        help_text=_("Empty: as many as remain (the same maturity). More months extend the maturity (展期)."),
    )
    method = forms.ChoiceField(
        label=_("Repayment method"), required=False, choices=[("", _("unchanged")), *RepaymentMethod.choices]
    )
    annual_rate = forms.DecimalField(
        label=_("Annual interest rate"), required=False, max_digits=7, decimal_places=4, min_value=0, max_value=1
    )
    grace_months = forms.IntegerField(label=_("Grace months (interest only)"), required=False, min_value=0)
    reason = forms.CharField(
        label=_("Reason"), max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 3, "cols": 60})
    )


class CreditRefundForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount to refund"), **MONEY_FIELD)
    value_date = forms.DateField(
        label=_("Value date"), initial=timezone.localdate, widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 2, "cols": 60})
    )


class CollateralForm(forms.ModelForm):
    class Meta:
        model = Collateral
        fields = [
            "application",
            "kind",
            "owner",
            "description",
            "appraised_value",
            "appraisal_date",
            "appraiser",
            "haircut",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["haircut"].required = False
        self.fields["haircut"].help_text = _("Empty: the configured haircut for the kind.")


class CollateralRegisterForm(forms.Form):
    registration_number = forms.CharField(label=_("Registration number"), max_length=64)
    registration_date = forms.DateField(
        label=_("Registration date"), initial=datetime.date.today, widget=forms.DateInput(attrs={"type": "date"})
    )


class GuaranteeForm(forms.ModelForm):
    class Meta:
        model = Guarantee
        fields = [
            "application",
            "guarantor_customer",
            "guarantor_name",
            "guarantor_id_number",
            "kind",
            "guaranteed_amount",
            "joint_liability",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["guarantor_name"].required = False
        self.fields["guarantor_name"].help_text = _("Empty for a customer on file: the customer's name.")
