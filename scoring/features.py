"""The one feature pipeline: pure functions over a DataFrame of raw inputs.

Training, batch scoring, single prediction (admin page and API) all call
:func:`features_build` on a frame with :data:`RAW_COLUMNS` (built by
``scoring.selectors`` from the database, or from a dict for a prediction), then
:class:`FeatureEncoder` (fitted at training time, stored in the model artifact) turns the
result into the fixed numeric matrix a model was trained on. No database, no Django.

Missing values: numeric inputs stay NaN (tree models and the scorecard's "missing" bin
handle them) and each input that may be unknown gets a ``*_missing`` 0/1 column; ratios
whose denominator is missing or zero are NaN, never inf. Unknown categories
(an industry or product not seen at training) map to an explicit ``unknown`` level.
"""

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# Raw inputs, in the order the selectors produce them.
NUMERIC_INPUTS = [
    "amount",
    "term_months",
    "credit_score",
    "years_in_business",
    "monthly_revenue",
    "monthly_cost",
    "monthly_foot_traffic",
    "employees",
    "area_m2",
    "total_assets",
    "total_liabilities",
    "current_assets",
    "current_liabilities",
    "net_profit",
    "annual_revenue",
    "prior_applications",
    "prior_approved",
    "prior_rejected",
]
CATEGORICAL_INPUTS = ["product", "industry", "city_tier"]
RAW_COLUMNS = NUMERIC_INPUTS + CATEGORICAL_INPUTS

# Inputs that must be present for a prediction (the rest may be unknown).
REQUIRED_INPUTS = ["amount", "term_months", "monthly_revenue", "monthly_cost"]

# What the pipeline produces, before categorical encoding.
NUMERIC_FEATURES = [
    "amount",
    "term_months",
    "credit_score",
    "years_in_business",
    "monthly_revenue",
    "monthly_cost",
    "monthly_foot_traffic",
    "employees",
    "area_m2",
    "debt_ratio",
    "current_ratio",
    "net_margin",
    "operating_margin",
    "amount_to_revenue",
    "prior_applications",
    "prior_approved",
    "prior_rejected",
]
MISSING_FLAGS = ["credit_score_missing", "financials_missing"]
CATEGORICAL_FEATURES = ["product", "industry", "city_tier"]
FEATURES = NUMERIC_FEATURES + MISSING_FLAGS + CATEGORICAL_FEATURES

# The baseline the retail system's users know: a random forest on these six inputs.
BASELINE_FEATURES = [
    "amount",
    "credit_score",
    "years_in_business",
    "monthly_revenue",
    "monthly_cost",
    "monthly_foot_traffic",
]

UNKNOWN = "unknown"


def _numeric(series: pd.Series) -> np.ndarray:
    """Numbers as float64; None, "", "abc", Decimal handled: anything unparsable is NaN."""
    if series.dtype.kind in "fiub":
        return series.to_numpy(dtype="float64", na_value=np.nan)
    values = series.to_numpy(dtype=object)
    out = np.empty(len(values), dtype="float64")
    for i, v in enumerate(values):
        try:
            out[i] = float(v) if v is not None and v != "" else np.nan
        except (TypeError, ValueError):
            out[i] = np.nan
    out[~np.isfinite(out)] = np.nan
    return out


def ratio(numerator: np.ndarray, denominator: np.ndarray, *, positive: bool = False) -> np.ndarray:
    """``numerator / denominator``; NaN when either is unknown or the denominator is zero
    (``customers.financials``' rule), or not positive with ``positive``. Never inf."""
    num = np.asarray(numerator, dtype="float64")
    den = np.asarray(denominator, dtype="float64")
    with np.errstate(invalid="ignore"):
        ok = (den > 0 if positive else (den != 0) & ~np.isnan(den)) & ~np.isnan(num)
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=ok)
    return out


def _norm_category(v) -> str:
    if v is None or v != v:  # None or NaN
        return UNKNOWN
    text = str(v).strip().lower()
    return text or UNKNOWN


def _by_distinct(values: np.ndarray, norm) -> np.ndarray:
    """``norm`` applied to each distinct value once (a chunk has a handful of levels)."""
    if len(values) == 0:
        return np.array([], dtype=object)
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
    except TypeError:  # unhashable values: one by one
        return np.array([norm(v) for v in values], dtype=object)
    mapped = np.array([norm(v) for v in uniques], dtype=object)
    return mapped[codes]


def _category(series: pd.Series) -> np.ndarray:
    return _by_distinct(series.to_numpy(dtype=object), _norm_category)


def _norm_tier(v: float) -> str:
    return UNKNOWN if np.isnan(v) else str(int(round(v)))


def _tier(values: np.ndarray) -> np.ndarray:
    """Tiers arrive as 1, "1", 1.0 or None: normalise to "1".."4" / unknown."""
    return _by_distinct(np.asarray(values, dtype="float64"), _norm_tier)


def features_build(raw: pd.DataFrame) -> pd.DataFrame:
    """Raw inputs -> model features (same index). Deterministic and side-effect free.

    Ratios use the customers app's definitions: debt ratio = total liabilities / total
    assets, current ratio = current assets / current liabilities, net margin = net
    profit / annual revenue; operating margin = (monthly revenue - monthly cost) /
    monthly revenue; amount to revenue = amount / (12 x monthly revenue).
    """
    missing = [c for c in RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise KeyError(f"Raw feature frame lacks columns: {missing}")
    num = {c: _numeric(raw[c]) for c in NUMERIC_INPUTS}
    out = {
        c: num[c]
        for c in (
            "amount",
            "term_months",
            "credit_score",
            "years_in_business",
            "monthly_revenue",
            "monthly_cost",
            "monthly_foot_traffic",
            "employees",
            "area_m2",
        )
    }
    out["debt_ratio"] = ratio(num["total_liabilities"], num["total_assets"])
    out["current_ratio"] = ratio(num["current_assets"], num["current_liabilities"])
    out["net_margin"] = ratio(num["net_profit"], num["annual_revenue"])
    out["operating_margin"] = ratio(num["monthly_revenue"] - num["monthly_cost"], num["monthly_revenue"], positive=True)
    out["amount_to_revenue"] = ratio(num["amount"], num["monthly_revenue"] * 12, positive=True)
    for c in ("prior_applications", "prior_approved", "prior_rejected"):
        # No history is a fact (zero), not an unknown.
        out[c] = np.nan_to_num(num[c], nan=0.0)
    out["credit_score_missing"] = np.isnan(num["credit_score"]).astype("float64")
    out["financials_missing"] = (np.isnan(num["total_assets"]) | np.isnan(num["total_liabilities"])).astype("float64")
    out["product"] = _category(raw["product"])
    out["industry"] = _category(raw["industry"])
    out["city_tier"] = _tier(_numeric(raw["city_tier"]))
    return pd.DataFrame(out, index=raw.index, columns=FEATURES)


@dataclass
class FeatureEncoder:
    """Categorical levels learned at training; turns built features into a fixed float matrix.

    Unseen levels at scoring time fall into the ``<feature>=unknown`` column, so a new
    product never breaks a model nor silently shifts another column.
    """

    levels: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def fit(cls, features: pd.DataFrame, *, min_count: int = 1) -> "FeatureEncoder":
        levels = {}
        for c in CATEGORICAL_FEATURES:
            counts = features[c].value_counts()
            kept = sorted(str(v) for v, n in counts.items() if n >= min_count and v != UNKNOWN)
            levels[c] = kept
        return cls(levels=levels)

    @property
    def columns(self) -> list[str]:
        cols = list(NUMERIC_FEATURES) + list(MISSING_FLAGS)
        for c in CATEGORICAL_FEATURES:
            cols += [f"{c}={v}" for v in self.levels[c]] + [f"{c}={UNKNOWN}"]
        return cols

    def transform_array(self, features: pd.DataFrame) -> np.ndarray:
        """The encoded matrix (columns in :attr:`columns` order), without a DataFrame."""
        n = len(features)
        parts = [np.column_stack([features[c].to_numpy(dtype="float64") for c in NUMERIC_FEATURES + MISSING_FLAGS])]
        for c in CATEGORICAL_FEATURES:
            known = self.levels[c]
            lookup = {v: i for i, v in enumerate(known)}
            codes = np.array([lookup.get(v, len(known)) for v in features[c].to_numpy(dtype=object)], dtype=int)
            onehot = np.zeros((n, len(known) + 1), dtype="float64")
            onehot[np.arange(n), codes] = 1.0
            parts.append(onehot)
        return np.hstack(parts)

    def transform(self, features: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(self.transform_array(features), index=features.index, columns=self.columns)


def raw_frame_from_input(values: dict) -> pd.DataFrame:
    """One prediction request (a dict of raw inputs, any missing) as a one-row raw frame."""
    return pd.DataFrame([{c: values.get(c) for c in RAW_COLUMNS}], columns=RAW_COLUMNS)


def raw_frame_hash(raw: pd.DataFrame) -> str:
    """A stable digest of a training snapshot (the rows and values a model saw)."""
    frame = raw[RAW_COLUMNS].copy()
    for col in frame.columns:
        if frame[col].dtype == object:
            frame[col] = frame[col].map(str)
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()
