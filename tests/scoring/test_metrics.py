import numpy as np
import pandas as pd

from scoring.metrics import PSI_WARNING, classification_metrics, drift_table, ks_statistic, psi, reference_distribution


def test_ks_and_auc_on_a_perfect_and_a_random_ranking():
    y = np.array([0, 0, 0, 1, 1, 1])
    assert ks_statistic(y, [0.1, 0.2, 0.3, 0.7, 0.8, 0.9]) == 1.0
    m = classification_metrics(y, [0.1, 0.2, 0.3, 0.7, 0.8, 0.9], cutoff=0.5)
    assert m["auc"] == 1.0 and m["gini"] == 1.0 and m["accuracy"] == 1.0
    assert m["confusion"] == {"tn": 3, "fp": 0, "fn": 0, "tp": 3}
    assert sum(r["count"] for r in m["calibration"]) == 6


def test_psi_is_zero_for_the_same_population_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    base = rng.normal(0, 1, 20000)
    assert psi(base, rng.normal(0, 1, 20000)) < 0.01
    assert psi(base, rng.normal(1.5, 1, 20000)) > PSI_WARNING


def test_drift_table_flags_shifted_features_and_score():
    rng = np.random.default_rng(1)
    train = pd.DataFrame({"amount": rng.normal(0, 1, 5000), "industry": ["retail"] * 5000})
    ref = {
        "features": {
            "amount": reference_distribution(train["amount"].to_numpy()),
            "industry": {"categorical": {"retail": 1.0}},
        },
        "score": reference_distribution(train["amount"].to_numpy()),
    }
    recent = pd.DataFrame({"amount": rng.normal(2, 1, 1000), "industry": ["catering"] * 1000})
    rows = {r["feature"]: r for r in drift_table(ref, recent, score=recent["amount"])}
    assert rows["amount"]["warning"] and rows["industry"]["warning"] and rows["score"]["warning"]
