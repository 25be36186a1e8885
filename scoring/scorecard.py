"""Probability-of-default scorecard: monotonic WoE binning, logistic regression, points.

Pure maths over built features (see ``scoring.features``); no database.

- Numeric features: quantile pre-bins, then adjacent bins are merged until the bad rate is
  monotonic in the direction of the overall trend and every bin holds enough rows; missing
  values get their own bin. Categorical features: one bin per level (rare levels pooled
  with "other"); unseen levels score as the pooled bin.
- WoE = ln(share of goods / share of bads) per bin (with +0.5 smoothing); features with an
  information value below ``min_iv`` are dropped.
- Logistic regression on WoE; any feature whose coefficient comes out with the wrong sign
  (collinearity) is dropped and the model refitted, so points stay monotonic in every bin.
- Points: ``factor = pdo / ln 2``, ``offset = base_score - factor * ln(base_odds)``; each
  bin's points are ``-(coef * woe + intercept / n) * factor + offset / n``; the score is
  the sum. Higher points = lower risk.
"""

from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from scoring.features import CATEGORICAL_FEATURES, UNKNOWN, DerivedCache, map_distinct

MISSING_BIN = "missing"
OTHER = "other"
# A reason whose points were lost because the value is not known (the missing bin), not
# because it is poor: "<feature>:unknown".
UNKNOWN_REASON = ":unknown"

DEFAULT_GRADES = [("A", 640), ("B", 600), ("C", 570), ("D", 540), ("E", None)]

# Declared business directions of a numeric feature (see ``scoring.features.FEATURE_DIRECTIONS``).
HIGHER_BETTER = "higher_better"
HIGHER_WORSE = "higher_worse"
NO_DIRECTION = "none"
DIRECTIONS = (HIGHER_BETTER, HIGHER_WORSE, NO_DIRECTION)
# The bad-rate trend each direction enforces in binning (+1: the bad rate rises with the value).
_TREND = {HIGHER_BETTER: -1.0, HIGHER_WORSE: 1.0}
_SEP = "\x1f"


def reason_name(feature: str, *, bin: list | None = None, level: str | None = None) -> str:
    """A reason's key: the feature and the applicant's own bin (``[low, high)``, ``None``
    for an open end) or category level, as a JSON fragment kept with the feature."""
    import json

    if bin is not None:
        return feature + _SEP + '"bin": ' + json.dumps(bin)
    if level is not None:
        return feature + _SEP + '"level": ' + json.dumps(level, ensure_ascii=False)
    return feature


def reason_split(name: str) -> tuple[str, dict]:
    """``(feature, {"bin": ...} | {"level": ...} | {})`` of a :func:`reason_name`."""
    import json

    if _SEP not in name:
        return name, {}
    feature, extra = name.split(_SEP, 1)
    return feature, json.loads("{" + extra + "}")


@dataclass
class FeatureBins:
    """The bins of one feature: numeric (``edges``, right-open) or categorical (``levels``)."""

    name: str
    kind: str  # "numeric" | "categorical"
    edges: list[float] = field(default_factory=list)  # inner cut points, ascending
    levels: list[str] = field(default_factory=list)  # categorical levels kept (others pooled)
    labels: list[str] = field(default_factory=list)
    woe: list[float] = field(default_factory=list)  # per label
    counts: list[int] = field(default_factory=list)
    bad_rates: list[float] = field(default_factory=list)
    iv: float = 0.0

    def bin_index(self, values) -> np.ndarray:
        """Index into ``labels`` for each value (a Series or an array)."""
        if self.kind == "numeric":
            return numeric_bin_index(np.asarray(self.edges, dtype=float), values)
        return categorical_bin_index({lvl: i for i, lvl in enumerate(self.levels)}, values)

    def transform(self, values: pd.Series) -> np.ndarray:
        return np.asarray(self.woe, dtype=float)[self.bin_index(values)]


def _floats(values) -> np.ndarray:
    return values.to_numpy(dtype=float) if isinstance(values, pd.Series) else np.asarray(values, dtype=float)


def numeric_bin_index(edges: np.ndarray, values) -> np.ndarray:
    """Right-open bins over ascending inner ``edges``; NaN (or unparsable) in the last bin."""
    if values.dtype.kind in "fiub":
        v = _floats(values)
    else:
        v = _floats(pd.to_numeric(values, errors="coerce"))
    idx = np.searchsorted(edges, v, side="right")
    idx[~np.isfinite(v)] = len(edges) + 1  # the missing bin (NaN, and ±inf: no real value)
    return idx


def categorical_bin_index(lookup: dict, values) -> np.ndarray:
    """The level's position in ``lookup``; any other value pools into the bin after them."""
    other = len(lookup)
    values = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else np.asarray(values, dtype=object)
    return map_distinct(values, lambda v: lookup.get(v, other)).astype(int)


def _woe_table(bin_idx: np.ndarray, y: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    bads = np.bincount(bin_idx, weights=y, minlength=n_bins)
    counts = np.bincount(bin_idx, minlength=n_bins).astype(float)
    goods = counts - bads
    total_bad, total_good = max(y.sum(), 1.0), max(len(y) - y.sum(), 1.0)
    dist_good = (goods + 0.5) / (total_good + 0.5 * n_bins)
    dist_bad = (bads + 0.5) / (total_bad + 0.5 * n_bins)
    woe = np.log(dist_good / dist_bad)
    # An empty bin (e.g. no missing values at training) is neutral.
    woe[counts == 0] = 0.0
    iv = float(np.sum((dist_good - dist_bad) * woe))
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(counts > 0, bads / np.maximum(counts, 1), 0.0)
    return woe, counts, rate, iv


def nice(value: float, digits: int = 3) -> float:
    """``value`` rounded to ``digits`` significant digits: bin edges people can read, and
    that a reason can quote exactly ("Monthly revenue below 31,200")."""
    if value == 0 or not np.isfinite(value):
        return float(value)
    return float(np.format_float_positional(value, precision=digits, unique=False, fractional=False, trim="-"))


def data_direction(x: np.ndarray, y: np.ndarray) -> float:
    """+1 when the bad rate rises with ``x`` in the data, -1 when it falls (NaN ignored)."""
    ok = ~np.isnan(x)
    x, y = x[ok], y[ok]
    if len(x) < 2 or np.std(x) == 0 or np.std(y) == 0:
        return 1.0
    direction = np.sign(np.corrcoef(x, y)[0, 1])
    return 1.0 if direction == 0 or np.isnan(direction) else float(direction)


def monotonic_edges(
    x: np.ndarray, y: np.ndarray, *, max_bins: int = 20, min_share: float = 0.05, direction: float | None = None
) -> list[float]:
    """Cut points (ascending) over non-missing ``x`` whose bins have a monotonic bad rate.

    Quantile pre-bins (edges rounded to three significant digits), then
    pool-adjacent-violators: while two neighbours break the trend (or one is smaller than
    ``min_share`` of the rows) merge the pair with the closest rates. ``direction`` is the
    trend to enforce: +1 the bad rate rises with ``x`` (higher is worse), -1 it falls
    (higher is better), ``None`` the data's own trend. Data that run against an enforced
    direction merge into fewer bins, down to one (the feature then carries nothing).
    """
    ok = ~np.isnan(x)
    x, y = x[ok], y[ok]
    if len(x) == 0:
        return []
    quantiles = np.quantile(x, np.linspace(0, 1, max_bins + 1)[1:-1])
    edges = sorted({nice(float(q)) for q in quantiles})
    edges = [e for e in edges if x.min() < e <= x.max()]
    if not edges:
        return []
    if direction is None:
        direction = data_direction(x, y)
    min_rows = max(1, int(min_share * len(x)))
    while edges:
        idx = np.searchsorted(np.asarray(edges), x, side="right")
        n = len(edges) + 1
        counts = np.bincount(idx, minlength=n).astype(float)
        bads = np.bincount(idx, weights=y, minlength=n)
        rates = bads / np.maximum(counts, 1)
        # Candidate merges: a trend violation or a too-small bin.
        diffs = np.diff(rates) * direction
        bad_pairs = [i for i in range(n - 1) if diffs[i] < 0 or counts[i] < min_rows or counts[i + 1] < min_rows]
        if not bad_pairs:
            break
        gaps = [abs(rates[i + 1] - rates[i]) for i in bad_pairs]
        merge = bad_pairs[int(np.argmin(gaps))]
        del edges[merge]  # merging bins merge and merge+1 removes the edge between them
    return [float(e) for e in edges]


def bins_fit_numeric(name: str, values: pd.Series, y: np.ndarray, **kwargs) -> FeatureBins:
    x = np.array(pd.to_numeric(values, errors="coerce"), dtype=float)
    x[~np.isfinite(x)] = np.nan
    edges = monotonic_edges(x, y, **kwargs)
    labels = []
    bounds = [-np.inf, *edges, np.inf]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        labels.append(f"[{_fmt(lo)}, {_fmt(hi)})")
    labels.append(MISSING_BIN)
    fb = FeatureBins(name=name, kind="numeric", edges=edges, labels=labels)
    idx = fb.bin_index(values)
    woe, counts, rates, iv = _woe_table(idx, y, len(labels))
    fb.woe, fb.counts, fb.bad_rates, fb.iv = [float(w) for w in woe], [int(c) for c in counts], list(rates), iv
    return fb


def bins_fit_categorical(name: str, values: pd.Series, y: np.ndarray, *, min_share: float = 0.02) -> FeatureBins:
    counts = values.value_counts()
    levels = sorted(str(v) for v, n in counts.items() if n >= min_share * len(values) and v != UNKNOWN)
    fb = FeatureBins(name=name, kind="categorical", levels=levels, labels=[*levels, OTHER])
    idx = fb.bin_index(values)
    woe, cnt, rates, iv = _woe_table(idx, y, len(fb.labels))
    fb.woe, fb.counts, fb.bad_rates, fb.iv = [float(w) for w in woe], [int(c) for c in cnt], list(rates), iv
    return fb


def _fmt(v: float) -> str:
    if np.isinf(v):
        return "-inf" if v < 0 else "inf"
    return f"{v:.4g}"


@dataclass
class Scorecard(DerivedCache):
    pdo: float = 20.0
    base_score: float = 600.0
    base_odds: float = 20.0  # good:bad odds at base_score
    grades: list = field(default_factory=lambda: list(DEFAULT_GRADES))
    min_iv: float = 0.02
    max_bins: int = 20
    min_bin_share: float = 0.05
    C: float = 1.0
    # Which features are categorical (default: the application pipeline's), each numeric
    # feature's declared direction, features not to use, and the analyst's overrides.
    categorical: list[str] = field(default_factory=lambda: list(CATEGORICAL_FEATURES))
    directions: dict[str, str] = field(default_factory=dict)
    excluded: list[str] = field(default_factory=list)
    keep_contradicted: list[str] = field(default_factory=list)
    contradicted: list[dict] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    bins: dict[str, FeatureBins] = field(default_factory=dict)
    selected: list[str] = field(default_factory=list)
    coef: dict[str, float] = field(default_factory=dict)
    intercept: float = 0.0

    # -- fitting -----------------------------------------------------------------
    def _fit_feature(self, name: str, values, y: np.ndarray) -> FeatureBins:
        """Bins of one feature; a numeric one in its declared direction (see :meth:`fit`)."""
        if name in self.categorical:
            return bins_fit_categorical(name, values, y)
        declared = self.directions.get(name, NO_DIRECTION)
        kwargs = {"max_bins": self.max_bins, "min_share": self.min_bin_share}
        if declared not in _TREND:
            return bins_fit_numeric(name, values, y, direction=None, **kwargs)
        enforced = _TREND[declared]
        fb = bins_fit_numeric(name, values, y, direction=enforced, **kwargs)
        x = np.array(pd.to_numeric(values, errors="coerce"), dtype=float)
        x[~np.isfinite(x)] = np.nan
        observed = data_direction(x, y)
        if observed != enforced:
            free = bins_fit_numeric(name, values, y, direction=observed, **kwargs)
            if free.iv >= self.min_iv and free.iv > fb.iv:
                kept = name in self.keep_contradicted
                self.contradicted.append(
                    {
                        "feature": name,
                        "declared": declared,
                        "observed": HIGHER_WORSE if observed > 0 else HIGHER_BETTER,
                        "iv_declared": round(fb.iv, 4),
                        "iv_data": round(free.iv, 4),
                        "kept": kept,
                    }
                )
                if kept:  # the analyst's override: the data's direction
                    return free
                self.left_out.append(name)
        return fb

    def fit(self, features: pd.DataFrame, y) -> "Scorecard":
        """Bins per feature, WoE, the logistic regression and the points.

        Numeric features with a declared direction (``directions``: higher better / worse)
        are binned with that trend enforced; one whose data run the other way (the data's
        own binning carries information where the declared one does not) is reported in
        ``contradicted`` and left out, unless named in ``keep_contradicted`` (an analyst's
        override, binned in the data's direction). Features in ``excluded`` are not used."""
        y = np.asarray(y, dtype=float)
        self.bins, self.contradicted, self.left_out = {}, [], []
        for name in features.columns:
            if name in self.excluded:
                continue
            self.bins[name] = self._fit_feature(name, features[name], y)
        usable = [n for n in self.bins if n not in self.left_out]
        candidates = [n for n in usable if self.bins[n].iv >= self.min_iv]
        if not candidates:
            candidates = sorted(usable or self.bins, key=lambda n: -self.bins[n].iv)[:1]
        woe = self.woe_frame(features, names=list(self.bins))
        while True:
            model = LogisticRegression(C=self.C, max_iter=1000)
            model.fit(woe[candidates].to_numpy(), y)
            coefs = dict(zip(candidates, model.coef_[0], strict=True))
            # With WoE = ln(good/bad), a feature's coefficient for "bad" must be negative.
            wrong = [n for n, c in coefs.items() if c >= 0]
            if not wrong or len(candidates) == 1:
                break
            worst = max(wrong, key=lambda n: coefs[n])
            candidates.remove(worst)
        self.selected = candidates
        self.coef = {n: float(c) for n, c in coefs.items()}
        self.intercept = float(model.intercept_[0])
        return self

    # -- scaling -----------------------------------------------------------------
    @property
    def factor(self) -> float:
        return self.pdo / np.log(2)

    @property
    def offset(self) -> float:
        return self.base_score - self.factor * np.log(self.base_odds)

    def bin_points(self, name: str) -> np.ndarray:
        """Points of each bin of a selected feature (rounded to whole points)."""
        n = len(self.selected)
        woe = np.asarray(self.bins[name].woe, dtype=float)
        return np.round(-(self.coef[name] * woe + self.intercept / n) * self.factor + self.offset / n)

    def _table(self) -> list[tuple]:
        """Per selected feature, what scoring needs from the fitted card: the name, the bin
        index function, the WoE and the points per bin, the best points and the coefficient."""
        rows = []
        for name in self.selected:
            fb = self.bins[name]
            if fb.kind == "numeric":
                index = partial(numeric_bin_index, np.asarray(fb.edges, dtype=float))
            else:
                index = partial(categorical_bin_index, {lvl: i for i, lvl in enumerate(fb.levels)})
            points = self.bin_points(name)
            rows.append((name, index, np.asarray(fb.woe, dtype=float), points, points.max(), self.coef[name]))
        return rows

    def bin_reason_names(self, name: str) -> list[str]:
        """One reason key per bin of ``name``: the bin's bounds or level (:func:`reason_name`);
        the missing bin is ``<feature>:unknown`` (not known, rather than poor)."""
        fb = self.bins[name]
        if fb.kind == "numeric":
            bounds = [None, *fb.edges, None]
            names = [reason_name(name, bin=[lo, hi]) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
            return [*names, name + UNKNOWN_REASON]
        return [*(reason_name(name, level=lvl) for lvl in fb.levels), reason_name(name, level=OTHER)]

    def _reason_names(self) -> tuple[list[str], np.ndarray]:
        """Every selected feature's bin reason keys in one list, and where each feature's start."""
        names, offsets = [], []
        for name in self.selected:
            offsets.append(len(names))
            names += self.bin_reason_names(name)
        return names, np.asarray(offsets, dtype=np.int64)

    def woe_frame(self, features: pd.DataFrame, *, names=None) -> pd.DataFrame:
        names = names or self.selected
        return pd.DataFrame({n: self.bins[n].transform(features[n]) for n in names}, index=features.index)

    # -- scoring -----------------------------------------------------------------
    def predict_proba(self, features) -> np.ndarray:
        """Probability of default (bad) per row."""
        logit = np.full(len(features), self.intercept, dtype=float)
        for name, index, woe, _points, _best, coef in self.derived("table", self._table):
            logit += coef * woe[index(features[name])]
        return 1.0 / (1.0 + np.exp(-logit))

    def points_frame(self, features: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            {n: self.bin_points(n)[self.bins[n].bin_index(features[n])] for n in self.selected},
            index=features.index,
        )

    def points(self, features: pd.DataFrame) -> np.ndarray:
        return self.points_frame(features).sum(axis=1).to_numpy().astype(int)

    def score(self, features, *, reasons: bool | str = True, top: int = 3) -> dict:
        """Probability, points, grade and (optionally) reasons in one pass over the bins of a
        DataFrame or :class:`~scoring.features.Columns` of built features;
        ``reasons="arrays"`` gives only the reason arrays, not the per-row lists."""
        n = len(features)
        table = self.derived("table", self._table)
        logit = np.full(n, self.intercept, dtype=float)
        pts = np.empty((n, len(table)), dtype=float)
        best = np.empty(len(table), dtype=float)
        bins = np.zeros((n, len(table)), dtype=np.int64)
        for j, (name, index, woe, bin_pts, top_pts, coef) in enumerate(table):
            idx = index(features[name])
            logit += coef * woe[idx]
            pts[:, j] = bin_pts[idx]
            best[j] = top_pts
            bins[:, j] = idx
        points = pts.sum(axis=1).astype(int)
        out = {"probability": 1.0 / (1.0 + np.exp(-logit)), "points": points, "grade": self.grade(points)}
        if reasons:
            lost = best[None, :] - pts
            order = np.argsort(-lost, axis=1, kind="stable")[:, :top]
            top_lost = np.take_along_axis(lost, order, axis=1).astype(int)
            # Each reason names the applicant's own bin of the feature (its bounds or level;
            # the missing bin is "<feature>:unknown"), ranked by points lost against the
            # feature's best bin. As arrays (batch scoring renders them without per-row
            # Python objects): the reason keys, and per row the indices into them and the
            # points lost, largest first; a loss of 0 or less is no reason.
            names, offsets = self.derived("reason_names", self._reason_names)
            index = offsets[order] + np.take_along_axis(bins, order, axis=1)
            out["reason_names"] = names
            out["reason_index"], out["reason_lost"] = index, top_lost
            if reasons != "arrays":
                out["reasons"] = [
                    [(names[j], v) for j, v in zip(row_index, row_lost, strict=True) if v > 0]
                    for row_index, row_lost in zip(index.tolist(), top_lost.tolist(), strict=True)
                ]
        return out

    def grade(self, points) -> np.ndarray:
        points = np.asarray(points)
        out = np.full(points.shape, self.grades[-1][0], dtype=object)
        # Assign from the lowest band up so the highest matching band wins.
        for letter, floor in reversed(self.grades[:-1]):
            out[points >= floor] = letter
        return out

    def reasons(self, features: pd.DataFrame, *, top: int = 3) -> list[list[tuple[str, int]]]:
        """Per row: the features that cost the most points against their best bin,
        ``(feature, points_lost)`` largest first, only those that cost something; a feature
        whose value is not known is named ``<feature>:unknown``; otherwise the key names
        the applicant's bin (:func:`reason_split`)."""
        return self.score(features, reasons=True, top=top)["reasons"]

    def table(self) -> list[dict]:
        """The scorecard as rows (feature, bin, count, bad rate, WoE, points) for the model page."""
        rows = []
        for name in self.selected:
            fb = self.bins[name]
            pts = self.bin_points(name)
            for i, label in enumerate(fb.labels):
                rows.append(
                    {
                        "feature": name,
                        "bin": label,
                        "count": fb.counts[i],
                        "bad_rate": round(float(fb.bad_rates[i]), 4),
                        "woe": round(fb.woe[i], 4),
                        "points": int(pts[i]),
                    }
                )
        return rows
