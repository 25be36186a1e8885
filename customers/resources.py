"""django-import-export resources: customer export with English or Chinese headers.

The column set is the one the importer reads (``customers.importing.COLUMNS``), so an
exported file imports back unchanged, whichever header language it was written in.
Numbers keep their model field's widget (number cells in XLSX); every cell is
formula-escaped by ``FormulaEscapingResource``.
"""

from django.utils.translation import gettext_lazy as _
from import_export import fields

from customers.importing import COLUMNS
from customers.models import Customer
from loansite.exports import FormulaEscapingResource


def _resource(header: str, display_name):
    attrs = {}
    for column in COLUMNS:
        name = column.english if header == "english" else column.chinese
        if column.field == "tags":
            attrs["tags"] = fields.Field(attribute="tags", column_name=name, readonly=True)
        else:
            model_field = Customer._meta.get_field(column.field)
            widget = FormulaEscapingResource.widget_from_django_field(model_field)()
            attrs[column.field] = fields.Field(attribute=column.field, column_name=name, widget=widget)

    def dehydrate_tags(self, customer):
        return ", ".join(tag.name for tag in customer.tags.all())

    def filter_export(self, queryset, **kwargs):
        return queryset.prefetch_related("tags")

    attrs["dehydrate_tags"] = dehydrate_tags
    attrs["filter_export"] = filter_export
    attrs["Meta"] = type(
        "Meta",
        (),
        {"model": Customer, "fields": [c.field for c in COLUMNS], "export_order": [c.field for c in COLUMNS]},
    )
    attrs["get_display_name"] = classmethod(lambda cls: str(display_name))
    return type(f"Customer{header.title()}Resource", (FormulaEscapingResource,), attrs)


CustomerResource = _resource("english", _("English headers"))
CustomerChineseResource = _resource("chinese", _("Chinese headers (中文表头)"))
