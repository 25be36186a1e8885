"""Deeply nested JSON typed into a form is a form error, never a RecursionError (500).

Django's ``forms.JSONField`` decodes with ``json.loads`` and catches only decoding errors;
``[[[[...`` a few thousand levels deep raises ``RecursionError`` instead (in ``to_python``
and again in ``bound_data`` when the invalid form is shown back). ``install()`` (called by
the loansite app at start) measures the nesting first, with the API parser's limit.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput

from loansite.api.parsers import json_max_depth, json_nesting_depth


def _too_deep(value) -> bool:
    return isinstance(value, str) and json_nesting_depth(value) > json_max_depth()


def install() -> None:
    field = forms.JSONField
    if getattr(field, "_loansite_depth_limited", False):
        return
    to_python, bound_data = field.to_python, field.bound_data

    def limited_to_python(self, value):
        if _too_deep(value):
            raise ValidationError(self.error_messages["invalid"], code="invalid", params={"value": value})
        return to_python(self, value)

    def limited_bound_data(self, data, initial):
        if _too_deep(data):
            return InvalidJSONInput(data)
        return bound_data(self, data, initial)

    field.to_python = limited_to_python
    field.bound_data = limited_bound_data
    field._loansite_depth_limited = True
