"""Exports a spreadsheet shows as data: numbers as numbers, dates as dates, text never as code.

Formula (CSV) injection: a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is a formula to Excel, LibreOffice and WPS (``=HYPERLINK(...)`` leaks data
on a click, ``=cmd|...`` ran programs). Every export resource derives from
``FormulaEscapingResource``, which passes every cell and header through ``formula_escape``:
such text gets a leading apostrophe (the OWASP advice), so it is shown, never evaluated, in
both CSV and XLSX. Plain numbers written as text ("-5", "+86") are left as they are, and
native numbers, dates and empty cells are untouched.

Cells: the admin exports (``SpreadsheetExportMixin``) always take native values from the
resources. XLSX (``xlsx_bytes``) writes Decimals and integers as number cells with a number
format (money ``#,##0.00``, percentages ``0.00%``, counts ``#,##0``), dates and times as date
cells; CSV (``csv_bytes``) writes plain numbers (``1500000.00``, whatever the locale) and ISO
dates, in UTF-8 with a byte-order mark so that Excel on Chinese Windows reads it as UTF-8.

Languages: a resource with ``LANGUAGE`` set exports its headers *and* its values (choice
labels, city names) in that language, whatever the language of the page; the export form
names each column by the header it will have.
"""

import csv
import datetime
import io
import json
import re
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.utils import timezone, translation
from django.utils.functional import Promise
from import_export import resources
from import_export.formats import base_formats
from import_export.forms import SelectableFieldsExportForm

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

# Number formats of XLSX cells, by kind of column.
NUMBER_FORMATS = {
    "money": "#,##0.00",
    "percent": "0.00%",
    "count": "#,##0",
    "number": "General",  # whole numbers read as codes or years: no separators
    "decimal": "#,##0.00##",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm:ss",
}
BOM = "\ufeff"


def formula_escape(value):
    """The value as a spreadsheet will show it literally (text) or unchanged (other types)."""
    if isinstance(value, Promise):
        value = str(value)
    elif isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, default=str)
    if not isinstance(value, str) or not value.startswith(FORMULA_TRIGGERS):
        return value
    if _PLAIN_NUMBER.match(value):
        return value
    return "'" + value


def formula_unescape(text: str) -> str:
    """The inverse for imports: a cell this module escaped ("'=1+1") reads back as it was ("=1+1")."""
    if text.startswith("'") and text[1:2] and text[1:].startswith(FORMULA_TRIGGERS):
        return text[1:]
    return text


def _native(value):
    """A value as a spreadsheet cell takes it: local naive times, text for anything else."""
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.replace(tzinfo=None, microsecond=0)
    if value is None or isinstance(value, bool | int | float | Decimal | datetime.date | str):
        return value
    return formula_escape(value)


def _kind_of(value, declared: str | None) -> str | None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    if declared:
        return declared
    if isinstance(value, Decimal | float):
        return "money"
    if isinstance(value, int):
        return "number"
    if isinstance(value, datetime.datetime):
        return "datetime"
    if isinstance(value, datetime.date):
        return "date"
    return None


def xlsx_bytes(headers, rows, *, kinds=None, title: str = "", preamble=()) -> bytes:
    """A workbook of one sheet: ``preamble`` rows (text), the headers, then the rows.

    ``kinds``: per column, a key of ``NUMBER_FORMATS`` or None (then told by the value:
    Decimal -> money, int -> plain number, date, date and time)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    headers = [formula_escape(h) for h in headers]
    kinds = list(kinds or [])
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=(str(title) or "Sheet1")[:31].translate(str.maketrans("[]:*?/\\", "()-----")))
    for index, header in enumerate(headers, start=1):
        width = max(10, min(40, 2 + sum(2 if ord(ch) > 0x2E7F else 1 for ch in str(header or ""))))
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = f"A{len(preamble) + 2}"
    for line in preamble:
        sheet.append([formula_escape(cell) for cell in line])
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        cells = []
        for index, raw in enumerate(row):
            value = _native(formula_escape(raw))
            kind = _kind_of(value, kinds[index] if index < len(kinds) else None)
            if kind is None:
                cells.append(value)
                continue
            if isinstance(value, str):  # a number a resource gave as text stays text
                cells.append(value)
                continue
            cell = WriteOnlyCell(sheet, value=value)
            cell.number_format = NUMBER_FORMATS.get(kind, "General")
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _csv_text(value) -> str:
    value = _native(formula_escape(value))
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def csv_bytes(headers, rows) -> bytes:
    """UTF-8 with a byte-order mark (Excel on Chinese Windows reads it as UTF-8), CRLF lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_csv_text(h) for h in headers])
    for row in rows:
        writer.writerow([_csv_text(cell) for cell in row])
    return (BOM + buffer.getvalue()).encode("utf-8")


class CSVExport(base_formats.CSV):
    """CSV in UTF-8 with a BOM, plain numbers and ISO dates."""

    def export_data(self, dataset, **kwargs):
        return csv_bytes(dataset.headers or [], dataset)


class XLSXExport(base_formats.XLSX):
    """XLSX with number and date cells in their formats (see ``xlsx_bytes``)."""

    def export_data(self, dataset, **kwargs):
        return xlsx_bytes(dataset.headers or [], dataset, kinds=getattr(dataset, "cell_kinds", None))


class FormulaEscapingResource(resources.ModelResource):
    """Base of every export resource: each exported cell and header goes through ``formula_escape``.

    ``LANGUAGE`` (``"en"``, ``"zh-hans"`` or None for the page's) is the language of the headers
    and values; ``CELL_KINDS`` maps a field name to a key of ``NUMBER_FORMATS`` for XLSX."""

    LANGUAGE: str | None = None
    CELL_KINDS: dict = {}

    def export_field(self, field, instance, **kwargs):
        return formula_escape(super().export_field(field, instance, **kwargs))

    def get_export_headers(self, selected_fields=None):
        return [formula_escape(header) for header in super().get_export_headers(selected_fields)]

    def export(self, queryset=None, **kwargs):
        with translation.override(self.LANGUAGE or translation.get_language()):
            dataset = super().export(queryset=queryset, **kwargs)
        fields = self.get_export_fields(kwargs.get("export_fields"))
        dataset.cell_kinds = [self.CELL_KINDS.get(self._field_key(f)) for f in fields]
        return dataset

    def _field_key(self, field) -> str:
        for key, candidate in self.fields.items():
            if candidate is field:
                return key
        return getattr(field, "attribute", "") or ""


class ExportForm(SelectableFieldsExportForm):
    """Each column is named by the header it will have (not "Credit Code (Credit code)")."""

    def _get_field_label(self, resource, field_name: str) -> str:
        field = resource.fields.get(field_name)
        if field is None or not field.column_name:
            return field_name.replace("_", " ")
        with translation.override(getattr(resource, "LANGUAGE", None) or translation.get_language()):
            return str(field.column_name)


class SpreadsheetExportMixin:
    """For admins exporting with django-import-export: CSV (UTF-8 with BOM) and XLSX (number
    cells), resources always give native values, the form labels columns by their headers."""

    export_formats = [CSVExport, XLSXExport]
    export_form_class = ExportForm

    def get_export_data(self, file_format, request, queryset, **kwargs):
        if not self.has_export_permission(request):
            raise PermissionDenied
        kwargs.pop("encoding", None)
        data = self.get_data_for_export(request, queryset, force_native_type=True, **kwargs)
        return file_format.export_data(data)
