from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, MatchingRun, RelationshipManager
from customers.services.customers import customer_identity_errors


class CustomerAdminForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = [
            *(f.name for f in Customer._meta.concrete_fields if f.editable and f.name not in ("id", "manager")),
            "tags",
            "needs",
            "interests",
        ]

    def clean(self):
        cleaned = super().clean()
        probe = Customer(
            kind=cleaned.get("kind"), credit_code=cleaned.get("credit_code"), id_number=cleaned.get("id_number")
        )
        for field, messages in customer_identity_errors(probe).items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
        return cleaned


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


class CustomerImportForm(forms.Form):
    FORMATS = [("csv", "CSV"), ("xlsx", "XLSX")]

    import_file = forms.FileField(label=_("File"))
    format = forms.ChoiceField(label=_("Format"), choices=FORMATS)


class CustomerImportConfirmForm(forms.Form):
    tmp_name = forms.CharField(widget=forms.HiddenInput)
    format = forms.CharField(widget=forms.HiddenInput)
    file_name = forms.CharField(widget=forms.HiddenInput)
    skip_invalid = forms.BooleanField(required=False, widget=forms.HiddenInput)
