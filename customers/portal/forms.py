"""The customer portal's account forms: input only, the services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import Interest, Need, PortalChangeRequest


class SignInForm(forms.Form):
    login = forms.CharField(
        label=_("Mobile phone or username"),
        max_length=150,
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class IdentityForm(forms.Form):
    """Who the customer is: the identifier on file and the phone on file."""

    identifier = forms.CharField(
        label=_("Unified social credit code or resident ID number"),
        max_length=32,
        help_text=_("Enterprises: the 18-character unified social credit code. Individual businesses: the owner's ID."),
    )
    phone = forms.CharField(
        label=_("Mobile phone on file with the bank"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )


class ResetRequestForm(forms.Form):
    login = forms.CharField(label=_("Mobile phone or username"), max_length=150)


class _NewPasswordForm(forms.Form):
    password = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters, not only digits, not a common password."),
    )
    password2 = forms.CharField(
        label=_("New password again"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password2") and data["password"] != data["password2"]:
            self.add_error("password2", _("The two passwords differ."))
        return data


class CodeField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Verification code"))
        kwargs.setdefault("max_length", 6)
        kwargs.setdefault("min_length", 6)
        kwargs.setdefault("widget", forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))
        super().__init__(**kwargs)


class RegisterForm(_NewPasswordForm):
    field_order = ["code", "username", "password", "password2"]
    code = CodeField()
    username = forms.RegexField(
        label=_("Username (optional)"),
        regex=r"^[\w.@+-]+\Z",
        max_length=150,
        required=False,
        help_text=_("You can always sign in with your mobile phone."),
    )


class ResetForm(_NewPasswordForm):
    field_order = ["code", "password", "password2"]
    code = CodeField()


class AddAccessCodeForm(forms.Form):
    code = CodeField()


class ChangePasswordForm(_NewPasswordForm):
    field_order = ["old_password", "password", "password2"]
    old_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ProfileForm(forms.Form):
    email = forms.EmailField(label=_("Email"), required=False)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    needs = forms.ModelMultipleChoiceField(
        label=_("What you need financing for"),
        queryset=Need.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    interests = forms.ModelMultipleChoiceField(
        label=_("Products and topics you are interested in"),
        queryset=Interest.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    marketing_consent = forms.BooleanField(
        label=_("I agree that the bank may contact me about products and offers."), required=False
    )


class ChangeRequestForm(forms.Form):
    """New values for identity fields: sent to the bank as a request, never written directly."""

    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    credit_code = forms.CharField(label=_("Unified social credit code"), max_length=18, required=False)
    id_number = forms.CharField(label=_("Owner's resident ID number"), max_length=18, required=False)
    phone = forms.CharField(label=_("Mobile phone"), max_length=20, required=False)
    note = forms.CharField(label=_("Note for the bank"), max_length=1000, required=False, widget=forms.Textarea)

    def changes(self) -> dict:
        return {name: self.cleaned_data.get(name, "") for name in PortalChangeRequest.FIELDS}
