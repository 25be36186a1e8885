from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import CityTier, CreditLine, Customer, MatchingRun, RelationshipManager
from customers.reference import city_choices, city_tier_of, industry_choices
from customers.services.customers import customer_identity_errors
from customers.validators import normalize_credit_code, normalize_mobile_phone, normalize_resident_id
from loansite.tabular import TabularFileError, tabular_check_size


class CustomerAdminForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = [
            *(f.name for f in Customer._meta.concrete_fields if f.editable and f.name not in ("id", "manager")),
            "tags",
            "needs",
            "interests",
        ]

    # Reference data: the choices come from the City and Industry tables; the tier, left
    # empty, follows the city.
    city = forms.ChoiceField(label=_("city"))
    industry = forms.ChoiceField(label=_("industry"))
    city_tier = forms.TypedChoiceField(
        label=_("city tier"),
        choices=[("", _("From the city")), *CityTier.choices],
        coerce=int,
        required=False,
        empty_value=None,
        help_text=_("Left empty, the city's tier (Admin → Customers → Cities)."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.instance if self.instance.pk else None
        blank = [("", "---------")]
        self.fields["city"].choices = blank + city_choices(include=current.city if current else None)
        self.fields["industry"].choices = blank + industry_choices(include=current.industry if current else None)
        if current is None:
            self.initial["city_tier"] = None

    def clean_city_tier(self):
        tier = self.cleaned_data.get("city_tier")
        city = self.cleaned_data.get("city")
        if city and (tier is None or ("city" in self.changed_data and "city_tier" not in self.changed_data)):
            return city_tier_of(city)
        return tier

    # Normalised before the model's unique checks, so "+86 138..." finds "138...".
    def clean_credit_code(self):
        return normalize_credit_code(self.cleaned_data.get("credit_code")) or None

    def clean_id_number(self):
        return normalize_resident_id(self.cleaned_data.get("id_number")) or None

    def clean_phone(self):
        return normalize_mobile_phone(self.cleaned_data.get("phone"))

    def clean(self):
        cleaned = super().clean()

        def value(name):
            # A field left out of the form (masked for the user) keeps the record's value.
            return cleaned.get(name) if name in self.fields else getattr(self.instance, name, None)

        probe = Customer(kind=value("kind"), credit_code=value("credit_code"), id_number=value("id_number"))
        for field, messages in customer_identity_errors(probe).items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
        self._check_duplicates(cleaned)
        return cleaned

    # Set by the admin for the request (CustomerAdmin.get_form): whether to link the other customer.
    request_user = None

    def _check_duplicates(self, cleaned):
        """A credit code, ID number or phone another customer holds is a field error naming
        (and, for someone who may view it, linking to) that customer, before any write."""
        from django.urls import reverse
        from django.utils.html import format_html

        from customers.selectors import customer_matches

        keys = {name: cleaned.get(name) for name in ("credit_code", "id_number", "phone") if cleaned.get(name)}
        if not keys:
            return
        for other in customer_matches(**keys):
            if other.pk == self.instance.pk:
                continue
            for name, value in keys.items():
                if getattr(other, name) != value or name in self.errors:
                    continue
                user = self.request_user
                if user is not None and user.has_perm("customers.view_customer"):
                    url = reverse("admin:customers_customer_change", args=[other.pk])
                    message = format_html(
                        '{} <a href="{}" class="existing-customer">{}</a>',
                        _("Another customer already has this value:"),
                        url,
                        other.name,
                    )
                else:
                    message = _("Another customer already has this value.")
                self.add_error(name, message)


class ReassignForm(forms.Form):
    manager = forms.ModelChoiceField(
        label=_("New relationship manager"),
        queryset=RelationshipManager.objects.filter(active=True).select_related("user"),
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class MatchingForm(forms.Form):
    scope = forms.ChoiceField(
        label=_("Customers to match"), choices=MatchingRun.Scope.choices, initial=MatchingRun.Scope.UNASSIGNED
    )


class ImportFileForm(forms.Form):
    """The upload step of an import (customers or applications); the type is told by the content."""

    import_file = forms.FileField(label=_("File"), help_text=_("CSV (UTF-8 or GB18030) or XLSX."))

    def __init__(self, *args, allow_history: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if allow_history:
            self.fields["history"] = forms.BooleanField(
                label=_("Import history: decided applications, no decision checks"),
                required=False,
                help_text=_(
                    "Records each row in the status and on the date the file gives (approved, rejected ...) "
                    "without approvers, authority, maker-checker or credit-line draw; audited as a history import. "
                    "Leave unticked to import new applications as drafts or submissions."
                ),
            )

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        try:
            tabular_check_size(upload.size)
        except TabularFileError as exc:
            raise forms.ValidationError(str(exc.message))
        return upload


class ImportConfirmForm(forms.Form):
    """The confirm step names the stored upload by its id only (honoured for its owner and session)."""

    upload = forms.UUIDField(widget=forms.HiddenInput)
    skip_invalid = forms.BooleanField(required=False, widget=forms.HiddenInput)
    history = forms.BooleanField(required=False, widget=forms.HiddenInput)


class CreditLineAdminForm(forms.ModelForm):
    """Field checks before the services run (which check again, under a row lock)."""

    class Meta:
        model = CreditLine
        fields = ["customer", "limit", "valid_from", "valid_to", "status"]

    def clean(self):
        cleaned = super().clean()
        line = self.instance
        limit, status = cleaned.get("limit"), cleaned.get("status")
        if cleaned.get("valid_from") and cleaned.get("valid_to") and cleaned["valid_to"] < cleaned["valid_from"]:
            self.add_error("valid_to", _("The line must end on or after the day it starts."))
        if line.pk:
            if limit is not None and limit < line.used:
                self.add_error(
                    "limit",
                    _("The new limit %(limit)s is below what is already used (%(used)s).")
                    % {"limit": limit, "used": line.used},
                )
            if status and status != line.status and status not in CreditLine.TRANSITIONS.get(line.status, set()):
                self.add_error(
                    "status",
                    _("A credit line cannot go from %(old)s to %(new)s.") % {"old": line.status, "new": status},
                )
        elif (
            cleaned.get("customer")
            and CreditLine.objects.filter(customer=cleaned["customer"], status=CreditLine.Status.ACTIVE).exists()
        ):
            self.add_error("customer", _("The customer already has an active credit line; change it instead."))
        return cleaned


class RelationshipManagerAdminForm(forms.ModelForm):
    industries = forms.MultipleChoiceField(
        label=_("industries of expertise"),
        choices=industry_choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    city = forms.ChoiceField(label=_("city"))

    class Meta:
        model = RelationshipManager
        fields = ["user", "branch", "city", "industries", "seniority", "capacity", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.instance.city if self.instance.pk else None
        self.fields["city"].choices = [("", "---------"), *city_choices(include=current)]

    def clean_user(self):
        user = self.cleaned_data["user"]
        if not user.is_staff or not user.is_active:
            raise forms.ValidationError(_("A relationship manager must be an active staff user."))
        return user
