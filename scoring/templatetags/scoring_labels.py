"""Scoring names in the reader's language: ``{{ line.indicator|indicator_label }}`` (资产负债率)."""

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

# The expert scorecard's indicators (scoring.selectors_decision.INDICATORS).
INDICATOR_LABELS = {
    "debt_ratio": _("debt ratio"),
    "current_ratio": _("current ratio"),
    "net_margin": _("net margin"),
}


@register.filter
def indicator_label(code) -> str:
    return str(INDICATOR_LABELS.get(code, code))


@register.filter
def indicator_labels(codes) -> str:
    return ", ".join(indicator_label(code) for code in codes or [])
