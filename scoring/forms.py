"""The admin prediction page's form: the indicators a reviewer types in."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import CityTier
from customers.reference import industry_choices

ZERO = Decimal("0")


def _money(label, required=False):
    return forms.DecimalField(label=label, required=required, min_value=ZERO, max_digits=16, decimal_places=2)


def _count(label, required=False, max_value=None, min_value=0):
    return forms.IntegerField(label=label, required=required, min_value=min_value, max_value=max_value)


class PredictionForm(forms.Form):
    product = forms.ChoiceField(label=_("Loan product"), required=False)
    amount = _money(_("Requested amount"), required=True)
    # A loan runs at least one month (as the API and the application form say).
    term_months = _count(_("Term (months)"), required=True, max_value=360, min_value=1)
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


class VersionActionForm(forms.Form):
    """The confirmation of an activation or retirement: the reason goes into the audit entry."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Recorded in the audit trail with the change."),
    )

    def clean_reason(self):
        reason = (self.cleaned_data.get("reason") or "").strip()
        if not reason:
            raise forms.ValidationError(_("Please give a reason."))
        return reason


class TrainFileForm(forms.Form):
    """Train from a file: the data set, its target column and (optionally) its schema as JSON."""

    data_file = forms.FileField(label=_("Data set (CSV or XLSX)"))
    target = forms.CharField(
        label=_("Target column"), max_length=200, help_text=_("The column that says bad (1) or good.")
    )
    schema_json = forms.CharField(
        label=_("Schema (JSON, optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        help_text=_(
            'Leave empty to see the detected columns and edit each one. Format: {"target": "default", '
            '"columns": [{"name": "income", "type": "numeric", "direction": "higher_better", '
            '"special_values": [-1]}, {"name": "region", "type": "categorical"}]}'
        ),
    )

    def clean_schema_json(self):
        import json

        text = (self.cleaned_data.get("schema_json") or "").strip()
        if not text:
            return None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(_("The schema is not valid JSON: %(e)s") % {"e": exc}) from exc
        if not isinstance(data, dict):
            raise forms.ValidationError(_("The schema must be a JSON object."))
        return data


class SchemaEditForm(forms.Form):
    """One row per detected column: its type, direction and special values, editable."""

    def __init__(self, *args, schema: dict, **kwargs):
        from scoring.schema import TYPES
        from scoring.scorecard import DIRECTIONS

        super().__init__(*args, **kwargs)
        self.schema = schema
        type_labels = {"numeric": _("numeric"), "categorical": _("categorical"), "ignore": _("ignore")}
        direction_labels = {
            "higher_better": _("higher is better"),
            "higher_worse": _("higher is worse"),
            "none": _("no direction"),
        }
        self.rows = []
        for i, column in enumerate(schema.get("columns", [])):
            self.fields[f"type_{i}"] = forms.ChoiceField(
                label=column["name"], choices=[(t, type_labels[t]) for t in TYPES], initial=column.get("type")
            )
            self.fields[f"direction_{i}"] = forms.ChoiceField(
                label=_("direction"),
                choices=[(d, direction_labels[d]) for d in DIRECTIONS],
                initial=column.get("direction", "none"),
            )
            self.fields[f"special_{i}"] = forms.CharField(
                label=_("special values"),
                required=False,
                max_length=200,
                initial=", ".join(str(v) for v in column.get("special_values", [])),
            )
            self.rows.append((column["name"], f"type_{i}", f"direction_{i}", f"special_{i}"))

    def bound_rows(self):
        return [(name, self[t], self[d], self[s]) for name, t, d, s in self.rows]

    def schema_json(self) -> dict:
        columns = []
        for i, column in enumerate(self.schema.get("columns", [])):
            specials = []
            for part in (self.cleaned_data.get(f"special_{i}") or "").split(","):
                part = part.strip()
                if part:
                    try:
                        specials.append(float(part))
                    except ValueError:
                        specials.append(part)
            columns.append(
                {
                    "name": column["name"],
                    "type": self.cleaned_data[f"type_{i}"],
                    "direction": self.cleaned_data[f"direction_{i}"],
                    "special_values": specials,
                }
            )
        return {**self.schema, "columns": columns}


class PredictFileForm(forms.Form):
    data_file = forms.FileField(label=_("Rows to score (CSV or XLSX, the model's columns)"))
