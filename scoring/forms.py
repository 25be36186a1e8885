"""The admin prediction page's form: the indicators a reviewer types in."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import CityTier
from customers.reference import industry_choices

ZERO = Decimal("0")


def _money(label, required=False):
    return forms.DecimalField(label=label, required=required, min_value=ZERO, max_digits=16, decimal_places=2)


def _count(label, required=False, max_value=None):
    return forms.IntegerField(label=label, required=required, min_value=0, max_value=max_value)


class PredictionForm(forms.Form):
    product = forms.ChoiceField(label=_("Loan product"), required=False)
    amount = _money(_("Requested amount"), required=True)
    term_months = _count(_("Term (months)"), required=True, max_value=360)
    industry = forms.ChoiceField(
        label=_("Industry"), choices=lambda: [("", "---------"), *industry_choices()], required=False
    )
    city_tier = forms.TypedChoiceField(
        label=_("City tier"),
        choices=[("", "---------"), *CityTier.choices],
        coerce=int,
        required=False,
        empty_value=None,
    )
    credit_score = _count(_("Credit bureau score"), max_value=1000)
    years_in_business = _count(_("Years in business"), max_value=200)
    employees = _count(_("Employees"))
    area_m2 = _money(_("Business area (m²)"))
    monthly_revenue = _money(_("Monthly revenue"), required=True)
    monthly_cost = _money(_("Monthly cost"), required=True)
    monthly_foot_traffic = _count(_("Monthly foot traffic"))
    total_assets = _money(_("Total assets"))
    total_liabilities = _money(_("Total liabilities"))
    current_assets = _money(_("Current assets"))
    current_liabilities = _money(_("Current liabilities"))
    net_profit = forms.DecimalField(label=_("Net profit"), required=False, max_digits=16, decimal_places=2)
    annual_revenue = _money(_("Annual revenue"))
    prior_applications = _count(_("Earlier applications"))
    prior_approved = _count(_("Earlier applications approved"))
    prior_rejected = _count(_("Earlier applications rejected"))

    def __init__(self, *args, products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [("", "---------"), *products]

    def inputs(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
