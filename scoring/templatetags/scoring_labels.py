"""Scoring names in the reader's language: ``{{ line.indicator|indicator_label }}`` (资产负债率),
``{{ model.kind|model_kind_label }}``, ``{{ hit.kind|policy_rule_label }}``, ``{{ decision.checks|check_labels }}``."""

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


# Why an automated decision did not go straight through (scoring.policy).
CHECK_LABELS = {
    "straight_through_off": _("straight-through approval is off"),
    "amount_above_straight_through": _("amount above the straight-through limit"),
    "not_scored": _("not scored"),
    "grade_outside_policy": _("grade outside the policy"),
    "risk_flags": _("risk flags"),
    "coverage_not_met": _("collateral coverage not met"),
}


@register.filter
def model_kind_label(code) -> str:
    from scoring.models import ModelKind

    return str(dict(ModelKind.choices).get(code, code))


@register.filter
def policy_rule_label(code) -> str:
    from scoring.models_decision import PolicyRule

    return str(dict(PolicyRule.Kind.choices).get(code, code))


@register.filter
def check_labels(codes) -> str:
    return ", ".join(str(CHECK_LABELS.get(code, code)) for code in codes or [])
