"""The one feature pipeline: pure functions over a DataFrame of raw inputs.

Training, batch scoring, single prediction (admin page and API) all call
:func:`features_build` on the raw inputs :data:`RAW_COLUMNS` (a DataFrame built by
``scoring.selectors`` from the database, or :class:`Columns` from a dict for a prediction),
then :class:`FeatureEncoder` (fitted at training time, stored in the model artifact) turns
the result into the fixed numeric matrix a model was trained on. No database, no Django.

A DataFrame and :class:`Columns` go through the same code: every step reads whole columns
as numpy arrays (:func:`column`), so one row and fifty thousand rows are computed alike;
:class:`Columns` only spares a one-row prediction pandas' per-column overhead.

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

# The business direction of each numeric feature, declared (not learnt): the scorecard's
# binning enforces it, so a bin never earns points for what a lender would call worse.
# "none": no direction is asserted (the data's own trend is used), e.g. the requested
# amount or term. A feature whose data run against its direction is reported and left out
# (``scoring.scorecard.Scorecard.fit``).
FEATURE_DIRECTIONS = {
    "amount": "none",
    "term_months": "none",
    "credit_score": "higher_better",
    "years_in_business": "higher_better",
    "monthly_revenue": "higher_better",
    "monthly_cost": "none",
    "monthly_foot_traffic": "higher_better",
    "employees": "higher_better",
    "area_m2": "higher_better",
    "debt_ratio": "higher_worse",
    "current_ratio": "higher_better",
    "net_margin": "higher_better",
    "operating_margin": "higher_better",
    "amount_to_revenue": "higher_worse",
    "prior_applications": "none",
    "prior_approved": "higher_better",
    "prior_rejected": "higher_worse",
    "credit_score_missing": "higher_worse",
    "financials_missing": "higher_worse",
}
# Cost is judged through the margins and ratios it enters (operating margin, net margin),
# never alone: on its own a higher cost reads as a bigger business, not a riskier one.
SCORECARD_EXCLUDED = ["monthly_cost"]
# Ratios shown as percentages in reasons and reports.
PERCENT_FEATURES = ["debt_ratio", "net_margin", "operating_margin", "amount_to_revenue"]

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


class Columns:
    """Named 1-D numpy arrays of one length: a frame without pandas, for one prediction.

    Offers what the pipeline and the models read from a DataFrame: ``cols[name]`` (an
    array), ``name in cols`` and ``len(cols)`` (rows). Built from one input dict by
    :func:`raw_columns_from_input`; :func:`features_build` returns one when given one.
    """

    __slots__ = ("_data", "_rows")

    def __init__(self, data: dict[str, np.ndarray]):
        self._data = data
        self._rows = len(next(iter(data.values()))) if data else 0

    def __getitem__(self, name: str) -> np.ndarray:
        return self._data[name]

    def __contains__(self, name: str) -> bool:
        return name in self._data

    def __len__(self) -> int:
        return self._rows

    @property
    def columns(self) -> list[str]:
        return list(self._data)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self._data, columns=self.columns)


def column(frame, name: str, dtype=None) -> np.ndarray:
    """One column of a DataFrame or :class:`Columns` as a numpy array."""
    values = frame[name]
    if isinstance(values, pd.Series):
        return values.to_numpy(dtype=dtype)
    return np.asarray(values, dtype=dtype)


def _numeric(values) -> np.ndarray:
    """Numbers as float64; None, "", "abc", Decimal handled: anything unparsable is NaN."""
    if isinstance(values, pd.Series):
        if values.dtype.kind in "fiub":
            return values.to_numpy(dtype="float64", na_value=np.nan)
        values = values.to_numpy(dtype=object)
    else:
        values = np.asarray(values)
        if values.dtype.kind in "fiub":
            return values.astype("float64")
        values = values.astype(object)
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


# Up to this many values, ``norm`` is applied value by value (factorizing costs more).
_SMALL = 16


def map_distinct(values: np.ndarray, norm) -> np.ndarray:
    """``norm`` applied to each distinct value once (a chunk has a handful of levels)."""
    if len(values) == 0:
        return np.array([], dtype=object)
    if len(values) <= _SMALL:
        out = np.empty(len(values), dtype=object)
        out[:] = [norm(v) for v in values]
        return out
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
    except TypeError:  # unhashable values: one by one
        return np.array([norm(v) for v in values], dtype=object)
    mapped = np.array([norm(v) for v in uniques], dtype=object)
    return mapped[codes]


def _category(values) -> np.ndarray:
    if isinstance(values, pd.Series):
        return map_distinct(values.to_numpy(dtype=object), _norm_category)
    return map_distinct(np.asarray(values).astype(object), _norm_category)


def _norm_tier(v: float) -> str:
    return UNKNOWN if np.isnan(v) else str(int(round(v)))


def _tier(values: np.ndarray) -> np.ndarray:
    """Tiers arrive as 1, "1", 1.0 or None: normalise to "1".."4" / unknown."""
    return map_distinct(np.asarray(values, dtype="float64"), _norm_tier)


def features_build(raw: "pd.DataFrame | Columns") -> "pd.DataFrame | Columns":
    """Raw inputs -> model features (a DataFrame with the same index, or :class:`Columns`
    for :class:`Columns`). Deterministic and side-effect free.

    Ratios use the customers app's definitions: debt ratio = total liabilities / total
    assets, current ratio = current assets / current liabilities, net margin = net
    profit / annual revenue; operating margin = (monthly revenue - monthly cost) /
    monthly revenue; amount to revenue = amount / (12 x monthly revenue).
    """
    missing = [c for c in RAW_COLUMNS if c not in raw]
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
    if isinstance(raw, Columns):
        return Columns({c: out[c] for c in FEATURES})
    return pd.DataFrame(out, index=raw.index, columns=FEATURES)


class DerivedCache:
    """Values derived from a fitted object's fields, computed once per object (a loaded
    model artifact is cached per version, so once per version and process). Reassigning
    any attribute drops them; they are never pickled into an artifact."""

    def derived(self, key: str, build):
        cache = self.__dict__.get("_derived")
        if cache is None:
            cache = self.__dict__["_derived"] = {}
        if key not in cache:
            cache[key] = build()
        return cache[key]

    def __setattr__(self, name, value):
        self.__dict__.pop("_derived", None)
        super().__setattr__(name, value)

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_derived", None)
        return state


@dataclass
class FeatureEncoder(DerivedCache):
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
        return list(self.derived("columns", self._columns))

    def _columns(self) -> list[str]:
        cols = list(NUMERIC_FEATURES) + list(MISSING_FLAGS)
        for c in CATEGORICAL_FEATURES:
            cols += [f"{c}={v}" for v in self.levels[c]] + [f"{c}={UNKNOWN}"]
        return cols

    def _lookups(self) -> dict[str, dict[str, int]]:
        return {c: {v: i for i, v in enumerate(self.levels[c])} for c in CATEGORICAL_FEATURES}

    def transform_array(self, features) -> np.ndarray:
        """The encoded matrix (columns in :attr:`columns` order) of a DataFrame or
        :class:`Columns` of built features, without a DataFrame."""
        n = len(features)
        parts = [np.column_stack([column(features, c, "float64") for c in NUMERIC_FEATURES + MISSING_FLAGS])]
        for c, lookup in self.derived("lookups", self._lookups).items():
            other = len(lookup)  # the unknown column, after the known levels
            codes = map_distinct(
                column(features, c, object), lambda v, lookup=lookup, other=other: lookup.get(v, other)
            )
            onehot = np.zeros((n, other + 1), dtype="float64")
            onehot[np.arange(n), codes.astype(int)] = 1.0
            parts.append(onehot)
        return np.hstack(parts)

    def transform(self, features: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(self.transform_array(features), index=features.index, columns=self.columns)


def raw_frame_from_input(values: dict) -> pd.DataFrame:
    """One prediction request (a dict of raw inputs, any missing) as a one-row raw frame."""
    return pd.DataFrame([{c: values.get(c) for c in RAW_COLUMNS}], columns=RAW_COLUMNS)


def _one(value) -> np.ndarray:
    """A one-row column holding ``value`` as a DataFrame column would: a number (bool
    included) as a numeric array, anything else (None, text, Decimal) as an object."""
    if isinstance(value, (int, float, np.integer, np.floating, np.bool_)):
        out = np.asarray([value])
        if out.dtype.kind in "fiub":
            return out
    out = np.empty(1, dtype=object)
    out[0] = value
    return out


def raw_columns_from_input(values: dict, *, extra: dict | None = None) -> Columns:
    """:func:`raw_frame_from_input` as :class:`Columns` (the same values, without pandas),
    with ``extra`` inputs (e.g. the product bounds) next to :data:`RAW_COLUMNS`."""
    data = {c: _one(values.get(c)) for c in RAW_COLUMNS}
    data.update({c: _one(v) for c, v in (extra or {}).items()})
    return Columns(data)


def raw_frame_hash(raw: pd.DataFrame) -> str:
    """A stable digest of a training snapshot (the rows and values a model saw)."""
    frame = raw[RAW_COLUMNS].copy()
    for col in frame.columns:
        if frame[col].dtype == object:
            frame[col] = frame[col].map(str)
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()
