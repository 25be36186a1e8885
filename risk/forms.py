"""Admin forms of the risk app: inputs are read here, the services decide."""

import json

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from risk.models import CustomerRestriction, RiskEvent, RiskRule, WatchListEntry

TEXT_MAX = 2000


class RuleForm(forms.ModelForm):
    reason = forms.CharField(
        label=_("Why this change"), max_length=500, required=False, help_text=_("Kept with the new version.")
    )

    class Meta:
        model = RiskRule
        fields = ["code", "name", "kind", "params", "points", "enabled", "description"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["code"].disabled = True
            self.fields["kind"].disabled = True
            self.fields["reason"].required = True

    def clean(self):
        from loansite.errors import ValidationFailed
        from risk.services.rules import rule_check

        data = super().clean()
        if {"params", "points", "kind"} <= set(data):
            try:
                rule_check(
                    code=data.get("code") or self.instance.code,
                    kind=data["kind"],
                    params=data["params"],
                    points=data["points"],
                )
            except ValidationFailed as exc:
                for name, message in exc.extra.get("errors", {}).items():
                    field = name if name in self.fields else "params"
                    self.add_error(field, f"{name}: {message}" if field != name else message)
        return data


def analysts():
    """Active staff who may handle risk events (directly or through a group)."""
    User = get_user_model()
    perm = Q(codename="handle_riskevent", content_type__app_label="risk")
    from django.contrib.auth.models import Permission

    permission = Permission.objects.filter(perm).first()
    return (
        User.objects.filter(is_active=True, is_staff=True)
        .filter(Q(is_superuser=True) | Q(user_permissions=permission) | Q(groups__permissions=permission))
        .distinct()
        .order_by("username")
    )


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("Assign to"), queryset=get_user_model().objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = analysts()


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 3}))


class EscalateForm(forms.Form):
    reason = forms.CharField(label=_("Why escalate"), max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 2}))


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=RiskEvent.Outcome.choices)
    note = forms.CharField(label=_("Resolution"), max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 2}))
    false_positive = forms.BooleanField(label=_("False positive"), required=False)


class RestrictForm(forms.Form):
    kind = forms.ChoiceField(label=_("Freeze"), choices=CustomerRestriction.Kind.choices)
    reason = forms.CharField(label=_("Reason"), max_length=500)


class WatchCustomerForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)


class FlagDeviceForm(forms.Form):
    device = forms.ModelChoiceField(label=_("Device"), queryset=None)
    reason = forms.CharField(label=_("Reason"), max_length=500)

    def __init__(self, *args, devices=None, **kwargs):
        super().__init__(*args, **kwargs)
        from risk.models import Device

        self.fields["device"].queryset = devices if devices is not None else Device.objects.none()


class WatchListEntryForm(forms.ModelForm):
    class Meta:
        model = WatchListEntry
        fields = ["kind", "value", "customer", "reason"]

    def clean(self):
        data = super().clean()
        if data.get("kind") == WatchListEntry.Kind.CUSTOMER and not data.get("customer"):
            self.add_error("customer", _("Choose the customer."))
        if data.get("kind") != WatchListEntry.Kind.CUSTOMER and not (data.get("value") or "").strip():
            self.add_error("value", _("This field is required."))
        return data


class SimulationForm(forms.Form):
    params = forms.JSONField(label=_("Parameters"))
    points = forms.IntegerField(label=_("Points"), min_value=0, max_value=1000)
    enabled = forms.BooleanField(label=_("Enabled"), required=False)
    days = forms.IntegerField(label=_("Replay the last N days"), min_value=1, max_value=90, initial=7)

    @staticmethod
    def initial_for(rule: RiskRule) -> dict:
        return {"params": json.dumps(rule.params), "points": rule.points, "enabled": rule.enabled, "days": 7}
