"""Policy rules at their edges and the automated decision they lead to (pure)."""

from decimal import Decimal as D

import pytest

from scoring.policy import (
    APPROVED,
    DECLINE_RECOMMENDED,
    DECLINED,
    REFERRED,
    Facts,
    PolicyDef,
    RuleDef,
    policy_decide,
    policy_hits,
    sample_for_review,
    straight_through_checks,
)

POLICY = PolicyDef(
    straight_through=True,
    max_amount=D("100000"),
    grades="AB",
    require_coverage=True,
    auto_decline=True,
    sample_rate=D("0.1"),
    reopen_days=30,
)


def facts(**extra):
    values = {"amount": D("50000"), "term_months": 12, "bureau_score": 700, "debt_ratio": D("0.4"), "grade": "A"}
    return Facts(**{**values, **extra})


def rule(kind, threshold=None, action="recommend_decline"):
    return RuleDef(1, kind, None if threshold is None else D(threshold), action)


@pytest.mark.parametrize(
    ("the_rule", "extra", "hit"),
    [
        (rule("bureau_score_below", "550"), {"bureau_score": 549}, True),
        (rule("bureau_score_below", "550"), {"bureau_score": 550}, False),
        (rule("bureau_score_below", "550"), {"bureau_score": None}, False),
        (rule("debt_ratio_above", "0.7"), {"debt_ratio": D("0.7001")}, True),
        (rule("debt_ratio_above", "0.7"), {"debt_ratio": D("0.7")}, False),
        (rule("amount_above", "80000"), {"amount": D("80000.01")}, True),
        (rule("amount_above", "80000"), {"amount": D("80000")}, False),
        (rule("watch_list"), {"on_watch_list": True}, True),
        (rule("watch_list"), {}, False),
        (rule("high_risk_event"), {"high_risk_event": True}, True),
        (rule("loan_overdue"), {"loan_overdue": True}, True),
        (rule("credit_line_exceeded"), {"credit_line_headroom": D("49999.99")}, True),
        (rule("credit_line_exceeded"), {"credit_line_headroom": D("50000")}, False),
        (rule("credit_line_exceeded"), {"credit_line_headroom": None}, False),
        (rule("product_limits"), {"product_max_amount": D("49999.99")}, True),
        (rule("product_limits"), {"product_max_amount": D("50000"), "product_min_term": 12}, False),
        (rule("product_limits"), {"product_min_term": 13}, True),
    ],
)
def test_rules_at_their_edges(the_rule, extra, hit):
    hits = policy_hits([the_rule], facts(**extra))
    assert bool(hits) is hit
    if hit:
        assert hits[0]["kind"] == the_rule.kind and hits[0]["threshold"] == (
            None if the_rule.threshold is None else str(the_rule.threshold)
        )


@pytest.mark.parametrize(
    ("extra", "failed"),
    [
        ({"amount": D("100000")}, []),
        ({"amount": D("100000.01")}, ["amount_above_straight_through"]),
        ({"grade": "B"}, []),
        ({"grade": "C"}, ["grade_outside_policy"]),
        ({"grade": ""}, ["not_scored"]),
        ({"risk_flags": 1}, ["risk_flags"]),
        ({"coverage_met": False}, ["coverage_not_met"]),
        ({"coverage_met": True}, []),
    ],
)
def test_straight_through_conditions(extra, failed):
    assert straight_through_checks(POLICY, facts(**extra)) == failed


def test_decisions():
    decline = [rule("watch_list", action="auto_decline")]
    recommend = [rule("bureau_score_below", "550")]
    assert policy_decide(POLICY, decline, facts(on_watch_list=True)).kind == DECLINED
    # The product's policy does not decline automatically: the same rule only recommends.
    no_auto = PolicyDef(**{**POLICY.__dict__, "auto_decline": False})
    assert policy_decide(no_auto, decline, facts(on_watch_list=True)).kind == DECLINE_RECOMMENDED
    assert policy_decide(POLICY, recommend, facts(bureau_score=500)).kind == DECLINE_RECOMMENDED
    assert policy_decide(POLICY, recommend + decline, facts()).kind == APPROVED
    outcome = policy_decide(POLICY, recommend, facts(grade="D"))
    assert (outcome.kind, outcome.checks) == (REFERRED, ["grade_outside_policy"])
    off = PolicyDef(**{**POLICY.__dict__, "straight_through": False})
    assert policy_decide(off, [], facts()).kind == REFERRED


def test_sampling_share():
    assert sample_for_review(D("0.1"), 0.0999) and not sample_for_review(D("0.1"), 0.1)
    assert not sample_for_review(D("0"), 0.0)
    draws = [i / 1000 for i in range(1000)]
    assert sum(sample_for_review(D("0.25"), d) for d in draws) == 250
