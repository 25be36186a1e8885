"""Forms: the public application and status lookup, and the workbench's decision forms.

Field validation reuses the customer validators; business rules stay in the services.
"""

import secrets
from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from customers.models import Customer
from customers.reference import city_choices, city_find, industry_choices, reference_copy
from customers.validators import validate_credit_code, validate_mobile_phone, validate_resident_id
from loans.models import LoanPurpose, RepaymentMethod
from loans.selectors import product_active_list

TERM_MONTHS = (3, 6, 9, 12, 18, 24, 36)


def term_choices() -> list[tuple[int, str]]:
    """The terms offered, labelled in the current language ("12 months" / "12 个月")."""
    return [(m, ngettext("%(n)s month", "%(n)s months", m) % {"n": m}) for m in TERM_MONTHS]


def product_limits_check(form: forms.Form, data: dict) -> None:
    """Add the product's range errors (amount, term, repayment method) to ``form``, checked with
    everything else rather than after the other errors are fixed. One check for every form that
    takes an application: the public form, the portal's and the admin's."""
    from loans.services import application_check_product_limits
    from loansite.errors import ValidationFailed

    product = data.get("product")
    if not (product and data.get("amount") and data.get("term_months")):
        return
    try:
        application_check_product_limits(
            product=product,
            amount=data["amount"],
            term_months=data["term_months"],
            method=data.get("repayment_method") or "",
        )
    except ValidationFailed as exc:
        errors = exc.extra.get("errors") or {}
        for field, messages in errors.items():
            for message in messages if isinstance(messages, list | tuple) else [messages]:
                if field not in form.fields or field not in form.errors:
                    form.add_error(field if field in form.fields else None, message)
        if not errors:
            form.add_error(None, str(exc.message))


class ProductSelect(forms.Select):
    """Each product option carries its ranges, read by loans/apply.js to narrow the terms
    and repayment methods to the chosen product (no inline script: Content-Security-Policy)."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        product = getattr(value, "instance", None)
        if product is not None:
            option["attrs"].update(
                {
                    "data-min-term": product.min_term_months,
                    "data-max-term": product.max_term_months,
                    "data-methods": " ".join(product.repayment_methods or []),
                    "data-purpose": product.purpose,
                }
            )
        return option


class _ActiveProductIterator(forms.models.ModelChoiceIterator):
    """The active products from the per-process copy (no query per form)."""

    def __iter__(self):
        from loans.selectors.products import product_active_cached

        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for product in product_active_cached():
            yield self.choice(product)

    def __len__(self):
        from loans.selectors.products import product_active_cached

        return len(product_active_cached()) + (self.field.empty_label is not None)

    def __bool__(self):
        return self.field.empty_label is not None or bool(len(self))


class ProductChoiceField(forms.ModelChoiceField):
    """An active product, offered and looked up from the per-process copy of the active
    products (``loans.selectors.products``): the queryset given is not read."""

    widget = ProductSelect
    iterator = _ActiveProductIterator

    def label_from_instance(self, obj):
        return obj.display_name

    def to_python(self, value):
        from loans.selectors.products import product_active_get

        if value in self.empty_values:
            return None
        if isinstance(value, self.queryset.model):
            value = value.pk
        product = product_active_get(value)
        if product is None:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice", params={"value": value}
            )
        return product


class ReferenceChoiceField(forms.ChoiceField):
    """A choice of reference data (cities, industries): checked against the active values
    of the per-process copy instead of walking every choice."""

    def __init__(self, *, active_values, **kwargs):
        super().__init__(**kwargs)
        self.active_values = active_values

    def valid_value(self, value):
        return str(value) in self.active_values()


class PublicApplicationForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type of business"), choices=Customer.Kind.choices, initial="enterprise")
    name = forms.CharField(label=_("Business name"), max_length=200)
    credit_code = forms.CharField(
        label=_("Unified social credit code"),
        max_length=18,
        required=False,
        validators=[validate_credit_code],
        help_text=_("18 characters, on your business licence. Required for enterprises."),
    )
    id_number = forms.CharField(
        label=_("Owner's resident ID number"),
        max_length=18,
        required=False,
        validators=[validate_resident_id],
        help_text=_("For individual businesses without a credit code."),
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        validators=[validate_mobile_phone],
        help_text=_("We use it to contact you and to let you check the status."),
    )
    email = forms.EmailField(label=_("Email"), required=False)
    # Cities and industries are reference data (Admin -> Customers -> Cities / Industries).
    city = ReferenceChoiceField(
        label=_("City"),
        choices=lambda: [("", _("Choose your city")), *city_choices()],
        active_values=lambda: reference_copy()["city_active"],
    )
    industry = ReferenceChoiceField(
        label=_("Industry"),
        choices=lambda: [("", _("Choose your industry")), *industry_choices()],
        active_values=lambda: reference_copy()["industry_active"],
    )
    years_in_business = forms.IntegerField(label=_("Years in business"), min_value=0, max_value=100)
    employees = forms.IntegerField(label=_("Employees"), min_value=1, max_value=100000)
    monthly_revenue = forms.DecimalField(
        label=_("Average monthly revenue (CNY)"), min_value=Decimal("0"), max_digits=14, decimal_places=2
    )
    monthly_cost = forms.DecimalField(
        label=_("Average monthly cost (CNY)"), min_value=Decimal("0"), max_digits=14, decimal_places=2
    )

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
    # One per form as served: submitting the same form again (refresh, double click, back
    # and submit) finds the application it made instead of making a second one.
    submission_token = forms.CharField(widget=forms.HiddenInput, max_length=64, min_length=16)
    # Honeypot: hidden from people, filled by bots.
    website = forms.CharField(label=_("Leave this field empty"), required=False)

    CUSTOMER_FIELDS = (
        "kind",
        "name",
        "credit_code",
        "id_number",
        "phone",
        "email",
        "city",
        "industry",
        "years_in_business",
        "employees",
        "monthly_revenue",
        "monthly_cost",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("submission_token", secrets.token_urlsafe(24))

    def is_bot(self) -> bool:
        return bool(self.data.get("website"))

    def clean_submission_token(self):
        token = self.cleaned_data["submission_token"]
        if not token.replace("-", "").replace("_", "").isalnum():
            raise forms.ValidationError(_("This form has expired; please submit it again."))
        return token

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == Customer.Kind.ENTERPRISE and not data.get("credit_code") and "credit_code" not in self.errors:
            self.add_error("credit_code", _("An enterprise needs its unified social credit code."))
        if (
            kind == Customer.Kind.INDIVIDUAL
            and not data.get("credit_code")
            and not data.get("id_number")
            and "id_number" not in self.errors
        ):
            self.add_error("id_number", _("Give the owner's resident ID number or the unified social credit code."))
        product_limits_check(self, data)
        return data

    def customer_fields(self) -> dict:
        fields = {name: self.cleaned_data.get(name) for name in self.CUSTOMER_FIELDS}
        city = city_find(fields["city"])
        if city is not None:
            fields["city_tier"] = city.tier
        return fields


class StatusLookupForm(forms.Form):
    reference = forms.CharField(
        label=_("Reference number"), max_length=20, help_text=_("As shown when you applied, e.g. LA-261123-K7M3QX.")
    )
    phone = forms.CharField(label=_("Mobile phone"), max_length=20)


# Free text typed by staff: bounded like the API's.
TEXT_MAX = 2000


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        required=False,
    )

    def __init__(self, *args, reason_required=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = reason_required


class AssignReviewerForm(forms.Form):
    reviewer = forms.ModelChoiceField(label=_("Reviewer"), queryset=get_user_model().objects.none())
    reason = forms.CharField(
        label=_("Reason"), max_length=TEXT_MAX, required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from django.contrib.auth.models import Permission
        from django.db.models import Q

        perm = Permission.objects.filter(codename="review_loanapplication", content_type__app_label="loans")
        self.fields["reviewer"].queryset = (
            get_user_model()
            .objects.filter(is_active=True, is_staff=True)
            .filter(Q(user_permissions__in=perm) | Q(groups__permissions__in=perm) | Q(is_superuser=True))
            .distinct()
            .order_by("username")
        )


class ApplicationAdminForm(forms.ModelForm):
    """The officer's form; product rules are checked by the service (mirrored here as field errors)."""

    class Meta:
        from loans.models import LoanApplication

        model = LoanApplication
        fields = (
            "customer",
            "product",
            "amount",
            "term_months",
            "purpose",
            "repayment_method",
            "contact_phone",
            "notes",
        )
        widgets = {"notes": forms.Textarea(attrs={"rows": 4, "cols": 60, "maxlength": TEXT_MAX})}

    def clean_customer(self):
        from loans.services.applications import ApplicationsFrozen, application_customer_check

        customer = self.cleaned_data.get("customer")
        if customer is not None and self.instance.pk is None:
            try:
                application_customer_check(customer_id=customer.pk)
            except ApplicationsFrozen as exc:
                raise forms.ValidationError(str(exc.message)) from None
        return customer

    def clean_notes(self):
        notes = self.cleaned_data.get("notes") or ""
        if len(notes) > TEXT_MAX:
            raise forms.ValidationError(
                _("Keep the notes to %(max)s characters (they have %(n)s).") % {"max": TEXT_MAX, "n": len(notes)}
            )
        return notes

    def clean(self):
        data = super().clean()
        product_limits_check(self, data)
        return data
