"""``{{ event.rules_hit|rule_labels }}``: the rules an event hit, named in the reader's language."""

from django import template

register = template.Library()


@register.filter
def rule_labels(codes) -> str:
    from risk.selectors import risk_rule_labels

    return risk_rule_labels(codes)
