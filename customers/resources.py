"""django-import-export resources: customer export with English or Chinese headers and values.

The column set is the one the importer reads (``customers.importing.COLUMNS``), so an
exported file imports back unchanged, whichever language it was written in: the Chinese
export says 企业 / 餐饮 / 杭州 where the English one says Enterprise / Catering / Hangzhou,
and the importer reads both. Numbers keep their model field's widget (number cells in
XLSX); every cell is formula-escaped by ``FormulaEscapingResource``.
"""

from django.utils.translation import gettext_lazy as _
from import_export import fields

from customers.importing import COLUMNS
from customers.models import Customer
from customers.reference import city_label, industry_label
from loansite.exports import FormulaEscapingResource

CELL_KINDS = {
    "city_tier": "number",
    "years_in_business": "number",
    "employees": "count",
    "monthly_foot_traffic": "count",
    "credit_score": "number",
}


def _resource(header: str, language: str, display_name):
    attrs = {"LANGUAGE": language, "CELL_KINDS": CELL_KINDS}
    for column in COLUMNS:
        name = column.english if header == "english" else column.chinese
        if column.field in ("tags", "kind", "industry", "city"):
            attrs[column.field] = fields.Field(attribute=column.field, column_name=name, readonly=True)
        else:
            model_field = Customer._meta.get_field(column.field)
            widget = FormulaEscapingResource.widget_from_django_field(model_field)()
            attrs[column.field] = fields.Field(attribute=column.field, column_name=name, widget=widget)

    def dehydrate_tags(self, customer):
        return ", ".join(tag.name for tag in customer.tags.all())

    def dehydrate_kind(self, customer):
        return str(customer.get_kind_display())

    def dehydrate_industry(self, customer):
        return industry_label(customer.industry)

    def dehydrate_city(self, customer):
        return city_label(customer.city)

    def filter_export(self, queryset, **kwargs):
        return queryset.prefetch_related("tags")

    attrs.update(
        dehydrate_tags=dehydrate_tags,
        dehydrate_kind=dehydrate_kind,
        dehydrate_industry=dehydrate_industry,
        dehydrate_city=dehydrate_city,
        filter_export=filter_export,
    )
    attrs["Meta"] = type(
        "Meta",
        (),
        {"model": Customer, "fields": [c.field for c in COLUMNS], "export_order": [c.field for c in COLUMNS]},
    )
    attrs["get_display_name"] = classmethod(lambda cls: str(display_name))
    return type(f"Customer{header.title()}Resource", (FormulaEscapingResource,), attrs)


CustomerResource = _resource("english", "en", _("English headers"))
CustomerChineseResource = _resource("chinese", "zh-hans", _("Chinese headers (中文表头)"))
