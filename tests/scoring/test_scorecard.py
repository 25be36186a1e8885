import numpy as np
import pandas as pd
import pytest

from loansite import demo_profiles
from scoring.features import RAW_COLUMNS, features_build
from scoring.scorecard import FeatureBins, Scorecard, reason_name, reason_split


@pytest.fixture(scope="module")
def demo_features():
    rng = np.random.default_rng(5)
    cust = demo_profiles.customer_profiles(rng, 2000)
    apps = demo_profiles.application_profiles(rng, cust, 8000)
    c = cust.iloc[apps["customer_pos"]].reset_index(drop=True)
    raw = pd.DataFrame({k: c[k] for k in c.columns if k in RAW_COLUMNS})
    raw["amount"], raw["term_months"], raw["product"] = apps["amount"], apps["term_months"], "WC"
    for k in ("prior_applications", "prior_approved", "prior_rejected"):
        raw[k] = 0
    return features_build(raw[RAW_COLUMNS]), apps["defaults"].astype(int).to_numpy()


def test_points_are_monotonic_in_every_binned_feature(demo_features):
    features, y = demo_features
    sc = Scorecard().fit(features, y)
    assert len(sc.selected) >= 3
    for name in sc.selected:
        fb = sc.bins[name]
        assert sc.coef[name] < 0  # more WoE (more goods) never costs points
        if fb.kind != "numeric" or len(fb.edges) < 1:
            continue
        points = sc.bin_points(name)[: len(fb.edges) + 1]  # the ordered bins, without "missing"
        steps = np.diff(points)
        assert (steps >= 0).all() or (steps <= 0).all(), (name, points)
        rates = np.array(fb.bad_rates[: len(fb.edges) + 1])
        assert (np.diff(rates) >= 0).all() or (np.diff(rates) <= 0).all(), (name, rates)


def test_scorecard_separates_defaults_and_points_rank_with_probability(demo_features):
    features, y = demo_features
    sc = Scorecard().fit(features, y)
    proba, points = sc.predict_proba(features), sc.points(features)
    assert proba[y == 1].mean() > proba[y == 0].mean()
    assert np.corrcoef(proba, points)[0, 1] < -0.9


def _crafted() -> Scorecard:
    """Two features: credit_score (3 bins) and debt_ratio (2 bins), coefficients -1."""
    sc = Scorecard(pdo=20, base_score=600, base_odds=20)
    sc.bins = {
        "credit_score": FeatureBins(
            "credit_score",
            "numeric",
            edges=[600.0, 700.0],
            labels=["lo", "mid", "hi", "missing"],
            woe=[-1.0, 0.0, 1.0, 0.0],
        ),
        "debt_ratio": FeatureBins(
            "debt_ratio", "numeric", edges=[0.5], labels=["low", "high", "missing"], woe=[0.5, -0.5, 0.0]
        ),
    }
    sc.selected = ["credit_score", "debt_ratio"]
    sc.coef = {"credit_score": -1.0, "debt_ratio": -1.0}
    sc.intercept = -np.log(20)  # odds 20:1 at zero WoE -> the base score
    return sc


def test_points_scaling_base_score_and_pdo():
    sc = _crafted()
    neutral = pd.DataFrame({"credit_score": [650.0], "debt_ratio": [np.nan]})
    assert sc.points(neutral)[0] == 600  # base odds -> base score
    # One unit of WoE doubles the odds e^1 times: +pdo * log2(e) points.
    better = pd.DataFrame({"credit_score": [750.0], "debt_ratio": [np.nan]})
    assert sc.points(better)[0] - 600 == pytest.approx(20 / np.log(2), abs=1)


def test_reason_codes_on_a_crafted_case():
    sc = _crafted()
    # Low score (worst bin of credit_score), low debt (best bin of debt_ratio): one reason.
    row = pd.DataFrame({"credit_score": [550.0], "debt_ratio": [0.2]})
    reasons = sc.reasons(row)[0]
    # Each reason names the applicant's own bin: credit score below 600.
    assert reasons[0][0] == reason_name("credit_score", bin=[None, 600.0])
    assert [reason_split(f)[0] for f, _lost in reasons] == ["credit_score"]
    assert reasons[0][1] == pytest.approx(2 * 20 / np.log(2), abs=1)  # best bin woe 1 vs worst -1
    # Both bad: credit_score costs more than debt_ratio, so it comes first.
    both = sc.reasons(pd.DataFrame({"credit_score": [550.0], "debt_ratio": [0.9]}))[0]
    assert [reason_split(f)[0] for f, _lost in both] == ["credit_score", "debt_ratio"]
    assert reason_split(both[1][0])[1] == {"bin": [0.5, None]}
    # Best bins everywhere: nothing to explain.
    assert sc.reasons(pd.DataFrame({"credit_score": [800.0], "debt_ratio": [0.1]}))[0] == []


def test_a_missing_value_that_costs_points_is_named_not_known():
    sc = _crafted()
    # The missing credit-score bin (WoE 0) costs points against the best bin (WoE 1): not
    # known, rather than poor. A low debt ratio is the best bin: no reason.
    unknown = sc.reasons(pd.DataFrame({"credit_score": [np.nan], "debt_ratio": [0.1]}))[0]
    assert [f for f, _lost in unknown] == ["credit_score:unknown"]
    assert unknown[0][1] == pytest.approx(20 / np.log(2), abs=1)
    out = sc.score(pd.DataFrame({"credit_score": [550.0], "debt_ratio": [np.nan]}), reasons="arrays")
    names = out["reason_names"]
    # One reason key per bin: the bins' bounds, then the missing bin ("not known").
    assert names == [
        reason_name("credit_score", bin=[None, 600.0]),
        reason_name("credit_score", bin=[600.0, 700.0]),
        reason_name("credit_score", bin=[700.0, None]),
        "credit_score:unknown",
        reason_name("debt_ratio", bin=[None, 0.5]),
        reason_name("debt_ratio", bin=[0.5, None]),
        "debt_ratio:unknown",
    ]
    assert [names[j] for j in out["reason_index"][0]] == [names[0], "debt_ratio:unknown"]


def test_grade_bands():
    sc = Scorecard(grades=[("A", 640), ("B", 600), ("C", 570), ("D", 540), ("E", None)])
    assert list(sc.grade(np.array([700, 640, 639, 600, 570, 540, 539, 100]))) == list("AABBCDEE")


def test_one_pass_scoring_agrees_with_the_parts(demo_features):
    features, y = demo_features
    sc = Scorecard().fit(features, y)
    sample = features.iloc[:500]
    out = sc.score(sample)
    np.testing.assert_allclose(out["probability"], sc.predict_proba(sample))
    np.testing.assert_array_equal(out["points"], sc.points(sample))
    assert out["reasons"] == sc.reasons(sample)
