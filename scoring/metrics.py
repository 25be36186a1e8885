"""Validation metrics and drift (PSI): pure functions over arrays, returning plain JSON."""

import numpy as np
from sklearn import metrics as skm


def ks_statistic(y_true, score) -> float:
    """Kolmogorov-Smirnov: the largest gap between the cumulative score distributions of
    positives and negatives (equals max(TPR - FPR) over thresholds)."""
    y_true = np.asarray(y_true).astype(int)
    if y_true.min() == y_true.max():
        return 0.0
    fpr, tpr, _ = skm.roc_curve(y_true, score)
    return float(np.max(tpr - fpr))


def calibration_table(y_true, proba, *, bins: int = 10) -> list[dict]:
    """Predicted vs observed rate per decile of predicted probability."""
    y_true = np.asarray(y_true).astype(float)
    proba = np.asarray(proba, dtype=float)
    order = np.argsort(proba, kind="stable")
    rows = []
    for i, idx in enumerate(np.array_split(order, bins)):
        if len(idx) == 0:
            continue
        rows.append(
            {
                "bin": i + 1,
                "count": int(len(idx)),
                "predicted": round(float(proba[idx].mean()), 4),
                "observed": round(float(y_true[idx].mean()), 4),
            }
        )
    return rows


def roc_points(y_true, proba, *, points: int = 50) -> list[list[float]]:
    """The ROC curve as at most ``points`` (false positive rate, true positive rate) pairs."""
    y_true = np.asarray(y_true).astype(int)
    if y_true.min() == y_true.max():
        return []
    fpr, tpr, _ = skm.roc_curve(y_true, proba)
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(points, len(fpr))).round().astype(int))
    return [[round(float(fpr[i]), 4), round(float(tpr[i]), 4)] for i in keep]


def classification_metrics(y_true, proba, *, cutoff: float = 0.5) -> dict:
    """AUC, KS, Gini, accuracy, precision/recall at ``cutoff``, Brier, calibration, confusion."""
    y_true = np.asarray(y_true).astype(int)
    proba = np.asarray(proba, dtype=float)
    pred = (proba >= cutoff).astype(int)
    both = y_true.min() != y_true.max()
    auc = float(skm.roc_auc_score(y_true, proba)) if both else 0.5
    tn, fp, fn, tp = skm.confusion_matrix(y_true, pred, labels=[0, 1]).ravel()
    return {
        "rows": int(len(y_true)),
        "positive_rate": round(float(y_true.mean()), 4) if len(y_true) else 0.0,
        "auc": round(auc, 4),
        "gini": round(2 * auc - 1, 4),
        "ks": round(ks_statistic(y_true, proba), 4),
        "cutoff": round(float(cutoff), 4),
        "accuracy": round(float(skm.accuracy_score(y_true, pred)), 4),
        "precision": round(float(skm.precision_score(y_true, pred, zero_division=0)), 4),
        "recall": round(float(skm.recall_score(y_true, pred, zero_division=0)), 4),
        "brier": round(float(skm.brier_score_loss(y_true, proba)), 4),
        "confusion": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
        "calibration": calibration_table(y_true, proba),
        "roc": roc_points(y_true, proba),
    }


def regression_metrics(y_true, y_pred) -> dict:
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    return {
        "rows": int(len(y_true)),
        "mae": round(float(skm.mean_absolute_error(y_true, y_pred)), 2),
        "r2": round(float(skm.r2_score(y_true, y_pred)), 4) if len(y_true) > 1 else 0.0,
    }


PSI_WARNING = 0.25


def psi_edges(expected, *, bins: int = 10) -> list[float]:
    """Decile edges of the reference (training) distribution, NaN ignored."""
    values = np.asarray(expected, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return []
    edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))
    return [float(e) for e in edges]


def _shares(values, edges) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    missing = np.isnan(values)
    idx = np.searchsorted(np.asarray(edges, dtype=float), values[~missing], side="right")
    counts = np.bincount(idx, minlength=len(edges) + 1).astype(float)
    counts = np.append(counts, missing.sum())  # missing is its own bucket
    total = counts.sum()
    return counts / total if total else counts


def psi(expected, actual, *, edges=None, bins: int = 10) -> float:
    """Population stability index of ``actual`` against ``expected`` over the expected deciles.

    PSI = sum((a - e) * ln(a / e)); empty buckets get a 0.0001 share so it stays finite.
    Below 0.1 stable, 0.1-0.25 some shift, above 0.25 a shift worth acting on.
    """
    if edges is None:
        edges = psi_edges(expected, bins=bins)
    e = np.clip(_shares(expected, edges), 1e-4, None)
    a = np.clip(_shares(actual, edges), 1e-4, None)
    return round(float(np.sum((a - e) * np.log(a / e))), 4)


def psi_from_shares(expected_shares, actual_values, edges) -> float:
    """PSI when only the reference shares were kept (stored with the model version)."""
    e = np.clip(np.asarray(expected_shares, dtype=float), 1e-4, None)
    a = np.clip(_shares(actual_values, edges), 1e-4, None)
    return round(float(np.sum((a - e) * np.log(a / e))), 4)


def reference_distribution(values, *, bins: int = 10) -> dict:
    """What a model version keeps of its training population for later PSI."""
    edges = psi_edges(values, bins=bins)
    return {"edges": edges, "shares": [float(s) for s in _shares(values, edges)]}


def psi_categorical(expected_shares: dict, actual) -> float:
    """PSI over category shares; categories unseen at training form one extra bucket."""
    actual = list(actual)
    total = len(actual) or 1
    keys = list(expected_shares)
    counts = dict.fromkeys(keys, 0)
    unseen = 0
    for value in actual:
        if value in counts:
            counts[value] += 1
        else:
            unseen += 1
    e = np.clip(np.array([expected_shares[k] for k in keys] + [0.0]), 1e-4, None)
    a = np.clip(np.array([counts[k] / total for k in keys] + [unseen / total]), 1e-4, None)
    return round(float(np.sum((a - e) * np.log(a / e))), 4)


def drift_table(reference: dict, features, score=None) -> list[dict]:
    """PSI per feature (and of the score) of a recent population against a model's
    training reference; ``warning`` above :data:`PSI_WARNING`."""
    rows = []
    for name, ref in (reference.get("features") or {}).items():
        if name not in features:
            continue
        if "categorical" in ref:
            value = psi_categorical(ref["categorical"], features[name].astype(str).tolist())
        else:
            value = psi_from_shares(ref["shares"], features[name].to_numpy(dtype=float), ref["edges"])
        rows.append({"feature": name, "psi": value, "warning": value > PSI_WARNING})
    if score is not None and reference.get("score"):
        ref = reference["score"]
        value = psi_from_shares(ref["shares"], np.asarray(score, dtype=float), ref["edges"])
        rows.insert(0, {"feature": "score", "psi": value, "warning": value > PSI_WARNING})
    return rows
