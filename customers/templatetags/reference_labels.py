"""Reference values in the reader's language: ``{{ customer.city|city_label }}`` (北京 / Beijing),
``{{ manager.industries|industry_labels }}`` (零售, 餐饮)."""

from django import template

from customers.reference import city_label as _city_label
from customers.reference import industry_label as _industry_label

register = template.Library()


@register.filter
def city_label(value) -> str:
    return _city_label(value)


@register.filter
def industry_label(value) -> str:
    return _industry_label(value)


@register.filter
def industry_labels(values) -> str:
    return "、".join(_industry_label(code) for code in values or []) if values else ""
