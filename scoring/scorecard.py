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
    idx[np.isnan(v)] = len(edges) + 1  # the missing bin
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


def monotonic_edges(x: np.ndarray, y: np.ndarray, *, max_bins: int = 20, min_share: float = 0.05) -> list[float]:
    """Cut points (ascending) over non-missing ``x`` whose bins have a monotonic bad rate.

    Quantile pre-bins, then pool-adjacent-violators: while two neighbours break the trend
    (or one is smaller than ``min_share`` of the rows) merge the pair with the closest rates.
    """
    ok = ~np.isnan(x)
    x, y = x[ok], y[ok]
    if len(x) == 0:
        return []
    edges = list(np.unique(np.quantile(x, np.linspace(0, 1, max_bins + 1)[1:-1])))
    if not edges:
        return []
    direction = np.sign(np.corrcoef(x, y)[0, 1]) if np.std(x) > 0 and np.std(y) > 0 else 1.0
    if direction == 0 or np.isnan(direction):
        direction = 1.0
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
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
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
    bins: dict[str, FeatureBins] = field(default_factory=dict)
    selected: list[str] = field(default_factory=list)
    coef: dict[str, float] = field(default_factory=dict)
    intercept: float = 0.0

    # -- fitting -----------------------------------------------------------------
    def fit(self, features: pd.DataFrame, y) -> "Scorecard":
        y = np.asarray(y, dtype=float)
        self.bins = {}
        for name in features.columns:
            if name in CATEGORICAL_FEATURES:
                fb = bins_fit_categorical(name, features[name], y)
            else:
                fb = bins_fit_numeric(name, features[name], y, max_bins=self.max_bins, min_share=self.min_bin_share)
            self.bins[name] = fb
        candidates = [n for n, fb in self.bins.items() if fb.iv >= self.min_iv]
        if not candidates:
            candidates = sorted(self.bins, key=lambda n: -self.bins[n].iv)[:1]
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

    def _missing_bins(self) -> list[int | None]:
        """Per selected feature, the index of its missing-value bin (numeric features)."""
        return [len(self.bins[name].edges) + 1 if self.bins[name].kind == "numeric" else None for name in self.selected]

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
        missing = np.zeros((n, len(table)), dtype=bool)
        missing_bins = self.derived("missing_bins", self._missing_bins)
        for j, (name, index, woe, bin_pts, top_pts, coef) in enumerate(table):
            idx = index(features[name])
            logit += coef * woe[idx]
            pts[:, j] = bin_pts[idx]
            best[j] = top_pts
            if missing_bins[j] is not None:
                missing[:, j] = idx == missing_bins[j]
        points = pts.sum(axis=1).astype(int)
        out = {"probability": 1.0 / (1.0 + np.exp(-logit)), "points": points, "grade": self.grade(points)}
        if reasons:
            lost = best[None, :] - pts
            order = np.argsort(-lost, axis=1, kind="stable")[:, :top]
            top_lost = np.take_along_axis(lost, order, axis=1).astype(int)
            # A loss in a feature's missing bin is "not known", not "poor": its name + UNKNOWN_REASON.
            unknown = np.take_along_axis(missing, order, axis=1)
            # As arrays (batch scoring renders them without per-row Python objects): the
            # reason names, and per row the indices into them and the points lost,
            # largest first; a loss of 0 or less is no reason.
            names = [*self.selected, *(name + UNKNOWN_REASON for name in self.selected)]
            index = order + unknown * len(self.selected)
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
        whose value is not known is named ``<feature>:unknown``."""
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
