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
from customers.masking import mask_id_number, mask_phone
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

# Exported masked for users without customers.view_identifiers.
MASKED = {"id_number": mask_id_number, "phone": mask_phone}


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

    def __init__(self, identifiers_full=False, **kwargs):
        # ID and phone numbers masked unless the exporting user may see them (customers/masking.py).
        FormulaEscapingResource.__init__(self, **kwargs)
        self.identifiers_full = identifiers_full

    def export_field(self, field, instance, **kwargs):
        value = FormulaEscapingResource.export_field(self, field, instance, **kwargs)
        if not self.identifiers_full and field.attribute in MASKED:
            return MASKED[field.attribute](value)
        return value

    attrs.update(
        dehydrate_tags=dehydrate_tags,
        dehydrate_kind=dehydrate_kind,
        dehydrate_industry=dehydrate_industry,
        dehydrate_city=dehydrate_city,
        filter_export=filter_export,
        __init__=__init__,
        export_field=export_field,
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
