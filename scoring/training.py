"""Training and the model artifacts: pure functions over raw frames and labels.

Every artifact has ``predict(features, raw) -> dict of arrays`` over the output of
``features_build`` (plus the raw frame for inputs like product bounds; DataFrames, or
``Columns`` for one prediction), so batch scoring, single prediction and validation run
the same code. Each training validates on a
stratified 80/20 hold-out and k-fold CV, and trains the random-forest baseline on the six
features the retail system used on the same split, so the report compares like with like.
"""

import logging
import platform
from dataclasses import dataclass, field

import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from threadpoolctl import ThreadpoolController

from scoring.features import (
    BASELINE_FEATURES,
    CATEGORICAL_FEATURES,
    FEATURE_DIRECTIONS,
    FEATURES,
    SCORECARD_EXCLUDED,
    DerivedCache,
    FeatureEncoder,
    column,
    features_build,
)
from scoring.metrics import classification_metrics, ks_statistic, reference_distribution, regression_metrics
from scoring.scorecard import DEFAULT_GRADES, Scorecard

logger = logging.getLogger(__name__)

# Inputs the limit estimator must not see: the requested amount is what it recommends.
LIMIT_EXCLUDED = ["amount", "amount_to_revenue"]


_CONTROLLER = None


def openmp_limited():
    """A context limiting OpenMP to one thread. On a shared 2-core machine gradient boosting
    with one thread per core spin-waits under load: 4 s single-threaded became 65 s."""
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()  # scanning the loaded libraries costs ms: once
    return _CONTROLLER.limit(limits=1, user_api="openmp")


def library_versions() -> dict:
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "joblib": joblib.__version__,
    }


def _baseline_classifier(seed: int, n_estimators: int = 100, rows: int = 0):
    # The retail system's model: a random forest on six raw inputs (missing -> median);
    # each tree sees a bootstrap of at most BASELINE_MAX_SAMPLES rows on large sets.
    return make_pipeline(
        SimpleImputer(strategy="median"),
        RandomForestClassifier(
            n_estimators=n_estimators,
            min_samples_leaf=5,
            max_samples=_max_samples(rows),
            n_jobs=-1,
            random_state=seed,
        ),
    )


def _max_samples(rows: int):
    return BASELINE_MAX_SAMPLES if rows > BASELINE_MAX_SAMPLES else None


def _baseline_regressor(seed: int, n_estimators: int = 100, rows: int = 0):
    return make_pipeline(
        SimpleImputer(strategy="median"),
        RandomForestRegressor(
            n_estimators=n_estimators,
            min_samples_leaf=5,
            max_samples=_max_samples(rows),
            n_jobs=-1,
            random_state=seed,
        ),
    )


@dataclass
class TrainResult:
    artifact: object
    algorithm: str
    params: dict
    features: list[str]
    metrics: dict
    reference: dict
    rows: int


# ---------------------------------------------------------------------------------
# Gradient boosting on a few rows
# ---------------------------------------------------------------------------------
# Up to this many rows a fitted HistGradientBoosting model is evaluated by TreeWalk.
WALK_MAX_ROWS = 4


def probe_rows(feature: np.ndarray, threshold: np.ndarray, n_features: int, n: int = 64) -> np.ndarray:
    """Rows to check a tree walk against its estimator: values on, just above and just
    below every split threshold of each feature, and missing values (every branch)."""
    rng = np.random.default_rng(0)
    columns = []
    for f in range(n_features):
        t = threshold[feature == f]
        values = np.concatenate([[np.nan, 0.0], t, np.nextafter(t, np.inf), np.nextafter(t, -np.inf)])
        columns.append(rng.choice(values, size=n))
    return np.column_stack(columns)


class TreeWalk:
    """A fitted HistGradientBoosting model's prediction for a few rows, without its
    per-call overhead (input validation, one Cython call and array per tree: ~0.6 ms for
    one row, about what a single prediction spends on everything else).

    The same trees, the same comparisons (NaN goes the learned missing side, then
    ``value <= threshold`` goes left), the leaf values added tree by tree in order onto the
    baseline as scikit-learn does, and scikit-learn's own link / probability function on
    the sum: the outputs are bit-for-bit the estimator's. It reads fitted internals, so
    :meth:`build` returns it only for models it covers (numeric features, one tree per
    iteration) and only after it reproduced the estimator exactly on probe rows built from
    the trees' own thresholds; otherwise callers keep using the estimator.
    """

    def __init__(self, estimator):
        self.estimator = estimator
        self.classifier = isinstance(estimator, HistGradientBoostingClassifier)
        self.baseline = float(np.asarray(estimator._baseline_prediction).reshape(-1)[0])
        self.n_features = int(estimator.n_features_in_)
        self.trees = []
        for (predictor,) in estimator._predictors:
            nodes = predictor.nodes
            self.trees.append(
                tuple(
                    nodes[name].tolist()
                    for name in (
                        "is_leaf",
                        "feature_idx",
                        "num_threshold",
                        "missing_go_to_left",
                        "left",
                        "right",
                        "value",
                    )
                )
            )

    @classmethod
    def build(cls, estimator) -> "TreeWalk | None":
        if not isinstance(estimator, HistGradientBoostingClassifier | HistGradientBoostingRegressor):
            return None
        try:
            if estimator.n_trees_per_iteration_ != 1 or estimator._preprocessor is not None:
                return None
            if any(p.nodes["is_categorical"].any() for (p,) in estimator._predictors):
                return None
            walk = cls(estimator)
            probe = walk._probe_rows()
            same = np.array_equal(walk.predict(probe), walk._reference(probe), equal_nan=True)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:  # another scikit-learn
            logger.warning("scoring: tree walk unavailable (%s); using the estimator", exc)
            return None
        if not same:
            logger.warning("scoring: tree walk differs from the estimator; using the estimator")
            return None
        return walk

    def _probe_rows(self) -> np.ndarray:
        splits = [p.nodes[p.nodes["is_leaf"] == 0] for (p,) in self.estimator._predictors]
        feature = np.concatenate([nodes["feature_idx"] for nodes in splits])
        threshold = np.concatenate([nodes["num_threshold"] for nodes in splits])
        return probe_rows(feature, threshold, self.n_features)

    def _reference(self, X: np.ndarray) -> np.ndarray:
        if self.classifier:
            return self.estimator.predict_proba(X)
        return self.estimator.predict(X)

    def raw(self, row: list[float]) -> float:
        total = 0.0 + self.baseline
        for is_leaf, feature, threshold, missing_left, left, right, value in self.trees:
            i = 0
            while not is_leaf[i]:
                v = row[feature[i]]
                if v != v:  # NaN
                    i = left[i] if missing_left[i] else right[i]
                elif v <= threshold[i]:
                    i = left[i]
                else:
                    i = right[i]
            total += value[i]
        return total

    def predict(self, X: np.ndarray) -> np.ndarray:
        """What ``predict_proba`` (classifier) or ``predict`` (regressor) returns."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"expected {self.n_features} features, got shape {X.shape}")
        raw = np.array([[self.raw(row)] for row in X.tolist()], dtype=np.float64).reshape(len(X), 1)
        if self.classifier:
            return self.estimator._loss.predict_proba(raw)
        return self.estimator._loss.link.inverse(raw.ravel())


class ForestWalk:
    """The random-forest baseline (median imputer, then the forest) on a few rows, without
    scikit-learn's per-tree call overhead (~0.1 ms a tree: 11 ms for one row of a
    100-tree forest, more than everything else in a prediction).

    The same steps: missing values replaced by the imputer's medians, each tree walked with
    the value as float32 compared to the split threshold (how the trees compare), each
    tree's leaf turned into class probabilities (classifier) or its value (regressor), and
    the trees averaged. Summation order may differ from the estimator's threads, so it is
    built only after matching the estimator to 1e-12 on probe rows around every threshold.
    """

    def __init__(self, pipeline):
        imputer, forest = pipeline.steps[0][1], pipeline.steps[-1][1]
        self.pipeline = pipeline
        self.classifier = isinstance(forest, RandomForestClassifier)
        self.medians = np.asarray(imputer.statistics_, dtype=np.float64)
        self.n_features = len(self.medians)
        self.trees = []
        for tree in forest.estimators_:
            t = tree.tree_
            value = t.value[:, 0, :]
            if self.classifier:
                value = value / value.sum(axis=1, keepdims=True)
            self.trees.append(
                (t.children_left.tolist(), t.children_right.tolist(), t.feature.tolist(), t.threshold.tolist(), value)
            )

    @classmethod
    def build(cls, pipeline) -> "ForestWalk | None":
        steps = getattr(pipeline, "steps", None)
        if not steps or len(steps) != 2:
            return None
        imputer, forest = steps[0][1], steps[1][1]
        if not isinstance(imputer, SimpleImputer) or not isinstance(
            forest, RandomForestClassifier | RandomForestRegressor
        ):
            return None
        try:
            if getattr(forest, "n_outputs_", 1) != 1 or np.isnan(imputer.statistics_).any():
                return None
            walk = cls(pipeline)
            probe = walk._probe_rows()
            same = np.allclose(walk.predict(probe), walk._reference(probe), rtol=0, atol=1e-12)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
            logger.warning("scoring: forest walk unavailable (%s); using the estimator", exc)
            return None
        if not same:
            logger.warning("scoring: forest walk differs from the estimator; using the estimator")
            return None
        return walk

    def _probe_rows(self) -> np.ndarray:
        feature = np.concatenate([np.asarray(f) for _l, _r, f, _t, _v in self.trees])
        threshold = np.concatenate([np.asarray(t) for _l, _r, _f, t, _v in self.trees])
        return probe_rows(feature, threshold, self.n_features)

    def _reference(self, X: np.ndarray) -> np.ndarray:
        if self.classifier:
            return self.pipeline.predict_proba(X)
        return self.pipeline.predict(X)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """What ``predict_proba`` (classifier) or ``predict`` (regressor) returns."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"expected {self.n_features} features, got shape {X.shape}")
        X = np.where(np.isnan(X), self.medians, X).astype(np.float32).astype(np.float64)
        out = []
        for row in X.tolist():
            total = 0.0
            for left, right, feature, threshold, value in self.trees:
                i = 0
                while left[i] != -1:
                    i = left[i] if row[feature[i]] <= threshold[i] else right[i]
                total = total + value[i]
            out.append(total / len(self.trees))
        result = np.asarray(out, dtype=np.float64)
        return result if self.classifier else result.reshape(-1)


def _estimate(model, X: np.ndarray, *, proba: bool) -> np.ndarray:
    """``model.estimator.predict_proba(X)`` (``proba``) or ``.predict(X)``; a few rows
    through the model's :class:`TreeWalk` or :class:`ForestWalk` when it has one."""
    if len(X) <= WALK_MAX_ROWS:
        walk = model.derived("walk", lambda: TreeWalk.build(model.estimator) or ForestWalk.build(model.estimator))
        if walk is not None and walk.classifier == proba:
            return walk.predict(X)
    return model.estimator.predict_proba(X) if proba else model.estimator.predict(X)


# ---------------------------------------------------------------------------------
# Artifacts
# ---------------------------------------------------------------------------------
def _baseline_matrix(features, names: list[str]) -> np.ndarray:
    """The named feature columns side by side, as floats."""
    return np.column_stack([column(features, c, float) for c in names])


def _numbers(values) -> np.ndarray:
    return np.asarray(pd.to_numeric(values, errors="coerce"), dtype=float)


@dataclass
class ApprovalModel(DerivedCache):
    """Probability that an officer approves the request."""

    algorithm: str
    estimator: object
    encoder: FeatureEncoder | None = None  # None for the six-feature baseline
    cutoff: float = 0.5

    def matrix(self, features):
        if self.encoder is None:
            return _baseline_matrix(features, BASELINE_FEATURES)
        return self.encoder.transform_array(features)

    def predict(self, features, raw=None) -> dict:
        proba = _estimate(self, self.matrix(features), proba=True)[:, 1]
        return {"probability": proba}


@dataclass
class PDModel:
    """The scorecard: probability of default, points, grade, reason codes."""

    scorecard: Scorecard
    cutoff: float = 0.2

    def predict(self, features, raw=None, *, reasons: bool | str = True) -> dict:
        return self.scorecard.score(features, reasons=reasons)


@dataclass
class LimitModel(DerivedCache):
    """Recommended credit limit, bounded by the product's minimum and maximum amount."""

    algorithm: str
    estimator: object
    encoder: FeatureEncoder | None = None
    columns: list[str] = field(default_factory=list)
    log_target: bool = True

    def _keep(self) -> list[int]:
        all_columns = self.encoder.columns
        return [all_columns.index(c) for c in self.columns]

    def matrix(self, features):
        if self.encoder is None:
            return _baseline_matrix(features, BASELINE_FEATURES)
        return self.encoder.transform_array(features)[:, self.derived("keep", self._keep)]

    def predict(self, features, raw=None) -> dict:
        pred = _estimate(self, self.matrix(features), proba=False)
        value = np.expm1(pred) if self.log_target else pred
        value = np.maximum(value, 0.0)
        if raw is not None and "product_min_amount" in raw and "product_max_amount" in raw:
            lo = _numbers(raw["product_min_amount"])
            hi = _numbers(raw["product_max_amount"])
            value = np.where(np.isnan(lo), value, np.maximum(value, lo))
            value = np.where(np.isnan(hi), value, np.minimum(value, hi))
        # Limits are offered in whole thousands.
        return {"value": np.floor(value / 1000.0) * 1000.0}


# ---------------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------------
def _split(n: int, y, *, seed: int, test_size: float = 0.2, stratify: bool = True):
    idx = np.arange(n)
    strat = y if stratify and len(np.unique(y)) > 1 and np.bincount(y.astype(int)).min() >= 2 else None
    return train_test_split(idx, test_size=test_size, random_state=seed, stratify=strat)


CV_MAX_ROWS = 40_000
BASELINE_MAX_SAMPLES = 50_000


def _cv_auc(fit_predict, features: pd.DataFrame, y: np.ndarray, *, folds: int, seed: int) -> dict:
    """Stratified k-fold AUC of ``fit_predict(train_features, train_y, test_features)``.

    Above :data:`CV_MAX_ROWS` the folds are cut from a stratified sample of that size: the
    spread across folds is what CV adds here (the hold-out already measures the model)."""
    if folds < 2 or np.bincount(y.astype(int)).min() < folds:
        return {}
    from sklearn.metrics import roc_auc_score

    rows = len(y)
    if rows > CV_MAX_ROWS:
        keep, _rest = train_test_split(np.arange(rows), train_size=CV_MAX_ROWS, random_state=seed, stratify=y)
        features, y = features.iloc[np.sort(keep)].reset_index(drop=True), y[np.sort(keep)]
    aucs = []
    for tr, te in StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(features, y):
        proba = fit_predict(features.iloc[tr], y[tr], features.iloc[te])
        aucs.append(roc_auc_score(y[te], proba))
    return {
        "folds": folds,
        "rows": int(len(y)),
        "auc_mean": round(float(np.mean(aucs)), 4),
        "auc_std": round(float(np.std(aucs)), 4),
    }


def _best_cutoff(y, proba) -> float:
    """The threshold at the KS point (max TPR - FPR)."""
    from sklearn.metrics import roc_curve

    if len(np.unique(y)) < 2:
        return 0.5
    fpr, tpr, thr = roc_curve(y, proba)
    i = int(np.argmax(tpr - fpr))
    return float(min(max(thr[i], 0.0), 1.0))


def _reference(features: pd.DataFrame, score=None) -> dict:
    ref = {"features": {}}
    for name in FEATURES:
        if name in CATEGORICAL_FEATURES:
            shares = features[name].value_counts(normalize=True)
            ref["features"][name] = {"categorical": {str(k): float(v) for k, v in shares.items()}}
        else:
            ref["features"][name] = reference_distribution(features[name].to_numpy(dtype=float))
    if score is not None:
        ref["score"] = reference_distribution(np.asarray(score, dtype=float))
    return ref


# ---------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------
def train_approval(
    raw: pd.DataFrame, y, *, seed: int = 42, cv_folds: int = 5, baseline_trees: int = 100
) -> TrainResult:
    """Gradient boosting on the full pipeline vs the six-feature random forest, same split;
    the better hold-out AUC ships (the baseline too, if it wins)."""
    y = np.asarray(y).astype(int)
    features = features_build(raw).reset_index(drop=True)
    tr, te = _split(len(features), y, seed=seed)
    encoder = FeatureEncoder.fit(features.iloc[tr])

    gb_params = {
        "max_iter": 300,
        "learning_rate": 0.08,
        "max_leaf_nodes": 31,
        "l2_regularization": 1.0,
        "early_stopping": True,
        "n_iter_no_change": 15,
    }
    gb = HistGradientBoostingClassifier(random_state=seed, **gb_params)
    gb.fit(encoder.transform(features.iloc[tr]).to_numpy(), y[tr])
    candidate = ApprovalModel(algorithm="hist_gradient_boosting", estimator=gb, encoder=encoder)

    rf = _baseline_classifier(seed, baseline_trees, len(tr))
    rf.fit(features.iloc[tr][BASELINE_FEATURES].to_numpy(dtype=float), y[tr])
    baseline = ApprovalModel(algorithm="random_forest_6", estimator=rf)

    cand_metrics = classification_metrics(y[te], candidate.predict(features.iloc[te])["probability"])
    base_metrics = classification_metrics(y[te], baseline.predict(features.iloc[te])["probability"])
    chosen, chosen_metrics = (
        (candidate, cand_metrics) if cand_metrics["auc"] >= base_metrics["auc"] else (baseline, base_metrics)
    )

    def fit_predict(f_tr, y_tr, f_te):
        enc = FeatureEncoder.fit(f_tr)
        m = HistGradientBoostingClassifier(random_state=seed, **gb_params).fit(enc.transform(f_tr).to_numpy(), y_tr)
        return m.predict_proba(enc.transform(f_te).to_numpy())[:, 1]

    cv = _cv_auc(fit_predict, features.iloc[tr].reset_index(drop=True), y[tr], folds=cv_folds, seed=seed)
    score = chosen.predict(features)["probability"]
    return TrainResult(
        artifact=chosen,
        algorithm=chosen.algorithm,
        params={
            "seed": seed,
            "split": "stratified 80/20",
            "gradient_boosting": gb_params,
            "baseline_trees": baseline_trees,
        },
        features=encoder.columns if chosen.encoder is not None else list(BASELINE_FEATURES),
        metrics={
            "holdout": chosen_metrics,
            "candidate": {"algorithm": candidate.algorithm, "auc": cand_metrics["auc"], "ks": cand_metrics["ks"]},
            "baseline": _baseline_summary(base_metrics),
            "cv": cv,
            "train_rows": int(len(tr)),
            "test_rows": int(len(te)),
        },
        reference=_reference(features, score),
        rows=len(features),
    )


def _baseline_summary(m: dict) -> dict:
    return {"algorithm": "random_forest_6", "features": BASELINE_FEATURES, **{k: m[k] for k in ("auc", "ks", "gini")}}


def train_pd(
    raw: pd.DataFrame,
    y,
    *,
    seed: int = 42,
    cv_folds: int = 5,
    pdo: float = 20.0,
    base_score: float = 600.0,
    base_odds: float = 20.0,
    grades=None,
    baseline_trees: int = 100,
    direction_overrides: dict | None = None,
    keep_contradicted: list | None = None,
) -> TrainResult:
    """The WoE scorecard on the full pipeline vs the six-feature random forest on defaults.

    Each feature is binned in its declared direction (``FEATURE_DIRECTIONS``, changed per
    training by ``direction_overrides``); contradicted ones are reported in the metrics
    and left out unless listed in ``keep_contradicted``."""
    y = np.asarray(y).astype(int)
    features = features_build(raw).reset_index(drop=True)
    tr, te = _split(len(features), y, seed=seed)
    settings = {"pdo": pdo, "base_score": base_score, "base_odds": base_odds, "grades": grades or DEFAULT_GRADES}
    directions = {**FEATURE_DIRECTIONS, **(direction_overrides or {})}
    shape = {
        "directions": directions,
        "excluded": list(SCORECARD_EXCLUDED),
        "keep_contradicted": list(keep_contradicted or []),
    }
    sc = Scorecard(**settings, **shape).fit(features.iloc[tr], y[tr])
    cutoff = _best_cutoff(y[tr], sc.predict_proba(features.iloc[tr]))
    model = PDModel(scorecard=sc, cutoff=cutoff)
    proba_te = sc.predict_proba(features.iloc[te])
    metrics = classification_metrics(y[te], proba_te, cutoff=cutoff)
    # Points must rank as well as the probability (higher points = lower risk).
    metrics["points_ks"] = round(ks_statistic(y[te], -sc.points(features.iloc[te])), 4)

    rf = _baseline_classifier(seed, baseline_trees, len(tr))
    rf.fit(features.iloc[tr][BASELINE_FEATURES].to_numpy(dtype=float), y[tr])
    base = classification_metrics(
        y[te], rf.predict_proba(features.iloc[te][BASELINE_FEATURES].to_numpy(dtype=float))[:, 1]
    )

    def fit_predict(f_tr, y_tr, f_te):
        return Scorecard(**settings, **shape).fit(f_tr, y_tr).predict_proba(f_te)

    cv = _cv_auc(fit_predict, features.iloc[tr].reset_index(drop=True), y[tr], folds=cv_folds, seed=seed)
    grades_used = [list(g) for g in settings["grades"]]
    return TrainResult(
        artifact=model,
        algorithm="woe_logistic_scorecard",
        params={
            "seed": seed,
            "split": "stratified 80/20",
            **settings,
            "grades": grades_used,
            "C": sc.C,
            "directions": directions,
            "excluded": shape["excluded"],
            "keep_contradicted": shape["keep_contradicted"],
        },
        features=list(sc.selected),
        metrics={
            "holdout": metrics,
            "baseline": _baseline_summary(base),
            "cv": cv,
            "iv": {n: round(fb.iv, 4) for n, fb in sc.bins.items()},
            "contradicted": sc.contradicted,
            "left_out": sc.left_out,
            "scorecard": sc.table(),
            "train_rows": int(len(tr)),
            "test_rows": int(len(te)),
        },
        reference=_reference(features, sc.points(features)),
        rows=len(features),
    )


def train_limit(raw: pd.DataFrame, target, *, seed: int = 42, baseline_trees: int = 100) -> TrainResult:
    """Gradient boosting on log(limit) from revenue, cost, ratios and history vs the random
    forest on the six inputs (without the requested amount); predictions bounded by product."""
    target = np.asarray(target, dtype=float)
    features = features_build(raw).reset_index(drop=True)
    tr, te = _split(len(features), target, seed=seed, stratify=False)
    encoder = FeatureEncoder.fit(features.iloc[tr])
    columns = [c for c in encoder.columns if c not in LIMIT_EXCLUDED]
    params = {
        "max_iter": 300,
        "learning_rate": 0.08,
        "max_leaf_nodes": 31,
        "l2_regularization": 1.0,
        "early_stopping": True,
        "n_iter_no_change": 15,
    }
    gb = HistGradientBoostingRegressor(random_state=seed, **params)
    gb.fit(encoder.transform(features.iloc[tr])[columns].to_numpy(), np.log1p(target[tr]))
    model = LimitModel(algorithm="hist_gradient_boosting_regressor", estimator=gb, encoder=encoder, columns=columns)
    pred = model.predict(features.iloc[te], raw.reset_index(drop=True).iloc[te])["value"]
    metrics = regression_metrics(target[te], pred)

    six = [c for c in BASELINE_FEATURES if c != "amount"]
    rf = _baseline_regressor(seed, baseline_trees, len(tr))
    rf.fit(features.iloc[tr][six].to_numpy(dtype=float), np.log1p(target[tr]))
    base_pred = np.expm1(rf.predict(features.iloc[te][six].to_numpy(dtype=float)))
    base = regression_metrics(target[te], base_pred)
    value = model.predict(features, raw.reset_index(drop=True))["value"]
    return TrainResult(
        artifact=model,
        algorithm=model.algorithm,
        params={"seed": seed, "split": "random 80/20", "gradient_boosting": params, "target": "log1p(limit)"},
        features=columns,
        metrics={
            "holdout": metrics,
            "baseline": {"algorithm": "random_forest_5", "features": six, **base},
            "train_rows": int(len(tr)),
            "test_rows": int(len(te)),
        },
        reference=_reference(features, value),
        rows=len(features),
    )


# ---------------------------------------------------------------------------------
# Scorecards on any data (train from a file)
# ---------------------------------------------------------------------------------
@dataclass
class FilePDModel:
    """A scorecard over a declared schema: predicts from rows with the columns it was trained on."""

    schema: dict
    scorecard: Scorecard
    cutoff: float = 0.2

    def predict_frame(self, frame: pd.DataFrame, *, reasons: bool | str = True) -> dict:
        from scoring.schema import DataSchema, schema_prepare

        schema = DataSchema.from_json(self.schema)
        kept = set(self.scorecard.bins)
        schema.columns = [c for c in schema.columns if c.name in kept or c.name == schema.target]
        features, _warnings = schema_prepare(frame, schema)
        return self.scorecard.score(features, reasons=reasons)


def onehot_logistic(categorical: list[str], numeric: list[str], *, seed: int = 42):
    """The plain baseline for a data set with mixed columns: one-hot categories (unseen ones
    ignored), numbers imputed with the median and standardised, a logistic regression."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    steps = []
    if numeric:
        steps.append(("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric))
    if categorical:
        steps.append(("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=5), categorical))
    return make_pipeline(ColumnTransformer(steps), LogisticRegression(max_iter=2000, random_state=seed))


def file_cv(features: pd.DataFrame, y: np.ndarray, *, settings: dict, shape: dict, folds: int, seed: int) -> dict:
    """Stratified k-fold AUC of the scorecard and of the one-hot logistic baseline on the same folds."""
    from sklearn.metrics import roc_auc_score

    if folds < 2 or np.bincount(y).min() < folds:
        return {}
    categorical = [c for c in shape["categorical"] if c in features.columns]
    numeric = [c for c in features.columns if c not in categorical]
    card, base = [], []
    for tr, te in StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(features, y):
        sc = Scorecard(**settings, **shape).fit(features.iloc[tr], y[tr])
        card.append(roc_auc_score(y[te], sc.predict_proba(features.iloc[te])))
        lr = onehot_logistic(categorical, numeric, seed=seed).fit(_baseline_frame(features.iloc[tr], numeric), y[tr])
        base.append(roc_auc_score(y[te], lr.predict_proba(_baseline_frame(features.iloc[te], numeric))[:, 1]))
    return {
        "folds": folds,
        "rows": int(len(y)),
        "auc_mean": round(float(np.mean(card)), 4),
        "auc_std": round(float(np.std(card)), 4),
        "baseline_auc_mean": round(float(np.mean(base)), 4),
        "baseline_auc_std": round(float(np.std(base)), 4),
        "aucs": [round(float(a), 4) for a in card],
        "baseline_aucs": [round(float(a), 4) for a in base],
    }


def _baseline_frame(features: pd.DataFrame, numeric: list[str]) -> pd.DataFrame:
    frame = features.copy()
    for c in numeric:
        frame[c] = frame[c].astype(float)
    return frame


def train_file_pd(
    frame: pd.DataFrame,
    y,
    *,
    schema,
    seed: int = 42,
    cv_folds: int = 5,
    pdo: float = 20.0,
    base_score: float = 600.0,
    base_odds: float = 20.0,
    grades=None,
    keep_contradicted: list | None = None,
    dataset: dict | None = None,
) -> TrainResult:
    """The WoE scorecard on an uploaded table described by ``schema`` (a ``DataSchema``), next to a
    one-hot logistic regression on the same hold-out split and the same CV folds."""
    from scoring.schema import schema_prepare

    y = np.asarray(y).astype(int)
    features, warnings = schema_prepare(frame.reset_index(drop=True), schema, fitting=True)
    if features.shape[1] == 0:
        from scoring.schema import SchemaError

        raise SchemaError("No usable column: " + "; ".join(f"{w['column']}: {w['message']}" for w in warnings))
    tr, te = _split(len(features), y, seed=seed)
    settings = {"pdo": pdo, "base_score": base_score, "base_odds": base_odds, "grades": grades or DEFAULT_GRADES}
    shape = {
        "categorical": [c for c in schema.categorical if c in features.columns],
        "directions": schema.directions,
        "keep_contradicted": list(keep_contradicted or []),
    }
    sc = Scorecard(**settings, **shape).fit(features.iloc[tr], y[tr])
    cutoff = _best_cutoff(y[tr], sc.predict_proba(features.iloc[tr]))
    metrics = classification_metrics(y[te], sc.predict_proba(features.iloc[te]), cutoff=cutoff)
    metrics["points_ks"] = round(ks_statistic(y[te], -sc.points(features.iloc[te])), 4)
    numeric = [c for c in features.columns if c not in shape["categorical"]]
    lr = onehot_logistic(shape["categorical"], numeric, seed=seed)
    lr.fit(_baseline_frame(features.iloc[tr], numeric), y[tr])
    base = classification_metrics(y[te], lr.predict_proba(_baseline_frame(features.iloc[te], numeric))[:, 1])
    cv = file_cv(features, y, settings=settings, shape=shape, folds=cv_folds, seed=seed)
    model = FilePDModel(schema=schema.as_json(), scorecard=sc, cutoff=cutoff)
    return TrainResult(
        artifact=model,
        algorithm="woe_logistic_scorecard",
        params={
            "seed": seed,
            "split": "stratified 80/20",
            **settings,
            "grades": [list(g) for g in settings["grades"]],
            "schema": schema.as_json(),
            "dataset": dataset or {},
            "keep_contradicted": shape["keep_contradicted"],
        },
        features=list(sc.selected),
        metrics={
            "holdout": metrics,
            "baseline": {"algorithm": "one_hot_logistic", **{k: base[k] for k in ("auc", "ks", "gini")}},
            "cv": cv,
            "iv": {n: round(fb.iv, 4) for n, fb in sc.bins.items()},
            "scorecard": sc.table(),
            "contradicted": sc.contradicted,
            "left_out": sc.left_out,
            "warnings": [{"column": w["column"], "message": str(w["message"])} for w in warnings],
            "target": {"column": schema.target, "bad_values": schema.bad_values, "bad_rate": round(float(y.mean()), 4)},
            "train_rows": int(len(tr)),
            "test_rows": int(len(te)),
        },
        reference={"score": reference_distribution(sc.points(features).astype(float))},
        rows=len(features),
    )
