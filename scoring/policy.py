"""Policy rules and the automated decision: pure functions over plain values.

Knock-out rules hit at strict edges: a bureau score *below* the threshold (the threshold
itself passes), a debt ratio or an amount *above* it. Straight-through approval needs no
rule hit, the amount *at most* the policy's maximum, a grade among the policy's, no
active risk flag, a known score and, where the product asks for it, collateral coverage.
"""

from dataclasses import dataclass, field
from decimal import Decimal

APPROVED = "approved"
DECLINED = "declined"
DECLINE_RECOMMENDED = "recommend_decline"
REFERRED = "referred"

AUTO_DECLINE = "auto_decline"


@dataclass(frozen=True)
class RuleDef:
    id: int
    kind: str
    threshold: Decimal | None
    action: str


@dataclass(frozen=True)
class PolicyDef:
    straight_through: bool
    max_amount: Decimal
    grades: str
    require_coverage: bool
    auto_decline: bool
    sample_rate: Decimal
    reopen_days: int


@dataclass(frozen=True)
class Facts:
    amount: Decimal
    term_months: int
    bureau_score: int | None = None
    debt_ratio: Decimal | None = None
    on_watch_list: bool = False
    high_risk_event: bool = False
    risk_flags: int = 0
    loan_overdue: bool = False
    credit_line_headroom: Decimal | None = None
    product_min_amount: Decimal | None = None
    product_max_amount: Decimal | None = None
    product_min_term: int | None = None
    product_max_term: int | None = None
    grade: str = ""
    points: int | None = None
    # None: the product asks for no minimum coverage.
    coverage_met: bool | None = None


@dataclass(frozen=True)
class Outcome:
    kind: str
    hits: list[dict] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)


def _value(rule: RuleDef, facts: Facts):
    """``(hit, value)`` of one rule."""
    kind, t = rule.kind, rule.threshold
    if kind == "bureau_score_below":
        v = facts.bureau_score
        return (v is not None and t is not None and Decimal(v) < t), v
    if kind == "debt_ratio_above":
        v = facts.debt_ratio
        return (v is not None and t is not None and Decimal(str(v)) > t), v
    if kind == "amount_above":
        return (t is not None and facts.amount > t), facts.amount
    if kind == "watch_list":
        return facts.on_watch_list, facts.on_watch_list
    if kind == "high_risk_event":
        return facts.high_risk_event, facts.high_risk_event
    if kind == "loan_overdue":
        return facts.loan_overdue, facts.loan_overdue
    if kind == "credit_line_exceeded":
        h = facts.credit_line_headroom
        return (h is not None and facts.amount > h), h
    if kind == "product_limits":
        outside = (
            (facts.product_min_amount is not None and facts.amount < facts.product_min_amount)
            or (facts.product_max_amount is not None and facts.amount > facts.product_max_amount)
            or (facts.product_min_term is not None and facts.term_months < facts.product_min_term)
            or (facts.product_max_term is not None and facts.term_months > facts.product_max_term)
        )
        return outside, facts.amount
    raise ValueError(f"unknown policy rule kind: {kind}")


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    return value


def policy_hits(rules: list[RuleDef], facts: Facts) -> list[dict]:
    hits = []
    for rule in rules:
        hit, value = _value(rule, facts)
        if hit:
            hits.append(
                {
                    "rule": rule.id,
                    "kind": rule.kind,
                    "threshold": _plain(rule.threshold),
                    "value": _plain(value),
                    "action": rule.action,
                }
            )
    return hits


def straight_through_checks(policy: PolicyDef, facts: Facts) -> list[str]:
    """The codes of the straight-through conditions ``facts`` miss (empty: inside policy)."""
    failed = []
    if not policy.straight_through:
        failed.append("straight_through_off")
    if facts.amount > policy.max_amount:
        failed.append("amount_above_straight_through")
    if not facts.grade:
        failed.append("not_scored")
    elif facts.grade not in policy.grades:
        failed.append("grade_outside_policy")
    if facts.risk_flags:
        failed.append("risk_flags")
    if policy.require_coverage and facts.coverage_met is False:
        failed.append("coverage_not_met")
    return failed


def policy_decide(policy: PolicyDef, rules: list[RuleDef], facts: Facts) -> Outcome:
    hits = policy_hits(rules, facts)
    if hits:
        declines = policy.auto_decline and any(h["action"] == AUTO_DECLINE for h in hits)
        return Outcome(DECLINED if declines else DECLINE_RECOMMENDED, hits, [])
    checks = straight_through_checks(policy, facts)
    return Outcome(REFERRED if checks else APPROVED, [], checks)


def sample_for_review(rate: Decimal, draw: float) -> bool:
    """Whether a decision with uniform ``draw`` in [0, 1) is sampled at ``rate``."""
    return draw < float(rate)
