"""Choices made with an application file on the import page (kept with the upload)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from loans.models import LoanProduct

UNITS = [("1", _("元 (yuan)")), ("10000", _("万元 (10,000 yuan)"))]


class ApplicationImportOptionsForm(forms.Form):
    amount_unit = forms.ChoiceField(
        label=_("Loan amounts in"),
        choices=UNITS,
        initial="1",
        required=False,
        help_text=_(
            "For an amount column whose header names no unit; “贷款金额（万元）” is read in 万元 whatever is chosen."
        ),
    )
    revenue_unit = forms.ChoiceField(
        label=_("Monthly revenue and cost in"),
        choices=UNITS,
        initial="1",
        required=False,
        help_text=_("For revenue and cost columns whose header names no unit."),
    )
    default_product = forms.ModelChoiceField(
        label=_("Product where the file gives none"),
        queryset=LoanProduct.objects.filter(active=True).order_by("code"),
        required=False,
        help_text=_("Rows without a product (or files without a product column) get this product."),
    )
    default_term = forms.IntegerField(
        label=_("Term (months) where the file gives none"),
        min_value=1,
        max_value=360,
        required=False,
    )

    def options(self) -> dict:
        data = self.cleaned_data
        return {
            "amount_unit": data.get("amount_unit") or "1",
            "revenue_unit": data.get("revenue_unit") or "1",
            "default_product": data["default_product"].pk if data.get("default_product") else None,
            "default_term": data.get("default_term"),
        }
