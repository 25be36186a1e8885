"""Decisioning panels for the application page (expert next to statistical, the automated
decision) and the model page (backtest, alerts, champion/challenger)."""

from django import template

register = template.Library()


def level_label(level: str) -> str:
    from scoring.models import RiskLevel

    return str(RiskLevel(level).label) if level in RiskLevel.values else ""


@register.inclusion_tag("admin/scoring/decision/application_panel.html", takes_context=True)
def application_decision_panel(context, application):
    from loans.models import AutomatedDecision
    from scoring.selectors_decision import application_expert_values, expert_result_for

    user = context["request"].user
    decision = AutomatedDecision.objects.filter(application=application).order_by("-review_round", "-id").first()
    expert = expert_result_for(application_expert_values(application)) if application.customer_id else None
    return {
        "application": application,
        "expert": expert,
        "expert_level": level_label(expert.level) if expert is not None else "",
        "decision": decision,
        "can_review": user.has_perm("loans.review_automateddecision"),
    }


@register.inclusion_tag("admin/scoring/decision/model_panel.html", takes_context=True)
def model_decision_panel(context, version):
    from scoring.models import ModelKind, ModelVersion
    from scoring.selectors_decision import backtest_latest, challenger_of, model_alerts_open, shadow_comparison

    user = context["request"].user
    challenger = challenger_of(version.kind)
    is_challenger = challenger is not None and challenger.model_version_id == version.pk
    champion = (
        ModelVersion.objects.filter(kind=version.kind, status=ModelVersion.Status.ACTIVE).defer("artifact").first()
    )
    return {
        "version": version,
        "is_pd": version.kind == ModelKind.PD,
        "backtest": backtest_latest(version=version),
        "alerts": list(model_alerts_open(version=version)),
        "challenger": challenger,
        "is_challenger": is_challenger,
        "comparison": shadow_comparison(challenger=version, champion=champion) if is_challenger else None,
        "can_challenge": version.status == ModelVersion.Status.READY and not is_challenger,
        "can_manage": user.has_perm("scoring.activate_modelversion"),
        "csrf_token": context.get("csrf_token"),
    }
