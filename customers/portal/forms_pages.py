"""The portal pages' forms: apply signed in, upload a requested document, send a returned
application back, a payoff quote for a day. Field checks only; rules stay in the services."""

import secrets
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from loans.forms import ProductChoiceField, product_limits_check, term_choices
from loans.models import DocumentKind, LoanPurpose, RepaymentMethod
from loans.selectors import product_active_list
from loans.services.applications import OFFER_ANSWER_MAX

MESSAGE_MAX = 2000


class PortalApplicationForm(forms.Form):
    """The public form's loan request, without the business details: the customer is on file."""

    product = ProductChoiceField(label=_("Loan product"), queryset=product_active_list(), empty_label=None)
    amount = forms.DecimalField(
        label=_("Amount requested (CNY)"), min_value=Decimal("1"), max_digits=14, decimal_places=2
    )
    term_months = forms.TypedChoiceField(label=_("Term"), coerce=int, choices=term_choices, initial=12)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=LoanPurpose.choices)
    repayment_method = forms.ChoiceField(label=_("Repayment method"), choices=RepaymentMethod.choices)
    consent = forms.BooleanField(
        label=_("I agree that the bank may check my business and credit information to assess this application.")
    )
    # One per form as served: the same form sent again finds the application it made.
    submission_token = forms.CharField(widget=forms.HiddenInput, max_length=64, min_length=16)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("submission_token", secrets.token_urlsafe(24))

    def clean_submission_token(self):
        token = self.cleaned_data["submission_token"]
        if not token.replace("-", "").replace("_", "").isalnum():
            raise forms.ValidationError(_("This form has expired; please submit it again."))
        return token

    def clean(self):
        data = super().clean()
        product_limits_check(self, data)
        return data


class DocumentUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of document"), choices=DocumentKind.choices)
    file = forms.FileField(label=_("File"), help_text=_("PDF, JPEG, PNG, XLSX or DOCX."))

    def __init__(self, *args, kinds=None, **kwargs):
        super().__init__(*args, **kwargs)
        if kinds:
            # The kinds asked for first, then every other kind.
            labels = dict(DocumentKind.choices)
            rest = [(k, v) for k, v in DocumentKind.choices if k not in kinds]
            self.fields["kind"].choices = [(k, labels[k]) for k in kinds] + rest


class AnswerForm(forms.Form):
    message = forms.CharField(
        label=_("Message to the bank (optional)"),
        max_length=MESSAGE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class OfferAnswerForm(forms.Form):
    """The customer's answer to a counter-offer (two buttons on the application page)."""

    answer = forms.ChoiceField(choices=[("accept", _("Accept")), ("decline", _("Decline"))])
    note = forms.CharField(
        label=_("Anything you want us to know (optional)"),
        max_length=OFFER_ANSWER_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class PayoffDateForm(forms.Form):
    on = forms.DateField(label=_("Pay off on"), widget=forms.DateInput(attrs={"type": "date"}))
