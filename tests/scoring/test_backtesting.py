"""Backtesting figures on a crafted book, and the AUC / PSI alerts (pure)."""

import pandas as pd
import pytest

from scoring.backtesting import backtest_alerts, backtest_figures, vintage_of


def book():
    rows = []
    # 2025-Q1: grade A predicted 2 %, 1 of 10 defaulted; grade D predicted 30 %, 4 of 10.
    for i in range(10):
        rows.append({"probability": 0.02, "grade": "A", "defaulted": int(i == 0), "vintage": "2025-Q1"})
        rows.append({"probability": 0.30, "grade": "D", "defaulted": int(i < 4), "vintage": "2025-Q1"})
    # 2025-Q2: the model stopped ranking: A and D default alike (2 of 5 each).
    for i in range(5):
        rows.append({"probability": 0.02, "grade": "A", "defaulted": int(i < 2), "vintage": "2025-Q2"})
        rows.append({"probability": 0.30, "grade": "D", "defaulted": int(i < 2), "vintage": "2025-Q2"})
    return pd.DataFrame(rows)


def test_figures_per_grade_and_vintage():
    figures = backtest_figures(book())
    assert (figures["rows"], figures["defaults"]) == (30, 9)
    assert figures["realised"] == pytest.approx(0.3)
    assert figures["predicted"] == pytest.approx(0.16)
    by_grade = {row["grade"]: row for row in figures["by_grade"]}
    assert list(by_grade) == ["A", "D"]
    assert (by_grade["A"]["count"], by_grade["A"]["defaults"], by_grade["A"]["realised"]) == (15, 3, 0.2)
    assert (by_grade["A"]["predicted"], by_grade["D"]["predicted"]) == (0.02, 0.3)
    assert (by_grade["D"]["defaults"], by_grade["D"]["realised"]) == (6, 0.4)
    by_vintage = {row["vintage"]: row for row in figures["by_vintage"]}
    # 2025-Q1: a default in D outranks A 4 of 10 times with ties at 0.5 ... AUC = 0.5 + ...
    q1 = by_vintage["2025-Q1"]
    # positives: 1 A (p .02) + 4 D (p .30); negatives: 9 A + 6 D.
    # pairs (pos, neg) = 5 * 15 = 75; D-pos over A-neg: 4*9 = 36 wins; ties: A-pos/A-neg 9, D-pos/D-neg 24.
    assert q1["auc"] == pytest.approx(round((36 + 0.5 * (9 + 24)) / 75, 4))
    assert by_vintage["2025-Q2"]["auc"] == pytest.approx(0.5)
    assert sum(row["count"] for row in figures["calibration"]) == 30


def test_alerts_on_auc_drop_and_psi():
    assert backtest_alerts(auc=0.70, reference_auc=0.75, psi=0.25, auc_drop_points=5) == []
    alerts = backtest_alerts(auc=0.6999, reference_auc=0.75, psi=0.2501, auc_drop_points=5)
    assert [a["kind"] for a in alerts] == ["auc_drop", "psi"]
    assert alerts[0]["value"] == pytest.approx(5.01)
    assert backtest_alerts(auc=None, reference_auc=0.75, psi=None, auc_drop_points=5) == []


def test_vintage_quarters():
    assert list(vintage_of(pd.Series(["2025-01-31", "2025-04-01", "2025-12-31"]))) == [
        "2025-Q1",
        "2025-Q2",
        "2025-Q4",
    ]
