import numpy as np
import pandas as pd
import pytest

from scoring.features import (
    FEATURES,
    RAW_COLUMNS,
    UNKNOWN,
    FeatureEncoder,
    features_build,
    raw_frame_from_input,
)


def _raw(**over):
    row = {
        "amount": 200000,
        "term_months": 12,
        "credit_score": 700,
        "years_in_business": 5,
        "monthly_revenue": 100000,
        "monthly_cost": 80000,
        "monthly_foot_traffic": 500,
        "employees": 6,
        "area_m2": 80,
        "total_assets": 1000000,
        "total_liabilities": 400000,
        "current_assets": 300000,
        "current_liabilities": 150000,
        "net_profit": 120000,
        "annual_revenue": 1200000,
        "prior_applications": 2,
        "prior_approved": 1,
        "prior_rejected": 1,
        "product": "WC",
        "industry": "retail",
        "city_tier": 2,
    }
    row.update(over)
    return raw_frame_from_input(row)


def test_pipeline_is_deterministic_and_has_fixed_columns():
    rng = np.random.default_rng(3)
    raw = pd.concat([_raw(amount=float(a)) for a in rng.uniform(1e4, 1e6, 50)], ignore_index=True)
    first, second = features_build(raw), features_build(raw.copy())
    pd.testing.assert_frame_equal(first, second)
    assert list(first.columns) == FEATURES
    enc = FeatureEncoder.fit(first)
    pd.testing.assert_frame_equal(enc.transform(first), enc.transform(second))


def test_ratios_match_the_customers_definitions():
    f = features_build(_raw()).iloc[0]
    assert f["debt_ratio"] == pytest.approx(0.4)
    assert f["current_ratio"] == pytest.approx(2.0)
    assert f["net_margin"] == pytest.approx(0.1)
    assert f["operating_margin"] == pytest.approx(0.2)
    assert f["amount_to_revenue"] == pytest.approx(200000 / 1200000)


def test_missing_and_bad_inputs_are_explicit():
    raw = _raw(
        credit_score=None,
        total_assets=None,
        current_liabilities=0,
        annual_revenue="",
        monthly_revenue=0,
        prior_applications=None,
        industry="  ",
        city_tier="x",
        employees="abc",
    )
    f = features_build(raw).iloc[0]
    assert np.isnan(f["credit_score"]) and f["credit_score_missing"] == 1.0
    assert np.isnan(f["debt_ratio"]) and f["financials_missing"] == 1.0
    assert np.isnan(f["current_ratio"])  # zero denominator: undefined, not inf
    assert np.isnan(f["net_margin"])
    assert np.isnan(f["operating_margin"]) and np.isnan(f["amount_to_revenue"])
    assert np.isnan(f["employees"])
    assert f["prior_applications"] == 0.0  # no history is a fact
    assert f["industry"] == UNKNOWN and f["city_tier"] == UNKNOWN
    assert not np.isinf(features_build(raw)[["current_ratio", "debt_ratio"]].to_numpy(dtype=float)).any()


def test_unknown_category_maps_to_the_unknown_column():
    train = features_build(pd.concat([_raw(industry="retail"), _raw(industry="catering")], ignore_index=True))
    enc = FeatureEncoder.fit(train)
    out = enc.transform(features_build(_raw(industry="space mining", product="NEW"))).iloc[0]
    assert out["industry=unknown"] == 1.0 and out["industry=retail"] == 0.0
    assert out["product=unknown"] == 1.0
    assert list(enc.transform(train).columns) == enc.columns


def test_missing_raw_column_is_an_error():
    with pytest.raises(KeyError):
        features_build(_raw().drop(columns=["amount"]))
    assert set(RAW_COLUMNS) <= set(_raw().columns)


def test_reason_text_follows_the_active_language():
    from django.template import Context, Template
    from django.utils import translation

    from scoring.reasons import reason_dict

    reason = reason_dict("credit_score", 12)
    tpl = Template("{% load scoring_tags %}{{ r|reason_text }}")
    with translation.override("en"):
        assert tpl.render(Context({"r": reason})) == "Low credit bureau score"
    with translation.override("zh-hans"):
        assert tpl.render(Context({"r": reason})) == "征信评分偏低"
