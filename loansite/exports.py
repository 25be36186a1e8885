"""Exports that a spreadsheet cannot turn into code (CSV / formula injection).

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a
formula to Excel, LibreOffice and WPS (``=HYPERLINK(...)`` leaks data on a click,
``=cmd|...`` ran programs). Every export resource derives from
``FormulaEscapingResource``, which passes every cell and header through
``formula_escape``: such text gets a leading apostrophe (the OWASP advice), so it is
shown, never evaluated, in both CSV and XLSX. Plain numbers written as text ("-5",
"+86") are left as they are, and native numbers, dates and empty cells are untouched,
so XLSX keeps number cells.
"""

import json
import re

from django.utils.functional import Promise
from import_export import resources

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


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


class FormulaEscapingResource(resources.ModelResource):
    """Base of every export resource: each exported cell and header goes through ``formula_escape``."""

    def export_field(self, field, instance, **kwargs):
        return formula_escape(super().export_field(field, instance, **kwargs))

    def get_export_headers(self, selected_fields=None):
        return [formula_escape(header) for header in super().get_export_headers(selected_fields)]


def formula_unescape(text: str) -> str:
    """The inverse for imports: a cell this module escaped ("'=1+1") reads back as it was ("=1+1")."""
    if text.startswith("'") and text[1:2] and text[1:].startswith(FORMULA_TRIGGERS):
        return text[1:]
    return text
