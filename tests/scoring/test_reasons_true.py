"""Reasons that are true: each feature keeps its declared business direction, and a reason
describes the applicant's own bin, never something the applicant's value contradicts."""

import numpy as np
import pandas as pd
import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loansite import demo_profiles
from scoring.features import FEATURE_DIRECTIONS, RAW_COLUMNS, features_build
from scoring.reasons import number_text, reason_dict, reason_words
from scoring.scorecard import UNKNOWN_REASON, Scorecard, reason_split
from scoring.training import train_pd


def _demo_raw(seed: int, customers: int, applications: int):
    rng = np.random.default_rng(seed)
    cust = demo_profiles.customer_profiles(rng, customers)
    apps = demo_profiles.application_profiles(rng, cust, applications)
    c = cust.iloc[apps["customer_pos"]].reset_index(drop=True)
    raw = pd.DataFrame({k: c[k] for k in c.columns if k in RAW_COLUMNS})
    raw["amount"], raw["term_months"], raw["product"] = apps["amount"], apps["term_months"], "WC"
    for k in ("prior_applications", "prior_approved", "prior_rejected"):
        raw[k] = rng.poisson(0.8, applications)
    return raw[RAW_COLUMNS], apps["defaults"].astype(int).to_numpy()


@pytest.fixture(scope="module")
def card():
    raw, y = _demo_raw(5, 2000, 8000)
    return train_pd(raw, y, cv_folds=0, baseline_trees=10).artifact.scorecard


def check_reasons_true(sc: Scorecard, features, reasons) -> int:
    """Every reason's bin holds the applicant's value; its words quote that bin. Returns the count checked."""
    checked = 0
    for row, row_reasons in zip(range(len(features)), reasons, strict=True):
        for name, lost in row_reasons:
            assert lost > 0
            feature, extra = reason_split(name)
            if feature.endswith(UNKNOWN_REASON):
                base = feature[: -len(UNKNOWN_REASON)]
                value = float(features[base].iloc[row])
                assert not np.isfinite(value), (base, value)  # "not known" only when it is not
                continue
            value = features[feature].iloc[row]
            if "bin" in extra:
                low, high = extra["bin"]
                value = float(value)
                assert np.isfinite(value)
                assert low is None or value >= low, (feature, value, low)
                assert high is None or value < high, (feature, value, high)
                with translation.override("en"):
                    words = str(reason_words(name))
                if feature not in ("credit_score_missing", "financials_missing"):
                    if low is None:
                        assert "below" in words and number_text(feature, high) in words, words
                    elif high is None:
                        assert "or more" in words and number_text(feature, low) in words, words
                    else:
                        assert number_text(feature, low) in words and number_text(feature, high) in words
                # Points follow the declared direction, so the far end of it is the best bin
                # and never a reason ("high revenue" cannot cost points).
                direction = sc.directions.get(feature, FEATURE_DIRECTIONS.get(feature))
                if direction == "higher_better":
                    assert high is not None, (feature, value)
                elif direction == "higher_worse":
                    assert low is not None, (feature, value)
            else:
                assert str(value) == extra["level"] or extra["level"] == "other"
            checked += 1
    return checked


def test_declared_directions_hold_in_every_bin(card):
    for name in card.selected:
        fb = card.bins[name]
        if fb.kind != "numeric" or len(fb.edges) < 1:
            continue
        points = card.bin_points(name)[: len(fb.edges) + 1]
        direction = FEATURE_DIRECTIONS.get(name)
        if direction == "higher_better":
            assert (np.diff(points) >= 0).all(), (name, points)
        elif direction == "higher_worse":
            assert (np.diff(points) <= 0).all(), (name, points)
    # Cost is judged through margins and ratios only.
    assert "monthly_cost" not in card.bins


def test_a_feature_whose_data_contradict_its_direction_is_reported_and_left_out_unless_kept():
    rng = np.random.default_rng(1)
    n = 6000
    revenue = rng.lognormal(11, 0.6, n)
    noise = rng.normal(size=n)
    # Crafted: in these data, more revenue means more defaults (against the declared direction).
    y = (rng.random(n) < 1 / (1 + np.exp(-(np.log(revenue) - 11) * 2 - 2))).astype(int)
    features = pd.DataFrame({"monthly_revenue": revenue, "noise": noise + y * 0.8})
    sc = Scorecard(categorical=[], directions={"monthly_revenue": "higher_better"}).fit(features, y)
    assert [c["feature"] for c in sc.contradicted] == ["monthly_revenue"]
    assert sc.contradicted[0]["observed"] == "higher_worse" and not sc.contradicted[0]["kept"]
    assert "monthly_revenue" not in sc.selected and sc.left_out == ["monthly_revenue"]
    kept = Scorecard(
        categorical=[], directions={"monthly_revenue": "higher_better"}, keep_contradicted=["monthly_revenue"]
    ).fit(features, y)
    assert kept.contradicted[0]["kept"] and "monthly_revenue" in kept.selected
    # Without a declared direction nothing is contradicted.
    free = Scorecard(categorical=[]).fit(features, y)
    assert free.contradicted == [] and "monthly_revenue" in free.selected


def test_the_issue_case_more_cost_never_raises_the_score_and_high_revenue_is_no_reason(card):
    base = dict.fromkeys(RAW_COLUMNS, np.nan)
    base.update(
        amount=300000.0, term_months=12.0, product="WC", industry="retail", city_tier=2, credit_score=680,
        years_in_business=5, monthly_revenue=200000.0, monthly_cost=10000.0, total_assets=800000.0,
        total_liabilities=300000.0, prior_applications=0, prior_approved=0, prior_rejected=0,
    )  # fmt: skip
    points = []
    for cost in (10000.0, 30000.0, 50000.0, 150000.0):
        features = features_build(pd.DataFrame([{**base, "monthly_cost": cost}]))
        out = card.score(features)
        points.append(int(out["points"][0]))
        names = [reason_split(n)[0] for n, _lost in out["reasons"][0]]
        assert "monthly_cost" not in names and "monthly_revenue" not in names
    assert points == sorted(points, reverse=True), points  # more cost, never more points


def test_reasons_name_the_bin_in_both_languages():
    reason = reason_dict('debt_ratio\x1f"bin": [0.7, null]', 12)
    assert reason["en"] == "Debt ratio 70 % or more" and reason["bin"] == [0.7, None]
    assert "70 %" in reason["zh_hans"] and reason["zh_hans"] != reason["en"]
    below = reason_dict('monthly_revenue\x1f"bin": [null, 30000.0]', 8)
    assert below["en"] == "Monthly revenue below 30,000" and below["code"] == "R05"
    assert reason_dict("debt_ratio:unknown", 3)["en"] == "Debt ratio not known"


finite = st.floats(min_value=0, max_value=5e6, allow_nan=False)
maybe = st.one_of(st.none(), finite, st.sampled_from([float("inf"), float("-inf")]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    applicant=st.fixed_dictionaries(
        {
            "amount": st.floats(min_value=1000, max_value=5e6),
            "term_months": st.integers(min_value=1, max_value=60),
            "credit_score": st.one_of(st.none(), st.integers(min_value=300, max_value=900)),
            "years_in_business": st.integers(min_value=0, max_value=40),
            "monthly_revenue": finite,
            "monthly_cost": finite,
            "monthly_foot_traffic": st.one_of(st.none(), st.integers(min_value=0, max_value=100000)),
            "employees": st.integers(min_value=0, max_value=500),
            "area_m2": maybe,
            "total_assets": maybe,
            "total_liabilities": maybe,
            "current_assets": maybe,
            "current_liabilities": maybe,
            "net_profit": st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e6)),
            "annual_revenue": maybe,
            "prior_applications": st.integers(min_value=0, max_value=20),
            "prior_approved": st.integers(min_value=0, max_value=10),
            "prior_rejected": st.integers(min_value=0, max_value=10),
            "industry": st.sampled_from(["retail", "catering", "services", "manufacturing", "nonsense", None]),
            "city_tier": st.sampled_from([1, 2, 3, 4, None]),
            "product": st.sampled_from(["WC", "OTHER"]),
        }
    )
)
def test_no_reason_contradicts_a_random_applicants_values(card, applicant):
    features = features_build(pd.DataFrame([applicant]))
    out = card.score(features, top=len(card.selected))
    check_reasons_true(card, features, out["reasons"])


def test_no_reason_contradicts_the_values_of_the_demo_population(trained, world):
    """The synthetic demo book, scored as batch scoring does (from the snapshots)."""
    from scoring.models import ModelKind
    from scoring.selectors import application_frame
    from scoring.services import model_version_artifact

    sc = model_version_artifact(version=trained[ModelKind.PD]).scorecard
    features = features_build(application_frame(where="1 = 1"))
    out = sc.score(features, top=3)
    assert check_reasons_true(sc, features, out["reasons"]) > len(features)
