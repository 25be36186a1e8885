"""``{{ event.rules_hit|rule_labels }}``: the rules an event hit, named in the reader's language."""

from django import template

register = template.Library()


@register.filter
def rule_labels(codes) -> str:
    from risk.selectors import risk_rule_labels

    return risk_rule_labels(codes)


@register.filter
def entry_details(data) -> str:
    """A timeline entry's details with names and values in the reader's language
    (等级: 高; 规则: 贷款逾期) instead of the keys and codes it stores."""
    from django.utils.translation import gettext_lazy as _

    from risk.models import Level
    from risk.selectors import risk_rule_label

    if not isinstance(data, dict):
        return "" if data is None else str(data)
    names = {
        "level": _("level"),
        "score": _("score"),
        "transactions": _("transactions"),
        "logins": _("sign-ins"),
        "date": _("date"),
        "from": _("from"),
        "to": _("to"),
        "reference": _("reference"),
        "rule_version": _("rule version"),
        "signal": _("signal"),
        "signals": _("signals"),
        "days_past_due": _("days past due"),
    }
    levels = dict(Level.choices)
    parts = []
    for key, value in data.items():
        if key == "level":
            value = levels.get(value, value)
        elif key == "signal":
            value = risk_rule_label(value)
        elif isinstance(value, list):
            value = ", ".join(str(item) for item in value)
        parts.append(f"{names.get(key, key)}: {value}")
    return "; ".join(parts)
