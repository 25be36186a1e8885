"""``{% load formatting %}``: the filters of ``loansite.formatting`` for templates."""

from django import template

from loansite import formatting

register = template.Library()


@register.filter
def money(value):
    return formatting.format_money(value)


@register.filter
def money_plain(value):
    return formatting.format_money(value, currency=False)


@register.filter
def number(value):
    return formatting.format_number(value)


@register.filter
def percent(value, places=2):
    return formatting.format_percent(value, places=int(places))


@register.filter
def percent_points(value, places=2):
    """A value already in percent (an annual rate of ``12.5``): ``12.50 %``."""
    return formatting.format_percent(value, places=int(places), fraction=False)


@register.filter
def ratio(value, places=2):
    return formatting.format_ratio(value, places=int(places))


@register.filter
def datetime_short(value):
    return formatting.format_datetime(value)


@register.filter
def date_short(value):
    return formatting.format_date(value)


@register.filter
def or_dash(value):
    return formatting.or_dash(value)
