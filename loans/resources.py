"""Export of loan applications (django-import-export), English or Chinese headers.

Two resources, one per header language; the columns are the import's
(``loans.importing.COLUMNS``), so an exported file imports back. Imports do not go
through django-import-export: the admin's import page calls
``loans.services.application_import``. Every cell is formula-escaped
(``FormulaEscapingResource``); numbers go out as numbers.
"""

from django.utils import timezone
from django.utils.translation import gettext as _
from import_export import fields, widgets

from customers.reference import city_label, industry_label
from loans.importing import COLUMNS
from loans.models import LoanApplication
from loansite.exports import FormulaEscapingResource

__all__ = ["COLUMNS", "ApplicationResourceChinese", "ApplicationResourceEnglish"]

# Number columns go out as numbers (number cells in XLSX).
NUMBER_WIDGETS = {
    "amount": widgets.DecimalWidget,
    "monthly_revenue": widgets.DecimalWidget,
    "monthly_cost": widgets.DecimalWidget,
    "score_probability": widgets.DecimalWidget,
    "credit_score": widgets.IntegerWidget,
    "years_in_business": widgets.IntegerWidget,
    "term_months": widgets.IntegerWidget,
    "score_points": widgets.IntegerWidget,
}


class _ApplicationResource(FormulaEscapingResource):
    LANGUAGE = "en"
    CELL_KINDS = {
        "score_probability": "percent",
        "credit_score": "number",
        "years_in_business": "number",
        "term_months": "number",
        "score_points": "number",
    }

    class Meta:
        model = LoanApplication
        fields = ()

    @classmethod
    def _build_fields(cls):
        index = 0 if cls.LANGUAGE == "en" else 1
        return {
            key: fields.Field(
                attribute=attr,
                column_name=names[index],
                readonly=True,
                widget=NUMBER_WIDGETS.get(key, widgets.Widget)(),
            )
            for key, (*names, attr) in COLUMNS.items()
        }

    def get_export_fields(self, selected_fields=None):
        return list(self.fields.values())

    def get_user_visible_fields(self):
        return list(self.fields.values())

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("customer", "product", "snapshot")

    # What the application was judged on: its snapshot when it has one (taken at
    # submission), so an export after a customer edit shows what the approver saw.
    @staticmethod
    def _judged(app):
        try:
            return app.snapshot
        except LoanApplication.snapshot.RelatedObjectDoesNotExist:
            return app.customer

    def _judged_value(self, app, name):
        source = self._judged(app)
        return getattr(source, name) if source is not None else None

    def dehydrate_credit_score(self, app):
        return self._judged_value(app, "credit_score")

    def dehydrate_monthly_revenue(self, app):
        return self._judged_value(app, "monthly_revenue")

    def dehydrate_monthly_cost(self, app):
        return self._judged_value(app, "monthly_cost")

    def dehydrate_years_in_business(self, app):
        return self._judged_value(app, "years_in_business")

    def dehydrate_city(self, app):
        return city_label(self._judged_value(app, "city") or "")

    def dehydrate_kind(self, app):
        return str(app.customer.get_kind_display()) if app.customer is not None else ""

    def dehydrate_status(self, app):
        return str(app.get_status_display())

    def dehydrate_channel(self, app):
        return str(app.get_channel_display())

    def dehydrate_industry(self, app):
        source = self._judged(app)
        return industry_label(source.industry) if source is not None else ""

    def dehydrate_purpose(self, app):
        return str(app.get_purpose_display())

    def dehydrate_repayment_method(self, app):
        return str(app.get_repayment_method_display())

    def dehydrate_date(self, app):
        when = app.submitted_at or app.created_at
        return timezone.localtime(when).date() if when else None


class ApplicationResourceEnglish(_ApplicationResource):
    LANGUAGE = "en"

    @classmethod
    def get_display_name(cls):
        return _("Applications (English headers)")


class ApplicationResourceChinese(_ApplicationResource):
    LANGUAGE = "zh-hans"

    @classmethod
    def get_display_name(cls):
        return _("Applications (Chinese headers)")


for _cls in (ApplicationResourceEnglish, ApplicationResourceChinese):
    _cls.fields = _cls._build_fields()
