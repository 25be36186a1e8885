from django import forms
from django.utils.translation import gettext_lazy as _


class CodeForm(forms.Form):
    """A 6-digit code from the authenticator app, or (``recovery=True``) a recovery code too."""

    code = forms.CharField(max_length=32, strip=True)

    def __init__(self, *args, recovery: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["code"]
        field.label = _("Code") if recovery else _("6-digit code")
        field.help_text = (
            _("The 6-digit code your authenticator app shows now, or one of your recovery codes.")
            if recovery
            else _("The 6-digit code your authenticator app shows now.")
        )
        field.widget.attrs.update(
            {"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false", "autocapitalize": "off"}
        )
        if not recovery:
            field.widget.attrs.update({"inputmode": "numeric", "pattern": r"\d{6}", "maxlength": 6})


class ResetForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Recorded in the audit trail, e.g. the ticket of the lost phone."),
    )
