"""Backtesting a PD model against realised defaults: pure, over one frame.

Input rows: ``probability`` (the model's PD when it scored the application), ``grade``,
``defaulted`` (0/1, derived from servicing) and ``vintage`` (the quarter of
disbursement, e.g. "2025-Q3"). Output: predicted against realised default rate overall,
per grade and per vintage, a calibration table, AUC per vintage (AUC over time), plus the
alert checks: AUC dropping by more than N points from the model's validation AUC, PSI
above 0.25.
"""

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from scoring.metrics import PSI_WARNING, calibration_table

GRADES = ["A", "B", "C", "D", "E"]


def _auc(y, p) -> float | None:
    y = np.asarray(y).astype(int)
    if len(y) == 0 or y.min() == y.max():
        return None
    return round(float(skm.roc_auc_score(y, p)), 4)


def _group(frame: pd.DataFrame, key: str, order=None) -> list[dict]:
    rows = []
    keys = order if order is not None else sorted(frame[key].dropna().unique())
    for value in keys:
        part = frame[frame[key] == value]
        if part.empty:
            continue
        rows.append(
            {
                key: value,
                "count": int(len(part)),
                "defaults": int(part["defaulted"].sum()),
                "predicted": round(float(part["probability"].mean()), 4),
                "realised": round(float(part["defaulted"].mean()), 4),
                "auc": _auc(part["defaulted"], part["probability"]),
            }
        )
    return rows


def vintage_of(dates: pd.Series) -> pd.Series:
    """``2025-Q3`` for each date."""
    d = pd.to_datetime(dates)
    return d.dt.year.astype(str) + "-Q" + d.dt.quarter.astype(str)


def backtest_figures(frame: pd.DataFrame) -> dict:
    frame = frame.dropna(subset=["probability", "defaulted"]).copy()
    frame["defaulted"] = frame["defaulted"].astype(int)
    frame["probability"] = frame["probability"].astype(float)
    n = len(frame)
    return {
        "rows": n,
        "defaults": int(frame["defaulted"].sum()),
        "predicted": round(float(frame["probability"].mean()), 4) if n else None,
        "realised": round(float(frame["defaulted"].mean()), 4) if n else None,
        "auc": _auc(frame["defaulted"], frame["probability"]),
        "by_grade": _group(frame, "grade", order=[g for g in GRADES if g in set(frame["grade"])]),
        "by_vintage": _group(frame, "vintage"),
        "calibration": calibration_table(frame["defaulted"], frame["probability"], bins=min(10, n)) if n else [],
    }


def backtest_alerts(
    *, auc: float | None, reference_auc: float | None, psi: float | None, auc_drop_points: float
) -> list[dict]:
    """The alerts a backtest raises: AUC below the reference by more than ``auc_drop_points``
    (in AUC points, 5 = 0.05) and PSI above 0.25."""
    alerts = []
    if auc is not None and reference_auc is not None:
        drop = round((reference_auc - auc) * 100, 2)
        if drop > auc_drop_points:
            alerts.append(
                {
                    "kind": "auc_drop",
                    "value": drop,
                    "threshold": auc_drop_points,
                    "detail": {"auc": auc, "reference_auc": reference_auc},
                }
            )
    if psi is not None and psi > PSI_WARNING:
        alerts.append({"kind": "psi", "value": round(psi, 4), "threshold": PSI_WARNING, "detail": {}})
    return alerts
