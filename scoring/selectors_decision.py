"""Reads for decisioning: the active expert scorecard as a pure config, an application's or
a customer's expert result, the policy in force for a product, challengers, backtests and
alerts."""

from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist

from scoring.expert import Band, ExpertConfig, ExpertResult, Level, expert_score
from scoring.models import (
    Backtest,
    Challenger,
    DecisionPolicy,
    ExpertScorecard,
    ModelAlert,
    ModelVersion,
    PolicyRule,
    ShadowScore,
)
from scoring.policy import PolicyDef, RuleDef

INDICATORS = ("debt_ratio", "current_ratio", "net_margin")


def expert_config(scorecard: ExpertScorecard) -> ExpertConfig:
    bands: dict[str, list[Band]] = {}
    for b in scorecard.bands.all():
        bands.setdefault(b.indicator, []).append(
            Band(b.lower, b.lower_inclusive, b.upper, b.upper_inclusive, Decimal(b.points))
        )
    return ExpertConfig(
        label=scorecard.label,
        weights={w.indicator: Decimal(w.weight) for w in scorecard.weights.all()},
        bands=bands,
        levels=[Level(Decimal(lv.min_score), lv.level, lv.rating) for lv in scorecard.levels.all()],
    )


def expert_scorecard_active() -> ExpertScorecard | None:
    return ExpertScorecard.objects.filter(active=True).prefetch_related("weights", "bands", "levels").first()


def expert_config_active() -> ExpertConfig | None:
    card = expert_scorecard_active()
    return expert_config(card) if card is not None else None


def customer_expert_values(customer) -> dict:
    return {name: getattr(customer, name) for name in INDICATORS}


def application_expert_values(application) -> dict:
    """The indicators as the application was judged on them (its snapshot; the customer
    on file for an application without one)."""
    try:
        snapshot = application.snapshot
    except (ObjectDoesNotExist, AttributeError):
        snapshot = None
    if snapshot is not None:
        return {name: getattr(snapshot, name, None) for name in INDICATORS}
    return customer_expert_values(application.customer) if application.customer_id else {}


def expert_result_for(values: dict) -> ExpertResult | None:
    config = expert_config_active()
    return expert_score(config, values) if config is not None else None


# -- policy -------------------------------------------------------------------------------
def decision_policy_for(product_id: int | None) -> DecisionPolicy | None:
    """The product's own policy, else the default one."""
    from django.db.models import Q

    rows = DecisionPolicy.objects.filter(Q(product_id=product_id) | Q(product=None))
    policies = {p.product_id: p for p in rows}
    return policies.get(product_id) or policies.get(None)


def policy_def(policy: DecisionPolicy) -> PolicyDef:
    return PolicyDef(
        straight_through=policy.straight_through,
        max_amount=policy.max_amount,
        grades=policy.grades.upper(),
        require_coverage=policy.require_coverage,
        auto_decline=policy.auto_decline,
        sample_rate=policy.sample_rate,
        reopen_days=policy.reopen_days,
    )


def policy_rules_for(product_id: int | None) -> list[RuleDef]:
    """Active rules for every product and for this one."""
    from django.db.models import Q

    rows = PolicyRule.objects.filter(Q(product=None) | Q(product_id=product_id), active=True).order_by("kind", "id")
    return [RuleDef(r.pk, r.kind, r.threshold, r.action) for r in rows]


def policy_rules_in_force() -> list[PolicyRule]:
    return list(PolicyRule.objects.filter(active=True).select_related("product").order_by("kind", "id"))


# -- challengers, backtests, alerts -------------------------------------------------------
def challenger_versions() -> list[ModelVersion]:
    return [
        c.model_version
        for c in Challenger.objects.select_related("model_version").defer("model_version__artifact")
        if c.model_version.status == ModelVersion.Status.READY
    ]


def challenger_of(kind: str) -> Challenger | None:
    return Challenger.objects.filter(kind=kind).first()


def backtest_latest(*, version: ModelVersion) -> Backtest | None:
    return Backtest.objects.filter(model_version=version).order_by("-created_at", "-id").first()


def model_alerts_open(*, version: ModelVersion):
    return ModelAlert.objects.filter(model_version=version, closed_at=None).order_by("-created_at")


def shadow_comparison(*, challenger: ModelVersion, champion: ModelVersion | None) -> dict:
    """The challenger's shadow scores next to the champion's scores of the same
    applications: counts, mean PD, grade agreement, and AUC on the known outcomes."""
    import numpy as np

    from scoring.backtesting import _auc
    from scoring.models import LoanOutcome, Score

    shadow = {
        app: (p, g)
        for app, p, g in ShadowScore.objects.filter(model_version=challenger).values_list(
            "application_id", "probability", "grade"
        )
    }
    result = {"shadow_rows": len(shadow), "paired": 0}
    if champion is None or not shadow:
        return result
    champ = {
        app: (p, g)
        for app, p, g in Score.objects.filter(model_version=champion, application_id__in=list(shadow)).values_list(
            "application_id", "probability", "grade"
        )
    }
    paired = [a for a in shadow if a in champ and shadow[a][0] is not None and champ[a][0] is not None]
    if not paired:
        return result
    ch = np.array([shadow[a][0] for a in paired], dtype=float)
    cp = np.array([champ[a][0] for a in paired], dtype=float)
    agree = sum(1 for a in paired if shadow[a][1] == champ[a][1])
    outcomes = dict(LoanOutcome.objects.filter(application_id__in=paired).values_list("application_id", "defaulted"))
    known = [a for a in paired if a in outcomes]
    y = [int(outcomes[a]) for a in known]
    result.update(
        {
            "paired": len(paired),
            "challenger_mean_pd": round(float(ch.mean()), 4),
            "champion_mean_pd": round(float(cp.mean()), 4),
            "grade_agreement": round(agree / len(paired), 4),
            "with_outcome": len(known),
            "challenger_auc": _auc(y, [shadow[a][0] for a in known]),
            "champion_auc": _auc(y, [champ[a][0] for a in known]),
            "champion": champion.label,
        }
    )
    return result
