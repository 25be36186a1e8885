"""``{% load scoring_tags %}{{ reason|reason_text }}``: a stored reason in the reader's language."""

from django import template

from scoring.reasons import reason_text as _reason_text

register = template.Library()


@register.filter
def reason_text(reason) -> str:
    if isinstance(reason, dict):
        return _reason_text(reason)
    return str(reason)
